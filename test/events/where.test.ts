import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileFilter, validateFilter, type EventFilter } from '../../src/events/filter.js';
import { EVENT_VARIANTS, type RunnerEvent } from '../../src/events/types.js';
import { compileWhere, DEFAULT_WHERE_LIMITS, validateWhere, WHERE_FIELDS, type EventWhere } from '../../src/events/where.js';
import { eventArb, sampleEvents } from './fixtures.js';
import { referenceMatches, whereArb } from './where-reference.js';

/** Counts the operators of a where, as the limit counts them. */
function operatorCount(where: EventWhere): number {
  let n = 0;
  for (const conditions of Object.values(where as Record<string, Record<string, Record<string, unknown> | null> | null>)) {
    for (const condition of Object.values(conditions ?? {})) for (const operand of Object.values(condition ?? {})) if (operand != null) n++;
  }
  return n;
}

const UNLIMITED = { maxOperators: 1000, maxInValues: 1000 };

describe('where: the compiled predicate', () => {
  it('agrees with a naive reference evaluator on thousands of random events and predicates', () => {
    let matched = 0;
    let rejected = 0;
    fc.assert(
      fc.property(whereArb, fc.array(eventArb, { minLength: 20, maxLength: 20 }), (where, events) => {
        expect(validateWhere(where, UNLIMITED)).toBeNull();
        const predicate = compileFilter({ where });
        for (const event of events) {
          const expected = referenceMatches(where, event);
          if (predicate(event, 'BTCUSDT') !== expected) {
            throw new Error(`disagrees on ${JSON.stringify(event)} with ${JSON.stringify(where)}: reference says ${expected}`);
          }
          if (expected) matched++;
          else rejected++;
        }
      }),
      { numRuns: 500 },
    );
    // The generators are worth something only if both answers come up often.
    expect(matched).toBeGreaterThan(1000);
    expect(rejected).toBeGreaterThan(1000);
  });

  it('never widens the other filters: with types, an event passes only when both do', () => {
    fc.assert(
      fc.property(whereArb, fc.subarray([...EVENT_VARIANTS]), fc.array(eventArb, { minLength: 10, maxLength: 10 }), (where, types, events) => {
        const predicate = compileFilter({ where, types });
        for (const event of events) expect(predicate(event, 'X')).toBe(types.includes(event.type) && referenceMatches(where, event));
      }),
      { numRuns: 300 },
    );
  });

  it('accepts every generated predicate within the limits, and counts its operators as the limit does', () => {
    fc.assert(
      fc.property(whereArb, (where) => {
        const count = operatorCount(where);
        const problem = validateWhere(where, { maxOperators: count, maxInValues: 4 });
        expect(problem).toBeNull();
        if (count > 0) expect(validateWhere(where, { maxOperators: count - 1, maxInValues: 4 })).toMatch(/is operator \d+; at most \d+ are allowed in one where/);
      }),
      { numRuns: 500 },
    );
  });

  it('filters the examples of the issue', () => {
    const where: EventWhere = {
      tickReceived: { close: { gt: 61_000 } },
      positionClosed: { realizedPnl: { lt: 0 } },
      actionExecuted: { action: { in: ['EnterLong', 'EnterShort'] } },
    };
    const events = sampleEvents();
    const pass = compileFilter({ where });
    const passed = events.filter((e) => pass(e, 'BTCUSDT')).map((e) => e.type);
    // The tick closes at 60,005, the close made money; the action is EnterShort.
    expect(passed).toEqual(EVENT_VARIANTS.filter((v) => v !== 'TickReceived' && v !== 'PositionClosed').concat('StatsUpdate'));
    const losing = { ...events[7]!, realizedPnl: -3 } as RunnerEvent;
    expect(pass(losing, 'X')).toBe(true);
  });

  it('gives nothing to check when nothing is constrained, so the filter adds no call', () => {
    expect(compileWhere(null)).toBeNull();
    expect(compileWhere({})).toBeNull();
    expect(compileWhere({ tickReceived: null, positionClosed: {}, runnerError: { severity: null, timestamp: {} } })).toBeNull();
    expect(compileWhere({ tickReceived: { close: { gt: null, eq: null } } })).toBeNull();
    expect(compileFilter({ where: {} })).toBe(compileFilter({}));
  });

  it('matches no operator on a null field and nothing with an empty in', () => {
    const flat = sampleEvents()[10]!; // StatsUpdate with lastPrice null
    for (const condition of [{ gt: -1 }, { lt: 1 }, { lte: 0 }, { gte: 0 }]) {
      expect(compileWhere({ statsUpdate: { lastPrice: condition } })!(flat)).toBe(false);
    }
    expect(compileWhere({ tickReceived: { close: { in: [] } } })!(sampleEvents()[2]!)).toBe(false);
  });

  it('orders severity WARNING < ERROR < CRITICAL', () => {
    const err = (severity: 'Warning' | 'Error' | 'Critical'): RunnerEvent => ({ type: 'Error', runnerId: 'r', error: 'x', severity, timestamp: 1 });
    const atLeastError = compileWhere({ runnerError: { severity: { gte: 'Error' } } })!;
    expect(['Warning', 'Error', 'Critical'].map((s) => atLeastError(err(s as 'Warning')))).toEqual([false, true, true]);
    const below = compileWhere({ runnerError: { severity: { lt: 'Critical', gt: 'Warning' } } })!;
    expect(['Warning', 'Error', 'Critical'].map((s) => below(err(s as 'Warning')))).toEqual([false, true, false]);
  });
});

describe('where: validation of untrusted input', () => {
  const tooManyOperators = (n: number): EventWhere => ({
    tickReceived: Object.fromEntries(['open', 'high', 'low', 'close', 'volume', 'bid', 'ask'].map((f) => [f, { gt: 1, gte: 1, lt: 9, lte: 9 }]).slice(0, Math.ceil(n / 4))),
  });
  const cases: [string, unknown, RegExp][] = [
    ['not an object', 5, /^where must be an object/],
    ['an unknown kind', { ticks: {} }, /^where\.ticks: no such event kind \(expected one of runnerStarted, .*statsUpdate\)/],
    ['a kind by its variant name', { TickReceived: {} }, /^where\.TickReceived: no such event kind/],
    ['__proto__ as a kind', JSON.parse('{"__proto__": {"close": {"gt": 1}}}'), /^where\.__proto__: no such event kind/],
    ['a field that has no operators', { tickReceived: { symbol: { eq: 1 } } }, /^where\.tickReceived\.symbol: TickReceived has no field "symbol" that can be compared \(it has open, high/],
    ['a field of another kind', { positionClosed: { close: { gt: 1 } } }, /^where\.positionClosed\.close: PositionClosed has no field "close"/],
    ['gt on an enum without order', { actionExecuted: { action: { gt: 'EnterLong' } } }, /^where\.actionExecuted\.action\.gt: action takes only eq, in \(ActionKind has no order\)/],
    ['an unknown operator', { tickReceived: { close: { ne: 1 } } }, /^where\.tickReceived\.close\.ne: close takes only eq, in, gt, gte, lt, lte/],
    ['NaN', { tickReceived: { close: { gt: Number.NaN } } }, /^where\.tickReceived\.close\.gt must be a finite number, got NaN/],
    ['Infinity', { tickReceived: { close: { lt: Number.POSITIVE_INFINITY } } }, /^where\.tickReceived\.close\.lt must be a finite number, got Infinity/],
    ['-Infinity inside in', { positionClosed: { realizedPnl: { in: [1, Number.NEGATIVE_INFINITY] } } }, /^where\.positionClosed\.realizedPnl\.in\[1\] must be a finite number, got -Infinity/],
    ['a string for a number', { tickReceived: { close: { eq: '61000' } } }, /^where\.tickReceived\.close\.eq must be a finite number, got "61000"/],
    ['a fractional timestamp', { runnerStarted: { timestamp: { gt: 1.5 } } }, /^where\.runnerStarted\.timestamp\.gt must be whole milliseconds/],
    ['an unknown enum value', { runnerError: { severity: { eq: 'Fatal' } } }, /^where\.runnerError\.severity\.eq: unknown ErrorSeverity value "Fatal" \(expected one of Warning, Error, Critical\)/],
    ['in that is not a list', { tickReceived: { close: { in: 3 } } }, /^where\.tickReceived\.close\.in must be a list, got 3/],
    ['51 values in one in', { tickReceived: { close: { in: Array.from({ length: 51 }, (_, i) => i) } } }, /^where\.tickReceived\.close\.in has 51 values; at most 50 are allowed in one in$/],
    ['21 operators', tooManyOperators(24), /^where\.tickReceived\.bid\.gt is operator 21; at most 20 are allowed in one where$/],
    ['a condition that is not an object', { tickReceived: { close: 61000 } }, /^where\.tickReceived\.close must be an object of operators, got 61000/],
  ];
  it.each(cases)('refuses %s, naming the place', (_, where, message) => {
    expect(validateWhere(where)).toMatch(message);
    // Through the filter too: the argument's own path.
    expect(validateFilter({ where: where as EventWhere })).toMatch(message);
  });

  it('allows 50 values in an in and 20 operators: the documented defaults, above AppSync\'s 5', () => {
    expect(DEFAULT_WHERE_LIMITS).toEqual({ maxOperators: 20, maxInValues: 50 });
    expect(validateWhere({ tickReceived: { close: { in: Array.from({ length: 50 }, (_, i) => i) } } })).toBeNull();
    expect(validateWhere(tooManyOperators(20))).toBeNull();
    // Null operators are not operators: they do not count.
    const nulls: EventFilter = { where: { tickReceived: { close: { eq: null, gt: null, in: null } } } };
    expect(validateFilter(nulls, 1000, { maxOperators: 0, maxInValues: 0 })).toBeNull();
  });

  it('never throws, whatever it is given', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withBigInt: true }), (value) => {
        const problem = validateWhere(value);
        expect(problem === null || typeof problem === 'string').toBe(true);
        if (problem === null) compileWhere(value as EventWhere);
      }),
      { numRuns: 2000 },
    );
    // Some shapes of the right kind, with random leaves.
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(WHERE_FIELDS)), fc.string(), fc.string(), fc.anything(), (kind, field, op, operand) => {
        const where = { [kind]: { [field]: { [op]: operand } } };
        const problem = validateWhere(where);
        if (problem === null) compileWhere(where as EventWhere);
      }),
      { numRuns: 2000 },
    );
  });
});
