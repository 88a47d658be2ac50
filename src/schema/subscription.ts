import { GraphQLError } from 'graphql';
import { DEFAULT_QUEUE_CAPACITY } from '../bus/bus.js';
import { MAX_THROTTLE_MS, ThrottledStream } from '../bus/throttle.js';
import type { StreamItem } from '../bus/types.js';
import { compileFilter, MAX_FILTER_LIST, validateFilter, type EventFilter } from '../events/filter.js';
import { builder } from './builder.js';
import { ErrorSeverityEnum, EventTypeEnum } from './enums.js';
import { RunnerEventUnion, type AnyStreamItem } from './events.js';

/** Most events `replay` may ask for: the default history size. */
export const MAX_REPLAY = 100_000;

/** Says what is wrong with `replay` / `after`, or null. */
function validateHistoryArgs(replay: number | null | undefined, after: string | number | null | undefined): string | null {
  if (replay != null && (replay < 0 || replay > MAX_REPLAY)) return `replay must be within 0..${MAX_REPLAY}, got ${replay}`;
  if (after != null) {
    if (replay != null) return 'give replay or after, not both';
    if (!/^(0|[1-9][0-9]{0,15})$/.test(String(after))) return `after must be an event id (a whole number as a string), got ${JSON.stringify(after)}`;
  }
  return null;
}

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
        replay: t.arg.int({
          required: false,
          description: 'First send the last N matching events the server still holds, then live ones. 0 to 100000.',
        }),
        throttleMs: t.arg.int({
          required: false,
          description:
            'Conflate high-frequency events (TickReceived, PositionUpdated): at most one per runner and type per window ' +
            'of this many ms, always the latest, sent at the end of the window. Other events pass at once; critical ' +
            'ones are never delayed. 1 to 60000.',
        }),
        after: t.arg.id({
          required: false,
          description:
            'Resume: first send every matching event after this id, then live ones, without a gap or a duplicate. ' +
            'If events after it are no longer kept, a StreamGap says how many were lost. Not together with replay.',
        }),
      },
      subscribe: (_root, args, ctx) => {
        const filter: EventFilter = {
          runnerIds: args.runnerIds?.map(String) ?? null,
          symbols: args.symbols ?? null,
          types: args.types ?? null,
          minSeverity: args.minSeverity ?? null,
        };
        const problem =
          validateFilter(filter, MAX_FILTER_LIST) ??
          validateHistoryArgs(args.replay, args.after) ??
          (args.throttleMs != null && (args.throttleMs < 1 || args.throttleMs > MAX_THROTTLE_MS)
            ? `throttleMs must be within 1..${MAX_THROTTLE_MS}, got ${args.throttleMs}`
            : null);
        if (problem !== null) throw new GraphQLError(problem, { extensions: { code: 'BAD_USER_INPUT' } });
        const subscription = ctx.bus.subscribe({
          filter: compileFilter(filter),
          ...(args.replay != null ? { replay: args.replay } : {}),
          ...(args.after != null ? { after: Number(args.after) } : {}),
        });
        return args.throttleMs != null ? new ThrottledStream(subscription, args.throttleMs, DEFAULT_QUEUE_CAPACITY) : subscription;
      },
      // Each entry is one variant's (or a gap notice); the union's resolveType picks the member.
      resolve: (item: StreamItem) => item as AnyStreamItem,
    }),
  }),
});
