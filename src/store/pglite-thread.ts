/**
 * An embedded PGlite database in a worker thread of its own (pglite-thread-main.ts), seen from
 * the main thread. PGlite computes on the thread that calls it: on the server's thread
 * its inserts took half the busy CPU and seconds of event-loop lag from the engine.
 * Here the main thread only copies a request to the worker (a structured clone) and the
 * rows back.
 *
 * What is handed to the worker is bounded by its callers: the store writer keeps at most
 * a few batches in flight and buffers the rest in its bus queue (STORE_BUFFER), history
 * reads are one per GraphQL request.
 */
import type { Worker } from 'node:worker_threads';
import { Channel } from '../runtime/channel.js';
import { startWorker, workerModule } from '../runtime/thread.js';
import { fromWire, type PgliteReply, type PgliteRequest, type PgliteWorkerData, type WireError } from './pglite.js';

/** PGlite in its worker thread: what the store asks of a database, and the thread. */
export interface PgliteThread {
  query<R>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[] }>;
  exec(sql: string): Promise<void>;
  /**
   * Answers the requests sent before it, closes the database (which writes it out) and
   * ends the thread. Idempotent; after the thread died, it only lets it go.
   */
  close(): Promise<void>;
  /** The thread; tests terminate it to see what a crash does. */
  readonly worker: Worker;
}

/**
 * The worker thread stopped (it threw, ran out of memory or was terminated) or its
 * database was closed: every request pending then, and every one after, fails with this.
 */
export class PgliteThreadError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PgliteThreadError';
  }
}

/** A request before the channel numbers it. */
type Unnumbered<T> = T extends unknown ? Omit<T, 'id'> : never;

/** What the thread is asked. */
type PgliteCall = Unnumbered<PgliteRequest>;

/** What each request answers: a query's rows (none for a statement that returns none). */
interface PgliteAnswers {
  readonly query: unknown[] | undefined;
  readonly exec: undefined;
  readonly close: undefined;
}

/** What the thread's handlers and its handle share: why it stopped, and whether it is closing. */
interface ThreadState {
  threw: unknown;
  closing: Promise<void> | null;
}

/**
 * Starts a worker thread and opens PGlite at `dataDir` in it (see `openPglite`).
 * An open that fails throws what PGlite threw, rebuilt with its fields, and leaves no
 * thread behind. The thread never keeps the process alive while no request is waiting,
 * and it ends with the process.
 */
export async function openPgliteThread(dataDir: string, schema: string | undefined): Promise<PgliteThread> {
  const workerData: PgliteWorkerData = { dataDir, schema };
  const worker = startWorker(workerModule('./pglite-thread-main.js', import.meta.url), { workerData });
  const state: ThreadState = { threw: null, closing: null };
  const where = `the embedded PGlite database ${dataDir}`;
  // Referenced while requests wait: a script's last query still gets its answer.
  const channel = new Channel<PgliteCall, PgliteAnswers, WireError>({
    name: where,
    post: (id, call) => {
      try {
        // Throws at once for what cannot be cloned (a function among the parameters).
        worker.postMessage({ ...call, id });
      } catch (err) {
        throw new Error(`${where} cannot be sent this request: ${(err as Error).message}`, { cause: err });
      }
    },
    fromWire: (error) => fromWire(error),
    ref: () => worker.ref(),
    unref: () => worker.unref(),
  });

  let opened!: (failure: Error | null) => void;
  const open = new Promise<Error | null>((resolve) => (opened = resolve));

  worker.on('message', (reply: PgliteReply) => {
    if (reply.kind === 'opened') return opened(null);
    if (reply.kind === 'failed') return opened(fromWire(reply.error));
    channel.settle(reply.id, reply.kind === 'error' ? { ok: false, error: reply.error } : { ok: true, value: reply.rows });
  });
  // An uncaught exception of the thread: it exits next, and the exit says why.
  worker.on('error', (err) => (state.threw = err));
  // A reply that could not be read: which request it answered is unknown, so none can
  // be trusted to get an answer; end the thread and fail them all.
  worker.on('messageerror', (err) => {
    state.threw = err;
    void worker.terminate();
  });
  worker.on('exit', (code) => {
    const { threw } = state;
    const why =
      threw !== null
        ? `it threw: ${(threw as Error | null)?.message ?? String(threw)}`
        : state.closing !== null
          ? 'the database was closed'
          : `it was terminated or exited, code ${code}`;
    const stopped = new PgliteThreadError(`${where} is unavailable: its worker thread stopped (${why})`, threw === null ? undefined : { cause: threw });
    opened(stopped);
    channel.close(stopped);
  });

  const failure = await open;
  if (failure !== null) {
    await worker.terminate();
    throw failure;
  }
  // Referenced by the channel while requests wait.
  worker.unref();
  return handleOf(worker, channel, { where, state });
}

/** The thread's side of a PgliteThread, once open: requests through `channel`, a close once. */
function handleOf(worker: Worker, channel: Channel<PgliteCall, PgliteAnswers, WireError>, at: { readonly where: string; readonly state: ThreadState }): PgliteThread {
  const { where, state } = at;
  const request = <C extends PgliteCall>(call: C): Promise<PgliteAnswers[C['op']]> => {
    if (state.closing !== null && call.op !== 'close') return Promise.reject(new PgliteThreadError(`${where} is closed`));
    return channel.call(call);
  };
  return {
    worker,
    query: async <R>(sql: string, params?: readonly unknown[]) => {
      const rows = await request({ op: 'query', sql, params });
      return { rows: (rows ?? []) as R[] };
    },
    exec: async (sql: string) => {
      await request({ op: 'exec', sql });
    },
    close: () => {
      state.closing ??= (async () => {
        try {
          if (channel.closed === null) await request({ op: 'close' });
        } catch (err) {
          // A thread that died meanwhile is closed too; PGlite failing to close is news.
          if (!(err instanceof PgliteThreadError)) throw err;
        } finally {
          await worker.terminate();
        }
      })();
      return state.closing;
    },
  };
}
