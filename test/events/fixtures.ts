import fc from 'fast-check';
import { ACTION_KINDS } from '../../src/domain/action.js';
import type { Position, PositionSide } from '../../src/domain/position.js';
import { RUNNER_STATES } from '../../src/domain/state.js';
import type { ErrorSeverity, RunnerEvent } from '../../src/events/types.js';

const T = 1_700_000_000_000;

/**
 * One fully populated example of every variant, in the order of EVENT_VARIANTS, with
 * StatsUpdate twice at the end: in a position with a last price, then flat with both null.
 * Timestamps are T+0..T+9, distinct per variant except ActionExecuted/PositionOpened.
 * Every call builds fresh objects, so a test may mutate what it gets.
 */
export function sampleEvents(): RunnerEvent[] {
  const position = (): Position => ({ symbol: 'BTCUSDT', side: 'SHORT', quantity: 0.5, entryPrice: 60_000.5, entryTime: T });
  return [
    { type: 'RunnerStarted', runnerId: 'btc_ema', symbol: 'BTCUSDT', timestamp: T },
    { type: 'RunnerStopped', runnerId: 'btc_ema', reason: 'stopped by user', timestamp: T + 9 },
    {
      type: 'TickReceived',
      runnerId: 'btc_ema',
      symbol: 'BTCUSDT',
      data: { symbol: 'BTCUSDT', timestamp: T + 1, open: 60_000, high: 60_010, low: 59_990, close: 60_005, volume: 1.25, bid: 60_004.5, ask: 60_005.5 },
    },
    { type: 'StateTransition', runnerId: 'btc_ema', from: 'Analyzing', to: 'Entering', reason: 'signal', timestamp: T + 2 },
    {
      type: 'ActionExecuted',
      runnerId: 'btc_ema',
      action: { kind: 'EnterShort', symbol: 'BTCUSDT', price: 60_000.5, quantity: 0.5, reason: 'fast EMA crossed below slow EMA' },
      timestamp: T + 3,
    },
    { type: 'PositionOpened', runnerId: 'btc_ema', position: position(), timestamp: T + 3 },
    { type: 'PositionUpdated', runnerId: 'btc_ema', currentPrice: 59_990, unrealizedPnl: 5.25, timestamp: T + 4 },
    { type: 'PositionClosed', runnerId: 'btc_ema', exitPrice: 59_980, realizedPnl: 10.25, reason: 'cross up', timestamp: T + 5 },
    { type: 'Error', runnerId: 'btc_ema', error: 'bad tick rejected: bid above ask', severity: 'Warning', timestamp: T + 6 },
    {
      type: 'StatsUpdate',
      runnerId: 'btc_ema',
      ticksProcessed: 120,
      actionsExecuted: 2,
      errorRate: 0.01,
      realizedPnl: 10.25,
      lastPrice: 59_980,
      ticksPerSecond: 99.5,
      openPosition: position(),
      timestamp: T + 7,
    },
    {
      type: 'StatsUpdate',
      runnerId: 'sol_meanrev',
      ticksProcessed: 0,
      actionsExecuted: 0,
      errorRate: 0,
      realizedPnl: 0,
      lastPrice: null,
      ticksPerSecond: 0,
      openPosition: null,
      timestamp: T + 8,
    },
  ];
}

/**
 * Numbers for generated events and predicates: a small pool (so equality and `in` hit
 * often, with 0 and -0 both in it) mixed with any finite double.
 */
export const numberArb: fc.Arbitrary<number> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0, -0, 1, 1.5, -2.5, 0.1, 0.30000000000000004, 61_000, 60_999.99, 1e-7, 1e21, -1e21) },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
);

/** Whole milliseconds since the epoch, from a small pool and anywhere. */
export const timestampArb: fc.Arbitrary<number> = fc.oneof(fc.constantFrom(T, T + 1, T + 2, 0), fc.integer({ min: 0, max: 2 * T }));

const positionArb: fc.Arbitrary<Position> = fc.record({
  symbol: fc.constantFrom('BTCUSDT', 'ETHUSDT'),
  side: fc.constantFrom<PositionSide>('LONG', 'SHORT'),
  quantity: numberArb,
  entryPrice: numberArb,
  entryTime: timestampArb,
});

/** Whole numbers ≥ 0 (StatsUpdate's counts), from the pool and anywhere. */
const countArb: fc.Arbitrary<number> = fc.oneof(fc.constantFrom(0, 1, 61_000), fc.nat());

/**
 * Any event of any variant, with any finite numbers where the codec takes any (the
 * engine's own checks aside): every one stores and decodes.
 */
export const eventArb: fc.Arbitrary<RunnerEvent> = (() => {
  const runnerId = fc.constantFrom('btc_ema', 'eth_ema', 'sol_meanrev');
  const text = fc.constantFrom('x', 'signal', '');
  return fc.oneof(
    fc.record({ type: fc.constant('RunnerStarted' as const), runnerId, symbol: fc.constantFrom('BTCUSDT'), timestamp: timestampArb }),
    fc.record({ type: fc.constant('RunnerStopped' as const), runnerId, reason: text, timestamp: timestampArb }),
    fc.record({
      type: fc.constant('TickReceived' as const),
      runnerId,
      symbol: fc.constant('BTCUSDT'),
      data: fc.record({
        symbol: fc.constant('BTCUSDT'),
        timestamp: timestampArb,
        open: numberArb,
        high: numberArb,
        low: numberArb,
        close: numberArb,
        volume: numberArb,
        bid: numberArb,
        ask: numberArb,
      }),
    }),
    fc.record({ type: fc.constant('StateTransition' as const), runnerId, from: fc.constantFrom(...RUNNER_STATES), to: fc.constantFrom(...RUNNER_STATES), reason: text, timestamp: timestampArb }),
    fc.record({
      type: fc.constant('ActionExecuted' as const),
      runnerId,
      action: fc.record({ kind: fc.constantFrom(...ACTION_KINDS), symbol: fc.constant('BTCUSDT'), price: numberArb, quantity: numberArb, reason: text }),
      timestamp: timestampArb,
    }),
    fc.record({ type: fc.constant('PositionOpened' as const), runnerId, position: positionArb, timestamp: timestampArb }),
    fc.record({ type: fc.constant('PositionUpdated' as const), runnerId, currentPrice: numberArb, unrealizedPnl: numberArb, timestamp: timestampArb }),
    fc.record({ type: fc.constant('PositionClosed' as const), runnerId, exitPrice: numberArb, realizedPnl: numberArb, reason: text, timestamp: timestampArb }),
    fc.record({ type: fc.constant('Error' as const), runnerId, error: text, severity: fc.constantFrom<ErrorSeverity>('Warning', 'Error', 'Critical'), timestamp: timestampArb }),
    fc.record({
      type: fc.constant('StatsUpdate' as const),
      runnerId,
      ticksProcessed: countArb,
      actionsExecuted: countArb,
      errorRate: numberArb.map(Math.abs),
      realizedPnl: numberArb,
      lastPrice: fc.option(numberArb, { nil: null }),
      ticksPerSecond: numberArb.map(Math.abs),
      openPosition: fc.option(positionArb, { nil: null }),
      timestamp: timestampArb,
    }),
  );
})();
