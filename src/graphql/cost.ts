import {
  getNamedType,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  isInterfaceType,
  isObjectType,
  Kind,
  valueFromAST,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { SchemaContext } from './schema/builder.js';
import { seesAll } from './schema/principal.js';
import { HISTORY_SCAN_ROWS } from '../store/store.js';
import { CODE, graphqlError } from './errors.js';

/**
 * Fields whose work is what they read from the in-memory history, by `Type.field`: each
 * counts its `last` argument (its default when omitted, the variable's value when a
 * variable gives it). GraphQL Armor's cost counts a field once whatever it reads, and
 * only a literal `last` multiplies there.
 */
export const HISTORY_FIELDS: readonly string[] = ['Query.recentEvents', 'Runner.candles'];

/**
 * Arguments of `Query.eventHistory` that test every row the store reads, with no index to
 * skip the rows they reject: given any of them, the query reads up to HISTORY_SCAN_ROWS.
 */
export const SCANNING_HISTORY_ARGS: readonly string[] = ['where', 'minSeverity'];

/** The operation whose cost {@link historyCost} counts. */
export interface CostedOperation {
  readonly operationName?: string | null | undefined;
  readonly variables?: Readonly<Record<string, unknown>> | null | undefined;
  /**
   * The reader may see only some runners: the store tests every row it reads against its
   * scope, so each of its eventHistory reads up to HISTORY_SCAN_ROWS, like a `where`.
   */
  readonly scoped?: boolean;
}

/**
 * The history cost of an operation: the sum of `last` over every place a
 * {@link HISTORY_FIELDS} field is selected, aliases and fragment spreads each counted, and
 * HISTORY_SCAN_ROWS (10,000) for every eventHistory whose filters test the rows it reads
 * ({@link SCANNING_HISTORY_ARGS}, or a scoped reader): the rows it may read, whatever
 * matches. A field inside a list (`runners { candles }`) counts once: the runners' ticks
 * are disjoint, so together they read at most the history once.
 */
export function historyCost(schema: GraphQLSchema, document: DocumentNode, costed: CostedOperation = {}): number {
  const operation = getOperationAST(document, costed.operationName ?? undefined);
  if (operation == null) return 0;
  const root = schema.getRootType(operation.operation);
  if (root == null) return 0;
  // Coerced, with the operation's defaults: `($n: Int = 10000)` counts 10000 when $n is not sent.
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], costed.variables ?? {});
  // Variables that do not coerce fail the execution anyway.
  if (coerced.coerced === undefined) return 0;
  const values = coerced.coerced;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  // A fragment's cost does not depend on where it is spread: once each, however often spread.
  const fragmentCost = new Map<string, number>();

  const costOf = (set: SelectionSetNode, parent: GraphQLNamedType): number => {
    let cost = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (!isObjectType(parent) && !isInterfaceType(parent)) continue;
        const field = parent.getFields()[selection.name.value];
        if (field === undefined) continue;
        const name = `${parent.name}.${field.name}`;
        const argument = (arg: string): unknown => {
          const def = field.args.find((a) => a.name === arg);
          const node = selection.arguments?.find((a) => a.name.value === arg);
          if (def === undefined || node === undefined) return def?.defaultValue;
          return valueFromAST(node.value, def.type, values) ?? def.defaultValue;
        };
        if (HISTORY_FIELDS.includes(name)) {
          const last = argument('last');
          cost += typeof last === 'number' && Number.isFinite(last) ? Math.max(0, last) : 0;
        } else if (name === 'Query.eventHistory' && (costed.scoped === true || SCANNING_HISTORY_ARGS.some((arg) => argument(arg) != null))) {
          cost += HISTORY_SCAN_ROWS;
        }
        if (selection.selectionSet !== undefined) cost += costOf(selection.selectionSet, getNamedType(field.type));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition === undefined ? parent : schema.getType(selection.typeCondition.name.value);
        if (type !== undefined && type !== null) cost += costOf(selection.selectionSet, type);
      } else {
        const name = selection.name.value;
        let known = fragmentCost.get(name);
        if (known === undefined) {
          fragmentCost.set(name, 0); // a cycle (refused by validation anyway) adds nothing
          const fragment = fragments.get(name);
          const type = fragment === undefined ? undefined : schema.getType(fragment.typeCondition.name.value);
          known = fragment !== undefined && type !== undefined && type !== null ? costOf(fragment.selectionSet, type) : 0;
          fragmentCost.set(name, known);
        }
        cost += known;
      }
    }
    return cost;
  };
  return costOf(operation.selectionSet, root);
}

/**
 * Refuses an operation whose {@link historyCost} for the request's reader is over `maxCost`
 * before it runs, on every transport (they all execute through Yoga's envelop). It counts
 * at execution, not validation, because a variable's value is known only then.
 */
export function historyCostPlugin(maxCost: number): Plugin {
  const check = (args: {
    schema: GraphQLSchema;
    document: DocumentNode;
    operationName?: string | null;
    variableValues?: Readonly<Record<string, unknown>> | null;
    contextValue?: unknown;
  }): GraphQLError | null => {
    const principal = (args.contextValue as Partial<SchemaContext> | null | undefined)?.principal;
    const scoped = principal !== undefined && !seesAll(principal);
    const cost = historyCost(args.schema, args.document, { operationName: args.operationName, variables: args.variableValues, scoped });
    if (cost <= maxCost) return null;
    return graphqlError(
      CODE.COST_LIMIT,
      `Query cost limit of ${maxCost} exceeded, found ${cost}: recentEvents and Runner.candles count their \`last\` each, ` +
        `an eventHistory with where or minSeverity${scoped ? ' (any eventHistory, for a token scoped to some runners)' : ''} the ${HISTORY_SCAN_ROWS} stored events it may read (MAX_COST).`,
    );
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const refused = check(args);
      if (refused !== null) setResultAndStopExecution({ errors: [refused] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const refused = check(args);
      if (refused !== null) setResultAndStopExecution({ errors: [refused] });
    },
  };
}
