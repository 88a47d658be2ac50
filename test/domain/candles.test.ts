import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CandleSeries, intervalStart } from '../../src/domain/candles.js';

describe('CandleSeries', () => {
  it('refuses an interval or a size it cannot keep', () => {
    expect(() => new CandleSeries(999, 10)).toThrow(/intervalMs must be a whole number within 1000..86400000, got 999/);
    expect(() => new CandleSeries(1000, 0)).toThrow(/keep must be a positive whole number, got 0/);
  });

  it('equals a plain grouping of the ticks by interval, over random tick sequences', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.double({ min: 1, max: 1000, noNaN: true })), { maxLength: 200 }),
        fc.constantFrom(1000, 5000, 60_000),
        (steps, intervalMs) => {
          const series = new CandleSeries(intervalMs, 1_000_000);
          let time = 1_700_000_000_000;
          const ticks: [number, number][] = [];
          for (const [gap, price] of steps) {
            time += gap * 37;
            ticks.push([time, price]);
            series.add(time, price);
          }
          // The obvious implementation: group by interval start, in order.
          const groups = new Map<number, number[]>();
          for (const [t, p] of ticks) groups.set(intervalStart(t, intervalMs), [...(groups.get(intervalStart(t, intervalMs)) ?? []), p]);
          const expected = [...groups].map(([start, ps]) => ({ start, open: ps[0], high: Math.max(...ps), low: Math.min(...ps), close: ps[ps.length - 1], ticks: ps.length }));
          expect(series.bars).toEqual(expected);
        },
      ),
    );
  });

  it('keeps the newest candles only, and ignores a tick older than the last candle', () => {
    const series = new CandleSeries(1000, 3);
    for (let i = 0; i < 10; i++) series.add(i * 1000, i);
    expect(series.bars.map((b) => b.start)).toEqual([7000, 8000, 9000]);
    expect(series.add(8500, 100)).toBeNull();
    expect(series.bars.map((b) => b.high)).toEqual([7, 8, 9]);
  });

  it('backfills older candles in front, merging the interval both have', () => {
    const series = new CandleSeries(1000, 4);
    series.add(2500, 5);
    series.add(3200, 6);
    series.backfill([
      { start: 0, open: 1, high: 1, low: 1, close: 1, ticks: 1 },
      { start: 1000, open: 2, high: 2, low: 2, close: 2, ticks: 1 },
      { start: 2000, open: 3, high: 4, low: 3, close: 4, ticks: 2 },
    ]);
    expect(series.bars).toEqual([
      { start: 0, open: 1, high: 1, low: 1, close: 1, ticks: 1 },
      { start: 1000, open: 2, high: 2, low: 2, close: 2, ticks: 1 },
      { start: 2000, open: 3, high: 5, low: 3, close: 5, ticks: 2 },
      { start: 3000, open: 6, high: 6, low: 6, close: 6, ticks: 1 },
    ]);
    series.backfill([]);
    expect(series.bars).toHaveLength(4);
    // One more backfill beyond `keep` drops the oldest.
    series.backfill([{ start: -1000, open: 0, high: 0, low: 0, close: 0, ticks: 1 }]);
    expect(series.bars.map((b) => b.start)).toEqual([0, 1000, 2000, 3000]);
  });
});
