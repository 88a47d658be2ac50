/**
 * The two events that are almost every event — a tick and a position's mark — as runs of
 * numbers in a Float64Array, and back. The engine thread's batches carry them this way
 * (no structured clone per event), and the log's history keeps them this way (no object
 * per kept event for the collector to copy and later sweep). Both readers rebuild an
 * event of exactly the shape the runner emits, so only events of that shape are written:
 * see {@link isNumericTick} and {@link isNumericMark}.
 */
import type { MarketData } from '../domain/market-data.js';
import type { PositionUpdated, RunnerEvent, TickReceived } from './types.js';

/** Numbers a tick takes: its market data's timestamp, open, high, low, close, volume, bid and ask. */
export const TICK_NUMBERS = 8;
/** Numbers a mark takes: currentPrice, unrealizedPnl and timestamp. */
export const MARK_NUMBERS = 3;

/**
 * True for a tick that {@link readTick} rebuilds whole when given `symbol`: the event's
 * symbol and its data's are the one it was published with (the runner's), as a runner
 * emits them.
 */
export function isNumericTick(event: RunnerEvent, symbol: string): event is TickReceived {
  return event.type === 'TickReceived' && event.symbol === symbol && event.data.symbol === symbol;
}

/** True for a mark (every PositionUpdated has one shape). */
export function isNumericMark(event: RunnerEvent): event is PositionUpdated {
  return event.type === 'PositionUpdated';
}

/** Writes a tick's {@link TICK_NUMBERS} numbers at `at`. */
export function writeTick(data: MarketData, out: Float64Array, at: number): void {
  out[at] = data.timestamp;
  out[at + 1] = data.open;
  out[at + 2] = data.high;
  out[at + 3] = data.low;
  out[at + 4] = data.close;
  out[at + 5] = data.volume;
  out[at + 6] = data.bid;
  out[at + 7] = data.ask;
}

/** The tick written at `at` by {@link writeTick}, of runner `runnerId` trading `symbol`. */
export function readTick(runnerId: string, symbol: string, r: Float64Array, at: number): TickReceived {
  const data: MarketData = {
    symbol,
    timestamp: r[at]!,
    open: r[at + 1]!,
    high: r[at + 2]!,
    low: r[at + 3]!,
    close: r[at + 4]!,
    volume: r[at + 5]!,
    bid: r[at + 6]!,
    ask: r[at + 7]!,
  };
  return { type: 'TickReceived', runnerId, symbol, data };
}

/** Writes a mark's {@link MARK_NUMBERS} numbers at `at`. */
export function writeMark(event: PositionUpdated, out: Float64Array, at: number): void {
  out[at] = event.currentPrice;
  out[at + 1] = event.unrealizedPnl;
  out[at + 2] = event.timestamp;
}

/** The mark written at `at` by {@link writeMark}, of runner `runnerId`. */
export function readMark(runnerId: string, r: Float64Array, at: number): PositionUpdated {
  return { type: 'PositionUpdated', runnerId, currentPrice: r[at]!, unrealizedPnl: r[at + 1]!, timestamp: r[at + 2]! };
}
