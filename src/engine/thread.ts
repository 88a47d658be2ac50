import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the engine thread's module (`worker.ts`) in a new worker thread, from the
 * compiled `worker.js` beside this file, or, when this file itself runs from sources
 * (vitest, tsx), through a small entry that registers tsx in the thread first.
 *
 * Kept in the engine's folder for now; the store's thread has the same need
 * (`src/runtime/worker.ts`), and the two are to become one helper.
 */
export function startEngineWorker(options: WorkerOptions): Worker {
  const fromSources = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSources ? './worker-source.mjs' : './worker.js', import.meta.url);
  return new Worker(entry, options);
}
