import { build, buildIsStale } from '../scripts/build-state.mjs';

/**
 * Tests that run a whole process run the compiled server (`node dist/main.js`), as
 * `npm start` does: the build is made once here when a source is newer than it.
 */
export default async function setup(): Promise<void> {
  if (!buildIsStale()) return;
  if ((await build()) !== 0) throw new Error('npm run build failed: the tests that run the compiled server cannot start');
}
