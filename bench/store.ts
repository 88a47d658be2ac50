/**
 * The event store's write rate: the bus publishes as fast as it can, the StoreWriter
 * batches into PostgreSQL (DATABASE_URL, default the machine's) and into in-memory
 * PGlite; measured from the first publish to the last row written.
 */
import { randomBytes } from 'node:crypto';
import { EventBus } from '../src/bus/bus.js';
import type { RunnerEvent } from '../src/events/types.js';
import { openDb, type Db } from '../src/store/db.js';
import { EventStore } from '../src/store/store.js';
import { StoreWriter } from '../src/store/writer.js';

/** Figures of one store run. */
export interface StoreResult {
  readonly eventsPerSec: number;
  readonly p99Ms: number;
  readonly events: number;
  readonly database: string;
}

const transition = (n: number): RunnerEvent => ({
  type: 'StateTransition', runnerId: `r${n % 100}`, from: 'Analyzing', to: 'Entering', reason: 'signal', timestamp: 1_700_000_000_000 + n,
});

async function run(db: Db, events: number): Promise<StoreResult> {
  const store = new EventStore(db);
  await store.migrate();
  const bus = new EventBus({ historySize: 0 });
  const batchTimes: number[] = [];
  const writer = new StoreWriter(store, bus.subscribe({ capacity: events + 1 }));
  const start = performance.now();
  // Publish in slices, as runners do, so the writer batches while events keep coming.
  for (let n = 0; n < events; n += 5000) {
    for (let i = n; i < Math.min(events, n + 5000); i++) bus.publish(transition(i), 'X');
    await new Promise((r) => setImmediate(r));
  }
  let last = performance.now();
  let written = 0;
  while (writer.stats.written < events) {
    await new Promise((r) => setTimeout(r, 2));
    if (writer.stats.written !== written) {
      const now = performance.now();
      batchTimes.push(now - last);
      last = now;
      written = writer.stats.written;
    }
  }
  const seconds = (performance.now() - start) / 1000;
  await writer.flush();
  batchTimes.sort((a, b) => a - b);
  return {
    eventsPerSec: Math.round(events / seconds),
    // The gap between two completed batches: how long the store made the writer wait.
    p99Ms: Math.round((batchTimes[Math.floor(batchTimes.length * 0.99)] ?? 0) * 100) / 100,
    events,
    database: db.description,
  };
}

/** PostgreSQL (in a throw-away schema) and in-memory PGlite. */
export async function benchStore(events = 200_000): Promise<{ postgres: StoreResult | null; pglite: StoreResult }> {
  const url = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
  let postgres: StoreResult | null = null;
  try {
    const schema = `tw_bench_${randomBytes(4).toString('hex')}`;
    const admin = await openDb({ databaseUrl: url });
    await admin.exec(`CREATE SCHEMA ${schema}`);
    const db = await openDb({ databaseUrl: url, schema });
    try {
      postgres = await run(db, events);
    } finally {
      await db.close();
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    }
  } catch (err) {
    console.warn(`store bench: PostgreSQL at ${url} is not available: ${(err as Error).message}`);
  }
  const lite = await openDb({ dataDir: 'memory://' });
  try {
    return { postgres, pglite: await run(lite, Math.min(events, 100_000)) };
  } finally {
    await lite.close();
  }
}
