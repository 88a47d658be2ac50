import { z } from 'zod';
import { ACTION_KINDS, type Action } from '../domain/action.js';
import type { MarketData } from '../domain/market-data.js';
import type { Position } from '../domain/position.js';
import { RUNNER_STATES } from '../domain/state.js';
import { ERROR_SEVERITIES } from './helpers.js';
import { EVENT_VARIANTS, type EventVariant, type RunnerEvent } from './types.js';

/**
 * An event in its JSON wire form: `{"type": "<Variant>", "data": {...}}`, where `data`
 * is the event without `type`, with exactly the camelCase field names of the TypeScript
 * types (recording files, Redis and the store all use this one form).
 */
export type WireEvent = { type: EventVariant; data: Record<string, unknown> };

/**
 * A value that is not a valid wire event. `path` names the offending field
 * (`data.position.side`, `type`, or '' for the value as a whole) and `value` is what was
 * found there, `undefined` when the field is missing.
 */
export class EventDecodeError extends Error {
  override readonly name = 'EventDecodeError';

  /**
   * @param message says what is wrong, naming the field and the value found
   * @param path dotted path of the field, '' for the whole value
   * @param value the offending value, `undefined` when missing
   */
  constructor(
    message: string,
    readonly path: string,
    readonly value: unknown,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

// ---------------------------------------------------------------------------------------
// Encoding. Fields are copied by name rather than spread so that whatever else an
// event object carries at run time (a stray property, a class prototype) never reaches
// the wire, and so every encoded object of a variant has the same shape for the JIT.

function marketDataData(d: MarketData): Record<string, unknown> {
  return {
    symbol: d.symbol,
    timestamp: d.timestamp,
    open: d.open,
    high: d.high,
    low: d.low,
    close: d.close,
    volume: d.volume,
    bid: d.bid,
    ask: d.ask,
  };
}

function positionData(p: Position): Record<string, unknown> {
  return { symbol: p.symbol, side: p.side, quantity: p.quantity, entryPrice: p.entryPrice, entryTime: p.entryTime };
}

function actionData(a: Action): Record<string, unknown> {
  return { kind: a.kind, symbol: a.symbol, price: a.price, quantity: a.quantity, reason: a.reason };
}

function eventData(e: RunnerEvent): Record<string, unknown> {
  switch (e.type) {
    case 'RunnerStarted':
      return { runnerId: e.runnerId, symbol: e.symbol, timestamp: e.timestamp, ...(e.reason === undefined ? {} : { reason: e.reason }) };
    case 'RunnerStopped':
      return { runnerId: e.runnerId, reason: e.reason, timestamp: e.timestamp };
    case 'TickReceived':
      return { runnerId: e.runnerId, symbol: e.symbol, data: marketDataData(e.data) };
    case 'StateTransition':
      return { runnerId: e.runnerId, from: e.from, to: e.to, reason: e.reason, timestamp: e.timestamp };
    case 'ActionExecuted':
      return { runnerId: e.runnerId, action: actionData(e.action), timestamp: e.timestamp };
    case 'PositionOpened':
      return { runnerId: e.runnerId, position: positionData(e.position), timestamp: e.timestamp };
    case 'PositionUpdated':
      return { runnerId: e.runnerId, currentPrice: e.currentPrice, unrealizedPnl: e.unrealizedPnl, timestamp: e.timestamp };
    case 'PositionClosed':
      return {
        runnerId: e.runnerId,
        exitPrice: e.exitPrice,
        realizedPnl: e.realizedPnl,
        reason: e.reason,
        timestamp: e.timestamp,
      };
    case 'Error':
      return { runnerId: e.runnerId, error: e.error, severity: e.severity, timestamp: e.timestamp };
    case 'StatsUpdate':
      return {
        runnerId: e.runnerId,
        ticksProcessed: e.ticksProcessed,
        actionsExecuted: e.actionsExecuted,
        errorRate: e.errorRate,
        realizedPnl: e.realizedPnl,
        lastPrice: e.lastPrice,
        ticksPerSecond: e.ticksPerSecond,
        openPosition: e.openPosition === null ? null : positionData(e.openPosition),
        timestamp: e.timestamp,
      };
    default: {
      // A new variant added to the union without an encoder fails to compile here.
      const unreachable: never = e;
      throw new TypeError(`cannot encode event of unknown type ${JSON.stringify((unreachable as { type?: unknown }).type)}`);
    }
  }
}

/**
 * The wire form of an event as a plain object. No validation: the types vouch for the
 * event, and this sits on the publish path.
 */
export function encodeEvent(event: RunnerEvent): WireEvent {
  return { type: event.type, data: eventData(event) };
}

/** The wire form of an event as JSON text, for files, Redis and the store. */
export function toWire(event: RunnerEvent): string {
  return JSON.stringify(encodeEvent(event));
}

// ---------------------------------------------------------------------------------------
// Decoding. Each schema carries its own message so an error reads as what was expected
// rather than as zod's internal vocabulary. z.number() already refuses NaN and ±Infinity,
// and z.int() keeps to safe integers, so a decoded number is always a usable one.

const FINITE = 'expected a finite number';
const NON_NEGATIVE = 'expected a finite number ≥ 0';
const COUNT = 'expected a whole number ≥ 0';
const TIMESTAMP = 'expected a timestamp (whole milliseconds since the Unix epoch, ≥ 0)';

const number = () => z.number({ error: FINITE });
const nonNegative = () => z.number({ error: NON_NEGATIVE }).min(0, { error: NON_NEGATIVE });
const count = () => z.int({ error: COUNT }).min(0, { error: COUNT });
const timestamp = () => z.int({ error: TIMESTAMP }).min(0, { error: TIMESTAMP });
const text = () => z.string({ error: 'expected a string' });
const oneOf = (values: readonly string[]) =>
  z.enum(values as [string, ...string[]], { error: `expected one of ${values.join(', ')}` });
const object = <S extends z.core.$ZodLooseShape>(shape: S, what = 'an object') =>
  z.strictObject(shape, { error: `expected ${what}` });

const marketData = object(
  {
    symbol: text(),
    timestamp: timestamp(),
    open: number(),
    high: number(),
    low: number(),
    close: number(),
    volume: number(),
    bid: number(),
    ask: number(),
  },
  'a market data object',
);

const positionShape = {
  symbol: text(),
  side: oneOf(['LONG', 'SHORT']),
  quantity: number(),
  entryPrice: number(),
  entryTime: timestamp(),
};

const action = object(
  { kind: oneOf(ACTION_KINDS), symbol: text(), price: number(), quantity: number(), reason: text() },
  'an action object',
);

const state = oneOf(RUNNER_STATES);

/**
 * The schema of each variant's `data`. Nullable fields are `.nullable()`, never
 * `.optional()`: a writer that forgets one is a bug the decoder should surface.
 */
const DATA_SCHEMAS: Readonly<Record<EventVariant, z.ZodType>> = {
  // `reason` is optional, not nullable: events stored and recorded before it existed lack it.
  RunnerStarted: object({ runnerId: text(), symbol: text(), timestamp: timestamp(), reason: text().optional() }),
  RunnerStopped: object({ runnerId: text(), reason: text(), timestamp: timestamp() }),
  TickReceived: object({ runnerId: text(), symbol: text(), data: marketData }),
  StateTransition: object({ runnerId: text(), from: state, to: state, reason: text(), timestamp: timestamp() }),
  ActionExecuted: object({ runnerId: text(), action, timestamp: timestamp() }),
  PositionOpened: object({ runnerId: text(), position: object(positionShape, 'a position object'), timestamp: timestamp() }),
  PositionUpdated: object({ runnerId: text(), currentPrice: number(), unrealizedPnl: number(), timestamp: timestamp() }),
  PositionClosed: object({
    runnerId: text(),
    exitPrice: number(),
    realizedPnl: number(),
    reason: text(),
    timestamp: timestamp(),
  }),
  Error: object({ runnerId: text(), error: text(), severity: oneOf(ERROR_SEVERITIES), timestamp: timestamp() }),
  StatsUpdate: object({
    runnerId: text(),
    ticksProcessed: count(),
    actionsExecuted: count(),
    errorRate: nonNegative(),
    realizedPnl: number(),
    lastPrice: z.number({ error: `${FINITE} or null` }).nullable(),
    ticksPerSecond: nonNegative(),
    openPosition: object(positionShape, 'a position object or null').nullable(),
    timestamp: timestamp(),
  }),
};

/** Renders a found value for a message; must not throw whatever the value is. */
function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'symbol' || typeof value === 'function') return typeof value;
  try {
    const json = JSON.stringify(value);
    if (json === undefined) return typeof value;
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return Array.isArray(value) ? 'an array' : typeof value;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads an own property only, so nothing inherited (or from `__proto__`) is decoded. */
function own(value: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(value, key) ? value[key] : undefined;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current = root;
  for (const key of path) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function decodeUnchecked(value: unknown): RunnerEvent {
  if (!isObject(value)) {
    throw new EventDecodeError(`invalid event: expected an object {type, data}, got ${show(value)}`, '', value);
  }
  for (const key of Object.keys(value)) {
    if (key !== 'type' && key !== 'data') {
      const found = value[key];
      throw new EventDecodeError(`invalid event: unknown field ${key} (got ${show(found)})`, key, found);
    }
  }
  const type = own(value, 'type');
  if (typeof type !== 'string' || !Object.hasOwn(DATA_SCHEMAS, type)) {
    const message =
      type === undefined
        ? 'missing field type'
        : `unknown event type ${show(type)} (expected one of ${EVENT_VARIANTS.join(', ')})`;
    throw new EventDecodeError(message, 'type', type);
  }
  const variant = type as EventVariant;
  const data = own(value, 'data');
  if (!isObject(data)) {
    const message =
      data === undefined
        ? `missing field data in a ${variant} event`
        : `invalid event at data: expected an object, got ${show(data)}`;
    throw new EventDecodeError(message, 'data', data);
  }
  const result = DATA_SCHEMAS[variant].safeParse(data);
  if (result.success) {
    // zod builds fresh objects, so the event shares nothing with the input.
    return { type: variant, ...(result.data as object) } as RunnerEvent;
  }
  const issue = result.error.issues[0];
  if (issue === undefined) throw new EventDecodeError(`invalid ${variant} event`, 'data', data);
  const base = ['data', ...issue.path.map(String)].join('.');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const path = `${base}.${key}`;
    const found = valueAt(data, [...issue.path, key]);
    throw new EventDecodeError(`unknown field ${path} in a ${variant} event (got ${show(found)})`, path, found);
  }
  const found = valueAt(data, issue.path);
  if (found === undefined) {
    throw new EventDecodeError(`missing field ${base} in a ${variant} event`, base, undefined);
  }
  throw new EventDecodeError(`invalid event at ${base}: ${issue.message}, got ${show(found)}`, base, found);
}

/** Describes anything thrown, without being able to throw itself. */
function reason(err: unknown): string {
  try {
    return err instanceof Error ? err.message : String(err);
  } catch {
    return 'unreadable error';
  }
}

/**
 * Decodes a parsed JSON value into an event, strictly: an unknown type, a missing,
 * extra or mistyped field throws {@link EventDecodeError} naming the first bad field and
 * its value. Never returns a partly valid event, and never throws anything else — even
 * for values JSON cannot produce (proxies, throwing getters, bigints), since recorded
 * and remote input is decoded on paths that must not crash.
 */
export function decodeEvent(value: unknown): RunnerEvent {
  try {
    return decodeUnchecked(value);
  } catch (err) {
    if (err instanceof EventDecodeError) throw err;
    throw new EventDecodeError(`invalid event: the value could not be read (${reason(err)})`, '', value, { cause: err });
  }
}

/**
 * Decodes JSON text into an event. Text that is not JSON is an {@link EventDecodeError}
 * too (path '', value the text), so callers handle one error type.
 */
export function fromWire(text: string): RunnerEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new EventDecodeError(`invalid event: not JSON (${reason(err)})`, '', text, { cause: err });
  }
  return decodeEvent(value);
}
