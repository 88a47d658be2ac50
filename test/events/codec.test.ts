import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent, EventDecodeError, fromWire, toWire } from '../../src/events/codec.js';
import { EVENT_VARIANTS } from '../../src/events/types.js';
import { sampleEvents } from './fixtures.js';

describe('event codec', () => {
  it('round-trips every variant', () => {
    const events = sampleEvents();
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(EVENT_VARIANTS));
    for (const event of events) expect(fromWire(toWire(event))).toEqual(event);
  });

  it('pins the wire format: {type, data} with camelCase fields', () => {
    const closed = sampleEvents().find((e) => e.type === 'PositionClosed')!;
    expect(toWire(closed)).toBe(
      '{"type":"PositionClosed","data":{"runnerId":"btc_ema","exitPrice":59980,"realizedPnl":10.25,"reason":"cross up","timestamp":1700000000005}}',
    );
    expect(encodeEvent(closed).type).toBe('PositionClosed');
  });

  const tick = JSON.parse(toWire(sampleEvents()[2]!)) as { type: string; data: Record<string, unknown> };
  const opened = JSON.parse(toWire(sampleEvents()[5]!)) as { type: string; data: Record<string, unknown> };
  const withData = (base: typeof tick, patch: Record<string, unknown>) => ({ ...base, data: { ...base.data, ...patch } });
  const without = (base: typeof tick, key: string) => {
    const data = { ...base.data };
    delete data[key];
    return { ...base, data };
  };

  it.each<[string, unknown, string, unknown, RegExp]>([
    ['not an object', 42, '', 42, /expected an object \{type, data\}, got 42/],
    ['null', null, '', null, /got null/],
    ['an array', [], '', [], /got \[\]/],
    ['unknown type', { type: 'Trade', data: {} }, 'type', 'Trade', /unknown event type "Trade" \(expected one of RunnerStarted/],
    ['missing type', { data: {} }, 'type', undefined, /missing field type/],
    ['type of the wrong kind', { type: 7, data: {} }, 'type', 7, /unknown event type 7/],
    ['data not an object', { type: 'RunnerStarted', data: 'x' }, 'data', 'x', /at data: expected an object, got "x"/],
    ['missing data', { type: 'RunnerStarted' }, 'data', undefined, /missing field data/],
    ['an extra top-level field', { ...tick, extra: 1 }, 'extra', 1, /unknown field extra/],
    ['a missing field', without(tick, 'runnerId'), 'data.runnerId', undefined, /missing field data.runnerId/],
    ['a mistyped field', withData(tick, { symbol: 5 }), 'data.symbol', 5, /at data.symbol: .*got 5/],
    ['an extra field', withData(tick, { note: 'hi' }), 'data.note', 'hi', /unknown field data.note/],
    ['"NaN" as a number', withData(tick, { data: { ...(tick.data['data'] as object), bid: 'NaN' } }), 'data.data.bid', 'NaN', /data.data.bid.*got "NaN"/],
    ['a nested enum', withData(opened, { position: { ...(opened.data['position'] as object), side: 'FLAT' } }), 'data.position.side', 'FLAT', /data.position.side/],
    ['a fractional timestamp', withData(opened, { timestamp: 1.5 }), 'data.timestamp', 1.5, /data.timestamp/],
    ['a negative timestamp', withData(opened, { timestamp: -1 }), 'data.timestamp', -1, /data.timestamp/],
  ])('rejects %s, naming the field and the value', (_, input, path, value, message) => {
    let caught: unknown;
    try {
      decodeEvent(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(EventDecodeError);
    const error = caught as EventDecodeError;
    expect(error.path).toBe(path);
    expect(error.value).toEqual(value);
    expect(error.message).toMatch(message);
  });

  it('rejects text that is not JSON with its own error', () => {
    expect(() => fromWire('{"type":')).toThrow(EventDecodeError);
    expect(() => fromWire('{"type":')).toThrow(/not JSON/);
  });

  /** Either a valid event that re-encodes to itself, or the codec's own error. */
  const decodesOrRefuses = (value: unknown) => {
    try {
      const event = decodeEvent(value);
      expect(decodeEvent(JSON.parse(toWire(event)))).toEqual(event);
    } catch (err) {
      if (!(err instanceof EventDecodeError)) throw err;
    }
  };

  it('never throws anything but EventDecodeError on arbitrary values', () => {
    fc.assert(fc.property(fc.anything(), decodesOrRefuses), { numRuns: 2000 });
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          fromWire(text);
        } catch (err) {
          if (!(err instanceof EventDecodeError)) throw err;
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws anything but EventDecodeError on mutated valid events', () => {
    const wires = sampleEvents().map((e) => JSON.parse(toWire(e)) as { type: string; data: Record<string, unknown> });
    const mutation = fc.record({
      which: fc.nat({ max: wires.length - 1 }),
      op: fc.constantFrom('delete', 'replace', 'rename-type', 'add'),
      field: fc.nat(),
      value: fc.anything(),
      name: fc.string(),
    });
    let refused = 0;
    fc.assert(
      fc.property(mutation, ({ which, op, field, value, name }) => {
        const wire = structuredClone(wires[which]!);
        const keys = Object.keys(wire.data);
        const key = keys[field % keys.length]!;
        if (op === 'delete') delete wire.data[key];
        if (op === 'replace') wire.data[key] = value;
        if (op === 'rename-type') wire.type = name;
        if (op === 'add') wire.data[`${name}_extra`] = value;
        try {
          decodesOrRefuses(wire);
          decodeEvent(wire);
        } catch (err) {
          if (!(err instanceof EventDecodeError)) throw err;
          refused++;
        }
      }),
      { numRuns: 3000 },
    );
    // Most mutations break the event; a test where nothing is refused tests nothing.
    expect(refused).toBeGreaterThan(1500);
  });
});
