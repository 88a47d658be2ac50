import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogEntry } from '../../src/log/types.js';
import type { RunnerEvent } from '../../src/events/types.js';
import type { Db } from '../../src/store/db.js';
import { EventStore } from '../../src/store/store.js';
import { sampleEvents } from '../events/fixtures.js';
import { postgresAvailable, privatePglite, privatePostgres } from './databases.js';

const T = 1_700_000_000_000;
const error = (runnerId: string, severity: 'Warning' | 'Error' | 'Critical', n: number): RunnerEvent => ({
  type: 'Error', runnerId, error: `e${n}`, severity, timestamp: T + n,
});
const started = (runnerId: string, symbol: string, n: number): RunnerEvent => ({ type: 'RunnerStarted', runnerId, symbol, timestamp: T + n });

describe.each([
  ['PGlite', true, privatePglite],
  ['PostgreSQL', postgresAvailable, privatePostgres],
] as const)('EventStore on %s', (_, available, open) => {
  let db: { db: Db; drop(): Promise<void> };
  let store: EventStore;
  beforeAll(async () => {
    if (!available) return;
    db = await open();
    store = new EventStore(db.db);
    await store.migrate();
    await store.migrate(); // a second start-up finds nothing to do
  });
  afterAll(async () => {
    await db?.drop();
  });

  it.runIf(available)('stores every variant and reads it back exactly, in id order', async () => {
    const entries: LogEntry[] = sampleEvents().map((event, i) => ({ id: i + 1, symbol: 'BTCUSDT', event }));
    await store.insert(entries);
    await store.insert(entries.slice(0, 3)); // a retry of a batch is harmless
    const page = await store.history({ first: 100 });
    expect(page.entries).toEqual(entries);
    expect(page.hasMore).toBe(false);
    expect(await store.maxId()).toBe(entries.length);
  });

  it.runIf(available)('filters like the live stream and pages with a cursor', async () => {
    const base = 1000;
    const entries: LogEntry[] = [];
    for (let n = 0; n < 60; n++) {
      const runner = n % 3 === 0 ? 'a' : n % 3 === 1 ? 'b' : 'c';
      const symbol = runner === 'b' ? 'BBB' : 'AAA';
      const event = n % 2 === 0 ? started(runner, symbol, n) : error(runner, (['Warning', 'Error', 'Critical'] as const)[n % 3]!, n);
      entries.push({ id: base + n, symbol, event });
    }
    await store.insert(entries);
    const ids = async (q: Parameters<EventStore['history']>[0]) => (await store.history(q)).entries.map((e) => e.id - base);
    const range = { after: base - 1 };
    expect(await ids({ ...range, runnerIds: ['a'], first: 5 })).toEqual([0, 3, 6, 9, 12]);
    expect(await ids({ ...range, symbols: ['BBB'], first: 4 })).toEqual([1, 4, 7, 10]);
    expect(await ids({ ...range, types: ['Error'], minSeverity: 'Critical', first: 4 })).toEqual([5, 11, 17, 23]);
    expect(await ids({ ...range, from: T + 10, to: T + 13, first: 100 })).toEqual([10, 11, 12, 13]);
    expect(await ids({ ...range, runnerIds: [], first: 10 })).toEqual([]);
    // Paging: the cursor is the last id of the page before.
    const first = await store.history({ after: base - 1, runnerIds: ['c'], first: 10 });
    expect(first.hasMore).toBe(true);
    const second = await store.history({ after: first.entries.at(-1)!.id, runnerIds: ['c'], first: 10 });
    expect([...first.entries, ...second.entries].map((e) => e.id - base)).toEqual(
      Array.from({ length: 20 }, (_, i) => 2 + 3 * i),
    );
    expect(second.hasMore).toBe(false);
  });
});
