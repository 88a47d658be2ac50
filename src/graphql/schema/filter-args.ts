import type { GraphQLError } from 'graphql';
import { CODE, graphqlError } from '../errors.js';
import type { EventFilter } from '../../events/filter.js';
import type { ErrorSeverity, EventVariant } from '../../events/types.js';
import type { EventWhere } from '../../events/where.js';
import { builder } from './builder.js';
import { ErrorSeverityEnum, EventTypeEnum } from './enums.js';
import { EventWhereInput } from './where.js';

/**
 * The filter arguments every event-reading field takes (events, eventBatches,
 * eventHistory, recentEvents): one definition, so they cannot drift apart.
 */
export const filterArgs = builder.args((t) => ({
  runnerIds: t.idList({ required: false, description: 'Only these runners; an id no runner has (yet) is allowed and matches nothing until one does.' }),
  symbols: t.stringList({ required: false, description: 'Only runners trading these symbols.' }),
  types: t.field({ type: [EventTypeEnum], required: false, description: 'Only these kinds of event.' }),
  minSeverity: t.field({
    type: ErrorSeverityEnum,
    required: false,
    description: 'Drop RunnerError events below this severity; other kinds are not affected.',
  }),
  where: t.field({
    type: EventWhereInput,
    required: false,
    description:
      'Comparisons on the fields of each kind of event, e.g. { tickReceived: { close: { gt: 61000 } } }. Constrains only ' +
      'the kinds it names; applied on the server before anything is executed or sent.',
  }),
}));

/** The filter arguments as a resolver receives them. */
export interface FilterArgValues {
  readonly runnerIds?: readonly (string | number)[] | null;
  readonly symbols?: readonly string[] | null;
  readonly types?: readonly EventVariant[] | null;
  readonly minSeverity?: ErrorSeverity | null;
  /** As GraphQL coerced it: shaped by the input types, still checked by validateFilter. */
  readonly where?: Readonly<Record<string, unknown>> | null;
}

/** The filter arguments as the events module takes them (null: does not filter). */
export function filterOf(args: FilterArgValues): EventFilter {
  return {
    runnerIds: args.runnerIds?.map(String) ?? null,
    symbols: args.symbols ?? null,
    types: args.types ?? null,
    minSeverity: args.minSeverity ?? null,
    // The input types give it the shape of EventWhere; validateFilter checks the rest.
    where: (args.where ?? null) as EventWhere | null,
  };
}

/** A bad argument: the message says which and why. */
export function badInput(message: string): GraphQLError {
  return graphqlError(CODE.BAD_USER_INPUT, message);
}
