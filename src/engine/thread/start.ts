import type { Worker, WorkerOptions } from 'node:worker_threads';
import { startWorker, workerModule } from '../../runtime/thread.js';

/**
 * Starts the engine thread's module (`main.ts`, compiled to `main.js`) in a new
 * worker thread, from the build or from the sources alike (see `startWorker`).
 */
export function startEngineWorker(options: WorkerOptions): Worker {
  return startWorker(workerModule('./main.js', import.meta.url), options);
}
