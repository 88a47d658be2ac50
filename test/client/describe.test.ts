import { describe, expect, it } from 'vitest';
import { describeEvent, formatTime, type Tone } from '../../src/client/describe.js';
import { formatPrice } from '../../src/client/prices.js';
import type { ClientEvent } from '../../src/client/client.js';
import { parseEventType } from '../../src/cli/names.js';

const head = { id: '7', runnerId: 'r', timestamp: 1_700_000_000_000, snapshot: false };
const position = { symbol: 'X', side: 'LONG' as const, quantity: 2, entryPrice: 60984.0212215891, entryTime: 1 };

/** One event of every variant (and a gap): what the CLI and the dashboard must both say. */
const EVERY: [ClientEvent, string, Tone][] = [
  [{ __typename: 'StreamGap', missed: 3, fromId: '1', toId: '3', reason: 'slow consumer', epoch: null }, '3 events missed (slow consumer)', 'gap'],
  [{ __typename: 'RunnerStarted', ...head, type: 'RUNNER_STARTED', symbol: 'BTCUSDT' }, 'BTCUSDT', 'lifecycle'],
  [{ __typename: 'RunnerStopped', ...head, type: 'RUNNER_STOPPED', reason: 'by request' }, 'by request', 'lifecycle'],
  [
    { __typename: 'TickReceived', ...head, type: 'TICK_RECEIVED', symbol: 'X', data: { symbol: 'X', timestamp: 1, open: 1, high: 1, low: 1, close: 60984.0212215891, volume: 1, bid: 60984.01, ask: 60984.03 } },
    '60,984.02 (bid 60,984.01 ask 60,984.03)',
    'plain',
  ],
  [{ __typename: 'StateTransition', ...head, type: 'STATE_TRANSITION', from: 'ANALYZING', to: 'ENTERING', reason: 'signal' }, 'ANALYZING → ENTERING: signal', 'plain'],
  [{ __typename: 'ActionExecuted', ...head, type: 'ACTION_EXECUTED', action: { kind: 'ENTER_LONG', symbol: 'X', price: 101.5, quantity: 2, reason: 'cross' } }, 'ENTER_LONG 2 @ 101.50: cross', 'action'],
  [{ __typename: 'PositionOpened', ...head, type: 'POSITION_OPENED', position }, 'LONG 2 @ 60,984.02', 'profit'],
  [{ __typename: 'PositionUpdated', ...head, type: 'POSITION_UPDATED', currentPrice: 101, unrealizedPnl: -1.234 }, '101.00 (unrealized -1.23)', 'plain'],
  [{ __typename: 'PositionClosed', ...head, type: 'POSITION_CLOSED', exitPrice: 99, realizedPnl: -4, reason: 'stop' }, '@ 99.00, P&L -4.00: stop', 'loss'],
  [{ __typename: 'PositionClosed', ...head, type: 'POSITION_CLOSED', exitPrice: 99, realizedPnl: 4, reason: 'target' }, '@ 99.00, P&L +4.00: target', 'profit'],
  [{ __typename: 'RunnerError', ...head, type: 'ERROR', error: 'feed lag', severity: 'WARNING' }, 'feed lag', 'warning'],
  [{ __typename: 'RunnerError', ...head, type: 'ERROR', error: 'bad tick', severity: 'ERROR' }, 'bad tick', 'error'],
  [{ __typename: 'RunnerError', ...head, type: 'ERROR', error: 'exploded', severity: 'CRITICAL' }, 'exploded', 'critical'],
  [
    { __typename: 'StatsUpdate', ...head, type: 'STATS_UPDATE', ticksProcessed: 10, actionsExecuted: 2, errorRate: 0, realizedPnl: 1.5, lastPrice: 1, ticksPerSecond: 9.96, openPosition: null },
    '10 ticks, 2 actions, P&L +1.50, 10.0/s',
    'plain',
  ],
];

describe('describeEvent', () => {
  it.each(EVERY.map(([event, text, tone]) => ({ name: event.__typename, event, text, tone })))('says what $name is ($tone)', ({ event, text, tone }) => {
    expect(describeEvent(event)).toMatchObject({ text, tone });
  });

  it('labels errors by severity, so a reader can grep for them', () => {
    expect(EVERY.filter(([e]) => e.__typename === 'RunnerError').map(([e]) => describeEvent(e).label)).toEqual(['WARNING', 'ERROR', 'CRITICAL']);
  });

  it('labels every other event with a word `tail --type` takes back', () => {
    for (const [event] of EVERY) {
      if (event.__typename === 'StreamGap' || event.__typename === 'RunnerError') continue;
      expect(parseEventType(describeEvent(event).label), describeEvent(event).label).toBe(event.type);
    }
  });
});

describe('formatPrice', () => {
  it('keeps at most eight significant digits and drops trailing zeros', () => {
    expect(formatPrice(60984.0212215891)).toBe('60,984.02');
    expect(formatPrice(149.18585137583597)).toBe('149.19');
    expect(formatPrice(0.0000123456789)).toBe('0.00001235');
    expect(formatPrice(100)).toBe('100.00');
    expect(formatPrice(2.5)).toBe('2.50');
  });
});

describe('formatTime', () => {
  it('reads UTC HH:MM:SS.mmm whatever the local zone, HH:MM:SS with precision s, and – for no date', () => {
    // 2023-11-14T22:13:20.005Z
    const t = 1_700_000_000_005;
    expect(formatTime(t)).toBe('22:13:20.005');
    expect(formatTime(t, 's')).toBe('22:13:20');
    expect(formatTime(0)).toBe('00:00:00.000');
    expect(formatTime(Number.NaN)).toBe('–');
  });
});
