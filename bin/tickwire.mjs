#!/usr/bin/env node
// `npx tickwire …`: the CLI runs from its TypeScript sources through tsx, like `npm start`.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
