import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import type { MarketData } from '../../domain/market-data.js';

/**
 * What a market feed yields: a tick (with where it came from, for error messages),
 * or a row that could not be read at all.
 */
export type FeedItem =
  | { readonly tick: MarketData; readonly where?: string }
  | { readonly error: string; readonly where: string };

/** A source of market data for one runner. */
export interface MarketFeed {
  /** What the feed is, for humans: `simulated 100/s seed 7`, `replay ticks.csv`. */
  readonly description: string;
  /**
   * The items of the feed, paced at the feed's rate; ends when the feed is exhausted
   * or `signal` aborts (never throws on abort).
   */
  items(signal: AbortSignal): AsyncIterable<FeedItem>;
}

/** Fewer wake-ups than one per tick at high rates: timers cannot fire every 0.1 ms. */
const MIN_WAKE_MS = 4;

/**
 * Yields how many ticks are due each time it wakes, so that the average rate is
 * `ticksPerSecond` however late the timers fire. `ticksPerSecond` of `Infinity` means
 * as fast as possible, in chunks that still let the event loop breathe.
 */
export async function* pace(
  ticksPerSecond: number,
  signal: AbortSignal,
  now: () => number = () => performance.now(),
): AsyncGenerator<number> {
  if (!Number.isFinite(ticksPerSecond)) {
    while (!signal.aborted) {
      yield 1000;
      await yieldToLoop(undefined, { signal }).catch(() => undefined);
    }
    return;
  }
  const periodMs = 1000 / ticksPerSecond;
  const wakeMs = Math.max(MIN_WAKE_MS, periodMs);
  const start = now();
  let emitted = 0;
  while (!signal.aborted) {
    let due = Math.floor((now() - start) / periodMs) + 1 - emitted;
    // After a stall (GC, a paused process) a live feed skips ahead instead of bursting.
    const cap = Math.max(1, Math.ceil(ticksPerSecond));
    if (due > cap) {
      emitted += due - cap;
      due = cap;
    }
    if (due > 0) {
      emitted += due;
      yield due;
    }
    if (signal.aborted) return;
    await sleep(wakeMs, undefined, { signal }).catch(() => undefined);
  }
}
