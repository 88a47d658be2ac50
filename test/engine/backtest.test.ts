import { describe, expect, it } from 'vitest';
import { backtest } from '../../src/engine/backtest.js';
import { DEFAULT_RUNNERS } from '../../src/engine/defaults.js';

const TEN_MINUTES = 600_000;

describe('the default runners over ten simulated minutes', () => {
  const results = DEFAULT_RUNNERS.map((runner) => backtest(runner, TEN_MINUTES));

  it.each(results.map((r) => [r.runnerId, r] as const))('%s trades a few times, never several times a second', (_id, result) => {
    expect(result.ticks).toBe(60_000);
    // Decisions on 5-second bars: at most a few round trips a minute. Per tick they were
    // over a hundred a minute.
    expect(result.trades).toBeLessThanOrEqual(30);
    expect(result.entries).toBeGreaterThanOrEqual(1);
  });

  it.each(results.map((r) => [r.runnerId, r] as const))('%s sees a realistic market: no minute moves 1 %%', (_id, result) => {
    // 60–100 % a year is about 0.08–0.14 % a minute (one σ); a 1 % minute would be a 7σ event.
    expect(result.largestMinuteMovePct).toBeLessThan(1);
    expect(result.largestMinuteMovePct).toBeGreaterThan(0);
    expect(Math.abs(result.lastPrice / result.firstPrice - 1)).toBeLessThan(0.05);
  });

  it('is deterministic: the runner id seeds the walk', () => {
    expect(backtest(DEFAULT_RUNNERS[0], TEN_MINUTES)).toEqual(results[0]);
  });

  it('trades more per tick than on bars (the bars are what keeps it calm)', () => {
    const perTick = backtest({ ...DEFAULT_RUNNERS[0], params: { barSeconds: 0 } }, TEN_MINUTES);
    expect(perTick.trades).toBeGreaterThan(10 * Math.max(1, results[0]?.trades ?? 0));
  });

  it('refuses a replay feed and a duration out of bounds', () => {
    expect(() => backtest({ id: 'r', symbol: 'X', feed: { kind: 'replay', path: 'a.csv' } }, 1000)).toThrow(/only a simulated feed can be backtested/);
    expect(() => backtest(DEFAULT_RUNNERS[0], Number.NaN)).toThrow(/durationMs must be within/);
    expect(() => backtest(DEFAULT_RUNNERS[0], 30 * 86_400_000)).toThrow(/durationMs must be within/);
  });
});
