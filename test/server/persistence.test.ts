import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TradingEngine } from '../../src/engine/engine.js';
import { DEFAULT_STORE_TYPES } from '../../src/app/config.js';
import { latestOnly, startPersistence } from '../../src/app/persistence.js';
import { startServer } from '../../src/app/server.js';
import { SCRIPT, startTestServer, until } from './harness.js';
import { post, watch } from './transports.js';
import { EventBus } from '../../src/log/bus.js';
import { compileFilter } from '../../src/events/filter.js';
import type { RunnerEvent } from '../../src/events/types.js';
import { openDb } from '../../src/store/db.js';
import { EventStore } from '../../src/store/store.js';
import { StoreWriter } from '../../src/store/writer.js';

const storeConfig = (dataDir: string) => ({ databaseUrl: undefined, dataDir, types: DEFAULT_STORE_TYPES, buffer: 100_000 });

describe('the event store behind the server (PGlite in DATA_DIR)', () => {
  it("gathers the planner's statistics of what an earlier process stored when the writer starts (PGlite has no autovacuum)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tickwire-data-'));
    const rows = 2000;
    const first = await startPersistence(storeConfig(dataDir), () => undefined);
    await first.db!.query(
      `INSERT INTO tickwire_events (id, runner_id, symbol, type, severity, ts, event)
       SELECT g, 'r', 'AAA', 'RunnerStarted', NULL, g, jsonb_build_object('type', 'RunnerStarted', 'data', jsonb_build_object('runnerId', 'r', 'symbol', 'AAA', 'timestamp', g))
       FROM generate_series(1, ${rows}) g`,
    );
    await first.close();
    const second = await startPersistence(storeConfig(dataDir), () => undefined);
    try {
      const tuples = async () => Number((await second.db!.query<{ n: number }>("SELECT reltuples::float8 AS n FROM pg_class WHERE relname = 'tickwire_events' AND relkind = 'r'")).rows[0]?.n);
      // Soon after it started, not before it answers: the start does not wait for it.
      await expect.poll(tuples, { timeout: 60_000 }).toBe(rows);
    } finally {
      await second.close();
    }
  }, 120_000);

  it('answers eventHistory with filters and pages, and continues ids after a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tickwire-data-'));
    const first = await startPersistence(storeConfig(dataDir), () => undefined);
    const engine = new TradingEngine(first.bus);
    const server = await startServer({ engine, bus: first.bus, store: first.store, port: 0, host: '127.0.0.1' });
    let lastId: number;
    try {
      const ids = SCRIPT.map(({ event, symbol }) => first.bus.publish(event, symbol).id);
      lastId = ids.at(-1)!;
      // Ticks are not stored by default: 8 of the 10 scripted events are.
      await until(() => first.writer?.stats.written === 8, 'the stored events');
      const query = `query ($after: ID) {
        eventHistory(symbols: ["AAA"], types: [ERROR, RUNNER_STARTED, RUNNER_STOPPED, STATE_TRANSITION], first: 2, after: $after) {
          edges { cursor node { __typename ... on Event { id runnerId } } }
          pageInfo { hasNextPage endCursor }
        } }`;
      const page1 = await post(server, query);
      expect(page1.errors).toBeUndefined();
      const h1 = page1.data?.['eventHistory'] as { edges: { cursor: string; node: { __typename: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
      expect(h1.edges.map((e) => e.node.__typename)).toEqual(['RunnerStarted', 'RunnerError']);
      expect(h1.pageInfo.hasNextPage).toBe(true);
      const page2 = await post(server, query, { after: h1.pageInfo.endCursor });
      const h2 = page2.data?.['eventHistory'] as typeof h1;
      expect(h2.edges.map((e) => e.node.__typename)).toEqual(['StateTransition', 'RunnerError']);
      const page3 = await post(server, query, { after: h2.pageInfo.endCursor });
      const h3 = page3.data?.['eventHistory'] as typeof h1;
      expect(h3.edges.map((e) => e.node.__typename)).toEqual(['RunnerStopped']);
      expect(h3.pageInfo.hasNextPage).toBe(false);
      const bad = await post(server, '{ eventHistory(first: 5000) { pageInfo { hasNextPage } } }');
      expect(bad.errors?.[0]?.message).toMatch(/first must be within 1..1000, got 5000/);
    } finally {
      await server.close();
      await first.close();
    }
    const second = await startPersistence(storeConfig(dataDir), () => undefined);
    try {
      // Ids are unique across restarts: the log continues after the largest stored id.
      // (The last scripted event, a RunnerStopped, is stored, so the largest stored id is the last one.)
      expect(second.bus.lastId).toBe(lastId);
      expect(second.bus.publish(SCRIPT[0]!.event, 'AAA').id).toBe(lastId + 1);
    } finally {
      await second.close();
    }
  }, 60_000);

  it('says so when there is no store', async () => {
    const t = await startTestServer();
    try {
      const res = await post(t.server, '{ eventHistory { pageInfo { hasNextPage } } }');
      expect(res.errors?.[0]).toMatchObject({ message: 'this server reads no event store (an API instance of a Redis deployment reads it only with DATABASE_URL)', extensions: { code: 'NOT_AVAILABLE' } });
    } finally {
      await t.close();
    }
  });
});

describe('resuming beyond memory', () => {
  it('fills what the bus no longer holds from the store, then history, then live: no gap, no duplicate', async () => {
    const db = await openDb({ dataDir: 'memory://' });
    const store = new EventStore(db, DEFAULT_STORE_TYPES);
    await store.migrate();
    const bus = new EventBus({ historySize: 20 });
    const writer = new StoreWriter(store, bus.subscribe({ filter: compileFilter({ types: DEFAULT_STORE_TYPES }) }));
    const server = await startServer({ engine: new TradingEngine(bus), bus, store, port: 0, host: '127.0.0.1' });
    try {
      const transition = (n: number): RunnerEvent => ({ type: 'StateTransition', runnerId: 'm', from: 'Analyzing', to: 'Entering', reason: `n${n}`, timestamp: n });
      const tick = (n: number): RunnerEvent => ({
        type: 'TickReceived', runnerId: 'm', symbol: 'M',
        data: { symbol: 'M', timestamp: n, open: 1, high: 1, low: 1, close: 1, volume: 1, bid: 1, ask: 1 },
      });
      const ids: number[] = [];
      for (let n = 0; n < 100; n++) ids.push(bus.publish(n % 10 === 9 ? tick(n) : transition(n), 'M').id);
      await until(() => writer.stats.written === 90, 'the stored events');
      expect(bus.historyRange.oldestId).toBe(81);

      // Only stored types asked for: everything comes, from store, history and live.
      const only = watch('graphql-ws', server, 'subscription { events(after: "5", types: [STATE_TRANSITION]) { ... on Event { id } ... on StreamGap { missed } } }');
      // Every type: the ticks the store does not keep are reported as missing.
      const all = watch('graphql-ws', server, 'subscription { events(after: "5") { __typename ... on Event { id } ... on StreamGap { missed fromId toId } } }');
      await until(() => bus.subscriberCount === 3, 'both subscribers');
      for (let n = 100; n < 105; n++) ids.push(bus.publish(transition(n), 'M').id);

      const expected = ids.filter((id, i) => id > 5 && (i >= 100 || i % 10 !== 9));
      const got = (await only.take(expected.length)).map((r) => Number((r.data as { events: { id: string } }).events.id));
      expect(got).toEqual(expected);

      const items = (await all.take(expected.length + 3)).map((r) => (r.data as { events: { __typename: string; id?: string; missed?: number; fromId?: string; toId?: string } }).events);
      // Ids 6..80 from the store (its 8 ticks, ids 10, 20 … 80, missing), then 81..100 from history (ticks included), then live.
      const fromStore = ids.filter((id, i) => id > 5 && id < 81 && i % 10 !== 9);
      expect(items.slice(0, fromStore.length).map((e) => Number(e.id))).toEqual(fromStore);
      expect(items[fromStore.length]).toEqual({ __typename: 'StreamGap', missed: 8, fromId: '6', toId: '80' });
      expect(items.slice(fromStore.length + 1).map((e) => Number(e.id))).toEqual(ids.filter((id) => id >= 81).slice(0, expected.length + 2 - fromStore.length));
      await only.close();
      await all.close();
    } finally {
      await server.close();
      await writer.flush();
      await db.close();
    }
  }, 60_000);
});

describe('saving where the log stands behind a slow store', () => {
  it('saves one at a time with at most one waiting, which saves the latest: a save a second never queues without end', async () => {
    const runs: boolean[] = [];
    const finish: (() => void)[] = [];
    const save = latestOnly((clean: boolean) => {
      runs.push(clean);
      return new Promise<void>((r) => finish.push(r));
    });
    // A store that takes ten timer periods for one save: ten saves are asked meanwhile.
    const first = save(false);
    await until(() => runs.length === 1, 'the first save to start');
    const asked = Array.from({ length: 9 }, () => save(false));
    const last = save(true);
    let settled = false;
    void Promise.all([first, ...asked, last]).then(() => (settled = true));
    // The store takes each save as it comes, until every call is answered.
    while (!settled) {
      await until(() => finish.length > 0 || settled, 'a save to start, or every call answered');
      finish.shift()?.();
    }
    // Two saves, not eleven; the second with what the last call asked.
    expect(runs).toEqual([false, true]);
  });
});
