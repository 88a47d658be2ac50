import { afterAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/bus/bus.js';
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
