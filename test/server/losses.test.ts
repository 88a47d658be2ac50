import { afterAll, describe, expect, it } from 'vitest';
import { isGap, type StreamItem } from '../../src/log/types.js';
import type { RunnerEvent } from '../../src/events/types.js';
import { DEFAULT_STORE_TYPES } from '../../src/app/config.js';
import { startPersistence, SYSTEM_RUNNER_ID } from '../../src/app/persistence.js';
import { tcpProxy } from '../support/proxy.js';
import { privateStream, REDIS_URL, redisAvailable } from '../support/redis.js';

/** Every loss on the way from a runner to the store is a StreamGap, a RunnerError of runner tickwire and a counter. */

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const tick = (n: number): RunnerEvent => ({
  type: 'TickReceived', runnerId: 'r', symbol: 'X', data: { symbol: 'X', timestamp: n, open: 1, high: 1, low: 1, close: 1, volume: 1, bid: 1, ask: 1 },
});

describe.runIf(redisAvailable)('losses between the engine and Redis', () => {
  it('the engine process announces what its append buffer dropped, and every subscriber sees where', async () => {
    const { key: stream, drop } = privateStream();
    cleanups.push(drop);
    const { hostname, port } = new URL(REDIS_URL);
    const proxy = await tcpProxy(Number(port || 6379), hostname);
    cleanups.push(() => proxy.close());
    const persistence = await startPersistence(
      { databaseUrl: undefined, dataDir: 'memory://', types: DEFAULT_STORE_TYPES, buffer: 10_000 },
      () => undefined,
      { url: `redis://127.0.0.1:${proxy.port}`, stream, maxLen: 1_000_000 },
      'writer',
    );
    cleanups.push(() => persistence.close(2000));
    const items: StreamItem[] = [];
    const subscription = persistence.bus.subscribe({ capacity: 200_000 });
    void (async () => {
      for await (const item of subscription as AsyncIterable<StreamItem>) items.push(item);
    })();
    cleanups.push(() => subscription.close());
    persistence.sink.publish(tick(0), 'X');
    await until(() => items.length === 1, 'the first event');
    proxy.cut(true);
    await until(() => persistence.redisHealth()?.readerHealthy === false, 'the outage to be noticed');
    // More than the append buffer (100,000) holds while Redis is away.
    for (let n = 1; n <= 100_500; n++) persistence.sink.publish(tick(n), 'X');
    proxy.restore();
    await until(() => items.some((i) => !isGap(i) && i.event.runnerId === SYSTEM_RUNNER_ID), 'the RunnerError of runner tickwire', 60_000);
    const health = persistence.redisHealth()!;
    expect(health.appendLost).toBe(500);
    const error = items.find((i) => !isGap(i) && i.event.runnerId === SYSTEM_RUNNER_ID)!;
    expect(!isGap(error) && error.event.type === 'Error' ? error.event.error : '').toMatch(/500 events were dropped before they reached the shared log/);
    const gap = items.find(isGap);
    expect(gap?.missed).toBe(500);
    expect(health.missed).toBe(500);
    // Lost before the shared log, not by the store: the store's writer does not claim them.
    expect(persistence.writer?.stats.lost).toBe(0);
    expect(items.some((i) => !isGap(i) && i.event.type === 'Error' && /not stored/.test(i.event.error))).toBe(false);
  }, 90_000);
});
