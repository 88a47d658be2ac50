#!/usr/bin/env node
// `npm start` (the server) and `npm run engine` (the runners alone): plain node on the
// compiled output, built first only when a source is newer than the build.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { build, buildIsStale, ROOT } from './build-state.mjs';

const entry = process.argv[2] === 'engine' ? 'engine-main' : 'main';
if (buildIsStale()) {
  console.error('tickwire: building (a source changed since the last build, or there is none yet)…');
  const code = await build();
  if (code !== 0) process.exit(code);
}
await import(pathToFileURL(join(ROOT, 'dist', `${entry}.js`)).href);
