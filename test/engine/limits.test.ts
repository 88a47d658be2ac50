import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ActionKind } from '../../src/domain/action.js';
import type { Strategy } from '../../src/domain/strategy.js';
import { DEFAULT_MAX_RUNNERS, DEFAULT_MAX_TOTAL_TICKS_PER_SECOND, EngineError, parseRunnerConfig } from '../../src/engine/config.js';
import { TradingEngine, type EventSink } from '../../src/engine/engine.js';
import { findNonFinite } from '../../src/engine/finite.js';
import { SymbolRunner } from '../../src/engine/runner.js';
import type { RunnerEvent } from '../../src/events/types.js';
import { ConfigError, loadServerConfig } from '../../src/app/config.js';
import { tick } from '../fixtures/ticks.js';

class Collect implements EventSink {
  readonly events: RunnerEvent[] = [];
  publish(event: RunnerEvent): void {
    this.events.push(event);
  }
}

function refusal(fn: () => unknown): EngineError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EngineError);
    return err as EngineError;
  }
  throw new Error('expected an EngineError');
}

function scripted(actions: readonly ActionKind[]): Strategy {
  let i = 0;
  return { name: 'scripted', params: {}, onTick: () => ({ action: actions[i++] ?? 'Hold', reason: `step ${i}` }) };
}

describe('runner configuration bounds', () => {
  it.each([
    [{ quantity: 1e308 }, /quantity: Too big: expected number to be <=1000000/],
    [{ quantity: 0 }, /quantity: Too small/],
    [{ feeRate: 0.1 }, /feeRate: Too big: expected number to be <0\.1/],
    [{ feeRate: -0.01 }, /feeRate: Too small/],
    [{ feed: { kind: 'simulated', startPrice: 1e308 } }, /feed\.startPrice: Too big/],
    [{ feed: { kind: 'simulated', startPrice: 1e-9 } }, /feed\.startPrice: Too small/],
    [{ feed: { kind: 'simulated', volatility: 0.2 } }, /feed\.volatility: Too big/],
    [{ feed: { kind: 'simulated', ticksPerSecond: 1e12 } }, /feed\.ticksPerSecond: Too big/],
    [{ feed: { kind: 'replay', path: 'a.csv', ticksPerSecond: 1e12 } }, /feed\.ticksPerSecond: Too big/],
    [{ feed: { kind: 'replay', path: 'x'.repeat(1025) } }, /feed\.path: Too big/],
    [{ statsIntervalMs: 10 }, /statsIntervalMs: Too small/],
    [{ params: { fastPeriod: Number.POSITIVE_INFINITY } }, /params\.fastPeriod/],
  ])('%j is refused, naming the key', (extra, message) => {
    expect(() => parseRunnerConfig({ id: 'x', symbol: 'X', ...extra })).toThrow(message);
  });

  it.each([
    ['ema_crossover', { fastPeriod: 20_000 }, /fastPeriod of ema_crossover must be within 1\.\.10000/],
    ['ema_crossover', { slowPeriod: 2.5 }, /slowPeriod of ema_crossover must be a whole number/],
    ['mean_reversion', { window: 50_000 }, /window of mean_reversion must be within 2\.\.10000/],
    ['mean_reversion', { entryZ: 1e9 }, /entryZ of mean_reversion must be within 0\.\.100/],
  ])('strategy %s params %j are refused at start', (strategy, params, message) => {
    const engine = new TradingEngine(new Collect());
    const err = refusal(() => engine.addRunner({ id: 'x', symbol: 'X', strategy, params }));
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message).toMatch(message);
  });
});

describe('a runner never publishes a non-finite number', () => {
  it('finds the first non-finite number and its path', () => {
    expect(findNonFinite({ a: 1, b: [{ c: 2 }, { d: Number.NaN }] })).toEqual({ path: 'b.1.d', value: Number.NaN });
    expect(findNonFinite({ a: 'Infinity', b: null, c: [1, 2] })).toBeNull();
    expect(findNonFinite(Number.NEGATIVE_INFINITY)).toEqual({ path: '', value: Number.NEGATIVE_INFINITY });
  });

  it('a P&L that overflows is one Critical RunnerError naming the field, and the runner stops', () => {
    const events: RunnerEvent[] = [];
    // 1e308 units: the engine refuses it; a runner built by hand must still hold the line.
    const runner = new SymbolRunner({ id: 'r', symbol: 'TEST', strategy: scripted(['EnterLong', 'Hold', 'Hold']), quantity: 1e308 }, (e) => events.push(e));
    runner.start();
    runner.processTick(tick(100, 1));
    runner.processTick(tick(200, 2));
    runner.processTick(tick(300, 3));
    for (const event of events) expect(findNonFinite(event)).toBeNull();
    const errors = events.filter((e) => e.type === 'Error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ severity: 'Critical', error: expect.stringMatching(/^PositionUpdated\.unrealizedPnl would be Infinity, not a finite number/) });
    expect(events.at(-1)).toMatchObject({ type: 'RunnerStopped', reason: 'stopped on a non-finite PositionUpdated.unrealizedPnl' });
    expect(runner.state).toBe('Stopped');
    expect(runner.position).toBeNull();
    expect(Number.isFinite(runner.stats.realizedPnl)).toBe(true);
    expect(Number.isFinite(runner.unrealizedPnl)).toBe(true);
    expect(runner.stats.lastPrice).toBe(100);
    // After the stop nothing more is published.
    const count = events.length;
    runner.processTick(tick(400, 4));
    runner.stop('again');
    expect(events).toHaveLength(count);
  });

  it('a realized P&L that overflows on exit publishes none of the exit', () => {
    const events: RunnerEvent[] = [];
    // The mark is finite (the bid barely moves) but the exit price makes the P&L overflow.
    const runner = new SymbolRunner({ id: 'r', symbol: 'TEST', strategy: scripted(['EnterLong', 'Exit']), quantity: 1e305 }, (e) => events.push(e));
    runner.start();
    runner.processTick(tick(100, 1));
    runner.processTick({ ...tick(1e5, 2), low: 1, bid: 1e5 });
    for (const event of events) expect(findNonFinite(event)).toBeNull();
    expect(events.some((e) => e.type === 'PositionClosed')).toBe(false);
    expect(events.filter((e) => e.type === 'Error')).toMatchObject([{ severity: 'Critical' }]);
    expect(runner.state).toBe('Stopped');
    expect(Number.isFinite(runner.stats.realizedPnl)).toBe(true);
  });

  it('the engine keeps the sink clean and the other runners going', async () => {
    const sink = new Collect();
    const engine = new TradingEngine(sink);
    const dir = mkdtempSync(join(tmpdir(), 'tickwire-finite-'));
    const path = join(dir, 'huge.jsonl');
    // Prices near the largest double: every P&L of 1e6 units overflows.
    const row = (t: number, p: number) => JSON.stringify({ symbol: 'BTCUSDT', timestamp: t, open: p, high: p, low: p, close: p, volume: 1, bid: p, ask: p });
    writeFileSync(path, Array.from({ length: 60 }, (_, i) => row(1 + i, i % 7 === 0 ? 1e301 : 1e304)).join('\n'));
    engine.addRunner({ id: 'big', symbol: 'BTCUSDT', quantity: 1e6, strategy: 'ema_crossover', params: { fastPeriod: 1, slowPeriod: 2, barSeconds: 0 }, feed: { kind: 'replay', path, ticksPerSecond: 10_000 } });
    await new Promise<void>((resolve) => {
      const check = setInterval(() => engine.getRunner('big')!.state === 'Stopped' && (clearInterval(check), resolve()), 5);
    });
    for (const event of sink.events) expect(findNonFinite(event)).toBeNull();
    expect(sink.events.filter((e) => e.type === 'Error')).toMatchObject([{ severity: 'Critical', error: expect.stringMatching(/not a finite number/) }]);
    const info = engine.getRunner('big')!;
    expect(Number.isFinite(info.stats.realizedPnl) && Number.isFinite(info.unrealizedPnl)).toBe(true);
    await engine.stopAll();
  });
});

describe('engine caps (MAX_RUNNERS, MAX_TOTAL_TICKS_PER_SECOND)', () => {
  it('has defaults that keep two cores responsive', () => {
    const engine = new TradingEngine(new Collect());
    expect(engine.limits).toEqual({ maxRunners: DEFAULT_MAX_RUNNERS, maxTotalTicksPerSecond: DEFAULT_MAX_TOTAL_TICKS_PER_SECOND });
    expect(DEFAULT_MAX_TOTAL_TICKS_PER_SECOND).toBe(20_000);
    expect(DEFAULT_MAX_RUNNERS).toBe(100);
  });

  it('refuses a runner over the count, naming the limit and MAX_RUNNERS; a stopped one frees its place', async () => {
    const engine = new TradingEngine(new Collect(), { maxRunners: 2 });
    engine.addRunner({ id: 'a', symbol: 'X', feed: { kind: 'simulated', ticksPerSecond: 10 } });
    engine.addRunner({ id: 'b', symbol: 'X', feed: { kind: 'simulated', ticksPerSecond: 10 } });
    const err = refusal(() => engine.addRunner({ id: 'c', symbol: 'X' }));
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message).toBe('runner "c": the engine already runs 2 runners, its limit (MAX_RUNNERS=2); stop one first');
    await engine.stopRunner('a');
    engine.addRunner({ id: 'c', symbol: 'X', feed: { kind: 'simulated', ticksPerSecond: 10 } });
    await engine.stopAll();
  });

  it('refuses a rate over the total, counting the running runners, naming MAX_TOTAL_TICKS_PER_SECOND', async () => {
    const engine = new TradingEngine(new Collect(), { maxTotalTicksPerSecond: 1000 });
    expect(refusal(() => engine.addRunner({ id: 'fast', symbol: 'X', feed: { kind: 'simulated', ticksPerSecond: 100_000 } })).message).toBe(
      `runner "fast": feed.ticksPerSecond 100000 is over the engine's limit of 1000 ticks/s for all runners together (MAX_TOTAL_TICKS_PER_SECOND)`,
    );
    engine.addRunner({ id: 'a', symbol: 'X', feed: { kind: 'simulated', ticksPerSecond: 600 } });
    expect(refusal(() => engine.addRunner({ id: 'b', symbol: 'X', feed: { kind: 'simulated', ticksPerSecond: 500 } })).message).toBe(
      'runner "b": feed.ticksPerSecond 500 would take the engine to 1100 ticks/s, over its limit of 1000 (MAX_TOTAL_TICKS_PER_SECOND); 600 are in use',
    );
    // A replay without a rate counts at its default of 1000/s.
    const dir = mkdtempSync(join(tmpdir(), 'tickwire-limits-'));
    writeFileSync(join(dir, 't.csv'), 'timestamp,open,high,low,close,volume,bid,ask\n');
    expect(refusal(() => engine.addRunner({ id: 'r', symbol: 'X', feed: { kind: 'replay', path: join(dir, 't.csv') } })).message).toMatch(/1600 ticks\/s/);
    await engine.stopRunner('a');
    engine.addRunner({ id: 'b', symbol: 'X', feed: { kind: 'simulated', ticksPerSecond: 500 } });
    await engine.stopAll();
  });

  it('forgets the oldest stopped runners beyond MAX_RUNNERS', async () => {
    const engine = new TradingEngine(new Collect(), { maxRunners: 2 });
    for (const id of ['a', 'b', 'c', 'd']) {
      engine.addRunner({ id, symbol: 'X', feed: { kind: 'simulated', ticksPerSecond: 10 } });
      await engine.stopRunner(id);
    }
    engine.addRunner({ id: 'e', symbol: 'X', feed: { kind: 'simulated', ticksPerSecond: 10 } });
    expect(engine.listRunners().map((r) => r.id)).toEqual(['c', 'd', 'e']);
    await engine.stopAll();
  });

  it('refuses a replay file that is not there at start, naming only its base name', () => {
    const engine = new TradingEngine(new Collect());
    const err = refusal(() => engine.addRunner({ id: 'r', symbol: 'X', feed: { kind: 'replay', path: '/nowhere/at/all/ticks.csv' } }));
    expect(err).toMatchObject({ code: 'INVALID_CONFIG', message: 'runner "r": feed.path: no such file "ticks.csv"' });
    expect(refusal(() => engine.addRunner({ id: 'r', symbol: 'X', feed: { kind: 'replay', path: '/dev/zero' } })).message).toBe(
      'runner "r": feed.path: "zero" is not a regular file',
    );
  });
});

describe('environment: REPLAY_DIR, MAX_RUNNERS, MAX_TOTAL_TICKS_PER_SECOND', () => {
  it('defaults: no REPLAY_DIR, the engine defaults', () => {
    const config = loadServerConfig({});
    expect(config.replayDir).toBeNull();
    expect(config.engine).toEqual({ maxRunners: 100, maxTotalTicksPerSecond: 20_000 });
  });

  it('takes them, REPLAY_DIR made absolute', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickwire-env-'));
    const config = loadServerConfig({ REPLAY_DIR: dir, MAX_RUNNERS: '5', MAX_TOTAL_TICKS_PER_SECOND: '5000' });
    expect(config.replayDir).toBe(dir);
    expect(config.engine).toEqual({ maxRunners: 5, maxTotalTicksPerSecond: 5000 });
  });

  it.each([
    [{ REPLAY_DIR: '/nowhere/at/all' }, /REPLAY_DIR: \/nowhere\/at\/all is not a folder/],
    [{ MAX_RUNNERS: '0' }, /MAX_RUNNERS/],
    [{ MAX_TOTAL_TICKS_PER_SECOND: '1000000' }, /MAX_TOTAL_TICKS_PER_SECOND/],
  ])('refuses %j', (env, message) => {
    expect(() => loadServerConfig(env)).toThrow(ConfigError);
    expect(() => loadServerConfig(env)).toThrow(message);
  });
});
