/** Direction of a position. */
export type PositionSide = 'LONG' | 'SHORT';

/** An open position of one runner in one symbol. */
export interface Position {
  readonly symbol: string;
  readonly side: PositionSide;
  /** Always positive; the side gives the direction. */
  readonly quantity: number;
  readonly entryPrice: number;
  /** Milliseconds since the Unix epoch. */
  readonly entryTime: number;
}

/** Direction of a side as a sign: +1 long, −1 short. */
export function sideSign(side: PositionSide): 1 | -1 {
  return side === 'LONG' ? 1 : -1;
}

/** What a position is opened with: {@link openPosition}. */
export interface PositionOpening {
  readonly symbol: string;
  readonly side: PositionSide;
  /** Positive; the side gives the direction. */
  readonly quantity: number;
  /** The fill price. */
  readonly price: number;
  /** When it was filled, in milliseconds since the Unix epoch. */
  readonly time: number;
}

/**
 * Opens a position. Throws RangeError on a quantity or price that is not a finite
 * positive number, since a position built from either would report nonsense P&L.
 */
export function openPosition(opening: PositionOpening): Position {
  const { symbol, side, quantity, price, time } = opening;
  if (!Number.isFinite(quantity) || quantity <= 0) throw new RangeError(`quantity must be a positive number, got ${quantity}`);
  if (!Number.isFinite(price) || price <= 0) throw new RangeError(`entry price must be a positive number, got ${price}`);
  return { symbol, side, quantity, entryPrice: price, entryTime: time };
}

/**
 * P&L of a position if it were closed at `price`: the price move in the position's
 * direction times the quantity, minus fees of `feeRate` on both the entry and the exit
 * notional. The same formula gives unrealized P&L (at the mark) and realized P&L (at the
 * exit), so the two always agree.
 */
export function positionPnl(position: Position, price: number, feeRate = 0): number {
  const gross = sideSign(position.side) * (price - position.entryPrice) * position.quantity;
  const fees = feeRate * position.quantity * (position.entryPrice + price);
  return gross - fees;
}

/** Returns why a fee rate is unusable, or null. Rates are fractions: 0.001 is 0.1 %. */
export function validateFeeRate(feeRate: number): string | null {
  if (!Number.isFinite(feeRate) || feeRate < 0 || feeRate >= 1) return `feeRate must be in [0, 1), got ${feeRate}`;
  return null;
}
