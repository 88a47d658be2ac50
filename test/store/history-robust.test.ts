import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/log/bus.js';
import type { StageSource } from '../../src/delivery/stage.js';
import { gapNotice, type StreamItem } from '../../src/log/types.js';
import { TradingEngine } from '../../src/engine/engine.js';
import type { RunnerEvent } from '../../src/events/types.js';
import { StoreBackfill } from '../../src/graphql/schema/stream-backfill.js';
import { startServer } from '../../src/app/server.js';
import type { Db } from '../../src/store/db.js';
import { EventStore, type HistoryQuery, type UndecodableRow } from '../../src/store/store.js';
import { postgresAvailable, privatePglite, privatePostgres } from './databases.js';

const T = 1_700_000_000_000;
const started = (runnerId: string, n: number): RunnerEvent => ({ type: 'RunnerStarted', runnerId, symbol: 'BTCUSDT', timestamp: T + n });

/** A row as an older version wrote it: a NaN P&L that JSON turned into null. */
async function insertRaw(db: Db, id: number, runnerId: string, type: string, event: string): Promise<void> {
  await db.query('INSERT INTO tickwire_events (id, runner_id, symbol, type, severity, ts, event) VALUES ($1, $2, $3, $4, NULL, $5, $6::jsonb)', [
    id,
    runnerId,
    'BTCUSDT',
    type,
    T + id,
    event,
  ]);
}

/** A source that reports one gap (ids 1..8 are older than the bus holds), then ends. */
function gapSource(): StageSource {
  const items: StreamItem[] = [gapNotice({ missed: 8, reason: 'resume point older than the history', fromId: 1, toId: 8 })];
  return {
    replays: true,
    close: () => undefined,
    next: async () => (items.length > 0 ? { done: false, value: items.shift()! } : { done: true, value: undefined }),
    return: async () => ({ done: true, value: undefined }),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

describe.each([
  ['PGlite', true, privatePglite],
  ['PostgreSQL', postgresAvailable, privatePostgres],
] as const)('history reads survive undecodable rows on %s', (_, available, open) => {
  let db: { db: Db; drop(): Promise<void> };
  let store: EventStore;
  const reported: UndecodableRow[] = [];
  beforeAll(async () => {
    if (!available) return;
    db = await open();
    store = new EventStore(db.db, undefined, { onUndecodable: (row) => reported.push(row) });
    await store.migrate();
    await store.insert([1, 2, 3, 4, 5].map((id) => ({ id, symbol: 'BTCUSDT', event: started('btc_a', id) })));
    await insertRaw(db.db, 6, 'btc_a', 'PositionClosed', JSON.stringify({ type: 'PositionClosed', data: { runnerId: 'btc_a', exitPrice: 1, realizedPnl: null, reason: 'x', timestamp: T } }));
    await insertRaw(db.db, 7, 'eth_x', 'Weird', '{"type":"Weird","data":{"secret":"s3cret"}}');
    await store.insert([{ id: 8, symbol: 'BTCUSDT', event: started('btc_a', 8) }]);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it.runIf(available)('skips and reports each bad row; the page and its cursor go on', async () => {
    const page = await store.history({ first: 100 });
    expect(page.entries.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 8]);
    expect(page.undecodable).toEqual([
      { id: 6, type: 'PositionClosed', reason: 'bad field data.realizedPnl' },
      { id: 7, type: 'Weird', reason: 'bad field type' },
    ]);
    expect(page.lastId).toBe(8);
    expect(reported.map((r) => r.id)).toEqual([6, 7]);
    // A page that ends on a bad row still moves the cursor past it.
    const first = await store.history({ after: 0, first: 6 });
    expect(first).toMatchObject({ lastId: 6, hasMore: true });
    const second = await store.history({ after: first.lastId, first: 6 });
    expect(second.entries.map((e) => e.id)).toEqual([8]);
    expect(second.undecodable.map((r) => r.id)).toEqual([7]);
  });

  it.runIf(available)('applies the reader\'s scope in SQL: a row outside it is never decoded', async () => {
    const before = store.undecodableRows;
    const page = await store.history({ runnerGlobs: ['btc_*'], first: 100 });
    expect(page.undecodable.map((r) => r.id)).toEqual([6]);
    expect(store.undecodableRows).toBe(before + 1);
  });

  it.runIf(available)('a resume backfill passes the scope to SQL and reports a bad row as a one-event gap', async () => {
    const queries: HistoryQuery[] = [];
    const spy = new Proxy(store, {
      get: (target, key) => (key === 'history' ? (q: HistoryQuery) => (queries.push(q), target.history(q)) : Reflect.get(target, key)),
    });
    const scope = { runners: ['btc_*'], allows: (id: string) => id.startsWith('btc_') };
    const backfill = new StoreBackfill(gapSource(), spy, {}, scope);
    const items: StreamItem[] = [];
    for await (const item of backfill) items.push(item);
    expect(queries[0]?.runnerGlobs).toEqual(['btc_*']);
    expect(items.map((i) => ('kind' in i ? `gap ${i.fromId}: ${i.reason}` : i.id))).toEqual([
      1, 2, 3, 4, 5,
      'gap 6: stored event 6 (PositionClosed) could not be decoded (bad field data.realizedPnl): skipped',
      8,
    ]);
  });

  it.runIf(available)('eventHistory answers with a StreamGap in the bad row\'s place, never "Unexpected error."', async () => {
    const bus = new EventBus();
    const server = await startServer({ engine: new TradingEngine(bus), bus, store, port: 0, host: '127.0.0.1' });
    try {
      const query = async (after: string | null) => {
        const res = await fetch(server.urls.http, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            query: 'query ($after: ID) { eventHistory(first: 3, after: $after) { edges { cursor node { __typename ... on StreamGap { missed reason } } } pageInfo { hasNextPage endCursor } } }',
            variables: { after },
          }),
        });
        return (await res.json()) as { data?: { eventHistory: { edges: { cursor: string; node: { __typename: string; reason?: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } }; errors?: unknown };
      };
      const cursors: string[] = [];
      const kinds: string[] = [];
      let after: string | null = '4';
      for (;;) {
        const page = await query(after);
        expect(page.errors).toBeUndefined();
        for (const edge of page.data!.eventHistory.edges) {
          cursors.push(edge.cursor);
          kinds.push(edge.node.__typename);
        }
        if (!page.data!.eventHistory.pageInfo.hasNextPage) break;
        after = page.data!.eventHistory.pageInfo.endCursor;
      }
      expect(cursors).toEqual(['5', '6', '7', '8']);
      expect(kinds).toEqual(['RunnerStarted', 'StreamGap', 'StreamGap', 'RunnerStarted']);
    } finally {
      await server.close();
      bus.close();
    }
  });
});
