import { describe, expect, it } from 'vitest';
import { checkMarketData, type MarketData } from '../../src/domain/market-data.js';

const good: MarketData = {
  symbol: 'BTCUSDT',
  timestamp: 1_700_000_000_000,
  open: 100,
  high: 105,
  low: 95,
  close: 102,
  volume: 3,
  bid: 101.9,
  ask: 102.1,
};

describe('checkMarketData', () => {
  it('accepts a well-formed tick', () => {
    expect(checkMarketData(good)).toBeNull();
  });

  it.each<[string, Partial<Record<keyof MarketData, unknown>>, RegExp]>([
    ['empty symbol', { symbol: '' }, /symbol/],
    ['timestamp in fractional ms', { timestamp: 1.5 }, /timestamp/],
    ['negative timestamp', { timestamp: -1 }, /timestamp/],
    ['timestamp far beyond ms range', { timestamp: 1e17 }, /timestamp/],
    ['NaN close', { close: Number.NaN }, /close must be a finite number/],
    ['Infinity high', { high: Number.POSITIVE_INFINITY }, /high must be a finite number/],
    ['string open', { open: '100' }, /open must be a finite number/],
    ['zero bid', { bid: 0 }, /bid must be positive/],
    ['negative volume', { volume: -1 }, /volume/],
    ['low above high', { low: 106 }, /low 106 is above high 105/],
    ['open below low', { open: 90 }, /open 90 is outside low\.\.high/],
    ['close above high', { close: 110 }, /close 110 is outside/],
    ['crossed quote', { bid: 102.2, ask: 102.1 }, /bid 102.2 is above ask 102.1/],
  ])('rejects %s with a reason', (_, patch, reason) => {
    expect(checkMarketData({ ...good, ...patch } as MarketData)).toMatch(reason);
  });

  it('never throws, whatever it is handed', () => {
    for (const junk of [null, undefined, 42, 'tick', [], {}]) {
      expect(typeof checkMarketData(junk as unknown as MarketData)).toBe('string');
    }
  });
});
