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
  /**
   * Annualized volatility of the walk, as a fraction (0.6 is 60 % a year; default: the
   * symbol's, see {@link MARKET_PROFILES}, else {@link DEFAULT_PROFILE}). Scaled to the tick
   * rate and `speed`, so the price moves as much per second whatever the tick rate.
   */
  readonly annualVolatility?: number;
  /** Standard deviation of the log return per tick: overrides `annualVolatility` when given. */
  readonly volatility?: number;
  /** Bid/ask spread in basis points of the price (default: the symbol's). */
  readonly spreadBps?: number;
  /**
   * Seconds of market time per second, for demos (default 1): at 60 the walk moves in a
   * second as much as in a minute of the real market. Tick times stay the wall clock's.
   */
  readonly speed?: number;
  /** Source of tick timestamps in ms (default Date.now). */
  readonly clock?: () => number;
}

/** How a simulated symbol behaves when its feed does not say. */
export interface MarketProfile {
  readonly startPrice: number;
  /** Annualized volatility, as a fraction. */
  readonly annualVolatility: number;
  /** Bid/ask spread, in basis points. */
  readonly spreadBps: number;
}

/**
 * Profiles of well-known symbols: realized volatility of the kind these markets show over
 * a year, and the spread of a liquid spot book.
 */
export const MARKET_PROFILES: Readonly<Record<string, MarketProfile>> = {
  BTCUSDT: { startPrice: 60_000, annualVolatility: 0.6, spreadBps: 1 },
  ETHUSDT: { startPrice: 3_000, annualVolatility: 0.75, spreadBps: 1.5 },
  SOLUSDT: { startPrice: 150, annualVolatility: 1.0, spreadBps: 3 },
};

/** The profile of any other symbol. */
export const DEFAULT_PROFILE: MarketProfile = { startPrice: 100, annualVolatility: 0.8, spreadBps: 5 };

/** Crypto markets trade around the clock: a year is 365 days of seconds. */
export const SECONDS_PER_YEAR = 365 * 24 * 3600;

/**
 * The standard deviation of the log return of one tick that gives `annualVolatility` a
 * year: volatility grows with the square root of time, and a tick lasts `speed / rate`
 * seconds of market time.
 */
export function perTickVolatility(annualVolatility: number, ticksPerSecond: number, speed = 1): number {
  return annualVolatility * Math.sqrt(speed / (ticksPerSecond * SECONDS_PER_YEAR));
}

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
  /** Standard deviation of the log return of one tick. */
  readonly volatility: number;
  /** Half the spread, as a fraction of the price. */
  private readonly halfSpread: number;
  private readonly clock: () => number;

  /** Creates a walk from the feed options (see {@link SimulatedFeedOptions}). */
  constructor(private readonly options: SimulatedFeedOptions) {
    const profile = Object.hasOwn(MARKET_PROFILES, options.symbol) ? (MARKET_PROFILES[options.symbol] ?? DEFAULT_PROFILE) : DEFAULT_PROFILE;
    this.random = mulberry32(options.seed ?? 1);
    this.price = options.startPrice ?? profile.startPrice;
    this.volatility =
      options.volatility ?? perTickVolatility(options.annualVolatility ?? profile.annualVolatility, options.ticksPerSecond ?? 100, options.speed ?? 1);
    this.halfSpread = (options.spreadBps ?? profile.spreadBps) / 20_000;
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
    const halfSpread = close * this.halfSpread;
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
    description: `simulated ${rate}/s seed ${options.seed ?? 1}${options.speed !== undefined && options.speed !== 1 ? ` speed ${options.speed}×` : ''}`,
    async *items(signal: AbortSignal): AsyncIterable<FeedItem> {
      const walk = new RandomWalk(options);
      for await (const due of pace(rate, signal)) {
        for (let i = 0; i < due && !signal.aborted; i++) yield { tick: walk.next() };
      }
    },
  };
}
