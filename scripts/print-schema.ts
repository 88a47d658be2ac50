/**
 * `npm run schema`: prints the Pothos schema to schema.graphql (or checks it with
 * `--check`, exiting 1 when the file is stale).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printSchemaSdl } from '../src/graphql/schema/index.js';

const target = fileURLToPath(new URL('../schema.graphql', import.meta.url));
const sdl = printSchemaSdl();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // A missing file is simply stale.
  }
  if (current !== sdl) {
    console.error('schema.graphql is stale: run `npm run schema`');
    process.exit(1);
  }
  console.log('schema.graphql is current');
} else {
  writeFileSync(target, sdl);
  console.log(`wrote ${target}`);
}
