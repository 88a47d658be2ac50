import { ACTION_KINDS } from '../domain/action.js';
import type { PositionSide } from '../domain/position.js';
import { RUNNER_STATES } from '../domain/state.js';
import { ERROR_SEVERITIES } from './helpers.js';
import type { EventVariant, RunnerEvent } from './types.js';

/**
 * Typed field predicates (`where`): comparisons on the numeric and enum fields of each
 * event variant. One table ({@link WHERE_FIELDS}) says which fields of which variant can
 * be compared and where each sits in the event; the GraphQL input types, the compiled
 * predicate and the store's SQL are all derived from it, so they cannot drift apart.
 *
 * Semantics, in full:
 * - A `where` constrains only the variants it names: an event of a variant it does not
 *   name (or names with null / no operators) passes as without `where`. It never widens
 *   a stream: `types` and the other filter arguments still decide which variants pass.
 * - Inside a variant, every field condition must hold (AND); inside a field condition,
 *   every operator given must hold (AND), so `{ gt: 1, lte: 5 }` is a range.
 * - `in` matches when the value equals one of the list; an empty `in` matches nothing.
 * - An operator given as null does not filter (like an omitted one).
 * - A field whose value is null (StatsUpdate.lastPrice before the first tick) fails every
 *   operator, as a SQL NULL would.
 * - Numbers compare as IEEE doubles (`===`, `<`, …); an ordered enum (severity) compares
 *   by its rank (Warning < Error < Critical); other enums take only `eq` and `in`.
 * - Nested values are flattened: `actionExecuted.action` is the action's kind, with its
 *   `price` and `quantity` beside it; `positionOpened` has the position's `side`,
 *   `quantity` and `entryPrice`. StatsUpdate.openPosition has no fields here.
 */

/** Where a comparable field sits in an event, and what kind of value it holds. */
export interface WhereField {
  /**
   * `number`: a finite double; `timestamp`: the event's timestamp (whole ms since the
   * epoch, what `timestampOf` returns); `enum`: one of `values`.
   */
  readonly kind: 'number' | 'timestamp' | 'enum';
  /** Property path in the event object (and so in its wire form's `data`). */
  readonly path: readonly string[];
  /** The enum's values; for an ordered one, from lowest to highest. */
  readonly values?: readonly string[];
  /** Name of the enum's type in the domain (ActionKind, RunnerState, …). */
  readonly enumName?: 'ActionKind' | 'RunnerState' | 'PositionSide' | 'ErrorSeverity';
  /** Whether the enum has an order, and so `gt`, `gte`, `lt`, `lte`. */
  readonly ordered?: boolean;
  /** Whether the value may be null (then no operator matches it). */
  readonly nullable?: boolean;
}

/** One variant's comparable fields. */
export interface WhereVariant {
  readonly variant: EventVariant;
  readonly fields: Readonly<Record<string, WhereField>>;
}

const POSITION_SIDES: readonly PositionSide[] = ['LONG', 'SHORT'];

const number = (...path: string[]) => ({ kind: 'number', path }) as const;
const nullableNumber = (...path: string[]) => ({ kind: 'number', path, nullable: true }) as const;
const timestamp = (...path: string[]) => ({ kind: 'timestamp', path }) as const;
const timestampField = { timestamp: timestamp('timestamp') } as const;

/**
 * The comparable fields of every variant, keyed as the `where` argument names them
 * (lowerCamelCase of the GraphQL object type: the variant `Error` is `runnerError`).
 * Every variant has `timestamp`; strings (ids, symbols, reasons) are not here: the
 * filter arguments cover runners and symbols, and free text is not for comparing.
 */
export const WHERE_FIELDS = {
  runnerStarted: { variant: 'RunnerStarted', fields: timestampField },
  runnerStopped: { variant: 'RunnerStopped', fields: timestampField },
  tickReceived: {
    variant: 'TickReceived',
    fields: {
      open: number('data', 'open'),
      high: number('data', 'high'),
      low: number('data', 'low'),
      close: number('data', 'close'),
      volume: number('data', 'volume'),
      bid: number('data', 'bid'),
      ask: number('data', 'ask'),
      timestamp: timestamp('data', 'timestamp'),
    },
  },
  stateTransition: {
    variant: 'StateTransition',
    fields: {
      from: { kind: 'enum', path: ['from'], values: RUNNER_STATES, enumName: 'RunnerState' },
      to: { kind: 'enum', path: ['to'], values: RUNNER_STATES, enumName: 'RunnerState' },
      ...timestampField,
    },
  },
  actionExecuted: {
    variant: 'ActionExecuted',
    fields: {
      action: { kind: 'enum', path: ['action', 'kind'], values: ACTION_KINDS, enumName: 'ActionKind' },
      price: number('action', 'price'),
      quantity: number('action', 'quantity'),
      ...timestampField,
    },
  },
  positionOpened: {
    variant: 'PositionOpened',
    fields: {
      side: { kind: 'enum', path: ['position', 'side'], values: POSITION_SIDES, enumName: 'PositionSide' },
      quantity: number('position', 'quantity'),
      entryPrice: number('position', 'entryPrice'),
      ...timestampField,
    },
  },
  positionUpdated: {
    variant: 'PositionUpdated',
    fields: { currentPrice: number('currentPrice'), unrealizedPnl: number('unrealizedPnl'), ...timestampField },
  },
  positionClosed: {
    variant: 'PositionClosed',
    fields: { exitPrice: number('exitPrice'), realizedPnl: number('realizedPnl'), ...timestampField },
  },
  runnerError: {
    variant: 'Error',
    fields: {
      severity: { kind: 'enum', path: ['severity'], values: ERROR_SEVERITIES, enumName: 'ErrorSeverity', ordered: true },
      ...timestampField,
    },
  },
  statsUpdate: {
    variant: 'StatsUpdate',
    fields: {
      ticksProcessed: number('ticksProcessed'),
      actionsExecuted: number('actionsExecuted'),
      errorRate: number('errorRate'),
      realizedPnl: number('realizedPnl'),
      lastPrice: nullableNumber('lastPrice'),
      ticksPerSecond: number('ticksPerSecond'),
      ...timestampField,
    },
  },
} as const satisfies Readonly<Record<string, WhereVariant>>;

/** The keys of a `where`: one per variant. */
export type WhereKey = keyof typeof WHERE_FIELDS;

/** Every key of a `where`, in the order of the design's event table. */
export const WHERE_KEYS = Object.keys(WHERE_FIELDS) as readonly WhereKey[];

/** Operators on a number (or timestamp). Every operator given must hold. */
export interface NumberCondition {
  readonly eq?: number | null;
  readonly in?: readonly number[] | null;
  readonly gt?: number | null;
  readonly gte?: number | null;
  readonly lt?: number | null;
  readonly lte?: number | null;
}

/** Operators on an enum without an order. */
export interface EnumCondition<T extends string> {
  readonly eq?: T | null;
  readonly in?: readonly T[] | null;
}

/** Operators on an ordered enum: comparisons follow the enum's order. */
export interface OrderedEnumCondition<T extends string> extends EnumCondition<T> {
  readonly gt?: T | null;
  readonly gte?: T | null;
  readonly lt?: T | null;
  readonly lte?: T | null;
}

/** The condition a field of {@link WHERE_FIELDS} takes. */
export type ConditionOf<F> = F extends { readonly kind: 'enum'; readonly values: readonly (infer V extends string)[] }
  ? F extends { readonly ordered: true }
    ? OrderedEnumCondition<V>
    : EnumCondition<V>
  : NumberCondition;

/** The conditions on one variant's fields. */
export type VariantWhere<K extends WhereKey> = {
  readonly [F in keyof (typeof WHERE_FIELDS)[K]['fields']]?: ConditionOf<(typeof WHERE_FIELDS)[K]['fields'][F]> | null;
};

/** Typed field predicates: per variant, conditions on its fields. See the module's notes. */
export type EventWhere = { readonly [K in WhereKey]?: VariantWhere<K> | null };

/** The operators, in the order messages list them. */
export const WHERE_OPERATORS = ['eq', 'in', 'gt', 'gte', 'lt', 'lte'] as const;

/** One comparison operator. */
export type WhereOperator = (typeof WHERE_OPERATORS)[number];

/** Bounds on one `where`: every operator costs a check per event of its variant. */
export interface WhereLimits {
  /** Most operators (non-null `eq`, `in`, `gt`, … entries) in one `where`. */
  readonly maxOperators: number;
  /** Most values in one `in`. */
  readonly maxInValues: number;
}

/**
 * The default bounds: 20 operators per `where`, 50 values per `in` (AppSync allows 5 of
 * each). Every field of every variant with two bounds each is 76 operators; 20 covers
 * any sensible request and keeps a subscription's per-event cost small.
 */
export const DEFAULT_WHERE_LIMITS: WhereLimits = { maxOperators: 20, maxInValues: 50 };

/** The table entry of a key, or undefined for a key that is none (`__proto__` included). */
function variantOf(key: string): WhereVariant | undefined {
  return Object.hasOwn(WHERE_FIELDS, key) ? (WHERE_FIELDS as Readonly<Record<string, WhereVariant>>)[key] : undefined;
}

/** The field of a variant, or undefined. */
function fieldOf(variant: WhereVariant, name: string): WhereField | undefined {
  return Object.hasOwn(variant.fields, name) ? variant.fields[name] : undefined;
}

/** The operators a field takes. */
export function operatorsOf(field: WhereField): readonly WhereOperator[] {
  return field.kind === 'enum' && field.ordered !== true ? ['eq', 'in'] : WHERE_OPERATORS;
}

/** Renders an offending value for a message; never throws. */
function show(value: unknown): string {
  if (typeof value === 'number') return String(value); // NaN and Infinity as such, not null
  if (typeof value === 'bigint') return `${value}n`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return typeof value;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Says what is wrong with one operand, or null. */
function checkOperand(field: WhereField, value: unknown, path: string): string | null {
  if (field.kind === 'enum') {
    const values = field.values ?? [];
    if (typeof value !== 'string' || !values.includes(value)) return `${path}: unknown ${field.enumName ?? 'enum'} value ${show(value)} (expected one of ${values.join(', ')})`;
    return null;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) return `${path} must be a finite number, got ${show(value)}`;
  if (field.kind === 'timestamp' && (!Number.isSafeInteger(value) || value < 0)) {
    return `${path} must be whole milliseconds since the Unix epoch, got ${show(value)}`;
  }
  return null;
}

/**
 * Says what is wrong with a `where` built from untrusted input, or returns null when it is
 * usable. Every message names the place in the argument, e.g.
 * `where.tickReceived.close.in has 51 values; at most 50 are allowed in one in`, or
 * `where.positionClosed.realizedPnl.lt is operator 21; at most 20 are allowed in one where`.
 * `path` is how the argument is named in messages.
 */
export function validateWhere(where: unknown, limits: WhereLimits = DEFAULT_WHERE_LIMITS, path = 'where'): string | null {
  if (where == null) return null;
  if (!isObject(where)) return `${path} must be an object with one entry per event kind, got ${show(where)}`;
  let operators = 0;
  for (const key of Object.keys(where)) {
    const conditions = where[key];
    const variantPath = `${path}.${key}`;
    const variant = variantOf(key);
    if (variant === undefined) return `${variantPath}: no such event kind (expected one of ${WHERE_KEYS.join(', ')})`;
    if (conditions == null) continue;
    if (!isObject(conditions)) return `${variantPath} must be an object of field conditions, got ${show(conditions)}`;
    for (const name of Object.keys(conditions)) {
      const condition = conditions[name];
      const fieldPath = `${variantPath}.${name}`;
      const field = fieldOf(variant, name);
      if (field === undefined) {
        return `${fieldPath}: ${variant.variant} has no field ${show(name)} that can be compared (it has ${Object.keys(variant.fields).join(', ')})`;
      }
      if (condition == null) continue;
      if (!isObject(condition)) return `${fieldPath} must be an object of operators, got ${show(condition)}`;
      const allowed = operatorsOf(field);
      for (const op of Object.keys(condition)) {
        const operand = condition[op];
        const opPath = `${fieldPath}.${op}`;
        if (!(allowed as readonly string[]).includes(op)) {
          return `${opPath}: ${name} takes only ${allowed.join(', ')}${field.kind === 'enum' ? ` (${field.enumName ?? 'the enum'} has no order)` : ''}`;
        }
        if (operand == null) continue;
        if (++operators > limits.maxOperators) {
          return `${opPath} is operator ${operators}; at most ${limits.maxOperators} are allowed in one ${path}`;
        }
        if (op !== 'in') {
          const problem = checkOperand(field, operand, opPath);
          if (problem !== null) return problem;
          continue;
        }
        if (!Array.isArray(operand)) return `${opPath} must be a list, got ${show(operand)}`;
        if (operand.length > limits.maxInValues) {
          return `${opPath} has ${operand.length} values; at most ${limits.maxInValues} are allowed in one in`;
        }
        for (let i = 0; i < operand.length; i++) {
          const problem = checkOperand(field, operand[i], `${opPath}[${i}]`);
          if (problem !== null) return problem;
        }
      }
    }
  }
  return null;
}

/** A compiled check of one event, of a variant known in advance. */
type Check = (event: RunnerEvent) => boolean;

/** Reads the value at a field's path; compiled once so the per-event read is one or two lookups. */
function getterOf(path: readonly string[]): (event: RunnerEvent) => unknown {
  const [a, b] = path;
  if (a === undefined) throw new TypeError('a where field needs a path');
  if (path.length === 1) return (event) => (event as unknown as Record<string, unknown>)[a];
  if (path.length === 2 && b !== undefined) return (event) => ((event as unknown as Record<string, Record<string, unknown> | null>)[a] ?? undefined)?.[b];
  return (event) => {
    let value: unknown = event;
    for (const key of path) value = (value as Record<string, unknown> | null | undefined)?.[key];
    return value;
  };
}

/** All of the tests, or null when there are none. */
function allOf<T>(tests: readonly ((value: T) => boolean)[]): ((value: T) => boolean) | null {
  const [a, b, c] = tests;
  if (a === undefined) return null;
  if (b === undefined) return a;
  if (c === undefined) return (v) => a(v) && b(v);
  if (tests.length === 3) return (v) => a(v) && b(v) && c(v);
  return (v) => {
    for (const test of tests) if (!test(v)) return false;
    return true;
  };
}

/** The tests of a condition on numbers (a value, or an enum's rank). */
function numberTests(condition: Readonly<Record<string, unknown>>, toNumber: (operand: unknown) => number): ((v: number) => boolean)[] {
  const tests: ((v: number) => boolean)[] = [];
  const eq = condition['eq'];
  if (eq != null) {
    const x = toNumber(eq);
    tests.push((v) => v === x);
  }
  const list = condition['in'];
  if (list != null) {
    const set = new Set((list as readonly unknown[]).map(toNumber));
    tests.push(set.size === 0 ? () => false : (v) => set.has(v));
  }
  const gt = condition['gt'];
  if (gt != null) {
    const x = toNumber(gt);
    tests.push((v) => v > x);
  }
  const gte = condition['gte'];
  if (gte != null) {
    const x = toNumber(gte);
    tests.push((v) => v >= x);
  }
  const lt = condition['lt'];
  if (lt != null) {
    const x = toNumber(lt);
    tests.push((v) => v < x);
  }
  const lte = condition['lte'];
  if (lte != null) {
    const x = toNumber(lte);
    tests.push((v) => v <= x);
  }
  return tests;
}

/** The check of one field condition, or null when it has no operators. */
function fieldCheck(field: WhereField, condition: Readonly<Record<string, unknown>>): Check | null {
  const get = getterOf(field.path);
  if (field.kind !== 'enum') {
    const test = allOf(numberTests(condition, Number));
    if (test === null) return null;
    // typeof, not a coercion: null (no last price yet) must fail, where `null > -1` holds.
    return (event) => {
      const value = get(event);
      return typeof value === 'number' && test(value);
    };
  }
  const values = field.values ?? [];
  if (field.ordered === true) {
    const rank = new Map(values.map((v, i) => [v, i]));
    const test = allOf(numberTests(condition, (operand) => rank.get(operand as string) ?? Number.NaN));
    if (test === null) return null;
    return (event) => {
      const r = rank.get(get(event) as string);
      return r !== undefined && test(r);
    };
  }
  const tests: ((v: unknown) => boolean)[] = [];
  const eq = condition['eq'];
  if (eq != null) tests.push((v) => v === eq);
  const list = condition['in'];
  if (list != null) {
    const set = new Set(list as readonly unknown[]);
    tests.push((v) => set.has(v));
  }
  const test = allOf(tests);
  return test === null ? null : (event) => test(get(event));
}

/**
 * Compiles a `where` once into a check for the publish path, or null when it constrains
 * nothing (no variant with an operator), so the caller adds no per-event call at all.
 * An event of a variant without conditions costs one property lookup. Expects a `where`
 * that {@link validateWhere} accepted.
 */
export function compileWhere(where: EventWhere | null | undefined): ((event: RunnerEvent) => boolean) | null {
  if (where == null) return null;
  const byVariant: Partial<Record<EventVariant, Check>> = {};
  let any = false;
  for (const key of Object.keys(where)) {
    const variant = variantOf(key);
    const conditions = (where as Readonly<Record<string, Readonly<Record<string, unknown>> | null | undefined>>)[key];
    if (variant === undefined || conditions == null) continue;
    const checks: Check[] = [];
    for (const name of Object.keys(conditions)) {
      const field = fieldOf(variant, name);
      const condition = conditions[name];
      if (field === undefined || condition == null) continue;
      const check = fieldCheck(field, condition as Readonly<Record<string, unknown>>);
      if (check !== null) checks.push(check);
    }
    const check = allOf(checks);
    if (check === null) continue;
    byVariant[variant.variant] = check;
    any = true;
  }
  if (!any) return null;
  return (event) => {
    const check = byVariant[event.type];
    return check === undefined || check(event);
  };
}
