// Whether dist/ is older than what it is built from, and the build itself: one place for
// `npm run build`, `npm start`, `npm run engine` and the tests' global setup.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Written last by a build that succeeded: its time is the build's. */
export const STAMP = join(ROOT, 'dist', '.build-stamp');

/** What the build reads besides src/. */
const INPUTS = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];

function newestIn(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestIn(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** True when there is no build, or a source changed after it. */
export function buildIsStale() {
  if (!existsSync(STAMP)) return true;
  const built = statSync(STAMP).mtimeMs;
  let sources = newestIn(join(ROOT, 'src'));
  for (const input of INPUTS) if (existsSync(join(ROOT, input))) sources = Math.max(sources, statSync(join(ROOT, input)).mtimeMs);
  return sources > built;
}

/**
 * Compiles the server, CLI and client to dist/ (tsc), bundles the server's entry points
 * over their compiled files (scripts/bundle.mjs), writes the files of a new store
 * (scripts/pglite-template.mjs) and builds the dashboard to dist/dashboard (Vite). Returns the exit code; what failed is printed on stderr.
 */
export async function build() {
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit', cwd: ROOT });
  if (tsc.status !== 0) return tsc.status ?? 1;
  try {
    const { bundle } = await import('./bundle.mjs');
    await bundle(ROOT);
  } catch (err) {
    console.error(`tickwire: the server did not bundle: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  try {
    const { writePgliteTemplate } = await import('./pglite-template.mjs');
    await writePgliteTemplate(ROOT);
  } catch (err) {
    console.error(`tickwire: the template of a new store was not written: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  const { build: viteBuild } = await import('vite');
  try {
    await viteBuild({ configFile: join(ROOT, 'src', 'dashboard', 'vite.config.ts'), logLevel: 'warn' });
  } catch (err) {
    console.error(`tickwire: the dashboard did not build: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
  return 0;
}
