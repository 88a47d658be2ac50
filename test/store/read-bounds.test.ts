import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreTimeoutError, type Db } from '../../src/store/db.js';
import { ANALYZE_EVERY_ROWS, EventStore, HISTORY_SCAN_ROWS } from '../../src/store/store.js';
import { BACKFILL_SCAN_ROWS } from '../../src/graphql/schema/stream-backfill.js';
import { postgresAvailable, privatePglite, privatePostgres, type TestDbOptions } from './databases.js';

/** The query timeout of the timeout cases: far below their 3 s statement. */
const TIMEOUT_MS = 200;

/**
 * What one read of the store may cost (issue 21, item 3): a history query whose filters
 * test every row it reads (`where`, `minSeverity`, a token's scope) reads at most
 * HISTORY_SCAN_ROWS rows and says where it stopped; a client's read ends at the query
 * timeout. On the real PostgreSQL and the real PGlite.
 */

const T = 1_700_000_000_000;
/** Rows of the table: StatsUpdate events of runner eth_main, ticksProcessed = id. */
const ROWS = 25_000;

/** Fills ids 1..ROWS in one statement (the store's own insert would take minutes of JSON here). */
async function fill(db: Db): Promise<void> {
  await db.query(
    `INSERT INTO tickwire_events (id, runner_id, symbol, type, severity, ts, event)
     SELECT g, 'eth_main', 'ETHUSDT', 'StatsUpdate', NULL, ${T} + g,
       jsonb_build_object('type', 'StatsUpdate', 'data', jsonb_build_object('runnerId', 'eth_main', 'ticksProcessed', g, 'actionsExecuted', 0,
         'errorRate', 0, 'realizedPnl', 0, 'lastPrice', 1.5, 'ticksPerSecond', 100, 'openPosition', NULL, 'timestamp', ${T} + g))
     FROM generate_series(1, ${ROWS}) g`,
  );
}

it('bounds a history page at 10,000 stored events and a backfill at 100,000 rejected ones, as docs/operations.md says', () => {
  expect(HISTORY_SCAN_ROWS).toBe(10_000);
  expect(BACKFILL_SCAN_ROWS).toBe(100_000);
});

describe.each([
  ['PGlite', true, (options: TestDbOptions = {}) => privatePglite(options)],
  ['PostgreSQL', postgresAvailable, (options: TestDbOptions = {}) => privatePostgres(undefined, options)],
] as const)('reads of the store on %s', (name, available, open) => {
  let db: { db: Db; drop(): Promise<void> };
  let store: EventStore;
  beforeAll(async () => {
    if (!available) return;
    db = await open();
    store = new EventStore(db.db);
    await store.migrate();
    await fill(db.db);
    // What the store does itself every ANALYZE_EVERY_ROWS rows it inserts (this fill went around it).
    await store.analyze();
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
  });

  it.runIf(available)('a where that matches nothing reads HISTORY_SCAN_ROWS rows, stops there and says where to go on', async () => {
    const where = { statsUpdate: { ticksProcessed: { gt: ROWS - 3 } } };
    const first = await store.history({ where, first: 100 });
    expect(first.entries).toEqual([]);
    expect(first).toMatchObject({ lastId: HISTORY_SCAN_ROWS, hasMore: true, stoppedShort: true, scanned: HISTORY_SCAN_ROWS });
    // Paging on from lastId as a client does: the bound again, then the end and its matches.
    const second = await store.history({ where, first: 100, after: first.lastId });
    expect(second).toMatchObject({ lastId: 2 * HISTORY_SCAN_ROWS, hasMore: true, stoppedShort: true });
    const third = await store.history({ where, first: 100, after: second.lastId });
    expect(third.entries.map((e) => e.id)).toEqual([ROWS - 2, ROWS - 1, ROWS]);
    expect(third).toMatchObject({ lastId: ROWS, hasMore: false, stoppedShort: false, scanned: ROWS - 2 * HISTORY_SCAN_ROWS });
  });

  it.runIf(available)('the bound also holds for minSeverity and for a scope, and a page that fills is an ordinary page', async () => {
    // No Error among the rows: minSeverity passes every one; the scope passes none.
    const scoped = await store.history({ runnerGlobs: ['btc_*'], first: 10 });
    expect(scoped).toMatchObject({ entries: [], lastId: HISTORY_SCAN_ROWS, hasMore: true, stoppedShort: true });
    const severe = await store.history({ minSeverity: 'Critical', first: 10, after: 500 });
    expect(severe.entries.map((e) => e.id)).toEqual(Array.from({ length: 10 }, (_, i) => 501 + i));
    expect(severe).toMatchObject({ lastId: 510, hasMore: true, stoppedShort: false });
    // Every 1000th row up to 10,000: a full page of 3, and later the last one, then the bound.
    const sparse = { statsUpdate: { ticksProcessed: { in: Array.from({ length: 10 }, (_, i) => 1000 * (i + 1)) } } };
    const page = await store.history({ where: sparse, first: 3 });
    expect(page.entries.map((e) => e.id)).toEqual([1000, 2000, 3000]);
    expect(page).toMatchObject({ lastId: 3000, hasMore: true, stoppedShort: false });
    const last = await store.history({ where: sparse, first: 3, after: 9000 });
    expect(last.entries.map((e) => e.id)).toEqual([10_000]);
    expect(last).toMatchObject({ lastId: 9000 + HISTORY_SCAN_ROWS, hasMore: true, stoppedShort: true });
  });

  it.runIf(available)('filters an index follows are not bounded: types, runnerIds, symbols, from/to give full pages as before', async () => {
    const page = await store.history({ types: ['StatsUpdate'], runnerIds: ['eth_main'], symbols: ['ETHUSDT'], from: T + 20_001, first: 1000 });
    expect(page.entries).toHaveLength(1000);
    expect(page).toMatchObject({ lastId: 21_000, hasMore: true, stoppedShort: false });
  });

  it.runIf(available)('gathers the planner statistics every ANALYZE_EVERY_ROWS rows it inserts', async () => {
    const fresh = await open();
    try {
      const tuples = async () => Number((await fresh.db.query<{ n: number }>("SELECT reltuples::float8 AS n FROM pg_class WHERE relname = 'tickwire_events' AND relkind = 'r' AND relnamespace = to_regnamespace(current_schema())")).rows[0]?.n);
      const opened = new EventStore(fresh.db);
      await opened.migrate();
      // Only the store's own ANALYZE may change the statistics here, not PostgreSQL's autovacuum.
      await fresh.db.query('ALTER TABLE tickwire_events SET (autovacuum_enabled = false)');
      await fill(fresh.db);
      // What the writer's start does (test/server/persistence.test.ts): it learns what an earlier process stored.
      await opened.analyze();
      expect(await tuples()).toBe(ROWS);
      const event = (i: number) => ({ type: 'RunnerStarted' as const, runnerId: 'r', symbol: 'X', timestamp: T + i });
      await opened.insert(Array.from({ length: ANALYZE_EVERY_ROWS - 1 }, (_, i) => ({ id: ROWS + 1 + i, symbol: 'X', event: event(i) })));
      expect(await tuples()).toBe(ROWS);
      await opened.insert([{ id: ROWS + ANALYZE_EVERY_ROWS, symbol: 'X', event: event(0) }]);
      // A sample of the table now: an estimate near the count.
      expect(Math.abs((await tuples()) - (ROWS + ANALYZE_EVERY_ROWS))).toBeLessThan(ANALYZE_EVERY_ROWS / 10);
    } finally {
      await fresh.drop();
    }
  }, 120_000);

  it.runIf(available)(`a client's read that takes longer than the query timeout ends with StoreTimeoutError (${name})`, async () => {
    const timed = await open({ queryTimeoutMs: TIMEOUT_MS });
    try {
      const started = performance.now();
      const err = await timed.db.read('SELECT pg_sleep(3)').then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreTimeoutError);
      expect((err as StoreTimeoutError).message).toBe(`the event store did not answer within ${TIMEOUT_MS} ms (STORE_QUERY_TIMEOUT_MS)`);
      // Well before the statement would have ended (a bound for a busy machine, not a timing goal).
      expect(performance.now() - started).toBeLessThan(2500);
      if (name === 'PostgreSQL') {
        // The server ended the statement itself: its own error is the cause.
        expect(((err as StoreTimeoutError).cause as { code?: string }).code).toBe('57014');
      }
      // The writer's statements are not a client's reads: no timeout cuts them.
      await expect(timed.db.query('SELECT pg_sleep(0.4)')).resolves.toBeDefined();
    } finally {
      await timed.drop();
    }
  }, 30_000);

});

// PGlite runs one statement at a time; PostgreSQL ends a statement itself at the deadline.
describe('PGlite reads', () => {
  it('a read still waiting at its deadline never starts', async () => {
    const timed = await privatePglite({ queryTimeoutMs: TIMEOUT_MS });
    try {
      await timed.db.exec('CREATE SEQUENCE read_probe');
      const slow = timed.db.read('SELECT pg_sleep(1)').then(
        () => null,
        (e: unknown) => e,
      );
      // Queued behind the slow read; it would move the sequence if it ran.
      const queued = timed.db.read("SELECT nextval('read_probe')");
      await expect(queued).rejects.toBeInstanceOf(StoreTimeoutError);
      expect(await slow).toBeInstanceOf(StoreTimeoutError);
      // Behind the slow statement (a query is not a client's read: it waits without a
      // deadline), the probe was never taken.
      const { rows } = await timed.db.query<{ taken: boolean }>('SELECT is_called AS taken FROM read_probe');
      expect(rows[0]?.taken).toBe(false);
    } finally {
      await timed.drop();
    }
  }, 30_000);
});
