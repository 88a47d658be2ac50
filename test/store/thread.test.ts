import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_FILE, openDb, pgliteWorkerOf, StoreLockedError, type Db } from '../../src/store/db.js';
import { EventStore } from '../../src/store/store.js';

const work = mkdtempSync(join(tmpdir(), 'tickwire-thread-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(work, `data${n++}`);

/** A statement PGlite needs a while for: still running when the test kills the thread. */
const SLOW = 'SELECT count(*) FROM generate_series(1, 30000000)';

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err as Error,
  );
}

describe('embedded PGlite in its worker thread', () => {
  it('runs queries and exec there: parameters, typed rows, several statements, the store on top', async () => {
    const db = await openDb({ dataDir: 'memory://' });
    try {
      expect(pgliteWorkerOf(db)).not.toBeNull();
      expect(db.kind).toBe('pglite');
      const { rows } = await db.query<{ n: number; big: number; j: unknown; t: Date; b: Uint8Array; arr: number[] }>(
        `SELECT $1::int AS n, 9007199254740991::float8 AS big, $2::jsonb AS j, to_timestamp(0) AS t, '\\x0102'::bytea AS b, $3::int[] AS arr`,
        [42, JSON.stringify({ a: [1, 'x'] }), [1, 2, 3]],
      );
      expect(rows).toEqual([{ n: 42, big: 9007199254740991, j: { a: [1, 'x'] }, t: new Date(0), b: new Uint8Array([1, 2]), arr: [1, 2, 3] }]);
      await db.exec('CREATE TABLE t (x INT); INSERT INTO t VALUES (1), (2); INSERT INTO t VALUES (3)');
      expect((await db.query<{ s: number }>('SELECT sum(x)::int AS s FROM t')).rows).toEqual([{ s: 6 }]);

      const store = new EventStore(db);
      await store.migrate();
      await store.insert([
        { id: 1, symbol: 'AAA', event: { type: 'RunnerStarted', runnerId: 'a', symbol: 'AAA', timestamp: 1 } },
        { id: 2, symbol: 'AAA', event: { type: 'Error', runnerId: 'a', error: 'e', severity: 'Critical', timestamp: 2 } },
      ]);
      const page = await store.history({ first: 10, minSeverity: 'Error' });
      expect(page.entries.map((e) => e.event.type)).toEqual(['RunnerStarted', 'Error']);
      expect(await store.maxId()).toBe(2);
    } finally {
      await db.close();
    }
  }, 60_000);

  it("gives PGlite's errors back as Errors with their message and PostgreSQL's fields, and goes on", async () => {
    const db = await openDb({ dataDir: 'memory://' });
    try {
      const missing = await rejection(db.query('SELECT * FROM nowhere WHERE x = $1', [1]));
      expect(missing).toBeInstanceOf(Error);
      expect(missing.message).toBe('relation "nowhere" does not exist');
      expect(missing).toMatchObject({ code: '42P01', severity: 'ERROR', position: '15' });
      const division = await rejection(db.exec('SELECT 1; SELECT 1/0'));
      expect(division.message).toBe('division by zero');
      expect(division).toMatchObject({ code: '22012' });
      // A parameter that cannot cross to the thread: an error naming why, not a crash.
      const unclonable = await rejection(db.query('SELECT $1::text AS x', [() => 1]));
      expect(unclonable.message).toMatch(/^the embedded PGlite database memory:\/\/ cannot be sent this request: .*could not be cloned/);
      // A failed transaction's statements are PGlite's business, as on one thread.
      expect((await db.query<{ ok: number }>('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    } finally {
      await db.close();
    }
  }, 60_000);

  it('a terminated thread fails the waiting and every later query with what happened; close still returns', async () => {
    const db = await openDb({ dataDir: 'memory://' });
    const waiting = db.query(SLOW);
    await pgliteWorkerOf(db)!.terminate();
    const pending = await rejection(waiting);
    expect(pending.message).toBe('the embedded PGlite database memory:// is unavailable: its worker thread stopped (it was terminated or exited, code 1)');
    expect(pending.name).toBe('PgliteThreadError');
    const later = await rejection(db.exec('SELECT 1'));
    expect(later.message).toBe(pending.message);
    await db.close();
    const closed = await rejection(db.query('SELECT 1'));
    expect(closed.message).toBe('the embedded PGlite database memory:// is closed');
  }, 60_000);

  it('a thread that throws fails the waiting and later queries with its exception', async () => {
    const db = await openDb({ dataDir: 'memory://' });
    try {
      // Not a request: the thread's message handler throws, an uncaught exception there,
      // before it reads the query queued behind it.
      pgliteWorkerOf(db)!.postMessage(null);
      const waiting = db.query('SELECT 1');
      const pending = await rejection(waiting);
      expect(pending.message).toMatch(/^the embedded PGlite database memory:\/\/ is unavailable: its worker thread stopped \(it threw: Cannot read properties of null \(reading 'op'\)\)$/);
      expect(pending.cause).toBeInstanceOf(Error);
      await expect(db.query('SELECT 1')).rejects.toThrow(pending.message);
    } finally {
      await db.close();
    }
  }, 60_000);

  it('the process holds the directory, not the thread: a second open is refused while it is open, even after the thread died', async () => {
    const dir = freshDir();
    const db = await openDb({ dataDir: dir });
    let reopened: Db | null = null;
    try {
      const store = new EventStore(db);
      await store.migrate();
      await store.insert([{ id: 7, symbol: 'AAA', event: { type: 'RunnerStarted', runnerId: 'a', symbol: 'AAA', timestamp: 1 } }]);
      await expect(openDb({ dataDir: dir })).rejects.toBeInstanceOf(StoreLockedError);
      await expect(openDb({ dataDir: dir, thread: false })).rejects.toBeInstanceOf(StoreLockedError);
      await pgliteWorkerOf(db)!.terminate();
      await expect(db.query('SELECT 1')).rejects.toThrow(/worker thread stopped/);
      // Until close, the directory is this Db's: a dead thread does not give it away.
      await expect(openDb({ dataDir: dir })).rejects.toBeInstanceOf(StoreLockedError);
      await db.close();
      expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
      // What was written before the thread died is there (PGlite writes through to its files).
      reopened = await openDb({ dataDir: dir });
      expect(await new EventStore(reopened).maxId()).toBe(7);
    } finally {
      await db.close();
      await reopened?.close();
    }
  }, 60_000);

  it('close writes the database out and ends the thread; the directory opens again with what was written', async () => {
    const dir = freshDir();
    const db = await openDb({ dataDir: dir });
    const worker = pgliteWorkerOf(db)!;
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    const store = new EventStore(db);
    await store.migrate();
    // Sent and not awaited before close: answered first, as on one thread.
    const inserting = store.insert([{ id: 3, symbol: 'AAA', event: { type: 'RunnerStarted', runnerId: 'a', symbol: 'AAA', timestamp: 1 } }]);
    await db.close();
    await inserting;
    await exited;
    await db.close(); // idempotent
    const again = await openDb({ dataDir: dir });
    try {
      expect(await new EventStore(again).maxId()).toBe(3);
    } finally {
      await again.close();
    }
  }, 60_000);

  it('a directory PGlite cannot open fails the open from the thread, and leaves no thread nor lock', async () => {
    const dir = freshDir();
    const db = await openDb({ dataDir: dir });
    await db.close();
    rmSync(join(dir, 'global'), { recursive: true });
    await expect(openDb({ dataDir: dir })).rejects.toThrow(`the embedded PGlite database in DATA_DIR ${dir} cannot be read (PGlite: `);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  }, 60_000);

  it('STORE_THREAD=false (thread: false) keeps PGlite on the calling thread, with the same behaviour', async () => {
    const db = await openDb({ dataDir: 'memory://', thread: false });
    try {
      expect(pgliteWorkerOf(db)).toBeNull();
      expect((await db.query<{ n: number }>('SELECT $1::int AS n', [5])).rows).toEqual([{ n: 5 }]);
      await expect(db.query('SELECT * FROM nowhere')).rejects.toMatchObject({ message: 'relation "nowhere" does not exist', code: '42P01' });
    } finally {
      await db.close();
    }
  }, 60_000);
});
