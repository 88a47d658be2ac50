import { z } from 'zod';
import { ACTION_KINDS } from '../domain/action.js';
import { RUNNER_STATES } from '../domain/state.js';
import { ERROR_SEVERITIES } from './helpers.js';
import { EVENT_VARIANTS, type EventOf, type EventVariant, type RunnerEvent } from './types.js';

/**
 * An event in its JSON wire form: `{"type": "<Variant>", "data": {...}}`, where `data`
 * is the event without `type`, with the camelCase field names of the TypeScript types.
 */
export interface WireEvent {
  readonly type: EventVariant;
  readonly data: Readonly<Record<string, unknown>>;
}

/**
 * A value that is not a valid wire event. `path` names the field (`data.position.side`,
 * `type`, or '' for the whole value) and `value` is what was found there (undefined when
 * the field is missing).
 */
export class EventDecodeError extends Error {
  override readonly name = 'EventDecodeError';
  constructor(
    message: string,
    readonly path: string,
    readonly value: unknown,
  ) {
    super(message);
  }
}

// z.number() refuses NaN and ±Infinity, so every number below is finite.
const timestamp = z.number().int().nonnegative();
const price = z.number();
const text = z.string();

const marketData = z.strictObject({
  symbol: text,
  timestamp,
  open: price,
  high: price,
  low: price,
  close: price,
  volume: z.number(),
  bid: price,
  ask: price,
});

const position = z.strictObject({
  symbol: text,
  side: z.enum(['LONG', 'SHORT']),
  quantity: z.number(),
  entryPrice: price,
  entryTime: timestamp,
});

const action = z.strictObject({
  kind: z.enum(ACTION_KINDS as [string, ...string[]]),
  symbol: text,
  price,
  quantity: z.number(),
  reason: text,
});

const state = z.enum(RUNNER_STATES as [string, ...string[]]);

const DATA_SCHEMAS: Readonly<Record<EventVariant, z.ZodType>> = {
  RunnerStarted: z.strictObject({ runnerId: text, symbol: text, timestamp }),
  RunnerStopped: z.strictObject({ runnerId: text, reason: text, timestamp }),
  TickReceived: z.strictObject({ runnerId: text, symbol: text, data: marketData }),
  StateTransition: z.strictObject({ runnerId: text, from: state, to: state, reason: text, timestamp }),
  ActionExecuted: z.strictObject({ runnerId: text, action, timestamp }),
  PositionOpened: z.strictObject({ runnerId: text, position, timestamp }),
  PositionUpdated: z.strictObject({ runnerId: text, currentPrice: price, unrealizedPnl: z.number(), timestamp }),
  PositionClosed: z.strictObject({
    runnerId: text,
    exitPrice: price,
    realizedPnl: z.number(),
    reason: text,
    timestamp,
  }),
  Error: z.strictObject({
    runnerId: text,
    error: text,
    severity: z.enum(ERROR_SEVERITIES as [string, ...string[]]),
    timestamp,
  }),
  StatsUpdate: z.strictObject({
    runnerId: text,
    ticksProcessed: z.number().int().nonnegative(),
    actionsExecuted: z.number().int().nonnegative(),
    errorRate: z.number().min(0),
    realizedPnl: z.number(),
    lastPrice: price.nullable(),
    ticksPerSecond: z.number().min(0),
    openPosition: position.nullable(),
    timestamp,
  }),
};

/** The wire form of an event, as a plain object (no validation: the types vouch for it). */
export function encodeEvent(event: RunnerEvent): WireEvent {
  const { type, ...data } = event;
  return { type, data };
}

/** The wire form of an event as JSON text. */
export function toWire(event: RunnerEvent): string {
  return JSON.stringify(encodeEvent(event));
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  try {
    const json = JSON.stringify(value);
    if (json === undefined) return typeof value;
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return typeof value;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Decodes a parsed JSON value into an event, strictly: an unknown type, a missing,
 * extra or mistyped field throws {@link EventDecodeError} naming the field and the
 * value. Never returns a partly valid event and never throws anything else.
 */
export function decodeEvent(value: unknown): RunnerEvent {
  if (!isPlainObject(value)) {
    throw new EventDecodeError(`invalid event: expected an object {type, data}, got ${describe(value)}`, '', value);
  }
  for (const key of Object.keys(value)) {
    if (key !== 'type' && key !== 'data') {
      throw new EventDecodeError(`invalid event: unknown field ${key}`, key, value[key]);
    }
  }
  const type = value['type'];
  if (typeof type !== 'string' || !Object.hasOwn(DATA_SCHEMAS, type)) {
    const message =
      type === undefined
        ? 'missing field type'
        : `unknown event type ${describe(type)} (expected one of ${EVENT_VARIANTS.join(', ')})`;
    throw new EventDecodeError(message, 'type', type);
  }
  const variant = type as EventVariant;
  const data = value['data'];
  if (!isPlainObject(data)) {
    const message = data === undefined ? 'missing field data' : `invalid event at data: expected an object, got ${describe(data)}`;
    throw new EventDecodeError(message, 'data', data);
  }
  const result = DATA_SCHEMAS[variant].safeParse(data, { reportInput: true });
  if (!result.success) {
    const issue = result.error.issues[0]!;
    let path = ['data', ...issue.path.map(String)].join('.');
    let found: unknown = 'input' in issue ? issue.input : undefined;
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0] ?? '';
      path = `${path}.${key}`;
      found = valueAt(data, [...issue.path, key]);
      throw new EventDecodeError(`invalid event ${variant}: unknown field ${path}`, path, found);
    }
    if (found === undefined) throw new EventDecodeError(`invalid event ${variant}: missing field ${path}`, path, undefined);
    throw new EventDecodeError(`invalid event ${variant} at ${path}: ${issue.message}, got ${describe(found)}`, path, found);
  }
  return { type: variant, ...(result.data as object) } as EventOf<typeof variant>;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current = root;
  for (const key of path) {
    if (!isPlainObject(current) && !Array.isArray(current)) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** Decodes JSON text; bad JSON is an {@link EventDecodeError} too. */
export function fromWire(json: string): RunnerEvent {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new EventDecodeError(`invalid event: not JSON (${(err as Error).message})`, '', json);
  }
  return decodeEvent(value);
}
