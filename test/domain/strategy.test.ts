import { describe, expect, it } from 'vitest';
import type { ActionKind } from '../../src/domain/action.js';
import type { Position } from '../../src/domain/position.js';
import {
  createStrategy,
  STRATEGY_NAMES,
  StrategyConfigError,
  strategyDefaults,
  strategyParams,
  type Strategy,
} from '../../src/domain/strategy.js';
import { tick } from '../fixtures/ticks.js';

/** Feeds closes one by one, opening/closing a position the way a runner would. */
function run(strategy: Strategy, closes: readonly number[]): ActionKind[] {
  let position: Position | null = null;
  return closes.map((close, i) => {
    const { action } = strategy.onTick(tick(close, 1000 + i), { position });
    if (action === 'EnterLong' || action === 'EnterShort') {
      position = { symbol: 'TEST', side: action === 'EnterLong' ? 'LONG' : 'SHORT', quantity: 1, entryPrice: close, entryTime: i };
    } else if (action === 'Exit') {
      position = null;
    }
    return action;
  });
}

describe('EMA crossover', () => {
  it('trades a hand-computed series', () => {
    // fast α = 2/3, slow α = 1/2, both seeded with 10:
    // t4 close 13: fast 12, slow 11.5 → fast above (first sign after warm-up, no cross)
    // t5 close 7:  fast 8.6667, slow 9.25 → crosses below → EnterShort
    // t6 close 13: fast 11.5556, slow 11.125 → crosses above → Exit the short
    // t7 close 14: fast 13.1852, slow 12.5625 → still above → Hold
    // t8 close 5:  fast 7.7284, slow 8.7813 → crosses below → EnterShort
    const s = createStrategy('ema_crossover', { fastPeriod: 2, slowPeriod: 3, barSeconds: 0 });
    expect(run(s, [10, 10, 10, 13, 7, 13, 14, 5])).toEqual([
      'Hold', 'Hold', 'Hold', 'Hold', 'EnterShort', 'Exit', 'Hold', 'EnterShort',
    ]);
  });

  it('says why, with the EMA values', () => {
    const s = createStrategy('ema_crossover', { fastPeriod: 2, slowPeriod: 3, barSeconds: 0 });
    const reasons = [10, 10, 10, 13, 7].map((c, i) => s.onTick(tick(c, i), { position: null }).reason);
    expect(reasons[0]).toBe('warming up');
    expect(reasons[4]).toBe('fast EMA 8.6667 crossed below slow EMA 9.2500');
  });

  it('enters long on a cross up when flat', () => {
    const s = createStrategy('ema_crossover', { fastPeriod: 2, slowPeriod: 3, barSeconds: 0 });
    // t4 close 7: fast 8, slow 8.5 → below; t5 close 13: fast 11.3333, slow 10.75 → crosses above
    expect(run(s, [10, 10, 10, 7, 13])).toEqual(['Hold', 'Hold', 'Hold', 'Hold', 'EnterLong']);
  });

  it('holds through the warm-up of slowPeriod ticks', () => {
    const s = createStrategy('ema_crossover', { fastPeriod: 2, slowPeriod: 5, barSeconds: 0 });
    expect(run(s, [10, 1, 30, 1]).every((a) => a === 'Hold')).toBe(true);
  });
});

describe('mean reversion', () => {
  it('trades a hand-computed series', () => {
    // window 4, entryZ 1.2, exitZ 0.5 (population standard deviation):
    // [10,12,10,12] z(12) = 1 → Hold
    // [12,10,12,8]  mean 10.5, std 1.6583, z(8) = −1.5076 → EnterLong
    // [10,12,8,10]  mean 10, z(10) = 0 ≥ −0.5 → Exit
    // [12,8,10,14]  mean 11, std 2.2361, z(14) = 1.3416 → EnterShort
    // [8,10,14,11]  mean 10.75, std 2.1651, z(11) = 0.1155 ≤ 0.5 → Exit
    const s = createStrategy('mean_reversion', { window: 4, entryZ: 1.2, exitZ: 0.5, barSeconds: 0 });
    expect(run(s, [10, 12, 10, 12, 8, 10, 14, 11])).toEqual([
      'Hold', 'Hold', 'Hold', 'Hold', 'EnterLong', 'Exit', 'EnterShort', 'Exit',
    ]);
  });

  it('holds on a flat window instead of dividing by zero', () => {
    const s = createStrategy('mean_reversion', { window: 3, barSeconds: 0 });
    expect(run(s, [5, 5, 5, 5, 5])).toEqual(['Hold', 'Hold', 'Hold', 'Hold', 'Hold']);
  });

  it('matches a naive windowed computation over a long random walk', () => {
    const window = 20;
    const s = createStrategy('mean_reversion', { window, entryZ: 1.5, exitZ: 0.3, barSeconds: 0 });
    let seed = 7;
    const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const closes: number[] = [];
    let price = 60_000;
    for (let i = 0; i < 20_000; i++) closes.push((price *= 1 + (rand() - 0.5) * 0.001));
    const naive = (i: number, side: 'LONG' | 'SHORT' | undefined): ActionKind => {
      if (i + 1 < window) return 'Hold';
      const w = closes.slice(i + 1 - window, i + 1);
      const mean = w.reduce((a, b) => a + b, 0) / window;
      const std = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / window);
      const z = (closes[i]! - mean) / std;
      if (side === undefined) return z <= -1.5 ? 'EnterLong' : z >= 1.5 ? 'EnterShort' : 'Hold';
      return (side === 'LONG' ? z >= -0.3 : z <= 0.3) ? 'Exit' : 'Hold';
    };
    let position: Position | null = null;
    let trades = 0;
    closes.forEach((close, i) => {
      const got = s.onTick(tick(close, i), { position }).action;
      expect(got, `tick ${i}`).toBe(naive(i, position?.side));
      if (got === 'EnterLong' || got === 'EnterShort') {
        trades++;
        position = { symbol: 'TEST', side: got === 'EnterLong' ? 'LONG' : 'SHORT', quantity: 1, entryPrice: close, entryTime: i };
      } else if (got === 'Exit') position = null;
    });
    expect(trades).toBeGreaterThan(10);
  });
});

describe('createStrategy', () => {
  it('knows both strategies and their defaults', () => {
    expect(STRATEGY_NAMES).toEqual(['ema_crossover', 'mean_reversion']);
    expect(strategyDefaults('ema_crossover')).toEqual({ fastPeriod: 12, slowPeriod: 26, barSeconds: 5 });
    expect(strategyDefaults('mean_reversion')).toEqual({ window: 12, entryZ: 2, exitZ: 0.5, barSeconds: 5 });
    expect(createStrategy('ema_crossover', { fastPeriod: 5 }).params).toEqual({ fastPeriod: 5, slowPeriod: 26, barSeconds: 5 });
    expect(strategyParams('mean_reversion').map((p) => p.name)).toEqual(['window', 'entryZ', 'exitZ', 'barSeconds']);
  });

  it.each<[string, Record<string, number>, string]>([
    ['nope', {}, 'unknown strategy "nope" (known: ema_crossover, mean_reversion)'],
    ['toString', {}, 'unknown strategy "toString"'],
    ['ema_crossover', { fast: 3 }, 'unknown parameter "fast" for strategy ema_crossover (known: fastPeriod, slowPeriod, barSeconds)'],
    ['ema_crossover', { fastPeriod: 2.5 }, 'parameter fastPeriod of ema_crossover must be a whole number, got 2.5'],
    ['ema_crossover', { fastPeriod: 0 }, 'parameter fastPeriod of ema_crossover must be within 1..10000, got 0'],
    ['ema_crossover', { fastPeriod: 30 }, 'strategy ema_crossover: fastPeriod (30) must be less than slowPeriod (26)'],
    ['mean_reversion', { entryZ: Number.NaN }, 'parameter entryZ of mean_reversion must be a finite number, got NaN'],
    ['mean_reversion', { exitZ: 3 }, 'strategy mean_reversion: exitZ (3) must be less than entryZ (2)'],
  ])('refuses %s %j', (name, params, message) => {
    expect(() => createStrategy(name, params)).toThrow(StrategyConfigError);
    expect(() => createStrategy(name, params)).toThrow(message);
  });
});

describe('time bars', () => {
  /** The actions of `strategy` over ticks at `perSecond`, each bar's ticks ending at the bar's close. */
  function onBars(strategy: Strategy, closes: readonly number[], ticksPerBar: number, barMs: number): { action: ActionKind; at: number }[] {
    let position: Position | null = null;
    const out: { action: ActionKind; at: number }[] = [];
    const t0 = 1_700_000_000_000;
    closes.forEach((close, bar) => {
      for (let i = 0; i < ticksPerBar; i++) {
        // The bar's price wanders inside it and ends at its close: only the close may count.
        const price = i === ticksPerBar - 1 ? close : close * (1 + (i % 2 === 0 ? 0.2 : -0.2));
        const { action } = strategy.onTick(tick(price, t0 + bar * barMs + (i * barMs) / ticksPerBar), { position });
        if (action === 'EnterLong' || action === 'EnterShort') {
          position = { symbol: 'TEST', side: action === 'EnterLong' ? 'LONG' : 'SHORT', quantity: 1, entryPrice: price, entryTime: bar };
        } else if (action === 'Exit') {
          position = null;
        }
        if (action !== 'Hold') out.push({ action, at: bar * ticksPerBar + i });
      }
    });
    return out;
  }

  it.each([
    ['ema_crossover', { fastPeriod: 2, slowPeriod: 3 }, [10, 10, 10, 13, 7, 13, 14, 5, 6]],
    ['mean_reversion', { window: 4, entryZ: 1.2, exitZ: 0.5 }, [10, 12, 10, 12, 8, 10, 14, 11, 11]],
  ] as const)('%s decides on bar closes as it decides per tick on the closes alone', (name, params, closes) => {
    const perTick = run(createStrategy(name, { ...params, barSeconds: 0 }), closes);
    // Ten ticks a bar: each bar closes when the next bar's first tick arrives.
    const barred = onBars(createStrategy(name, { ...params, barSeconds: 1 }), closes, 10, 1000);
    const expected = perTick.flatMap((action, bar) => (action === 'Hold' ? [] : [{ action, at: (bar + 1) * 10 }]));
    // The last bar never closes (no tick of a later bar), so its decision is not made.
    expect(barred).toEqual(expected.filter((e) => e.at < closes.length * 10));
    expect(barred.length).toBeGreaterThan(0);
  });

  it('holds while a bar forms, saying so', () => {
    const s = createStrategy('ema_crossover', { fastPeriod: 2, slowPeriod: 3, barSeconds: 5 });
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 3; i++) s.onTick(tick(10, t0 + i * 5000), { position: null });
    // The fourth bar is forming: prices inside it move a lot, and nothing is decided.
    const reasons = [20, 1, 30].map((close, i) => s.onTick(tick(close, t0 + 15_000 + i * 1000), { position: null }));
    expect(reasons.map((r) => r.action)).toEqual(['Hold', 'Hold', 'Hold']);
    expect(reasons.at(-1)?.reason).toBe('bar forming');
  });

  it('refuses a bar longer than an hour or negative', () => {
    expect(() => createStrategy('mean_reversion', { barSeconds: 3601 })).toThrow(/barSeconds of mean_reversion must be within 0\.\.3600/);
    expect(() => createStrategy('ema_crossover', { barSeconds: -1 })).toThrow(/barSeconds of ema_crossover must be within 0\.\.3600/);
  });
});
