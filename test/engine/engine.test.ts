import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Collect } from './collect.js';
import { EngineError } from '../../src/engine/config.js';
import { TradingEngine } from '../../src/engine/engine.js';

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function expectEngineError(fn: () => unknown, code: string, message: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe(code);
    expect((err as EngineError).message).toMatch(message);
    return;
  }
  throw new Error('expected an EngineError');
}

describe('TradingEngine', () => {
  it('adds runners at run time and stops them with RunnerStarted / RunnerStopped', async () => {
    const sink = new Collect();
    const engine = new TradingEngine(sink);
    engine.addRunner({ id: 'a', symbol: 'BTCUSDT', feed: { kind: 'simulated', ticksPerSecond: 500 } });
    engine.addRunner({ id: 'b', symbol: 'ETHUSDT', strategy: 'mean_reversion', feed: { kind: 'simulated', ticksPerSecond: 500 } });
    await until(() => sink.of('a').filter((e) => e.type === 'TickReceived').length > 5 && sink.of('b').some((e) => e.type === 'TickReceived'));
    const stopped = await engine.stopRunner('a', 'enough');
    expect(stopped.state).toBe('Stopped');
    expect(stopped.stopReason).toBe('enough');
    expect(sink.of('a')[0]).toMatchObject({ type: 'RunnerStarted', symbol: 'BTCUSDT' });
    expect(sink.of('a').at(-1)).toMatchObject({ type: 'RunnerStopped', reason: 'enough' });
    const countA = sink.of('a').length;
    const countB = sink.of('b').length;
    // b goes on while a stays stopped: a few more of b's ticks, none of a's.
    await until(() => sink.of('b').length > countB + 3);
    expect(sink.of('a').length).toBe(countA);
    expect(sink.events.every((e) => e.symbol === (e.event.runnerId === 'a' ? 'BTCUSDT' : 'ETHUSDT'))).toBe(true);
    expect(engine.listRunners().map((r) => r.id)).toEqual(['a', 'b']);
    expect(engine.getRunner('b')!.state).not.toBe('Stopped');
    await engine.stopAll();
    expect(engine.listRunners().every((r) => r.state === 'Stopped')).toBe(true);
  });

  it('refuses a duplicate id while the runner runs, and accepts it again once stopped', async () => {
    const engine = new TradingEngine(new Collect());
    engine.addRunner({ id: 'x', symbol: 'BTCUSDT' });
    expectEngineError(() => engine.addRunner({ id: 'x', symbol: 'ETHUSDT' }), 'DUPLICATE_RUNNER', /"x" is already running/);
    await engine.stopRunner('x');
    expect(engine.addRunner({ id: 'x', symbol: 'ETHUSDT' }).symbol).toBe('ETHUSDT');
    await engine.stopAll();
  });

  it.each([
    [{ id: 'u', symbol: 'S', strategy: 'moon' }, /moon/],
    [{ id: 'p', symbol: 'S', strategy: 'ema_crossover', params: { fastPeriod: 30, slowPeriod: 10 } }, /fastPeriod|slowPeriod/],
    [{ id: 'q', symbol: 'S', quantity: -1 }, /quantity/],
    [{ id: 'f', symbol: 'S', feed: { kind: 'simulated', ticksPerSecond: 0 } }, /feed\.ticksPerSecond/],
    [{ id: 'k', symbol: 'S', feed: { kind: 'carrier-pigeon' } }, /feed\.kind/],
    [{ id: 't', symbol: 'S', qantity: 3 }, /qantity/],
    [{ symbol: 'S' }, /id/],
    [{ id: 'bad id!', symbol: 'S' }, /id: must be/],
    [{ id: 'z', symbol: '' }, /symbol/],
  ])('rejects bad config %j with a message naming the problem', (input, message) => {
    const engine = new TradingEngine(new Collect());
    expectEngineError(() => engine.addRunner(input), 'INVALID_CONFIG', message);
    expect(engine.listRunners()).toEqual([]);
  });

  it('stopping an unknown runner is a clear error', async () => {
    const engine = new TradingEngine(new Collect());
    await expect(engine.stopRunner('ghost')).rejects.toMatchObject({ code: 'UNKNOWN_RUNNER', message: 'no runner with id "ghost"' });
  });

  it('keeps other runners going when one fails on every tick', async () => {
    const sink = new Collect();
    const engine = new TradingEngine(sink);
    const dir = mkdtempSync(join(tmpdir(), 'tickwire-engine-'));
    const path = join(dir, 'bad.jsonl');
    writeFileSync(path, Array.from({ length: 50 }, (_, i) => `{"bad": ${i}}`).join('\n'));
    engine.addRunner({ id: 'broken', symbol: 'BTCUSDT', stopOnError: true, feed: { kind: 'replay', path } });
    engine.addRunner({ id: 'healthy', symbol: 'ETHUSDT', feed: { kind: 'simulated', ticksPerSecond: 1000 } });
    await until(() => engine.getRunner('broken')!.state === 'Stopped');
    const before = sink.of('healthy').length;
    await until(() => sink.of('healthy').length > before + 10);
    expect(sink.of('broken').find((e) => e.type === 'Error')).toMatchObject({ severity: 'Critical', error: 'bad feed row (bad.jsonl:1): missing field timestamp' });
    expect(engine.getRunner('healthy')!.state).not.toBe('Stopped');
    await engine.stopAll();
  });

  it('stops a replay runner when its file ends, after processing every row', async () => {
    const sink = new Collect();
    const engine = new TradingEngine(sink);
    const dir = mkdtempSync(join(tmpdir(), 'tickwire-engine-'));
    const path = join(dir, 'short.csv');
    const rows = Array.from({ length: 20 }, (_, i) => `${1_700_000_000_000 + i},${100 + i},${101 + i},${99 + i},${100 + i},1,${99.5 + i},${100.5 + i}`);
    writeFileSync(path, ['timestamp,open,high,low,close,volume,bid,ask', ...rows].join('\n'));
    engine.addRunner({ id: 'rp', symbol: 'SOLUSDT', feed: { kind: 'replay', path } });
    await until(() => engine.getRunner('rp')!.state === 'Stopped');
    expect(sink.of('rp').filter((e) => e.type === 'TickReceived')).toHaveLength(20);
    expect(sink.of('rp').at(-1)).toMatchObject({ type: 'RunnerStopped', reason: 'feed ended' });
    expect(engine.getRunner('rp')!.stats.ticksProcessed).toBe(20);
  });

  it('emits StatsUpdate at the configured interval', async () => {
    const sink = new Collect();
    const engine = new TradingEngine(sink);
    engine.addRunner({ id: 's', symbol: 'BTCUSDT', statsIntervalMs: 100, feed: { kind: 'simulated', ticksPerSecond: 200 } });
    await until(() => sink.of('s').filter((e) => e.type === 'StatsUpdate').length >= 2);
    const stats = sink.of('s').filter((e) => e.type === 'StatsUpdate').at(-1)!;
    expect(stats).toMatchObject({ type: 'StatsUpdate', runnerId: 's', errorRate: 0 });
    expect(stats.type === 'StatsUpdate' && stats.ticksProcessed).toBeGreaterThan(0);
    await engine.stopAll();
  });
});
