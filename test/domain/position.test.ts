import { describe, expect, it } from 'vitest';
import { openPosition, positionPnl, validateFeeRate } from '../../src/domain/position.js';

describe('positions and P&L', () => {
  it('long: unrealized and realized P&L by hand', () => {
    const p = openPosition({ symbol: 'X', side: 'LONG', quantity: 2, price: 100, time: 1 });
    expect(positionPnl(p, 103)).toBe(6); // (103 − 100) × 2
    expect(positionPnl(p, 99)).toBe(-2);
    expect(positionPnl(p, 100)).toBe(0);
  });

  it('short: gains when the price falls', () => {
    const p = openPosition({ symbol: 'X', side: 'SHORT', quantity: 3, price: 50, time: 1 });
    expect(positionPnl(p, 45)).toBe(15); // (50 − 45) × 3
    expect(positionPnl(p, 52)).toBe(-6);
  });

  it('fees are charged on entry and exit notional for both sides', () => {
    const long = openPosition({ symbol: 'X', side: 'LONG', quantity: 2, price: 100, time: 1 });
    // gross 6, fees 0.001 × 2 × (100 + 103) = 0.406
    expect(positionPnl(long, 103, 0.001)).toBeCloseTo(5.594, 12);
    const short = openPosition({ symbol: 'X', side: 'SHORT', quantity: 2, price: 100, time: 1 });
    // gross 6, fees 0.001 × 2 × (100 + 97) = 0.394
    expect(positionPnl(short, 97, 0.001)).toBeCloseTo(5.606, 12);
    // A flat round trip loses exactly the fees.
    expect(positionPnl(long, 100, 0.01)).toBeCloseTo(-4, 12);
  });

  it('refuses nonsense positions and fee rates', () => {
    expect(() => openPosition({ symbol: 'X', side: 'LONG', quantity: 0, price: 100, time: 1 })).toThrow(/quantity must be a positive number, got 0/);
    expect(() => openPosition({ symbol: 'X', side: 'LONG', quantity: 1, price: Number.NaN, time: 1 })).toThrow(/entry price/);
    expect(validateFeeRate(0)).toBeNull();
    expect(validateFeeRate(0.001)).toBeNull();
    expect(validateFeeRate(-0.1)).toMatch(/feeRate must be in \[0, 1\), got -0.1/);
    expect(validateFeeRate(1)).toMatch(/feeRate/);
  });
});
