import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent, EventDecodeError, fromWire, toWire, type WireEvent } from '../../src/events/codec.js';
import { EVENT_VARIANTS, type EventOf, type EventVariant, type RunnerEvent } from '../../src/events/types.js';
import { sampleEvents } from './fixtures.js';

type Json = Record<string, unknown>;

/** A sample event as parsed JSON, free to mutate. */
function wireOf(variant: EventVariant, nth = 0): { type: string; data: Json } {
  const event = sampleEvents().filter((e) => e.type === variant)[nth];
  if (event === undefined) throw new Error(`no sample ${variant} #${nth}`);
  return JSON.parse(toWire(event)) as { type: string; data: Json };
}

function sample<V extends EventVariant>(variant: V): EventOf<V> {
  return sampleEvents().find((e): e is EventOf<V> => e.type === variant)!;
}

/**
 * Sets (or, with `undefined`, deletes) the field at a path below `data`: dotted, or a
 * list of keys for keys that contain dots themselves.
 */
function patch(wire: { type: string; data: Json }, path: string | readonly string[], value: unknown): { type: string; data: Json } {
  const copy = structuredClone(wire);
  const keys = typeof path === 'string' ? path.split('.') : [...path];
  const last = keys.pop()!;
  let target: Json = copy.data;
  for (const key of keys) target = target[key] as Json;
  if (value === undefined) delete target[last];
  else Object.defineProperty(target, last, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** Runs `fn` and returns what it threw, failing the test when it throws nothing. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw, got a value');
}

/** The value at a dotted path below `data`. */
function valueAt(data: Json, path: string): unknown {
  let current: unknown = data;
  for (const key of path.split('.')) current = (current as Json)[key];
  return current;
}

function decodeError(fn: () => unknown): EventDecodeError {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(EventDecodeError);
  return err as EventDecodeError;
}

describe('encoding', () => {
  it('round-trips every variant through JSON text and through plain objects', () => {
    const events = sampleEvents();
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(EVENT_VARIANTS));
    for (const event of events) {
      expect(fromWire(toWire(event))).toEqual(event);
      expect(decodeEvent(encodeEvent(event))).toEqual(event);
    }
  });

  it('pins the wire format: {type, data} with camelCase fields in a fixed order', () => {
    expect(toWire(sample('PositionClosed'))).toBe(
      '{"type":"PositionClosed","data":{"runnerId":"btc_ema","exitPrice":59980,"realizedPnl":10.25,"reason":"cross up","timestamp":1700000000005}}',
    );
    expect(toWire(sample('TickReceived'))).toBe(
      '{"type":"TickReceived","data":{"runnerId":"btc_ema","symbol":"BTCUSDT","data":{"symbol":"BTCUSDT","timestamp":1700000000001,' +
        '"open":60000,"high":60010,"low":59990,"close":60005,"volume":1.25,"bid":60004.5,"ask":60005.5}}}',
    );
    const flat = sampleEvents().filter((e) => e.type === 'StatsUpdate')[1]!;
    expect(toWire(flat)).toContain('"lastPrice":null,"ticksPerSecond":0,"openPosition":null,');
  });

  it('encodes to a plain object whose data is the event without type', () => {
    for (const event of sampleEvents()) {
      const { type, ...rest } = event;
      const wire: WireEvent = encodeEvent(event);
      expect(wire).toEqual({ type, data: rest });
      expect(Object.keys(wire)).toEqual(['type', 'data']);
    }
  });

  it('puts only the declared fields on the wire, even when the object carries more', () => {
    const opened = sample('PositionOpened');
    const cluttered = { ...opened, position: { ...opened.position, internal: 1 }, cache: {} } as RunnerEvent;
    expect(toWire(cluttered)).toBe(toWire(opened));
  });
});

describe('decoding errors', () => {
  const tick = wireOf('TickReceived');
  const opened = wireOf('PositionOpened');
  const inPosition = wireOf('StatsUpdate', 0);
  const flat = wireOf('StatsUpdate', 1);
  const action = wireOf('ActionExecuted');
  const transition = wireOf('StateTransition');
  const error = wireOf('Error');
  const closed = wireOf('PositionClosed');

  // [case, input, path, value, message]
  it.each<[string, unknown, string, unknown, RegExp]>([
    ['a number', 42, '', 42, /^invalid event: expected an object \{type, data\}, got 42$/],
    ['null', null, '', null, /got null/],
    ['an array', [tick], '', [tick], /expected an object \{type, data\}, got \[/],
    ['a string', 'RunnerStarted', '', 'RunnerStarted', /got "RunnerStarted"/],
    ['undefined', undefined, '', undefined, /got undefined/],
    ['an unknown type', { type: 'Foo', data: {} }, 'type', 'Foo', /^unknown event type "Foo" \(expected one of RunnerStarted, RunnerStopped, .*StatsUpdate\)$/],
    ['a lower-case type', { ...tick, type: 'tickReceived' }, 'type', 'tickReceived', /unknown event type "tickReceived"/],
    ['a GraphQL enum name as type', { ...tick, type: 'TICK_RECEIVED' }, 'type', 'TICK_RECEIVED', /unknown event type/],
    ['an inherited name as type', { type: 'toString', data: {} }, 'type', 'toString', /unknown event type "toString"/],
    ['a missing type', { data: tick.data }, 'type', undefined, /^missing field type$/],
    ['a type that is not a string', { type: 7, data: {} }, 'type', 7, /unknown event type 7/],
    ['data that is not an object', { type: 'RunnerStarted', data: 'x' }, 'data', 'x', /^invalid event at data: expected an object, got "x"$/],
    ['data that is an array', { type: 'RunnerStarted', data: [] }, 'data', [], /at data: expected an object, got \[\]/],
    ['data that is null', { type: 'RunnerStarted', data: null }, 'data', null, /got null/],
    ['missing data', { type: 'RunnerStarted' }, 'data', undefined, /^missing field data in a RunnerStarted event$/],
    ['an extra top-level field', { ...tick, id: '1-0' }, 'id', '1-0', /^invalid event: unknown field id \(got "1-0"\)$/],
    ['a missing field', patch(tick, 'runnerId', undefined), 'data.runnerId', undefined, /^missing field data.runnerId in a TickReceived event$/],
    ['a missing reason', patch(closed, 'reason', undefined), 'data.reason', undefined, /missing field data.reason/],
    ['a missing nested field', patch(tick, 'data.ask', undefined), 'data.data.ask', undefined, /missing field data.data.ask/],
    ['a missing nullable lastPrice', patch(flat, 'lastPrice', undefined), 'data.lastPrice', undefined, /missing field data.lastPrice/],
    ['a missing nullable openPosition', patch(flat, 'openPosition', undefined), 'data.openPosition', undefined, /missing field data.openPosition/],
    ['a string for a string field', patch(tick, 'symbol', 5), 'data.symbol', 5, /^invalid event at data.symbol: expected a string, got 5$/],
    ['a number as a string', patch(opened, 'position.entryPrice', 'abc'), 'data.position.entryPrice', 'abc', /^invalid event at data.position.entryPrice: expected a finite number, got "abc"$/],
    ['"NaN" for a nested number', patch(tick, 'data.bid', 'NaN'), 'data.data.bid', 'NaN', /^invalid event at data.data.bid: expected a finite number, got "NaN"$/],
    ['"Infinity" for a number', patch(wireOf('PositionUpdated'), 'currentPrice', 'Infinity'), 'data.currentPrice', 'Infinity', /got "Infinity"/],
    ['NaN itself', patch(wireOf('PositionUpdated'), 'unrealizedPnl', Number.NaN), 'data.unrealizedPnl', Number.NaN, /expected a finite number, got NaN$/],
    ['Infinity itself', patch(closed, 'exitPrice', Number.POSITIVE_INFINITY), 'data.exitPrice', Number.POSITIVE_INFINITY, /got Infinity$/],
    ['a bigint', patch(closed, 'realizedPnl', 10n), 'data.realizedPnl', 10n, /expected a finite number, got 10n$/],
    ['a numeric string timestamp', patch(closed, 'timestamp', '1700000000005'), 'data.timestamp', '1700000000005', /data.timestamp: expected a timestamp/],
    ['a fractional timestamp', patch(opened, 'timestamp', 1.5), 'data.timestamp', 1.5, /at data.timestamp: .*got 1.5$/],
    ['a negative timestamp', patch(opened, 'timestamp', -1), 'data.timestamp', -1, /at data.timestamp: .*got -1$/],
    ['an unsafe-integer timestamp', patch(opened, 'timestamp', 2 ** 60), 'data.timestamp', 2 ** 60, /data.timestamp/],
    ['a nested timestamp', patch(opened, 'position.entryTime', 1.5), 'data.position.entryTime', 1.5, /data.position.entryTime/],
    ['a fractional count', patch(inPosition, 'ticksProcessed', 1.5), 'data.ticksProcessed', 1.5, /expected a whole number ≥ 0, got 1.5$/],
    ['a negative error rate', patch(inPosition, 'errorRate', -0.1), 'data.errorRate', -0.1, /expected a finite number ≥ 0, got -0.1$/],
    ['a bad side', patch(opened, 'position.side', 'FLAT'), 'data.position.side', 'FLAT', /^invalid event at data.position.side: expected one of LONG, SHORT, got "FLAT"$/],
    ['a bad side in openPosition', patch(inPosition, 'openPosition.side', 'long'), 'data.openPosition.side', 'long', /data.openPosition.side: expected one of LONG, SHORT/],
    ['a bad openPosition', patch(flat, 'openPosition', 'none'), 'data.openPosition', 'none', /expected a position object or null, got "none"$/],
    ['a bad lastPrice', patch(flat, 'lastPrice', 'n/a'), 'data.lastPrice', 'n/a', /expected a finite number or null, got "n\/a"$/],
    ['a bad action kind', patch(action, 'action.kind', 'Buy'), 'data.action.kind', 'Buy', /expected one of EnterLong, EnterShort, Exit, Hold, got "Buy"$/],
    ['a bad state', patch(transition, 'to', 'Running'), 'data.to', 'Running', /expected one of Idle, Analyzing, .*Stopped, got "Running"$/],
    ['a bad severity', patch(error, 'severity', 'Fatal'), 'data.severity', 'Fatal', /expected one of Warning, Error, Critical, got "Fatal"$/],
    ['a severity in the wrong case', patch(error, 'severity', 'WARNING'), 'data.severity', 'WARNING', /data.severity/],
    ['market data that is not an object', patch(tick, 'data', 3), 'data.data', 3, /expected a market data object, got 3$/],
    ['a position that is an array', patch(opened, 'position', []), 'data.position', [], /expected a position object, got \[\]$/],
    ['an extra field', patch(tick, 'note', 'hi'), 'data.note', 'hi', /^unknown field data.note in a TickReceived event \(got "hi"\)$/],
    ['an extra nested field', patch(opened, 'position.leverage', 3), 'data.position.leverage', 3, /^unknown field data.position.leverage/],
    ['a snake_case field', patch(closed, 'realized_pnl', 1), 'data.realized_pnl', 1, /unknown field data.realized_pnl/],
    ['a renamed field (missing comes first)', patch(patch(closed, 'realizedPnl', undefined), 'realized_pnl', 1), 'data.realizedPnl', undefined, /missing field data.realizedPnl/],
    ['an own __proto__ field', patch(tick, '__proto__', { polluted: true }), 'data.__proto__', { polluted: true }, /unknown field data.__proto__/],
  ])('rejects %s, naming the field and the value', (_, input, path, value, message) => {
    const error = decodeError(() => decodeEvent(input));
    expect(error.name).toBe('EventDecodeError');
    expect(error.path).toBe(path);
    if (typeof value === 'object' && value !== null) expect(error.value).toEqual(value);
    else expect(error.value).toBe(value);
    expect(error.message).toMatch(message);
  });

  it('rejects text that is not JSON, quoting the parser', () => {
    const error = decodeError(() => fromWire('{"type":'));
    expect(error.path).toBe('');
    expect(error.value).toBe('{"type":');
    expect(error.message).toMatch(/^invalid event: not JSON \(.+\)$/);
    expect(decodeError(() => fromWire('')).message).toMatch(/not JSON/);
  });

  it('rejects numbers that overflow to Infinity in the text', () => {
    const error = decodeError(() => fromWire(toWire(sample('PositionUpdated')).replace('59990', '1e999')));
    expect(error.path).toBe('data.currentPrice');
    expect(error.value).toBe(Number.POSITIVE_INFINITY);
  });

  it('treats __proto__ in the text as an unknown field, without polluting anything', () => {
    const text = toWire(sample('RunnerStarted'));
    const nested = decodeError(() => fromWire(text.replace('"data":{', '"data":{"__proto__":{"polluted":1},')));
    expect(nested.path).toBe('data.__proto__');
    expect(nested.value).toEqual({ polluted: 1 });
    const top = decodeError(() => fromWire(text.replace('{"type"', '{"__proto__":{"polluted":1},"type"')));
    expect(top.path).toBe('__proto__');
    expect(({} as Json)['polluted']).toBeUndefined();
  });

  it('reports the first problem only, even when there are several', () => {
    const error = decodeError(() => decodeEvent(patch(patch(closed, 'reason', 1), 'exitPrice', 'x')));
    expect(['data.reason', 'data.exitPrice']).toContain(error.path);
  });

  it('turns values JSON cannot produce into EventDecodeError too', () => {
    const hostile = [
      new Proxy({}, { ownKeys: () => { throw new Error('no keys'); } }),
      { type: 'RunnerStarted', get data(): unknown { throw new Error('no data'); } },
      { type: 'RunnerStarted', data: new Proxy({}, { get: () => { throw new Error('no get'); } }) },
      { type: 'RunnerStarted', data: { runnerId: 'a', symbol: 'X', timestamp: 1n } },
      { type: Symbol('RunnerStarted'), data: {} },
      { type: 'RunnerStarted', data: () => 1 },
      new Map([['type', 'RunnerStarted']]),
      new Date(0),
      Object.create({ type: 'RunnerStarted', data: { runnerId: 'a', symbol: 'X', timestamp: 1 } }) as unknown,
    ];
    for (const value of hostile) expect(thrown(() => decodeEvent(value))).toBeInstanceOf(EventDecodeError);
  });

  it('accepts objects without a prototype', () => {
    const data = Object.assign(Object.create(null) as Json, { runnerId: 'a', symbol: 'X', timestamp: 1 });
    expect(decodeEvent({ type: 'RunnerStarted', data })).toEqual({ type: 'RunnerStarted', runnerId: 'a', symbol: 'X', timestamp: 1 });
  });

  it('returns an event that shares nothing with its input', () => {
    const input = wireOf('PositionOpened');
    const event = decodeEvent(input) as EventOf<'PositionOpened'>;
    (input.data['position'] as Json)['side'] = 'LONG';
    expect(event.position.side).toBe('SHORT');
  });
});

describe('decoding arbitrary input', () => {
  /**
   * Either a valid event that re-encodes to exactly the value it came from, or the
   * codec's own error. Anything else thrown fails the property.
   */
  function decodesOrRefuses(value: unknown): RunnerEvent | EventDecodeError {
    let event: RunnerEvent;
    try {
      event = decodeEvent(value);
    } catch (err) {
      if (err instanceof EventDecodeError) return err;
      throw err;
    }
    expect(encodeEvent(event)).toEqual(value);
    expect(toWire(fromWire(toWire(event)))).toBe(toWire(event));
    return event;
  }

  const interestingKeys = fc.oneof(
    fc.string(),
    fc.constantFrom('type', 'data', '__proto__', 'constructor', 'runnerId', 'timestamp', 'symbol', 'position'),
  );

  it('never throws anything but EventDecodeError on arbitrary values', () => {
    const anything = fc.anything({
      key: interestingKeys,
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withObjectString: true,
      withSparseArray: true,
      withTypedArray: true,
    });
    fc.assert(fc.property(anything, (v) => void decodesOrRefuses(v)), { numRuns: 2000 });
    fc.assert(
      fc.property(fc.constantFrom(...EVENT_VARIANTS), anything, (type, data) => void decodesOrRefuses({ type, data })),
      { numRuns: 2000 },
    );
  });

  it('never throws anything but EventDecodeError on arbitrary text', () => {
    const refuses = (text: string) => {
      try {
        fromWire(text);
      } catch (err) {
        if (!(err instanceof EventDecodeError)) throw err;
      }
    };
    fc.assert(fc.property(fc.json(), refuses), { numRuns: 1000 });
    fc.assert(fc.property(fc.string(), refuses), { numRuns: 1000 });
    // Valid text cut short or with one character changed: mostly not JSON at all.
    const texts = sampleEvents().map(toWire);
    fc.assert(
      fc.property(fc.constantFrom(...texts), fc.nat(), fc.string({ maxLength: 1 }), (text, at, ch) => {
        const i = at % text.length;
        refuses(text.slice(0, i));
        refuses(text.slice(0, i) + ch + text.slice(i + 1));
      }),
      { numRuns: 1000 },
    );
  });

  it('names the right field for every one-field mutation of a valid event', () => {
    const wires = sampleEvents().map((e) => JSON.parse(toWire(e)) as { type: string; data: Json });
    /** Every field path below data, nested ones included, e.g. `position.side`. */
    const pathsOf = (data: Json, prefix = ''): string[] =>
      Object.entries(data).flatMap(([key, value]) => {
        const path = prefix + key;
        return typeof value === 'object' && value !== null ? [path, ...pathsOf(value as Json, `${path}.`)] : [path];
      });
    const dataPath = (keys: readonly string[]) => ['data', ...keys].join('.');
    const mutation = fc.record({
      which: fc.nat({ max: wires.length - 1 }),
      op: fc.constantFrom('delete', 'replace', 'add', 'rename-type'),
      field: fc.nat(),
      value: fc.anything({ withBigInt: true, withNullPrototype: true }),
      name: interestingKeys,
    });
    let refused = 0;
    let accepted = 0;
    fc.assert(
      fc.property(mutation, ({ which, op, field, value, name }) => {
        const wire = wires[which]!;
        const paths = pathsOf(wire.data);
        const path = paths[field % paths.length]!;
        if (op === 'rename-type') {
          const result = decodesOrRefuses({ ...wire, type: name });
          if (result instanceof EventDecodeError) {
            refused++;
            expect(result.path).toBe('type');
            expect(result.value).toBe(name);
          } else {
            expect(EVENT_VARIANTS).toContain(name);
          }
          return;
        }
        if (op === 'delete') {
          const result = decodesOrRefuses(patch(wire, path, undefined));
          expect(result).toBeInstanceOf(EventDecodeError);
          refused++;
          expect((result as EventDecodeError).path).toBe(`data.${path}`);
          expect((result as EventDecodeError).value).toBeUndefined();
          return;
        }
        if (op === 'add') {
          // A new key in data itself or in one of its nested objects.
          const containers = ['', ...paths.filter((p) => typeof valueAt(wire.data, p) === 'object' && valueAt(wire.data, p) !== null)];
          const container = containers[field % containers.length]!;
          // The key may contain dots itself, hence a list of keys rather than a dotted path.
          const extra = [...(container === '' ? [] : container.split('.')), `${name}_extra`];
          const added = value === undefined ? null : value;
          const result = decodesOrRefuses(patch(wire, extra, added));
          expect(result).toBeInstanceOf(EventDecodeError);
          refused++;
          expect((result as EventDecodeError).path).toBe(dataPath(extra));
          expect(Object.is((result as EventDecodeError).value, added)).toBe(true);
          return;
        }
        const result = decodesOrRefuses(patch(wire, path, value));
        if (result instanceof EventDecodeError) {
          refused++;
          // The error is at the replaced field or, for a replaced object, inside it.
          expect(result.path === `data.${path}` || result.path.startsWith(`data.${path}.`)).toBe(true);
          if (result.path === `data.${path}`) expect(Object.is(result.value, value)).toBe(true);
        } else {
          accepted++;
        }
      }),
      { numRuns: 3000 },
    );
    // Most mutations break the event; a property where nothing is refused tests nothing.
    expect(refused).toBeGreaterThan(2000);
    // ...and some replacements are valid (a string for a string), so the round trip runs.
    expect(accepted).toBeGreaterThan(0);
  });
});
