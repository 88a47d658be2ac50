import { createStrategy } from '../domain/strategy.js';
import { EngineError, parseRunnerConfig } from './config.js';
import { seedOf } from './engine.js';
import { RandomWalk } from './feeds/simulated.js';
import { SymbolRunner } from './runner.js';

/** What a runner did over a stretch of simulated time. */
export interface BacktestResult {
  readonly runnerId: string;
  readonly symbol: string;
  /** Simulated milliseconds covered. */
  readonly durationMs: number;
  readonly ticks: number;
  /** Positions opened. */
  readonly entries: number;
  /** Positions closed (a round trip each). */
  readonly trades: number;
  readonly realizedPnl: number;
  /** P&L of the position still open at the end, at the last price (0 when flat). */
  readonly unrealizedPnl: number;
  readonly firstPrice: number;
  readonly lastPrice: number;
  /** The largest move within one clock minute, from its first price to any later one, in percent of the first. */
  readonly largestMinuteMovePct: number;
}

/**
 * Runs one simulated runner configuration (as the runners file or `startRunner` takes it)
 * over `durationMs` of simulated time, as fast as the CPU allows: the same random walk,
 * strategy and runner as `npm start` with that configuration, on a clock that advances one
 * tick interval per tick. It answers "how often does this trade, and how does the price
 * move" in milliseconds instead of minutes.
 */
export function backtest(input: unknown, durationMs: number, start = Date.UTC(2026, 0, 1)): BacktestResult {
  if (!Number.isFinite(durationMs) || durationMs <= 0 || durationMs > 7 * 86_400_000) {
    throw new RangeError(`durationMs must be within 0..${7 * 86_400_000} (a week), got ${durationMs}`);
  }
  const config = parseRunnerConfig(input);
  if (config.feed.kind !== 'simulated') throw new EngineError('INVALID_CONFIG', `runner "${config.id}": only a simulated feed can be backtested`);
  const strategy = createStrategy(config.strategy, config.params ?? undefined);
  let now = start;
  const clock = () => now;
  const { kind: _kind, ...feed } = config.feed;
  const walk = new RandomWalk({ symbol: config.symbol, ...feed, seed: feed.seed ?? seedOf(config.id), clock });
  let entries = 0;
  let trades = 0;
  const runner = new SymbolRunner(
    { id: config.id, symbol: config.symbol, strategy, quantity: config.quantity, feeRate: config.feeRate, stopOnError: config.stopOnError, clock },
    (event) => {
      if (event.type === 'PositionOpened') entries++;
      else if (event.type === 'PositionClosed') trades++;
    },
  );
  runner.start();
  const step = 1000 / config.feed.ticksPerSecond;
  const ticks = Math.floor(durationMs / step);
  let firstPrice = 0;
  let lastPrice = 0;
  let minute = -1;
  let minuteOpen = 0;
  let largest = 0;
  for (let i = 0; i < ticks; i++) {
    now = start + i * step;
    const tick = walk.next();
    if (i === 0) firstPrice = tick.open;
    const m = Math.floor((now - start) / 60_000);
    if (m !== minute) {
      minute = m;
      minuteOpen = tick.open;
    }
    largest = Math.max(largest, Math.abs(tick.close / minuteOpen - 1));
    lastPrice = tick.close;
    runner.processTick(tick);
  }
  return {
    runnerId: config.id,
    symbol: config.symbol,
    durationMs,
    ticks,
    entries,
    trades,
    realizedPnl: runner.stats.realizedPnl,
    unrealizedPnl: runner.unrealizedPnl,
    firstPrice,
    lastPrice,
    largestMinuteMovePct: largest * 100,
  };
}
