import { GraphQLError } from 'graphql';
import type { LogEntry } from '../bus/types.js';
import { compileFilter, MAX_FILTER_LIST, validateFilter, type EventFilter } from '../events/filter.js';
import { builder } from './builder.js';
import { ErrorSeverityEnum, EventTypeEnum } from './enums.js';
import { RunnerEventUnion, type AnyEntry } from './events.js';

builder.subscriptionType({
  description: 'Watch the engine live.',
  fields: (t) => ({
    events: t.field({
      type: RunnerEventUnion,
      description:
        'Live events of the runners, filtered on the server before anything is executed or sent. ' +
        'Arguments combine with AND; inside a list, OR. An omitted or null argument does not filter; ' +
        'an empty list matches nothing. Events arrive in log order (ascending id).',
      args: {
        runnerIds: t.arg.idList({
          required: false,
          description: 'Only these runners. Unknown ids are allowed: the runner may start later.',
        }),
        symbols: t.arg.stringList({ required: false, description: 'Only runners trading these symbols.' }),
        types: t.arg({ type: [EventTypeEnum], required: false, description: 'Only these kinds of event.' }),
        minSeverity: t.arg({
          type: ErrorSeverityEnum,
          required: false,
          description: 'Drop RunnerError events below this severity; other kinds are not affected.',
        }),
      },
      subscribe: (_root, args, ctx) => {
        const filter: EventFilter = {
          runnerIds: args.runnerIds?.map(String) ?? null,
          symbols: args.symbols ?? null,
          types: args.types ?? null,
          minSeverity: args.minSeverity ?? null,
        };
        const problem = validateFilter(filter, MAX_FILTER_LIST);
        if (problem !== null) throw new GraphQLError(problem, { extensions: { code: 'BAD_USER_INPUT' } });
        return ctx.bus.subscribe({ filter: compileFilter(filter) });
      },
      // Each entry is one variant's; the union's resolveType picks the member by it.
      resolve: (entry: LogEntry) => entry as AnyEntry,
    }),
  }),
});
