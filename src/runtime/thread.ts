/**
 * Starting worker threads and child processes on our own modules, from the compiled build (dist/, `.js`) and
 * from the sources (vitest, tsx: `.ts`) alike. Knows nothing of what the workers do.
 */
import { fork, type ChildProcess, type ForkOptions as NodeForkOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

const TYPESCRIPT = /\.[cm]?ts$/;

/**
 * The URL of a worker module named as our imports name modules (`./x-worker.js`),
 * relative to the calling module (`import.meta.url`). Run from the sources the caller is
 * a `.ts` file and there is no `.js` beside it: the worker is then the `.ts` source too.
 */
export function workerModule(specifier: string, parentUrl: string): URL {
  const url = new URL(specifier, parentUrl);
  if (TYPESCRIPT.test(new URL(parentUrl).pathname) && url.pathname.endsWith('.js')) {
    url.pathname = `${url.pathname.slice(0, -'.js'.length)}.ts`;
  }
  return url;
}

/**
 * Starts a worker thread on an ES module. A compiled `.js` module starts as it is. A
 * `.ts` module starts behind tsx's loader, which a worker does not inherit from vitest or
 * from tsx's command line: a two-line bootstrap registers it, then imports the module.
 * A module that fails to load (or throws at its top level) is the worker's `error` event,
 * as with a plain worker.
 */
export function startWorker(url: URL, options: WorkerOptions = {}): Worker {
  if (!TYPESCRIPT.test(url.pathname)) return new Worker(url, options);
  // Resolved here, where the package is known to be reachable; the bootstrap is evaluated
  // without a file of its own, so it gets absolute URLs only.
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/**
 * Starts a child process on an ES module with an IPC channel (`child_process.fork`). A
 * `.ts` module runs behind tsx's loader (`--import tsx`), as {@link startWorker} does for threads.
 */
export function startProcess(url: URL, options: ForkOptions = {}): ChildProcess {
  // Not the parent's flags (a test runner's loaders): only what the caller names.
  const own = options.execArgv ?? [];
  const execArgv = TYPESCRIPT.test(url.pathname) ? [...own, '--import', 'tsx'] : own;
  return fork(fileURLToPath(url), options.args ?? [], { ...options, execArgv });
}

/** What {@link startProcess} takes: fork's options and the child's arguments. */
export interface ForkOptions extends NodeForkOptions {
  readonly args?: readonly string[];
}
