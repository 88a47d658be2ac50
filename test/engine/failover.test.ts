import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunnerEvent } from '../../src/events/types.js';
import { EngineLease, failoverKeys, LostEngineWatch, type RegistryEntry } from '../../src/engine/failover.js';
import { entryEvents, RedisAppender } from '../../src/log/redis.js';
import { stoppedByItself, TradingEngine, type RunnerInfo } from '../../src/engine/engine.js';
import { EngineHost, RemoteEngine, tellingHost } from '../../src/engine/remote.js';
import { desiredRunning } from '../../src/engine/failover.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus } from '../../src/log/bus.js';
import { privateStream, REDIS_URL, redisAvailable } from '../support/redis.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every entry of the stream: its fields, and the event decoded. */
async function entries(redis: Redis, stream: string): Promise<{ id: number; fence: string | undefined; event: RunnerEvent }[]> {
  const out = [];
  for (const [, fields] of await redis.xrange(stream, '-', '+')) {
    const fence = fields.includes('fence') ? fields[fields.indexOf('fence') + 1] : undefined;
    for (const { id, event } of entryEvents(fields)) out.push({ id, fence, event });
  }
  return out;
}

/** A runner as an engine that held a long position would have published it. */
function holding(id: string): RunnerInfo {
  return {
    id,
    symbol: 'AAA',
    strategy: 'momentum',
    params: {},
    config: { id, symbol: 'AAA' } as RunnerInfo['config'],
    feed: 'simulated 10/s seed 1',
    state: 'InPosition',
    position: { symbol: 'AAA', side: 'LONG', quantity: 2, entryPrice: 100, entryTime: 1 },
    unrealizedPnl: 5.5,
    stats: { ticksProcessed: 10, ticksRejected: 0, actionsExecuted: 1, errors: 0, errorRate: 0, realizedPnl: 0, lastPrice: 103 },
    startedAt: 1,
    stoppedAt: null,
    stopReason: null,
  };
}

describe.runIf(redisAvailable)('a lost engine, its runners and its lease (real Redis)', () => {
  it('reports a gone host\'s runners once, whichever instance notices: the open position closed at the last price, then RunnerStopped', async () => {
    const { key: stream, drop } = privateStream();
    cleanups.push(drop);
    const redis = new Redis(REDIS_URL);
    cleanups.push(() => redis.disconnect());
    const keys = failoverKeys(stream);
    const now = Date.now();
    // Host "gone-1" ran two runners and has no liveness key; host "alive-1" renews its key.
    await redis.hset(
      keys.registry,
      'p1', JSON.stringify({ owner: 'gone-1', at: now, runner: holding('p1') } satisfies RegistryEntry),
      'p2', JSON.stringify({ owner: 'gone-1', at: now, runner: { ...holding('p2'), position: null, state: 'Analyzing', unrealizedPnl: 0 } } satisfies RegistryEntry),
      'p3', JSON.stringify({ owner: 'alive-1', at: now, runner: { ...holding('p3'), position: null, state: 'Analyzing' } } satisfies RegistryEntry),
    );
    await redis.set(keys.alive('alive-1'), '1', 'PX', 60_000);
    const logged: string[] = [];
    // Two API instances watch the same registry.
    const a = new LostEngineWatch({ url: REDIS_URL, stream, leaseMs: 1000, log: (l) => logged.push(l) });
    const b = new LostEngineWatch({ url: REDIS_URL, stream, leaseMs: 1000, log: (l) => logged.push(l) });
    cleanups.push(() => a.close(), () => b.close());
    await until(async () => (await entries(redis, stream)).length >= 3, 'the report');
    await Promise.all([a.sweep(), b.sweep(), a.sweep()]);
    const events = (await entries(redis, stream)).map((e) => e.event);
    // Each runner's own events in order (runners come in the registry's order).
    expect(events).toHaveLength(3);
    expect(events.filter((e) => e.runnerId === 'p1')).toEqual([
      { type: 'PositionClosed', runnerId: 'p1', exitPrice: 103, realizedPnl: 5.5, reason: 'engine lost', timestamp: expect.any(Number) },
      { type: 'RunnerStopped', runnerId: 'p1', reason: 'engine lost', timestamp: expect.any(Number) },
    ]);
    expect(events.filter((e) => e.runnerId === 'p2')).toEqual([{ type: 'RunnerStopped', runnerId: 'p2', reason: 'engine lost', timestamp: expect.any(Number) }]);
    const registry = await redis.hgetall(keys.registry);
    const p1 = JSON.parse(registry['p1']!) as RegistryEntry;
    expect(p1).toMatchObject({ owner: 'gone-1', lost: true, runner: { state: 'Stopped', stopReason: 'engine lost', position: null } });
    expect((JSON.parse(registry['p3']!) as RegistryEntry).runner.state).toBe('Analyzing');
    expect(logged.filter((l) => l.includes('engine gone-1 is gone'))).toHaveLength(1);
  }, 30_000);

  it('a lease is held by one engine at a time, with a token above every earlier one; a stale token\'s appends are refused', async () => {
    const { key: stream, drop } = privateStream();
    cleanups.push(drop);
    const redis = new Redis(REDIS_URL);
    cleanups.push(() => redis.disconnect());
    const first = new EngineLease({ url: REDIS_URL, stream, owner: 'one', ttlMs: 1000, log: () => undefined });
    const second = new EngineLease({ url: REDIS_URL, stream, owner: 'two', ttlMs: 1000, log: () => undefined });
    expect(await first.tryAcquire()).toBeNull();
    expect(await second.tryAcquire()).toBe('one');
    const refused: number[] = [];
    const appender = new RedisAppender({ url: REDIS_URL, stream, log: () => undefined, fence: { token: first.token, onRefused: (n) => refused.push(n) } });
    cleanups.push(() => appender.close(100));
    appender.publish({ type: 'RunnerStarted', runnerId: 'f1', symbol: 'AAA', timestamp: 1 }, 'AAA');
    await until(async () => (await entries(redis, stream)).length === 1, 'the first append');
    expect((await entries(redis, stream))[0]!.fence).toBe(String(first.token));

    // The first engine stops renewing (a partition): the second takes over once it lapses.
    const start = Date.now();
    await second.acquire();
    expect(Date.now() - start).toBeLessThan(5000);
    expect(second.previous).toBe('one');
    expect(second.token).toBeGreaterThan(first.token);
    // A renewal of the first now finds another holder.
    const lost = new Promise<string>((resolve) => first.hold(resolve));
    expect(await lost).toMatch(/another engine holds the lease/);

    // The first engine's appends are refused from now on, and it is told the newer token.
    appender.publish({ type: 'RunnerStopped', runnerId: 'f1', reason: 'late', timestamp: 2 }, 'AAA');
    await until(() => refused.length === 1, 'the refusal');
    expect(refused).toEqual([second.token]);
    expect(appender.fenced).toBe(true);
    expect(await entries(redis, stream)).toHaveLength(1);
    await first.release();
    await second.release();
  }, 30_000);
  it('a runner shown "engine lost" can be restarted on another engine, or stopped for good (not resumed)', async () => {
    const { key: stream, drop } = privateStream();
    cleanups.push(drop);
    const redis = new Redis(REDIS_URL);
    cleanups.push(() => redis.disconnect());
    const first = new TradingEngine(new EventBus());
    const lost = new EngineHost(first, { url: REDIS_URL, stream, acceptStarts: true, leaseMs: 1000, recordDesired: true, log: () => undefined });
    const remote = new RemoteEngine(REDIS_URL, stream, { leaseMs: 1000, log: () => undefined });
    cleanups.push(() => remote.close(), () => first.stopAll());
    const feed = { kind: 'simulated', ticksPerSecond: 10, seed: 1 };
    await remote.addRunner({ id: 'l1', symbol: 'AAA', feed });
    await remote.addRunner({ id: 'l2', symbol: 'BBB', feed });
    await until(async () => (await remote.listRunners()).length === 2, 'both runners in the registry');
    // The host goes silent, as a partitioned or killed engine does.
    await lost.abandon();
    await until(async () => (await remote.listRunners()).every((r) => r.state === 'Stopped' && r.stopReason === 'engine lost'), 'both shown lost');

    // Stopped through the API now, l2 must not be resumed by the next engine.
    expect((await remote.stopRunner('l2')).stopReason).toBe('engine lost');
    const desired = await redis.hgetall(failoverKeys(stream).desired);
    expect(JSON.parse(desired['l2']!)).toMatchObject({ running: false });
    expect(JSON.parse(desired['l1']!)).toMatchObject({ running: true });

    // restartRunner (what the API does: its configuration, started again) runs it on the engine that is there now.
    const second = new TradingEngine(new EventBus());
    const host = new EngineHost(second, { url: REDIS_URL, stream, acceptStarts: true, leaseMs: 1000, recordDesired: true, log: () => undefined });
    cleanups.push(() => host.close(), () => second.stopAll());
    const shown = await remote.getRunner('l1');
    const restarted = await remote.addRunner(shown!.config);
    expect(restarted.state).not.toBe('Stopped');
    await until(async () => (await remote.getRunner('l1'))?.state === 'Analyzing', 'l1 running on the second engine');
  }, 30_000);
  it('a runner that stops by itself (its feed ended) is not resumed by the next engine; one stopped by the engine going is', async () => {
    const { key: stream, drop } = privateStream();
    cleanups.push(drop);
    const redis = new Redis(REDIS_URL);
    cleanups.push(() => redis.disconnect());
    const path = join(mkdtempSync(join(tmpdir(), 'tickwire-self-stop-')), 'short.csv');
    const rows = Array.from({ length: 5 }, (_, i) => `${1_700_000_000_000 + i},100,101,99,100,1,99.5,100.5`);
    writeFileSync(path, ['timestamp,open,high,low,close,volume,bid,ask', ...rows].join('\n'));
    // As the engine process wires it: the engine's events go to its log and its host.
    let host: EngineHost | null = null;
    const bus = new EventBus();
    const engine = new TradingEngine(tellingHost(bus, () => host));
    host = new EngineHost(engine, { url: REDIS_URL, stream, acceptStarts: true, leaseMs: 1000, recordDesired: true, log: () => undefined });
    const remote = new RemoteEngine(REDIS_URL, stream, { leaseMs: 1000, log: () => undefined });
    cleanups.push(() => remote.close(), () => host!.close(), () => engine.stopAll());
    await remote.addRunner({ id: 'ends', symbol: 'AAA', feed: { kind: 'replay', path, ticksPerSecond: 50 } });
    await remote.addRunner({ id: 'goes-on', symbol: 'BBB', feed: { kind: 'simulated', ticksPerSecond: 10, seed: 1 } });
    await until(() => engine.getRunner('ends')?.stopReason === 'feed ended', 'the replay to end');
    await until(async () => (await desiredRunning(redis, stream)).map((c) => c.id).join() === 'goes-on', 'only goes-on left to resume');
    // A stop somebody asked for, or the engine going, records nothing: such a runner is still to be resumed.
    for (const reason of ['engine shutting down (SIGTERM)', 'stopped by request', 'engine lost']) expect(host.noteStopped('goes-on', reason)).toBeNull();
    for (const reason of ['feed ended', 'runner failed: boom', 'stopped on error: bad row', 'internal error: x']) expect(stoppedByItself(reason)).toBe(true);
    for (const reason of ['engine shutting down (SIGTERM)', 'stopped by request', 'engine lost', 'late']) expect(stoppedByItself(reason)).toBe(false);
    await engine.stopAll('engine shutting down (SIGTERM)');
    expect((await desiredRunning(redis, stream)).map((c) => c.id)).toEqual(['goes-on']);
    expect(JSON.parse((await redis.hget(failoverKeys(stream).desired, 'ends'))!)).toMatchObject({ running: false });
  }, 30_000);
});
