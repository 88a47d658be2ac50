import { afterAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/log/bus.js';
import type { RunnerEvent } from '../../src/events/types.js';
import { openDb } from '../../src/store/db.js';
import { EventStore } from '../../src/store/store.js';
import { StoreWriter, type WriterItem, type WriterSource } from '../../src/store/writer.js';
import { tcpProxy } from '../support/proxy.js';
import { DATABASE_URL, postgresAvailable, privatePglite, privatePostgres } from './databases.js';

const transition = (n: number): RunnerEvent => ({
  type: 'StateTransition', runnerId: `r${n % 5}`, from: 'Analyzing', to: 'Entering', reason: `n${n}`, timestamp: 1_700_000_000_000 + n,
});

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function allIds(store: EventStore): Promise<number[]> {
  const ids: number[] = [];
  let after = 0;
  for (;;) {
    const page = await store.history({ after, first: 5000 });
    ids.push(...page.entries.map((e) => e.id));
    if (!page.hasMore) return ids;
    after = page.entries.at(-1)!.id;
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('StoreWriter', () => {
  it('writes the stream in batches and flushes what is buffered at shutdown (PGlite)', async () => {
    const db = await privatePglite();
    cleanups.push(db.drop);
    const store = new EventStore(db.db);
    await store.migrate();
    const bus = new EventBus();
    const writer = new StoreWriter(store, bus.subscribe({ capacity: 100_000 }));
    for (let n = 0; n < 3000; n++) bus.publish(transition(n), 'X');
    await until(() => writer.stats.written === 3000, 'the first 3000 rows');
    for (let n = 3000; n < 3500; n++) bus.publish(transition(n), 'X');
    await writer.flush();
    expect(await allIds(store)).toEqual(Array.from({ length: 3500 }, (_, i) => i + 1));
    expect(writer.stats).toMatchObject({ written: 3500, lost: 0, healthy: true });
  });

  it.runIf(postgresAvailable)(
    'keeps what arrives while PostgreSQL is unreachable and writes it when it is back, losing nothing',
    async () => {
      const proxy = await tcpProxy(Number(new URL(DATABASE_URL).port || 5432), new URL(DATABASE_URL).hostname);
      const url = new URL(DATABASE_URL);
      url.host = `127.0.0.1:${proxy.port}`;
      const pg = await privatePostgres(url.toString());
      cleanups.push(async () => {
        await pg.drop();
        await proxy.close();
      });
      const store = new EventStore(pg.db);
      await store.migrate();
      const direct = await openDb({ databaseUrl: DATABASE_URL, schema: pg.schema });
      cleanups.push(() => direct.close());
      const bus = new EventBus();
      const failures: number[] = [];
      let recovered = 0;
      const writer = new StoreWriter(store, bus.subscribe({ capacity: 100_000 }), {
        retryMinMs: 20,
        retryMaxMs: 200,
        onFailure: (_err, attempt) => failures.push(attempt),
        onRecovered: () => recovered++,
      });
      for (let n = 0; n < 2000; n++) bus.publish(transition(n), 'X');
      await until(() => writer.stats.written === 2000, 'the rows before the cut');

      proxy.cut(true);
      for (let n = 2000; n < 5000; n++) bus.publish(transition(n), 'X');
      await until(() => failures.length >= 2, 'failed writes while cut');
      expect(writer.stats.healthy).toBe(false);
      expect(writer.stats.written).toBe(2000);

      proxy.restore();
      await until(() => writer.stats.written === 5000, 'the backlog to be written');
      expect(recovered).toBe(1);
      expect(writer.stats).toMatchObject({ lost: 0, healthy: true, backlog: 0 });
      expect(await allIds(new EventStore(direct))).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
      await writer.flush();
    },
    60_000,
  );
});

describe('the writer and notices of lost events', () => {
  it('counts what its own queue dropped, not ids that never reached this process', async () => {
    const store = new EventStore((await privatePglite()).db);
    await store.migrate();
    const items: WriterItem[] = [
      { kind: 'gap', missed: 7, reason: 'ids 1..7 never reached this server', counts: 'log' },
      { kind: 'gap', missed: 3, reason: 'subscriber too slow', counts: 'subscriber' },
    ];
    const lost: number[] = [];
    const source: WriterSource = {
      next: async () => (items.length > 0 ? { done: false, value: items.shift()! } : new Promise<never>(() => undefined)),
      get size() {
        return items.length;
      },
      close: () => undefined,
    };
    const writer = new StoreWriter(store, source, { onLost: (missed) => lost.push(missed) });
    const end = Date.now() + 5000;
    while (lost.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    expect(lost).toEqual([3]);
    expect(writer.stats.lost).toBe(3);
    await writer.flush(100);
  });
});

describe('the writer when its buffer overflows', () => {
  const tick = (n: number): RunnerEvent => ({
    type: 'TickReceived', runnerId: 'r', symbol: 'X',
    data: { symbol: 'X', timestamp: 1_700_000_000_000 + n, open: 1, high: 1, low: 1, close: 1, volume: 1, bid: 1, ask: 1 },
  });
  /** A store that takes every batch after `ms`. */
  const slowStore = (ms: number) => ({ insert: () => new Promise<void>((r) => setTimeout(r, ms)) }) as unknown as EventStore;

  it('reports a loss once, not again at once when the report itself takes a place in the full buffer', async () => {
    const bus = new EventBus();
    const reports: number[] = [];
    const writer = new StoreWriter(slowStore(5), bus.subscribe({ capacity: 100 }), {
      lossReportMs: 60_000,
      onLost: (missed) => {
        reports.push(missed);
        // As the server does: the report is an Error event, which the writer stores too. Bounded
        // here, so that a writer that reports each such loss at once stops (and fails) instead of
        // holding this thread for ever, as it held the server's.
        if (reports.length < 1000) bus.publish({ type: 'Error', runnerId: 'tickwire', error: `${missed} events were not stored`, severity: 'Error', timestamp: 0 }, 'tickwire');
      },
    });
    for (let n = 0; n < 1000; n++) bus.publish(tick(n), 'X');
    await until(() => writer.stats.backlog === 0 && reports.length > 0, 'the buffer written');
    // One report for the overflow; the place its own event took (one more tick dropped) waits
    // for the next report, due a lossReportMs later, or at the flush.
    expect(reports).toEqual([writer.stats.lost - 1]);
    expect(await writer.flush()).toBe(true);
    expect(reports.reduce((a, b) => a + b, 0)).toBe(writer.stats.lost);
    expect(reports).toHaveLength(2);
  });

  it('lets the event loop turn between batches, however fast its source answers', async () => {
    let read = 0;
    const total = 200_000;
    // A source that always has more, at once, and a store that takes every batch at once.
    const source: WriterSource = {
      next: () => Promise.resolve(read < total ? { done: false, value: { id: ++read, symbol: 'X', event: tick(read) } } : { done: true, value: undefined }),
      get size() {
        return total - read;
      },
      close: () => undefined,
    };
    const store = { insert: () => Promise.resolve() } as unknown as EventStore;
    const writer = new StoreWriter(store, source, { batchSize: 1000 });
    const readAtTurn = await new Promise<number>((resolve) => setImmediate(() => resolve(read)));
    // Before: all 200,000 were read before anything else on this thread ran.
    expect(readAtTurn).toBeLessThan(total / 10);
    await writer.flush();
  });

  it('gives up at the end of a flush that the store does not finish, and reports what it did not store', async () => {
    const bus = new EventBus();
    const lost: { missed: number; cause: string }[] = [];
    // The store takes 5 rows per 100 ms: far too slow for 500 in a 300 ms flush.
    const writer = new StoreWriter(slowStore(100), bus.subscribe({ capacity: 10_000 }), { batchSize: 5, concurrency: 1, onLost: (missed, cause) => lost.push({ missed, cause }) });
    for (let n = 0; n < 500; n++) bus.publish(transition(n), 'X');
    const started = Date.now();
    expect(await writer.flush(300)).toBe(false);
    expect(Date.now() - started).toBeLessThan(3000);
    const written = writer.stats.written;
    // The rest is counted and reported as lost at shutdown, not written on in the background.
    expect(lost).toEqual([{ missed: writer.stats.lost, cause: 'shutdown' }]);
    expect(writer.stats.lost).toBeGreaterThan(400);
    expect(writer.stats.backlog).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    // At most the batch that was in flight landed after the flush gave up.
    expect(writer.stats.written - written).toBeLessThanOrEqual(5);
    expect(writer.stats.written + writer.stats.lost).toBeLessThanOrEqual(500);
  });
});
