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
