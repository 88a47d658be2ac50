/**
 * The worker thread an embedded PGlite database runs in: PGlite (WebAssembly) computes on
 * the thread that calls it, and on the server's thread it took the event loop from the
 * engine and the sockets. Started by pglite-thread.ts; answers its requests in the
 * order PGlite completes them. The directory's lock is the main thread's, not this one's.
 */
import type { PGlite } from '@electric-sql/pglite';
import { parentPort, workerData } from 'node:worker_threads';
import { openPglite, toWire, type PgliteReply, type PgliteRequest, type PgliteWorkerData } from './pglite.js';

if (parentPort === null) throw new Error('pglite-thread-main.ts is a worker thread: start it with openPgliteThread');
const port = parentPort;
const { dataDir, schema } = workerData as PgliteWorkerData;

const send = (reply: PgliteReply) => port.postMessage(reply);

const db = await openPglite(dataDir, schema).catch((err: unknown) => {
  send({ kind: 'failed', error: toWire(err) });
  // Nothing is left to keep this thread alive: it ends.
  port.close();
  return null;
});
if (db !== null) {
  send({ kind: 'opened' });
  serve(db);
}

function serve(db: PGlite): void {
  const inflight = new Set<Promise<void>>();
  port.on('message', (request: PgliteRequest) => {
    if (request.op === 'close') {
      // The requests sent before close still get their answers, as on one thread.
      void Promise.allSettled(inflight)
        .then(() => (db.closed ? undefined : db.close()))
        .then(
          () => send({ kind: 'done', id: request.id }),
          (err: unknown) => send({ kind: 'error', id: request.id, error: toWire(err) }),
        )
        .finally(() => port.close());
      return;
    }
    const done = handle(db, request).finally(() => inflight.delete(done));
    inflight.add(done);
  });
}

async function handle(db: PGlite, request: PgliteRequest): Promise<void> {
  try {
    if (request.op === 'query') {
      const result = await db.query(request.sql, request.params as unknown[] | undefined);
      send({ kind: 'done', id: request.id, rows: result.rows });
    } else if (request.op === 'exec') {
      await db.exec(request.sql);
      send({ kind: 'done', id: request.id });
    }
  } catch (err) {
    // Also a row PGlite returned that cannot be cloned: an error of that request only.
    send({ kind: 'error', id: request.id, error: toWire(err) });
  }
}
