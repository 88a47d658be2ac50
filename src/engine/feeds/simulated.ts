import type { MarketData } from '../../domain/market-data.js';
import { pace, type FeedItem, type MarketFeed } from './feed.js';

/** Settings of a simulated feed; all optional but the symbol. */
export interface SimulatedFeedOptions {
  readonly symbol: string;
  /** Ticks per second (default 100; the engine caps it, see MAX_TOTAL_TICKS_PER_SECOND). */
  readonly ticksPerSecond?: number;
  /** Seed of the random walk: the same seed gives the same prices (default 1). */
  readonly seed?: number;
  /** First price (default: a plausible price for well-known symbols, else 100). */
  readonly startPrice?: number;
  /** Standard deviation of the log return per tick (default 0.0005). */
  readonly volatility?: number;
  /** Source of tick timestamps in ms (default Date.now). */
  readonly clock?: () => number;
}

const START_PRICES: Readonly<Record<string, number>> = {
  BTCUSDT: 60_000,
  ETHUSDT: 3_000,
  SOLUSDT: 150,
};

/** The band a random walk stays in, whatever its volatility and however long it runs. */
const MIN_PRICE = 1e-6;
const MAX_PRICE = 1e12;

/** mulberry32: tiny, fast and good enough for a reproducible random walk (and a reproducible test schedule). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A deterministic price generator: a geometric random walk with a bid/ask spread.
 * Separate from pacing so tests can draw ticks synchronously.
 */
export class RandomWalk {
  private readonly random: () => number;
  private price: number;
  private readonly volatility: number;
  private readonly clock: () => number;

  /** Creates a walk from the feed options (see {@link SimulatedFeedOptions}). */
  constructor(private readonly options: SimulatedFeedOptions) {
    this.random = mulberry32(options.seed ?? 1);
    this.price = options.startPrice ?? START_PRICES[options.symbol] ?? 100;
    this.volatility = options.volatility ?? 0.0005;
    this.clock = options.clock ?? Date.now;
  }

  /** The next tick of the walk. */
  next(): MarketData {
    const open = this.price;
    // Box-Muller: a normal return keeps the walk's tails realistic enough for the strategies.
    const u = 1 - this.random();
    const v = this.random();
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    const moved = open * Math.exp(z * this.volatility);
    // A long walk drifts without bound; held inside a band it never reaches 0 or Infinity.
    const close = moved >= MIN_PRICE && moved <= MAX_PRICE ? moved : open;
    const wick = this.random() * this.volatility * 0.5;
    const high = Math.max(open, close) * (1 + wick);
    const low = Math.min(open, close) * (1 - wick);
    const halfSpread = close * 0.00005;
    this.price = close;
    return {
      symbol: this.options.symbol,
      timestamp: Math.trunc(this.clock()),
      open,
      high,
      low,
      close,
      volume: Math.round(this.random() * 10_000) / 100,
      bid: close - halfSpread,
      ask: close + halfSpread,
    };
  }
}

/** A live feed of simulated ticks at a fixed rate. */
export function simulatedFeed(options: SimulatedFeedOptions): MarketFeed {
  const rate = options.ticksPerSecond ?? 100;
  return {
    description: `simulated ${rate}/s seed ${options.seed ?? 1}`,
    async *items(signal: AbortSignal): AsyncIterable<FeedItem> {
      const walk = new RandomWalk(options);
      for await (const due of pace(rate, signal)) {
        for (let i = 0; i < due && !signal.aborted; i++) yield { tick: walk.next() };
      }
    },
  };
}
