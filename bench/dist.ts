/**
 * The server's modules as `npm start` runs them: compiled to dist/. Benchmarks that start a
 * server in their own process load its modules from there, not from src/ through tsx: tsx
 * keeps every function's name by setting it at run time, which gives each arrow function
 * a class keeps (several per subscriber) a property array of its own and costs CPU on the
 * paths that make them (3.6 KB of the 22.4 KB per idle subscriber, measured).
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, buildIsStale, ROOT } from '../scripts/build-state.mjs';

/** Builds dist/ when a source changed since the last build. */
export async function ensureBuilt(): Promise<void> {
  if (buildIsStale() && (await build()) !== 0) throw new Error('npm run build failed');
}

/** The compiled module at `path` under dist/ (`log/bus.js`), typed as its source: `fromDist<typeof import('../src/log/bus.js')>('log/bus.js')`. */
export function fromDist<M>(path: string): Promise<M> {
  return import(pathToFileURL(join(ROOT, 'dist', path)).href) as Promise<M>;
}
