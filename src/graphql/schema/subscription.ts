import { BATCH_LIMITS, BatchStream, isBatch, type EventBatch } from '../../delivery/batch.js';
import { DEFAULT_QUEUE_CAPACITY, MAX_EPOCH_LENGTH } from '../../log/bus.js';
import type { StageSource } from '../../delivery/stage.js';
import { MAX_THROTTLE_MS, ThrottledStream } from '../../delivery/throttle.js';
import type { StreamGap, StreamItem } from '../../log/types.js';
import type { HistoryQuery } from '../../log/history.js';
import { compileFilter, MAX_FILTER_LIST, validateFilter, type EventFilter, type EventPredicate } from '../../events/filter.js';
import { seesAll } from './principal.js';
import { builder } from './builder.js';
import { badInput, filterArgs, filterOf, type FilterArgValues } from './filter-args.js';
import { BACKFILL_SCAN_ROWS, StoreBackfill } from './stream-backfill.js';
import { EventBatchRef, RunnerEventUnion, type AnyStreamItem } from './events.js';
import type { SchemaContext } from './builder.js';

/** Most events `replay` may ask for: the default history size. */
export const MAX_REPLAY = 100_000;

/** Says what is wrong with `replay` / `after` / `snapshot`, or null. */
function validateHistoryArgs(
  replay: number | null | undefined,
  after: string | number | null | undefined,
  snapshot: boolean | null | undefined,
  epoch: string | null | undefined,
): string | null {
  if (epoch != null) {
    if (after == null) return 'epoch goes with after: it names the log the resume point was read in';
    if (epoch.length === 0 || epoch.length > MAX_EPOCH_LENGTH) return `epoch must be 1..${MAX_EPOCH_LENGTH} characters, got ${epoch.length}`;
  }
  if (snapshot === true && (replay != null || after != null)) {
    return `give snapshot or ${replay != null ? 'replay' : 'after'}, not both: a snapshot stands for the history before it, and a resume needs none`;
  }
  if (replay != null && (replay < 0 || replay > MAX_REPLAY)) return `replay must be within 0..${MAX_REPLAY}, got ${replay}`;
  if (after != null) {
    if (replay != null) return 'give replay or after, not both';
    if (!/^(0|[1-9][0-9]{0,15})$/.test(String(after))) return `after must be an event id (a whole number as a string), got ${JSON.stringify(after)}`;
  }
  return null;
}

/** The arguments `events` and `eventBatches` share. */
interface StreamArgs extends FilterArgValues {
  readonly replay?: number | null;
  readonly after?: string | number | null;
  readonly snapshot?: boolean | null;
  readonly epoch?: string | null;
  readonly throttleMs?: number | null;
}

/**
 * Validates the stream arguments and opens the stream: filter in the bus, then history,
 * then conflation. A bad argument is a GraphQL error (BAD_USER_INPUT), never a stream.
 */
function openStream(args: StreamArgs, ctx: SchemaContext): StageSource {
  const filter = filterOf(args);
  const problem =
    validateFilter(filter, MAX_FILTER_LIST) ??
    validateHistoryArgs(args.replay, args.after, args.snapshot, args.epoch) ??
    (args.throttleMs != null && (args.throttleMs < 1 || args.throttleMs > MAX_THROTTLE_MS)
      ? `throttleMs must be within 1..${MAX_THROTTLE_MS}, got ${args.throttleMs}`
      : null);
  if (problem !== null) throw badInput(problem);
  const scoped = scopedPredicate(filter, ctx);
  const principal = ctx.principal;
  const subscription = ctx.bus.subscribe({
    filter: scoped,
    // Where a replay starts is found through the history's index, not by reading all of it.
    index: historyIndexOf(filter, principal),
    ...(args.replay != null ? { replay: args.replay } : {}),
    ...(args.after != null ? { after: Number(args.after) } : {}),
    ...(args.snapshot === true ? { snapshot: true } : {}),
    ...(args.epoch != null ? { epoch: args.epoch } : {}),
  });
  // A resume point older than the bus's history is filled from the store, when there is
  // one; not one of another epoch (the stream starts live after a reset notice).
  const reset = args.epoch != null && args.epoch !== ctx.bus.epoch;
  const resumed: StageSource =
    args.after != null && ctx.store !== null && !reset ? new StoreBackfill(subscription, ctx.store, filter, principal) : subscription;
  return args.throttleMs != null ? new ThrottledStream(resumed, args.throttleMs, DEFAULT_QUEUE_CAPACITY) : resumed;
}

/** What of a filter and a token's scope the history's index can follow. */
function historyIndexOf(filter: EventFilter, principal: SchemaContext['principal']): HistoryQuery {
  return { runnerIds: filter.runnerIds, types: filter.types, runnerAllowed: seesAll(principal) ? null : (id) => principal.allows(id) };
}

/** The compiled filter, narrowed to the runners the request's token may see. */
function scopedPredicate(filter: EventFilter, ctx: SchemaContext): EventPredicate {
  const compiled = compileFilter(filter);
  const principal = ctx.principal;
  // A scoped token never receives another runner's events, whatever it asks for.
  return seesAll(principal) ? compiled : (event, symbol) => principal.allows(event.runnerId) && compiled(event, symbol);
}

/** Most events `recentEvents` returns at once. */
export const MAX_RECENT = 10_000;

/**
 * Most kept events one `recentEvents` call looks at: this many, or 4 × `last` when that
 * is more. The history's index follows runnerIds, types and the token's scope, so only
 * symbols, minSeverity and where can make a call read entries it does not return; this keeps
 * what such a call reads, and so a request's total, bounded.
 */
export const RECENT_SCAN_FLOOR = 10_000;


/** The stream arguments of both subscription fields, defined once. */
const streamArgs = builder.args((t) => ({
    ...filterArgs,
    replay: t.int({
      required: false,
      description: 'First send the last N matching events the server still holds, then live ones. 0 to 100000.',
    }),
    after: t.id({
      required: false,
      description:
        'Resume: first send every matching event after this id, then live ones, without a gap or a duplicate. ' +
        'Events no longer kept in memory come from the event store; what neither has, a StreamGap says (with how many ' +
        'were lost). A resume whose where, minSeverity or token scope rejects stored events stops searching the store ' +
        `after ${BACKFILL_SCAN_ROWS} of them, and a StreamGap names the range it did not search. Not together with replay.`,
    }),
    epoch: t.string({
      required: false,
      description:
        'With after: the log epoch (Query.log.epoch) the resume point was read in. When the log has been recreated since, ' +
        'the stream starts with a StreamGap saying so (its epoch field names the new one) and goes on with live events, ' +
        'instead of sending events of another log that only share the ids. 1 to 64 characters.',
    }),
    snapshot: t.boolean({
      required: false,
      description:
        'First send the current state of every runner the filter and the token allow, as the latest events that make ' +
        'it up (its last StateTransition, its open position as PositionOpened or PositionUpdated, its last ' +
        'TickReceived and StatsUpdate), each with snapshot: true and in id order; then live events, without a gap or a ' +
        'duplicate between the two. The filter applies to the snapshot too. Not together with replay or after.',
    }),
    throttleMs: t.int({
      required: false,
      description:
        'Conflate high-frequency events (TickReceived, PositionUpdated): at most one per runner and type per window ' +
        'of this many ms, always the latest, sent at the end of the window. Other events pass at once; critical ' +
        'ones are never delayed. 1 to 60000.',
    }),
  }));

builder.subscriptionType({
  description: 'Watch the engine live.',
  fields: (t) => ({
    events: t.field({
      type: RunnerEventUnion,
      description:
        'Live events of the runners, filtered on the server before anything is executed or sent. ' +
        'Arguments combine with AND; inside a list, OR. An omitted or null argument does not filter; ' +
        'an empty list matches nothing. Events arrive in log order (ascending id; with throttleMs, a conflated event comes ' +
        'at the end of its window); a StreamGap says where some were lost.',
      args: streamArgs,
      subscribe: (_root, args, ctx) => openStream(args, ctx),
      // Each entry is one variant's (or a gap notice); the union's resolveType picks the member.
      resolve: (item: StreamItem) => item as AnyStreamItem,
    }),
    eventBatches: t.field({
      type: EventBatchRef,
      description:
        'The same stream as events, in batches: one message per interval when anything arrived, or earlier when ' +
        'maxSize events are collected. Fewer, larger messages for clients that draw in frames.',
      args: {
        ...streamArgs,
        intervalMs: t.arg.int({
          required: false,
          defaultValue: 100,
          description: `Milliseconds between batches, ${BATCH_LIMITS.minIntervalMs} to ${BATCH_LIMITS.maxIntervalMs} (default 100).`,
        }),
        maxSize: t.arg.int({
          required: false,
          defaultValue: 500,
          description: `Send a batch early when it holds this many events, 1 to ${BATCH_LIMITS.maxSize} (default 500).`,
        }),
      },
      subscribe: (_root, args, ctx) => {
        const intervalMs = args.intervalMs ?? 100;
        const maxSize = args.maxSize ?? 500;
        if (intervalMs < BATCH_LIMITS.minIntervalMs || intervalMs > BATCH_LIMITS.maxIntervalMs) {
          throw badInput(`intervalMs must be within ${BATCH_LIMITS.minIntervalMs}..${BATCH_LIMITS.maxIntervalMs}, got ${intervalMs}`);
        }
        if (maxSize < 1 || maxSize > BATCH_LIMITS.maxSize) {
          throw badInput(`maxSize must be within 1..${BATCH_LIMITS.maxSize}, got ${maxSize}`);
        }
        return new BatchStream(openStream(args, ctx), intervalMs, maxSize);
      },
      // A slow reader's drop notice arrives as a bare gap: it becomes a batch of its own.
      resolve: (item: EventBatch | StreamGap): EventBatch =>
        isBatch(item) ? item : { kind: 'batch', items: [item], firstId: null, lastId: null, dropped: item.missed },
    }),
  }),
});

builder.queryField('recentEvents', (t) =>
  t.field({
    type: [RunnerEventUnion],
    description:
      'The last matching events the server holds in memory, oldest first: what events(replay: last) would send before ' +
      'going live, once. Unlike eventHistory it sees every type (ticks too) but only as far back as the in-memory history.',
    args: {
      ...filterArgs,
      last: t.arg.int({ required: false, defaultValue: 100, description: `How many, 1 to ${MAX_RECENT} (default 100).` }),
    },
    resolve: (_root, args, ctx) => {
      const filter = filterOf(args);
      const last = args.last ?? 100;
      const problem = validateFilter(filter, MAX_FILTER_LIST) ?? (last < 1 || last > MAX_RECENT ? `last must be within 1..${MAX_RECENT}, got ${last}` : null);
      if (problem !== null) throw badInput(problem);
      const principal = ctx.principal;
      return ctx.bus.recent(scopedPredicate(filter, ctx), last, {
        ...historyIndexOf(filter, principal),
        maxScan: Math.max(RECENT_SCAN_FLOOR, 4 * last),
      }) as AnyStreamItem[];
    },
  }),
);
