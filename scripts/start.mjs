#!/usr/bin/env node
// `npm start` (the server) and `npm run engine` (the runners alone): plain node on the
// compiled output, built first only when a source is newer than the build.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { build, buildIsStale, ROOT } from './build-state.mjs';

// graphql-js runs development-only checks on every operation unless NODE_ENV is
// production (1.1-1.6x the cost at 100 distinct subscribers). Set before anything loads
// graphql, which reads it once; a NODE_ENV the user set is kept.
process.env.NODE_ENV ??= 'production';

const entry = process.argv[2] === 'engine' ? 'engine-main' : 'main';
if (buildIsStale()) {
  // A bad setting is reported before the build, not after it: read the configuration
  // from the sources, as the built server will read it first thing.
  const { register } = await import('tsx/esm/api');
  const unregister = register();
  const { ConfigError, loadServerConfig } = await import('../src/app/config.ts');
  try {
    loadServerConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`tickwire: ${err.message}`);
    process.exit(1);
  } finally {
    await unregister();
  }
  console.error('tickwire: building (a source changed since the last build, or there is none yet)…');
  const code = await build();
  if (code !== 0) process.exit(code);
}
await import(pathToFileURL(join(ROOT, 'dist', `${entry}.js`)).href);
