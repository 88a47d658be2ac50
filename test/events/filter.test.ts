import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileFilter, MAX_FILTER_LIST, validateFilter, type EventFilter } from '../../src/events/filter.js';
import { ERROR_SEVERITIES, severityRank } from '../../src/events/helpers.js';
import { EVENT_VARIANTS, type ErrorSeverity, type RunnerEvent } from '../../src/events/types.js';
import { sampleEvents } from './fixtures.js';

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
  type: 'StatsUpdate',
  runnerId,
  ticksProcessed: 0,
  actionsExecuted: 0,
  errorRate: 0,
  realizedPnl: 0,
  lastPrice: null,
  ticksPerSecond: 0,
  openPosition: null,
  timestamp: T,
});
const updated = (runnerId: string): RunnerEvent => ({ type: 'PositionUpdated', runnerId, currentPrice: 1, unrealizedPnl: 0, timestamp: T });

// [description, filter, event, symbol of the emitting runner, expected]
type Row = [string, EventFilter, RunnerEvent, string, boolean];

const TABLE: Row[] = [
  // No filtering.
  ['empty filter matches everything', {}, tick('a', 'X'), 'X', true],
  ['all-null filter matches everything', { runnerIds: null, symbols: null, types: null, minSeverity: null }, error('a', 'Warning'), 'X', true],
  ['all-undefined filter matches everything', { runnerIds: undefined, symbols: undefined, types: undefined, minSeverity: undefined }, stopped('a'), 'X', true],
  ['null runnerIds beside a matching type', { runnerIds: null, types: ['RunnerStopped'] }, stopped('a'), 'X', true],
  ['undefined symbols beside a matching runner', { symbols: undefined, runnerIds: ['a'] }, stats('a'), 'X', true],
  // runnerIds
  ['runnerIds: listed runner', { runnerIds: ['a'] }, tick('a', 'X'), 'X', true],
  ['runnerIds: other runner', { runnerIds: ['a'] }, tick('b', 'X'), 'X', false],
  ['runnerIds: OR inside the list', { runnerIds: ['a', 'b'] }, tick('b', 'X'), 'X', true],
  ['runnerIds: empty list matches nothing', { runnerIds: [] }, tick('a', 'X'), 'X', false],
  ['runnerIds: empty list matches nothing, not even critical events', { runnerIds: [] }, stopped('a'), 'X', false],
  ['runnerIds: case-sensitive', { runnerIds: ['A'] }, tick('a', 'X'), 'X', false],
  ['runnerIds: unknown ids are allowed and just do not match', { runnerIds: ['later'] }, tick('a', 'X'), 'X', false],
  // symbols
  ['symbols: listed symbol', { symbols: ['X'] }, tick('a', 'X'), 'X', true],
  ['symbols: other symbol', { symbols: ['Y'] }, tick('a', 'X'), 'X', false],
  ['symbols: OR inside the list', { symbols: ['Y', 'X'] }, tick('a', 'X'), 'X', true],
  ['symbols: StatsUpdate matched by its runner symbol', { symbols: ['X'] }, stats('a'), 'X', true],
  ['symbols: StatsUpdate of a runner on another symbol', { symbols: ['Y'] }, stats('a'), 'X', false],
  ['symbols: Error matched by its runner symbol', { symbols: ['X'] }, error('a', 'Error'), 'X', true],
  ['symbols: RunnerStopped matched by its runner symbol', { symbols: ['X'] }, stopped('a'), 'X', true],
  ['symbols: PositionUpdated of a runner on another symbol', { symbols: ['Y'] }, updated('a'), 'X', false],
  ['symbols: the runner symbol decides, not a symbol in the event', { symbols: ['Y'] }, tick('a', 'Y'), 'X', false],
  ['symbols: empty list matches nothing', { symbols: [] }, stats('a'), 'X', false],
  // types
  ['types: listed type', { types: ['TickReceived'] }, tick('a', 'X'), 'X', true],
  ['types: other type', { types: ['TickReceived'] }, stats('a'), 'X', false],
  ['types: OR inside the list', { types: ['TickReceived', 'StatsUpdate'] }, stats('a'), 'X', true],
  ['types: empty list matches nothing', { types: [] }, tick('a', 'X'), 'X', false],
  ['types: Error selects errors of every severity', { types: ['Error'] }, error('a', 'Warning'), 'X', true],
  // minSeverity against other types
  ['minSeverity Critical leaves ticks alone', { minSeverity: 'Critical' }, tick('a', 'X'), 'X', true],
  ['minSeverity Critical leaves RunnerStopped alone', { minSeverity: 'Critical' }, stopped('a'), 'X', true],
  ['minSeverity Error leaves StatsUpdate alone', { minSeverity: 'Error' }, stats('a'), 'X', true],
  ['minSeverity Warning leaves PositionUpdated alone', { minSeverity: 'Warning' }, updated('a'), 'X', true],
  ['minSeverity does not widen a types list', { minSeverity: 'Warning', types: ['TickReceived'] }, error('a', 'Critical'), 'X', false],
  // AND across arguments
  ['AND: runner matches, type does not', { runnerIds: ['a'], types: ['Error'] }, tick('a', 'X'), 'X', false],
  ['AND: type matches, runner does not', { runnerIds: ['a'], types: ['Error'] }, error('b', 'Error'), 'X', false],
  ['AND: runner matches, symbol does not', { runnerIds: ['a'], symbols: ['Y'] }, tick('a', 'X'), 'X', false],
  ['AND: all match', { runnerIds: ['a'], symbols: ['X'], types: ['Error'], minSeverity: 'Error' }, error('a', 'Critical'), 'X', true],
  ['AND: all but severity match', { runnerIds: ['a'], symbols: ['X'], types: ['Error'], minSeverity: 'Critical' }, error('a', 'Error'), 'X', false],
  ['AND: all but symbol match', { runnerIds: ['a'], symbols: ['Y'], types: ['Error'], minSeverity: 'Error' }, error('a', 'Critical'), 'X', false],
  ['AND: an empty list wins over matches', { runnerIds: ['a'], symbols: [] }, tick('a', 'X'), 'X', false],
  ['AND: an empty types list wins over null elsewhere', { runnerIds: null, types: [] }, tick('a', 'X'), 'X', false],
];

// minSeverity against every error severity: kept exactly when the error is at least as severe.
const SEVERITY_ROWS: Row[] = ERROR_SEVERITIES.flatMap((min) =>
  ERROR_SEVERITIES.map((severity): Row => [
    `minSeverity ${min} ${severityRank(severity) >= severityRank(min) ? 'keeps' : 'drops'} ${severity}`,
    { minSeverity: min },
    error('a', severity),
    'X',
    severityRank(severity) >= severityRank(min),
  ]),
);

describe('compileFilter', () => {
  it.each([...TABLE, ...SEVERITY_ROWS])('%s', (_, filter, event, symbol, expected) => {
    expect(compileFilter(filter)(event, symbol)).toBe(expected);
  });

  it('compiles a filter without arguments, or with an empty list, to a constant', () => {
    const all = compileFilter({});
    expect(compileFilter({ runnerIds: null, minSeverity: undefined })).toBe(all);
    // Warning is the lowest severity: it filters nothing.
    expect(compileFilter({ minSeverity: 'Warning' })).toBe(all);
    const none = compileFilter({ types: [] });
    expect(compileFilter({ runnerIds: ['a'], symbols: [] })).toBe(none);
    for (const event of sampleEvents()) {
      expect(all(event, 'X')).toBe(true);
      expect(none(event, 'X')).toBe(false);
    }
  });

  it('is not affected by later changes to the lists it was compiled from', () => {
    const runnerIds = ['a'];
    const predicate = compileFilter({ runnerIds });
    runnerIds.push('b');
    expect(predicate(tick('b', 'X'), 'X')).toBe(false);
  });

  it('agrees with the contract on random filters and events', () => {
    const ids = ['a', 'b', 'c'];
    const syms = ['X', 'Y', 'Z'];
    const list = <T>(values: readonly T[]) => fc.oneof(fc.constant(undefined), fc.constant(null), fc.subarray([...values]));
    const filter = fc.record({
      runnerIds: list(ids),
      symbols: list(syms),
      types: list(EVENT_VARIANTS),
      minSeverity: fc.oneof(fc.constant(undefined), fc.constant(null), fc.constantFrom(...ERROR_SEVERITIES)),
    });
    const events = sampleEvents().flatMap((e) => ids.map((runnerId): RunnerEvent => ({ ...e, runnerId })));
    const errors = ERROR_SEVERITIES.flatMap((severity) => ids.map((runnerId) => error(runnerId, severity)));
    const event = fc.constantFrom(...events, ...errors);
    // The contract, written as plainly as possible.
    const spec = (f: EventFilter, e: RunnerEvent, symbol: string): boolean =>
      (f.runnerIds == null || f.runnerIds.includes(e.runnerId)) &&
      (f.symbols == null || f.symbols.includes(symbol)) &&
      (f.types == null || f.types.includes(e.type)) &&
      (f.minSeverity == null || e.type !== 'Error' || severityRank(e.severity) >= severityRank(f.minSeverity));
    fc.assert(
      fc.property(filter, event, fc.constantFrom(...syms), (f, e, symbol) => {
        expect(compileFilter(f)(e, symbol)).toBe(spec(f, e, symbol));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('validateFilter', () => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => `r${i}`);

  it.each<[string, EventFilter, string | null]>([
    ['an empty filter', {}, null],
    ['all arguments null', { runnerIds: null, symbols: null, types: null, minSeverity: null }, null],
    ['empty lists (they match nothing, but are valid)', { runnerIds: [], symbols: [], types: [] }, null],
    ['every type and severity', { types: EVENT_VARIANTS, minSeverity: 'Critical' }, null],
    ['exactly the maximum', { runnerIds: many(MAX_FILTER_LIST) }, null],
    ['one runner id too many', { runnerIds: many(1001) }, 'runnerIds has 1001 entries; at most 1000 are allowed'],
    ['one symbol too many', { symbols: many(1001) }, 'symbols has 1001 entries; at most 1000 are allowed'],
    ['too many types', { types: Array.from({ length: 1001 }, () => 'Error' as const) }, 'types has 1001 entries; at most 1000 are allowed'],
    ['an unknown type', { types: ['TickReceived', 'Error', 'Foo' as never] }, 'types[2]: unknown event type "Foo" (expected one of RunnerStarted, '],
    ['a GraphQL enum name as type', { types: ['TICK_RECEIVED' as never] }, 'types[0]: unknown event type "TICK_RECEIVED"'],
    ['an unknown severity', { minSeverity: 'Bad' as never }, 'minSeverity: unknown severity "Bad" (expected one of Warning, Error, Critical)'],
    ['a severity in the wrong case', { minSeverity: 'ERROR' as never }, 'minSeverity: unknown severity "ERROR"'],
    ['a runner id that is not a string', { runnerIds: [7 as never] }, 'runnerIds[0] must be a string, got 7'],
    ['a symbol that is null', { symbols: ['X', null as never] }, 'symbols[1] must be a string, got null'],
    ['a list that is not a list', { runnerIds: 'a' as never }, 'runnerIds must be a list, got "a"'],
  ])('%s', (_, filter, message) => {
    const result = validateFilter(filter);
    if (message === null) expect(result).toBeNull();
    else expect(result).toContain(message);
  });

  it('takes the maximum as an argument', () => {
    expect(validateFilter({ symbols: ['X', 'Y', 'Z'] }, 2)).toBe('symbols has 3 entries; at most 2 are allowed');
    expect(validateFilter({ symbols: ['X', 'Y'] }, 2)).toBeNull();
  });
});
