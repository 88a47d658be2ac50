/** Open, high, low and close of the ticks of one interval. */
export interface Candle {
  /** Start of the interval, in milliseconds since the Unix epoch. */
  readonly start: number;
  open: number;
  high: number;
  low: number;
  close: number;
  /** Ticks that went into it. */
  ticks: number;
}

/** Shortest and longest candle interval, in milliseconds. */
export const CANDLE_INTERVAL_LIMITS = { min: 1000, max: 86_400_000 } as const;

/** The start of the interval a time falls in. */
export function intervalStart(timestamp: number, intervalMs: number): number {
  return Math.floor(timestamp / intervalMs) * intervalMs;
}

/**
 * Consecutive candles built from ticks in time order, the newest `keep` of them. The
 * server builds them from its history for a chart's first draw; the dashboard keeps
 * them current from the live stream, so both agree on what a bar is.
 */
export class CandleSeries {
  private readonly list: Candle[] = [];

  constructor(
    readonly intervalMs: number,
    readonly keep: number,
  ) {
    if (!Number.isInteger(intervalMs) || intervalMs < CANDLE_INTERVAL_LIMITS.min || intervalMs > CANDLE_INTERVAL_LIMITS.max) {
      throw new RangeError(`intervalMs must be a whole number within ${CANDLE_INTERVAL_LIMITS.min}..${CANDLE_INTERVAL_LIMITS.max}, got ${intervalMs}`);
    }
    if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`keep must be a positive whole number, got ${keep}`);
  }

  /** The candles, oldest first. */
  get bars(): readonly Candle[] {
    return this.list;
  }

  /**
   * Adds a tick: to the last candle when it falls in its interval, else as a new one.
   * Returns that candle, or null for a tick older than the last candle (a chart only
   * grows at its end).
   */
  add(timestamp: number, price: number): Candle | null {
    const start = intervalStart(timestamp, this.intervalMs);
    const last = this.list[this.list.length - 1];
    if (last !== undefined && start < last.start) return null;
    if (last !== undefined && start === last.start) {
      if (price > last.high) last.high = price;
      if (price < last.low) last.low = price;
      last.close = price;
      last.ticks++;
      return last;
    }
    const bar: Candle = { start, open: price, high: price, low: price, close: price, ticks: 1 };
    this.list.push(bar);
    if (this.list.length > this.keep) this.list.splice(0, this.list.length - this.keep);
    return bar;
  }

  /**
   * Puts candles from a history in front of these. The history's are complete up to the
   * moment it was read; where both have the same interval, the two are merged (this
   * series goes on from there live, so its close is the later one).
   */
  backfill(earlier: readonly Candle[]): void {
    const merged = earlier.map((bar) => ({ ...bar }));
    const tail = merged[merged.length - 1];
    if (tail === undefined) return;
    const overlap = this.list.find((bar) => bar.start === tail.start);
    if (overlap !== undefined) {
      tail.high = Math.max(tail.high, overlap.high);
      tail.low = Math.min(tail.low, overlap.low);
      tail.close = overlap.close;
      tail.ticks = Math.max(tail.ticks, overlap.ticks);
    }
    const newer = this.list.filter((bar) => bar.start > tail.start);
    this.list.splice(0, this.list.length, ...merged, ...newer);
    if (this.list.length > this.keep) this.list.splice(0, this.list.length - this.keep);
  }
}
