import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogEntry } from '../../src/log/types.js';
import { compileFilter } from '../../src/events/filter.js';
import type { RunnerEvent } from '../../src/events/types.js';
import type { EventWhere } from '../../src/events/where.js';
import type { Db } from '../../src/store/db.js';
import { EventStore, type HistoryQuery } from '../../src/store/store.js';
import { eventArb } from '../events/fixtures.js';
import { whereArb } from '../events/where-reference.js';
import { postgresAvailable, privatePglite, privatePostgres } from './databases.js';

const T = 1_700_000_000_000;
const tick = (n: number, close: number): RunnerEvent => ({
  type: 'TickReceived',
  runnerId: 'btc',
  symbol: 'BTCUSDT',
  data: { symbol: 'BTCUSDT', timestamp: T + n, open: close, high: close, low: close, close, volume: 1, bid: close, ask: close },
});

/** Every page of a query, following the cursor as a client does. */
async function allPages(store: EventStore, query: Omit<HistoryQuery, 'after'>): Promise<{ ids: number[]; sizes: number[]; hasMore: boolean[] }> {
  const ids: number[] = [];
  const sizes: number[] = [];
  const hasMore: boolean[] = [];
  let after: number | null = null;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await store.history({ ...query, after });
    ids.push(...page.entries.map((e) => e.id));
    sizes.push(page.entries.length);
    hasMore.push(page.hasMore);
    if (!page.hasMore) return { ids, sizes, hasMore };
    after = page.lastId;
  }
  throw new Error('paging did not end');
}

describe.each([
  ['PGlite', true, privatePglite],
  ['PostgreSQL', postgresAvailable, privatePostgres],
] as const)('eventHistory where, in SQL, on %s', (_, available, open) => {
  let db: { db: Db; drop(): Promise<void> };
  let store: EventStore;
  // Random events of every variant (ids 1..600), then 2000 ticks (ids 1001..3000).
  const random: LogEntry[] = fc.sample(eventArb, { numRuns: 600, seed: 42 }).map((event, i) => ({ id: i + 1, symbol: 'BTCUSDT', event }));
  const ticks: LogEntry[] = Array.from({ length: 2000 }, (_, i) => ({ id: 1001 + i, symbol: 'BTCUSDT', event: tick(i, 60_000 + i) }));
  beforeAll(async () => {
    if (!available) return;
    db = await open();
    store = new EventStore(db.db);
    await store.migrate();
    await store.insert(random);
    await store.insert(ticks);
  }, 60_000);
  afterAll(async () => {
    await db?.drop();
  });

  it.runIf(available)('selects exactly the rows the compiled predicate selects, for random predicates', async () => {
    const wheres = fc.sample(whereArb, { numRuns: 150, seed: 7 });
    let nonTrivial = 0;
    for (const where of wheres) {
      const predicate = compileFilter({ where });
      const expected = random.filter((e) => predicate(e.event, e.symbol)).map((e) => e.id);
      const page = await store.history({ where, before: 1000, first: 1000 });
      expect(page.undecodable).toEqual([]);
      if (expected.length > 0 && expected.length < random.length) nonTrivial++;
      expect(page.entries.map((e) => e.id), JSON.stringify(where)).toEqual(expected);
    }
    // The sample is worth something only if predicates keep some rows and drop others.
    expect(nonTrivial).toBeGreaterThan(50);
  }, 120_000);

  it.runIf(available)('pages correctly when the predicate rejects nearly every row: full pages, the cursor, hasMore', async () => {
    // 21 of 2000 ticks: every 97th close, and the last few.
    const where: EventWhere = { tickReceived: { close: { in: Array.from({ length: 21 }, (_, i) => 60_000 + 97 * i) } } };
    // (Only the 2000 ticks are runner btc's: the random events are of other runners.)
    const expected = ticks.filter((e) => e.event.type === 'TickReceived' && (e.event.data.close - 60_000) % 97 === 0 && e.event.data.close - 60_000 <= 97 * 20).map((e) => e.id);
    expect(expected).toHaveLength(21);
    const { ids, sizes, hasMore } = await allPages(store, { where, types: ['TickReceived'], runnerIds: ['btc'], first: 4 });
    expect(ids).toEqual(expected);
    // Every page but the last is full; only the last says there is no more.
    expect(sizes).toEqual([4, 4, 4, 4, 4, 1]);
    expect(hasMore).toEqual([true, true, true, true, true, false]);
    // A range from the top with another operator, and a page size that divides the count.
    const top = await allPages(store, { where: { tickReceived: { close: { gte: 61_990 } } }, types: ['TickReceived'], runnerIds: ['btc'], first: 5 });
    expect(top.ids).toEqual(ticks.slice(-10).map((e) => e.id));
    expect(top.sizes).toEqual([5, 5]);
    expect(top.hasMore).toEqual([true, false]);
  });

  it.runIf(available)('constrains only the kinds it names, and uses the timestamp column', async () => {
    const where: EventWhere = { tickReceived: { timestamp: { gte: T + 1990 } } };
    const page = await store.history({ where, after: 1000, first: 1000 });
    // Within the tick range there is nothing but ticks: the last ten.
    expect(page.entries.map((e) => e.id)).toEqual(ticks.slice(-10).map((e) => e.id));
    const all = await store.history({ where, before: 1000, first: 1000 });
    // Outside it, every event that is not a tick passes.
    const predicate = compileFilter({ where });
    expect(all.entries.map((e) => e.id)).toEqual(random.filter((e) => predicate(e.event, e.symbol)).map((e) => e.id));
    expect(all.entries.some((e) => e.event.type === 'RunnerStarted')).toBe(true);
  });

  it.runIf(available)('a damaged row whose field is not a number matches no operator and does not fail the page', async () => {
    await db.db.query(
      `INSERT INTO tickwire_events (id, runner_id, symbol, type, severity, ts, event) VALUES
       (5001, 'btc', 'BTCUSDT', 'PositionClosed', NULL, 1, '{"type":"PositionClosed","data":{"runnerId":"btc","exitPrice":"oops","realizedPnl":"-5","reason":"x","timestamp":1}}'::jsonb)`,
    );
    const page = await store.history({ where: { positionClosed: { realizedPnl: { lt: 0 } } }, after: 5000, first: 10 });
    expect(page.entries).toEqual([]);
    expect(page.undecodable).toEqual([]);
    const unconstrained = await store.history({ types: ['PositionClosed'], after: 5000, first: 10 });
    expect(unconstrained.undecodable.map((r) => r.id)).toEqual([5001]);
  });
});
