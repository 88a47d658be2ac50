import type { RunnerEvent } from '../../src/events/types.js';

import type { Position } from '../../src/domain/position.js';

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
