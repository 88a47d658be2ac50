/**
 * End to end through Redis: an appender (the engine's side) publishes ticks at a fixed
 * rate into a Redis Stream; two readers (two API instances' buses) each feed one
 * subscriber. Measures events/s delivered per instance and p99 from publish to receive.
 */
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { EventBus } from '../src/log/bus.js';
import { RedisAppender, RedisReader } from '../src/log/redis.js';
import { isGap } from '../src/log/types.js';
import type { RunnerEvent } from '../src/events/types.js';
import type { InstanceReport } from './redis-instance.js';

/** Figures of the Redis run. */
export interface RedisResult {
  readonly eventsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly instances: number;
  readonly delivered: number;
  readonly published: number;
}

/** One step of {@link benchRedisMax}: a fixed offered rate and how each instance kept up. */
export interface RedisStep {
  readonly offeredPerSec: number;
  /** Events/s received per instance, over the time from the first publish to the last receive. */
  readonly eventsPerSec: number;
  /** The smallest share of the offered events any one instance received (0..1). */
  readonly receivedShare: number;
  readonly p99Ms: number;
  /**
   * CPU time of an instance's thread (reader, bus and one subscriber) per event it
   * received, in µs, the mean of the instances (Linux; null elsewhere or on one thread):
   * far less noisy than the rates on a shared machine.
   */
  readonly readerCpuUsPerEvent: number | null;
}

/** Figures of {@link benchRedisMax}. */
export interface RedisMaxResult {
  /** The highest offered rate every instance received ≥ 98 % of (0 when none did). */
  readonly maxEventsPerSec: number;
  /** p99 from publish to receive at that rate. */
  readonly p99Ms: number;
  readonly steps: readonly RedisStep[];
}

const tickOf = (n: number): RunnerEvent => ({
  type: 'TickReceived', runnerId: `r${n % 100}`, symbol: 'SYM',
  data: { symbol: 'SYM', timestamp: 1_700_000_000_000 + n, open: 1, high: 1, low: 1, close: 1, volume: 1, bid: 1, ask: 1 },
});

/** Runs the benchmark against REDIS_URL (default the machine's Redis); null when it does not answer. */
export async function benchRedis(perSecond = 20_000, seconds = 3): Promise<RedisResult | null> {
  const run = await runRedis(perSecond, seconds, 10_000);
  if (run === null) return null;
  const { perInstance: _, readerCpuUsPerEvent: __, ...result } = run;
  return result;
}

/** Offered rates {@link benchRedisMax} steps through, lowest first. */
const MAX_STEPS = [20_000, 50_000, 100_000, 150_000];
/**
 * How long after the last publish what arrives still counts for {@link benchRedisMax}:
 * a rate is sustained when the pipeline keeps up with it, not when a backlog drains
 * eventually (the appender's buffer would hide any shortfall for seconds).
 */
const MAX_GRACE_MS = 1000;

/**
 * Steps the offered rate up (20k, 50k, 100k, 150k events/s, `seconds` each) and reports the
 * highest at which each of two instances received ≥ 98 % of what was offered within a
 * second of the last publish, with its p99; stops at the first rate that falls short.
 * Each instance runs in a worker thread of its own (bench/redis-instance.ts), as each is
 * a process of its own in production; the appender runs on this thread. With
 * `instancesIn` 'thread', everything shares this thread, as in {@link benchRedis}.
 * Null when Redis does not answer.
 */
export async function benchRedisMax(seconds = 3, instancesIn: 'workers' | 'thread' = 'workers'): Promise<RedisMaxResult | null> {
  const steps: RedisStep[] = [];
  let best: RedisStep | null = null;
  for (const offered of MAX_STEPS) {
    const run = instancesIn === 'workers' ? await runRedisInWorkers(offered, seconds, MAX_GRACE_MS) : await runRedis(offered, seconds, MAX_GRACE_MS);
    if (run === null) return null;
    const step: RedisStep = {
      offeredPerSec: offered,
      eventsPerSec: run.eventsPerSec,
      receivedShare: Math.min(...run.perInstance) / run.published,
      p99Ms: run.p99Ms,
      readerCpuUsPerEvent: run.readerCpuUsPerEvent,
    };
    steps.push(step);
    if (step.receivedShare < 0.98) break;
    best = step;
  }
  return { maxEventsPerSec: best?.offeredPerSec ?? 0, p99Ms: best?.p99Ms ?? Number.NaN, steps };
}

async function runRedis(perSecond: number, seconds: number, graceMs: number): Promise<(RedisResult & { perInstance: number[]; readerCpuUsPerEvent: null }) | null> {
  const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await probe.connect();
    await probe.ping();
  } catch {
    probe.disconnect();
    console.warn(`redis bench: Redis at ${url} does not answer`);
    return null;
  }
  const stream = `tickwire:bench:${randomBytes(4).toString('hex')}`;
  const log = () => undefined;
  const appender = new RedisAppender({ url, stream, log });
  const instances = [new EventBus(), new EventBus()];
  const readers = instances.map((bus) => new RedisReader(bus, { url, stream, log, backfill: 0 }));
  const publishedAt = new Map<number, number>();
  const latencies: number[] = [];
  let delivered = 0;
  const perInstance = instances.map(() => 0);
  let lastReceive = 0;
  const subs = instances.map((bus) => bus.subscribe());
  const readersDone = subs.map(async (sub, i) => {
    for await (const item of sub) {
      if (isGap(item)) continue;
      delivered++;
      perInstance[i]!++;
      lastReceive = performance.now();
      // Ids start at 1 in a fresh stream; every 50th is timed (n = id - 1).
      const at = publishedAt.get(item.id);
      if (at !== undefined) latencies.push(lastReceive - at);
    }
  });
  await new Promise((r) => setTimeout(r, 300));
  const start = performance.now();
  const total = perSecond * seconds;
  let sent = 0;
  await new Promise<void>((resolve) => {
    const step = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * perSecond));
      for (; sent < due; sent++) {
        if ((sent + 1) % 50 === 0) publishedAt.set(sent + 1, performance.now());
        appender.publish(tickOf(sent), 'SYM');
      }
      if (sent < total) setTimeout(step, 1);
      else resolve();
    };
    step();
  });
  const deadline = performance.now() + graceMs;
  while (delivered < total * instances.length && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  for (const sub of subs) sub.close();
  await Promise.all(readersDone);
  await appender.close();
  await Promise.all(readers.map((r) => r.close()));
  const keys = await probe.keys(`${stream}*`);
  if (keys.length > 0) await probe.del(...keys);
  probe.disconnect();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN) * 1000) / 1000;
  return {
    eventsPerSec: Math.round(delivered / instances.length / ((lastReceive - start) / 1000)),
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    instances: instances.length,
    delivered,
    published: total,
    perInstance,
    // Everything shares this thread: the reader's own share is not measured.
    readerCpuUsPerEvent: null,
  };
}

/** Like {@link runRedis}, with each instance in a worker thread. */
async function runRedisInWorkers(perSecond: number, seconds: number, graceMs: number): Promise<(RedisResult & { perInstance: number[]; readerCpuUsPerEvent: number | null }) | null> {
  const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await probe.connect();
    await probe.ping();
  } catch {
    probe.disconnect();
    console.warn(`redis bench: Redis at ${url} does not answer`);
    return null;
  }
  const stream = `tickwire:bench:${randomBytes(4).toString('hex')}`;
  const appender = new RedisAppender({ url, stream, log: () => undefined });
  const instances = 2;
  const counts = new SharedArrayBuffer(4 * instances);
  const lastAt = new SharedArrayBuffer(8 * instances);
  const workers = Array.from({ length: instances }, (_, index) => new Worker(new URL('./redis-instance.mjs', import.meta.url), { workerData: { url, stream, index, counts, lastAt } }),
  );
  const replies = workers.map((w) => {
    const messages: unknown[] = [];
    const waiters: ((m: unknown) => void)[] = [];
    w.on('message', (m) => (waiters.length > 0 ? waiters.shift()!(m) : messages.push(m)));
    // A failed instance answers nothing more: let the bench go on instead of waiting forever.
    w.on('error', (err) => {
      console.warn(`redis bench: an instance failed: ${err.message}`);
      const none: InstanceReport = { timed: [], cpuMs: null };
      for (const waiter of waiters.splice(0)) waiter(none);
      messages.push(none, none);
    });
    return () => (messages.length > 0 ? Promise.resolve(messages.shift()) : new Promise<unknown>((r) => waiters.push(r)));
  });
  await Promise.all(replies.map((next) => next()));
  await new Promise((r) => setTimeout(r, 300));
  const now = () => performance.timeOrigin + performance.now();
  const publishedAt = new Map<number, number>();
  const start = performance.now();
  const startAt = now();
  const total = perSecond * seconds;
  let sent = 0;
  await new Promise<void>((resolve) => {
    const step = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * perSecond));
      for (; sent < due; sent++) {
        if ((sent + 1) % 50 === 0) publishedAt.set(sent + 1, now());
        appender.publish(tickOf(sent), 'SYM');
      }
      if (sent < total) setTimeout(step, 1);
      else resolve();
    };
    step();
  });
  const received = new Int32Array(counts);
  const delivered = () => received.reduce((a, b) => a + b, 0);
  const deadline = performance.now() + graceMs;
  while (delivered() < total * instances && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const perInstance = Array.from(received);
  const lastReceive = Math.max(...new Float64Array(lastAt));
  const latencies: number[] = [];
  const cpuPerEvent: number[] = [];
  for (let i = 0; i < instances; i++) {
    workers[i]!.postMessage('stop');
    const { timed, cpuMs } = (await replies[i]!()) as InstanceReport;
    if (cpuMs !== null && perInstance[i]! > 0) cpuPerEvent.push((cpuMs * 1000) / perInstance[i]!);
    for (let j = 0; j < timed.length; j += 2) {
      const at = publishedAt.get(timed[j]!);
      if (at !== undefined) latencies.push(timed[j + 1]! - at);
    }
  }
  await Promise.all(workers.map((w) => w.terminate()));
  await appender.close();
  const keys = await probe.keys(`${stream}*`);
  if (keys.length > 0) await probe.del(...keys);
  probe.disconnect();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN) * 1000) / 1000;
  const sum = perInstance.reduce((a, b) => a + b, 0);
  return {
    eventsPerSec: Math.round(sum / instances / ((lastReceive - startAt) / 1000)),
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    instances,
    delivered: sum,
    published: total,
    perInstance,
    readerCpuUsPerEvent: cpuPerEvent.length === instances ? Math.round((cpuPerEvent.reduce((a, b) => a + b, 0) / instances) * 100) / 100 : null,
  };
}
