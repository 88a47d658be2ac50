/**
 * The event store's write rate: the bus publishes as fast as it can, the StoreWriter
 * batches into PostgreSQL (DATABASE_URL, default the machine's) and into in-memory
 * PGlite; measured from the first publish to the last row written. Then its loss
 * window: at a steady rate, how far the rows written trail the events published, which
 * is what a crash (SIGKILL, power) loses; PGlite on disk here, as DATA_DIR has it. And
 * what storing costs the main thread (the server's event loop) at 20,000 events/s, with
 * PGlite in its worker thread and, as the baseline, on the main thread (STORE_THREAD=false).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { EventBus } from '../src/log/bus.js';
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

/** How far the store trails the bus at a steady rate: what a crash would lose. */
export interface LossWindow {
  /** p99 of the time from an event's publish to its row being written, in ms. */
  readonly lossWindowMs: number;
  /** p99 of the events published and not yet written, sampled every few ms. */
  readonly lossWindowEvents: number;
  readonly lossWindowMaxMs: number;
  readonly lossWindowMaxEvents: number;
  /** Events published per second meanwhile. */
  readonly lossWindowRate: number;
  /** Where it was measured (PGlite: on disk, as DATA_DIR has it). */
  readonly lossWindowDatabase: string;
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

const p99 = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length * 0.99)] ?? 0;

/**
 * Publishes `rate` events/s for `seconds` into a bus with a StoreWriter, as runners do:
 * every few ms the events due, after sampling what was written meanwhile. Events count
 * as written in publish order (batches usually land in order), so an event's time to
 * its row is known to within the sampling step. The first half second (warm-up) is not
 * counted.
 */
async function lossWindow(db: Db, rate: number, seconds: number): Promise<LossWindow> {
  const store = new EventStore(db);
  await store.migrate();
  // After what an earlier run stored: a row already there would count as written twice.
  const bus = new EventBus({ historySize: 0, startAfter: await store.maxId() });
  const writer = new StoreWriter(store, bus.subscribe({ capacity: Math.ceil(rate * (seconds + 1)) }));
  const publishedAt: number[] = [];
  const latencies: number[] = [];
  const backlogs: number[] = [];
  let accounted = 0;
  const start = performance.now();
  const warm = start + 500;
  const end = warm + seconds * 1000;
  for (let now = start; now < end; now = performance.now()) {
    for (const written = writer.stats.written; accounted < written; accounted++) {
      if (publishedAt[accounted]! >= warm) latencies.push(now - publishedAt[accounted]!);
    }
    const due = Math.floor(((now - start) / 1000) * rate);
    for (let n = publishedAt.length; n < due; n++) {
      bus.publish(transition(n), 'X');
      publishedAt.push(now);
    }
    // At this instant a crash loses everything published and not yet written.
    if (now >= warm) backlogs.push(publishedAt.length - writer.stats.written);
    await new Promise((r) => setTimeout(r, 2));
  }
  await writer.flush();
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    lossWindowMs: round(p99(latencies)),
    lossWindowEvents: p99(backlogs),
    lossWindowMaxMs: round(Math.max(0, ...latencies)),
    lossWindowMaxEvents: Math.max(0, ...backlogs),
    lossWindowRate: rate,
    lossWindowDatabase: db.description,
  };
}

/** What storing costs the thread that publishes (the server's event loop). */
export interface MainThreadCost {
  /**
   * Busy time of the main thread per 10,000 events published and written, in ms: its
   * event-loop utilization, which on a busy machine also counts time it was preempted.
   */
  readonly mainThreadMsPer10k: number;
  /** The same without a store (publishing alone): the part that is not the store's. */
  readonly mainThreadMsPer10kNoStore: number;
  /** CPU time of the main thread alone (Linux: /proc), per 10,000 events; null elsewhere. */
  readonly mainThreadCpuMsPer10k: number | null;
  readonly mainThreadCpuMsPer10kNoStore: number | null;
  /** Event-loop delay meanwhile (ms): what a socket or a runner's timer waited. */
  readonly eventLoopLagP99Ms: number;
  readonly eventLoopLagMaxMs: number;
  /** Events published per second meanwhile. */
  readonly mainThreadRate: number;
}

/**
 * CPU time the main thread used so far, in ms (the process's other threads, PGlite's
 * among them, not counted); null where /proc does not say. Clock ticks of 10 ms.
 */
function mainThreadCpuMs(): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, fields 14 and 15 of the line, in clock ticks (100 a second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

/**
 * Publishes `rate` events/s for `seconds` as runners do (every 5 ms the events due) into a
 * bus whose StoreWriter writes into `db` (none: publishing alone), until the last row is
 * written; the main thread's busy time is its event-loop utilization meanwhile.
 */
async function publishBurst(db: Db | null, rate: number, seconds: number): Promise<{ activeMs: number; cpuMs: number | null; events: number; lagP99Ms: number; lagMaxMs: number }> {
  const store = db === null ? null : new EventStore(db);
  await store?.migrate();
  const bus = new EventBus({ historySize: 0, startAfter: (await store?.maxId()) ?? 0 });
  const events = Math.round(rate * seconds);
  const writer = store === null ? null : new StoreWriter(store, bus.subscribe({ capacity: events + 1 }));
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const before = performance.eventLoopUtilization();
  const cpuBefore = mainThreadCpuMs();
  const start = performance.now();
  for (let published = 0; published < events; ) {
    const due = Math.min(events, Math.floor(((performance.now() - start) / 1000) * rate));
    for (; published < due; published++) bus.publish(transition(published), 'X');
    await new Promise((r) => setTimeout(r, 5));
  }
  while (writer !== null && writer.stats.written < events) await new Promise((r) => setTimeout(r, 5));
  const used = performance.eventLoopUtilization(before);
  const cpuAfter = mainThreadCpuMs();
  lag.disable();
  await writer?.flush();
  const cpuMs = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
  return { activeMs: used.active, cpuMs, events, lagP99Ms: lag.percentile(99) / 1e6, lagMaxMs: lag.max / 1e6 };
}

/** {@link MainThreadCost} of `db` at `rate` events/s. */
export async function mainThreadCost(db: Db, rate = 20_000, seconds = 3): Promise<MainThreadCost> {
  const per10k = (ms: number | null, events: number) => (ms === null ? null : Math.round((ms / events) * 10_000 * 10) / 10);
  const alone = await publishBurst(null, rate, seconds);
  const stored = await publishBurst(db, rate, seconds);
  return {
    mainThreadMsPer10k: per10k(stored.activeMs, stored.events)!,
    mainThreadMsPer10kNoStore: per10k(alone.activeMs, alone.events)!,
    mainThreadCpuMsPer10k: per10k(stored.cpuMs, stored.events),
    mainThreadCpuMsPer10kNoStore: per10k(alone.cpuMs, alone.events),
    eventLoopLagP99Ms: Math.round(stored.lagP99Ms * 10) / 10,
    eventLoopLagMaxMs: Math.round(stored.lagMaxMs * 10) / 10,
    mainThreadRate: rate,
  };
}

/**
 * PostgreSQL (in a throw-away schema) and PGlite: write rate and main-thread cost in
 * memory, loss window on disk.
 */
export async function benchStore(
  events = 200_000,
  window: { rate: number; seconds: number } = { rate: 5000, seconds: 3 },
): Promise<{
  postgres: (StoreResult & LossWindow) | null;
  pglite: StoreResult & LossWindow & MainThreadCost & { readonly onServerThread: MainThreadCost };
}> {
  const url = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
  let postgres: (StoreResult & LossWindow) | null = null;
  try {
    const schema = `tw_bench_${randomBytes(4).toString('hex')}`;
    const admin = await openDb({ databaseUrl: url });
    await admin.exec(`CREATE SCHEMA ${schema}`);
    const db = await openDb({ databaseUrl: url, schema });
    try {
      const written = await run(db, events);
      postgres = { ...written, ...(await lossWindow(db, window.rate, window.seconds)) };
    } finally {
      await db.close();
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    }
  } catch (err) {
    console.warn(`store bench: PostgreSQL at ${url} is not available: ${(err as Error).message}`);
  }
  const lite = await openDb({ dataDir: 'memory://' });
  let pglite: StoreResult & MainThreadCost;
  try {
    pglite = { ...(await run(lite, Math.min(events, 100_000))), ...(await mainThreadCost(lite, 20_000, window.seconds)) };
  } finally {
    await lite.close();
  }
  // The baseline: PGlite on the main thread, as before it had a thread of its own.
  const onThread = await openDb({ dataDir: 'memory://', thread: false });
  let onServerThread: MainThreadCost;
  try {
    onServerThread = await mainThreadCost(onThread, 20_000, window.seconds);
  } finally {
    await onThread.close();
  }
  const dir = mkdtempSync(join(tmpdir(), 'tickwire-bench-'));
  try {
    const disk = await openDb({ dataDir: dir });
    try {
      return { postgres, pglite: { ...pglite, ...(await lossWindow(disk, window.rate, window.seconds)), onServerThread } };
    } finally {
      await disk.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
