#!/usr/bin/env node
// `tickwire …` / `npx tickwire …`: the compiled CLI (npm run build; npm ci builds it).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  // A checkout without a build: run the sources, slower to start.
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
