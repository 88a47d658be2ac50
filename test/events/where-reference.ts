import fc from 'fast-check';
import { ACTION_KINDS } from '../../src/domain/action.js';
import { RUNNER_STATES } from '../../src/domain/state.js';
import type { EventVariant, RunnerEvent } from '../../src/events/types.js';
import type { EventWhere } from '../../src/events/where.js';
import { numberArb, timestampArb } from './fixtures.js';

// ---------------------------------------------------------------------------------------
// A naive reference evaluator, written from the documented semantics and its own map of
// where each field sits (not from WHERE_FIELDS), so a wrong path in the table shows too.

type RefKind = 'number' | 'enum' | 'ordered';
const SEVERITY_ORDER = ['Warning', 'Error', 'Critical'];
const num = (path: string): [string, RefKind] => [path, 'number'];
const REFERENCE: Record<string, { readonly type: EventVariant; readonly fields: Record<string, [string, RefKind]> }> = {
  runnerStarted: { type: 'RunnerStarted', fields: { timestamp: num('timestamp') } },
  runnerStopped: { type: 'RunnerStopped', fields: { timestamp: num('timestamp') } },
  tickReceived: {
    type: 'TickReceived',
    fields: {
      open: num('data.open'), high: num('data.high'), low: num('data.low'), close: num('data.close'),
      volume: num('data.volume'), bid: num('data.bid'), ask: num('data.ask'), timestamp: num('data.timestamp'),
    },
  },
  stateTransition: { type: 'StateTransition', fields: { from: ['from', 'enum'], to: ['to', 'enum'], timestamp: num('timestamp') } },
  actionExecuted: {
    type: 'ActionExecuted',
    fields: { action: ['action.kind', 'enum'], price: num('action.price'), quantity: num('action.quantity'), timestamp: num('timestamp') },
  },
  positionOpened: {
    type: 'PositionOpened',
    fields: { side: ['position.side', 'enum'], quantity: num('position.quantity'), entryPrice: num('position.entryPrice'), timestamp: num('timestamp') },
  },
  positionUpdated: { type: 'PositionUpdated', fields: { currentPrice: num('currentPrice'), unrealizedPnl: num('unrealizedPnl'), timestamp: num('timestamp') } },
  positionClosed: { type: 'PositionClosed', fields: { exitPrice: num('exitPrice'), realizedPnl: num('realizedPnl'), timestamp: num('timestamp') } },
  runnerError: { type: 'Error', fields: { severity: ['severity', 'ordered'], timestamp: num('timestamp') } },
  statsUpdate: {
    type: 'StatsUpdate',
    fields: {
      ticksProcessed: num('ticksProcessed'), actionsExecuted: num('actionsExecuted'), errorRate: num('errorRate'),
      realizedPnl: num('realizedPnl'), lastPrice: num('lastPrice'), ticksPerSecond: num('ticksPerSecond'), timestamp: num('timestamp'),
    },
  },
};

/** Whether `event` passes `where`, evaluated naively from the documented semantics. */
export function referenceMatches(where: EventWhere, event: RunnerEvent): boolean {
  for (const [key, conditions] of Object.entries(where as Record<string, Record<string, Record<string, unknown> | null> | null>)) {
    const ref = REFERENCE[key]!;
    if (conditions == null || ref.type !== event.type) continue;
    for (const [name, condition] of Object.entries(conditions)) {
      if (condition == null) continue;
      const [path, kind] = ref.fields[name]!;
      let value: unknown = event;
      for (const part of path.split('.')) value = (value as Record<string, unknown>)[part];
      const rank = (v: unknown) => (kind === 'ordered' ? SEVERITY_ORDER.indexOf(v as string) : v);
      for (const [op, operand] of Object.entries(condition)) {
        if (operand == null) continue;
        if (value === null || value === undefined) return false;
        const v = rank(value) as number;
        const x = op === 'in' ? null : (rank(operand) as number);
        const holds =
          op === 'eq' ? v === x
          : op === 'in' ? (operand as unknown[]).some((o) => rank(o) === v)
          : op === 'gt' ? v > x!
          : op === 'gte' ? v >= x!
          : op === 'lt' ? v < x!
          : v <= x!;
        if (!holds) return false;
      }
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// Random predicates, with operands from the same pools as the events so that they match
// about as often as they do not.

function operandArb(kind: RefKind, name: string): fc.Arbitrary<unknown> {
  if (kind === 'ordered') return fc.constantFrom(...SEVERITY_ORDER);
  if (kind === 'enum') {
    if (name === 'action') return fc.constantFrom(...ACTION_KINDS);
    if (name === 'side') return fc.constantFrom('LONG', 'SHORT');
    return fc.constantFrom(...RUNNER_STATES);
  }
  return name === 'timestamp' ? timestampArb : numberArb;
}

function conditionArb(kind: RefKind, name: string): fc.Arbitrary<Record<string, unknown> | null> {
  const operand = operandArb(kind, name);
  const maybe = <T,>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });
  const orNull = <T,>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 6, arbitrary: arb }, { weight: 1, arbitrary: fc.constant(null) });
  const ops = kind === 'enum' ? ['eq', 'in'] : ['eq', 'in', 'gt', 'gte', 'lt', 'lte'];
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const op of ops) record[op] = maybe(orNull(op === 'in' ? fc.array(operand, { maxLength: 4 }) : operand));
  return fc.option(fc.record(record, { requiredKeys: [] }), { nil: null, freq: 8 }) as fc.Arbitrary<Record<string, unknown> | null>;
}

/** Random predicates over every variant and field, operands drawn like the events' values. */
export const whereArb: fc.Arbitrary<EventWhere> = (() => {
  const variants: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [key, { fields }] of Object.entries(REFERENCE)) {
    const conditions: Record<string, fc.Arbitrary<unknown>> = {};
    for (const [name, [, kind]] of Object.entries(fields)) conditions[name] = conditionArb(kind, name);
    variants[key] = fc.option(fc.record(conditions, { requiredKeys: [] }), { nil: null, freq: 8 });
  }
  return fc.record(variants, { requiredKeys: [] }) as fc.Arbitrary<EventWhere>;
})();

