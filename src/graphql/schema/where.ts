import {
  DEFAULT_WHERE_LIMITS,
  WHERE_FIELDS,
  WHERE_KEYS,
  type WhereField,
  type WhereKey,
  type WhereVariant,
} from '../../events/where.js';
import type { InputObjectRef } from '@pothos/core';
import { builder, type BuilderTypes } from './builder.js';
import { ActionKindEnum, ErrorSeverityEnum, PositionSideEnum, RunnerStateEnum } from './enums.js';
import { GRAPHQL_TYPE_NAMES } from './events.js';
import { TimestampScalar } from './scalars.js';

/*
 * The GraphQL input types of `where`, derived from the events module's table of
 * comparable fields (WHERE_FIELDS), so the schema offers exactly what the predicate,
 * the store's SQL and the validation know. GraphQL's own validation refuses an unknown
 * field or an operator a field does not take (an enum without order has no gt) before
 * any resolver runs, naming the input type; the events module checks the rest (limits,
 * finite numbers) and names the path.
 */

const { maxOperators, maxInValues } = DEFAULT_WHERE_LIMITS;

const OPERATOR_DESCRIPTIONS = {
  eq: 'Equal to this.',
  in: `Equal to one of these (at most ${maxInValues}); an empty list matches nothing.`,
  gt: 'Greater than this.',
  gte: 'Greater than or equal to this.',
  lt: 'Less than this.',
  lte: 'Less than or equal to this.',
} as const;

/** Conditions on a Float field. */
const FloatConditionInput = builder.inputRef<Record<string, unknown>, false>('FloatCondition').implement({
  description: 'Comparisons on a number. Every operator given must hold (AND); a null operator does not filter. A null field value matches no operator.',
  fields: (t) => ({
    eq: t.float({ required: false, description: OPERATOR_DESCRIPTIONS.eq }),
    in: t.floatList({ required: false, description: OPERATOR_DESCRIPTIONS.in }),
    gt: t.float({ required: false, description: OPERATOR_DESCRIPTIONS.gt }),
    gte: t.float({ required: false, description: OPERATOR_DESCRIPTIONS.gte }),
    lt: t.float({ required: false, description: OPERATOR_DESCRIPTIONS.lt }),
    lte: t.float({ required: false, description: OPERATOR_DESCRIPTIONS.lte }),
  }),
});

/** Conditions on an event's timestamp. */
const TimestampConditionInput = builder.inputRef<Record<string, unknown>, false>('TimestampCondition').implement({
  description: 'Comparisons on a Timestamp (ms since the epoch). Every operator given must hold (AND); a null operator does not filter.',
  fields: (t) => ({
    eq: t.field({ type: TimestampScalar, required: false, description: OPERATOR_DESCRIPTIONS.eq }),
    in: t.field({ type: [TimestampScalar], required: false, description: OPERATOR_DESCRIPTIONS.in }),
    gt: t.field({ type: TimestampScalar, required: false, description: OPERATOR_DESCRIPTIONS.gt }),
    gte: t.field({ type: TimestampScalar, required: false, description: OPERATOR_DESCRIPTIONS.gte }),
    lt: t.field({ type: TimestampScalar, required: false, description: OPERATOR_DESCRIPTIONS.lt }),
    lte: t.field({ type: TimestampScalar, required: false, description: OPERATOR_DESCRIPTIONS.lte }),
  }),
});

/** An enum without an order: only eq and in. */
function enumCondition(name: string, enumRef: typeof ActionKindEnum | typeof RunnerStateEnum | typeof PositionSideEnum) {
  return builder.inputRef<Record<string, unknown>, false>(`${name}Condition`).implement({
    description: `Comparisons on a value of ${name}: eq or in (the enum has no order); when both are given, both must hold.`,
    fields: (t) => ({
      eq: t.field({ type: enumRef, required: false, description: OPERATOR_DESCRIPTIONS.eq }),
      in: t.field({ type: [enumRef], required: false, description: OPERATOR_DESCRIPTIONS.in }),
    }),
  });
}

/** Severity is ordered: WARNING < ERROR < CRITICAL. */
const ErrorSeverityConditionInput = builder.inputRef<Record<string, unknown>, false>('ErrorSeverityCondition').implement({
  description: 'Comparisons on an ErrorSeverity, in its order WARNING < ERROR < CRITICAL. Every operator given must hold (AND).',
  fields: (t) => ({
    eq: t.field({ type: ErrorSeverityEnum, required: false, description: OPERATOR_DESCRIPTIONS.eq }),
    in: t.field({ type: [ErrorSeverityEnum], required: false, description: OPERATOR_DESCRIPTIONS.in }),
    gt: t.field({ type: ErrorSeverityEnum, required: false, description: 'More severe than this.' }),
    gte: t.field({ type: ErrorSeverityEnum, required: false, description: 'At least this severe.' }),
    lt: t.field({ type: ErrorSeverityEnum, required: false, description: 'Less severe than this.' }),
    lte: t.field({ type: ErrorSeverityEnum, required: false, description: 'At most this severe.' }),
  }),
});

const ENUM_CONDITIONS = {
  ActionKind: enumCondition('ActionKind', ActionKindEnum),
  RunnerState: enumCondition('RunnerState', RunnerStateEnum),
  PositionSide: enumCondition('PositionSide', PositionSideEnum),
  ErrorSeverity: ErrorSeverityConditionInput,
} as const;

function conditionOf(field: WhereField) {
  if (field.kind === 'number') return FloatConditionInput;
  if (field.kind === 'timestamp') return TimestampConditionInput;
  if (field.enumName === undefined) throw new TypeError('an enum field of where needs its enum');
  return ENUM_CONDITIONS[field.enumName];
}

/** Says which value of the event a field compares, for its description. */
function describeField(name: string, field: WhereField, typeName: string): string {
  if (field.kind === 'timestamp') return `The event's timestamp${field.path.length > 1 ? ` (${field.path.join('.')})` : ''}.`;
  const where = field.path.join('.');
  const source = where === name ? `${typeName}.${name}` : `${typeName}.${where}`;
  return `${source}${field.nullable === true ? ' (null matches no operator)' : ''}.`;
}

/** One variant's input: a condition per comparable field. */
function variantInput(key: WhereKey) {
  const spec: WhereVariant = WHERE_FIELDS[key];
  const typeName = GRAPHQL_TYPE_NAMES[spec.variant];
  return builder.inputRef<Record<string, unknown>, false>(`${typeName}Where`).implement({
    description: `Conditions on ${typeName} events: all given must hold. Events of other kinds are not affected.`,
    fields: (t) =>
      Object.fromEntries(
        Object.entries(spec.fields).map(([name, field]) => [
          name,
          t.field({ type: conditionOf(field), required: false, description: describeField(name, field, typeName) }),
        ]),
      ),
  });
}

/**
 * The `where` argument of events, eventBatches, recentEvents and eventHistory: per kind
 * of event, comparisons on its numeric and enum fields.
 */
export const EventWhereInput: InputObjectRef<BuilderTypes, Record<string, unknown>> = builder.inputRef<Record<string, unknown>, false>('EventWhere').implement({
  description:
    'Typed field predicates, one entry per kind of event. An entry constrains only events of its kind: an event of a ' +
    'kind not named here (or named with no operators) passes as without where, and where never lets through what ' +
    'the other arguments (types, runnerIds, symbols, minSeverity) drop. Inside an entry all field conditions must hold, ' +
    `and inside a condition all operators. At most ${maxOperators} operators in one where and ${maxInValues} values in ` +
    'one in. Nested values are flattened: actionExecuted.action is the action\'s kind, beside its price and quantity; ' +
    'positionOpened compares the position\'s side, quantity and entryPrice.',
  fields: (t) =>
    Object.fromEntries(
      WHERE_KEYS.map((key) => {
        const typeName = GRAPHQL_TYPE_NAMES[WHERE_FIELDS[key].variant];
        return [key, t.field({ type: variantInput(key), required: false, description: `Conditions on ${typeName} events.` })];
      }),
    ),
});
