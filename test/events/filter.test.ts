import { describe, expect, it } from 'vitest';
import { compileFilter, validateFilter, type EventFilter } from '../../src/events/filter.js';
import type { ErrorSeverity, RunnerEvent } from '../../src/events/types.js';

const T = 1_700_000_000_000;
const tick = (runnerId: string, symbol: string): RunnerEvent => ({
  type: 'TickReceived',
  runnerId,
  symbol,
  data: { symbol, timestamp: T, open: 1, high: 1, low: 1, close: 1, volume: 1, bid: 1, ask: 1 },
});
const error = (runnerId: string, severity: ErrorSeverity): RunnerEvent => ({ type: 'Error', runnerId, error: 'x', severity, timestamp: T });
const stopped = (runnerId: string): RunnerEvent => ({ type: 'RunnerStopped', runnerId, reason: 'x', timestamp: T });
const stats = (runnerId: string): RunnerEvent => ({
  type: 'StatsUpdate', runnerId, ticksProcessed: 0, actionsExecuted: 0, errorRate: 0, realizedPnl: 0,
  lastPrice: null, ticksPerSecond: 0, openPosition: null, timestamp: T,
});

// [description, filter, event, symbol of the emitting runner, expected]
const TABLE: [string, EventFilter, RunnerEvent, string, boolean][] = [
  ['empty filter matches everything', {}, tick('a', 'X'), 'X', true],
  ['all-null filter matches everything', { runnerIds: null, symbols: null, types: null, minSeverity: null }, error('a', 'Warning'), 'X', true],
  ['undefined arguments do not filter', { runnerIds: undefined, types: undefined }, stopped('a'), 'X', true],
  ['runnerIds: listed runner', { runnerIds: ['a'] }, tick('a', 'X'), 'X', true],
  ['runnerIds: other runner', { runnerIds: ['a'] }, tick('b', 'X'), 'X', false],
  ['runnerIds: OR inside the list', { runnerIds: ['a', 'b'] }, tick('b', 'X'), 'X', true],
  ['runnerIds: empty list matches nothing', { runnerIds: [] }, tick('a', 'X'), 'X', false],
  ['symbols: listed symbol', { symbols: ['X'] }, tick('a', 'X'), 'X', true],
  ['symbols: other symbol', { symbols: ['Y'] }, tick('a', 'X'), 'X', false],
  ['symbols: match by runner symbol for events without one', { symbols: ['X'] }, stats('a'), 'X', true],
  ['symbols: a stats event of another symbol', { symbols: ['Y'] }, stats('a'), 'X', false],
  ['symbols: empty list matches nothing', { symbols: [] }, stats('a'), 'X', false],
  ['types: listed type', { types: ['TickReceived'] }, tick('a', 'X'), 'X', true],
  ['types: other type', { types: ['TickReceived'] }, stats('a'), 'X', false],
  ['types: OR inside the list', { types: ['TickReceived', 'StatsUpdate'] }, stats('a'), 'X', true],
  ['types: empty list matches nothing', { types: [] }, tick('a', 'X'), 'X', false],
  ['minSeverity Warning keeps Warning', { minSeverity: 'Warning' }, error('a', 'Warning'), 'X', true],
  ['minSeverity Error drops Warning', { minSeverity: 'Error' }, error('a', 'Warning'), 'X', false],
  ['minSeverity Error keeps Error', { minSeverity: 'Error' }, error('a', 'Error'), 'X', true],
  ['minSeverity Error keeps Critical', { minSeverity: 'Error' }, error('a', 'Critical'), 'X', true],
  ['minSeverity Critical drops Error', { minSeverity: 'Critical' }, error('a', 'Error'), 'X', false],
  ['minSeverity Critical keeps Critical', { minSeverity: 'Critical' }, error('a', 'Critical'), 'X', true],
  ['minSeverity does not touch ticks', { minSeverity: 'Critical' }, tick('a', 'X'), 'X', true],
  ['minSeverity does not touch RunnerStopped', { minSeverity: 'Critical' }, stopped('a'), 'X', true],
  ['AND: runner matches, type does not', { runnerIds: ['a'], types: ['Error'] }, tick('a', 'X'), 'X', false],
  ['AND: type matches, runner does not', { runnerIds: ['a'], types: ['Error'] }, error('b', 'Error'), 'X', false],
  ['AND: all match', { runnerIds: ['a'], symbols: ['X'], types: ['Error'], minSeverity: 'Error' }, error('a', 'Critical'), 'X', true],
  ['AND: all but severity match', { runnerIds: ['a'], symbols: ['X'], types: ['Error'], minSeverity: 'Critical' }, error('a', 'Error'), 'X', false],
  ['AND: an empty list wins over matches', { runnerIds: ['a'], symbols: [] }, tick('a', 'X'), 'X', false],
  ['unknown runner ids are allowed and just do not match', { runnerIds: ['later'] }, tick('a', 'X'), 'X', false],
];

describe('compileFilter', () => {
  it.each(TABLE)('%s', (_, filter, event, symbol, expected) => {
    expect(compileFilter(filter)(event, symbol)).toBe(expected);
  });
});

describe('validateFilter', () => {
  it.each<[EventFilter, string | null]>([
    [{}, null],
    [{ runnerIds: Array.from({ length: 1000 }, (_, i) => `r${i}`) }, null],
    [{ runnerIds: Array.from({ length: 1001 }, (_, i) => `r${i}`) }, 'runnerIds has 1001 entries; at most 1000 are allowed'],
    [{ symbols: Array.from({ length: 1001 }, () => 'X') }, 'symbols has 1001 entries; at most 1000 are allowed'],
    [{ types: ['TickReceived', 'Nope' as never] }, 'types[1]: unknown event type "Nope"'],
    [{ minSeverity: 'Fatal' as never }, 'minSeverity: unknown severity "Fatal"'],
    [{ runnerIds: [7 as never] }, 'runnerIds[0] must be a string, got 7'],
  ])('%j → %s', (filter, message) => {
    const result = validateFilter(filter);
    if (message === null) expect(result).toBeNull();
    else expect(result).toContain(message);
  });
});
