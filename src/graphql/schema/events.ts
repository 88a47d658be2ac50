import type { EventBatch } from '../../delivery/batch.js';
import { isGap, type LogEntry, type StreamGap } from '../../log/types.js';
import { timestampOf } from '../../events/helpers.js';
import type { EventOf, EventVariant } from '../../events/types.js';
import type { ObjectFieldsShape } from '@pothos/core';
import { builder, type BuilderTypes } from './builder.js';
import { ErrorSeverityEnum, EventTypeEnum, RunnerStateEnum } from './enums.js';
import { ActionRef, MarketDataRef, PositionRef } from './market.js';
import { TimestampScalar } from './scalars.js';
import { seesAll, type Principal } from './principal.js';

/** A log entry whose event is of one variant: what each union member resolves from. */
export type EntryOf<V extends EventVariant> = LogEntry & { readonly event: EventOf<V> };

/** GraphQL object type name of each variant (`Error` is `RunnerError`, clear of the built-in). */
export const GRAPHQL_TYPE_NAMES: Readonly<Record<EventVariant, string>> = {
  RunnerStarted: 'RunnerStarted',
  RunnerStopped: 'RunnerStopped',
  TickReceived: 'TickReceived',
  StateTransition: 'StateTransition',
  ActionExecuted: 'ActionExecuted',
  PositionOpened: 'PositionOpened',
  PositionUpdated: 'PositionUpdated',
  PositionClosed: 'PositionClosed',
  Error: 'RunnerError',
  StatsUpdate: 'StatsUpdate',
};

const resolveType = (entry: LogEntry): string => GRAPHQL_TYPE_NAMES[entry.event.type];

/** The fields every event has. */
export const EventInterface = builder.interfaceRef<LogEntry>('Event').implement({
  description: 'What every event has. Implemented by every member of RunnerEvent.',
  resolveType,
  fields: (t) => ({
    id: t.id({
      description:
        'Position of the event in the log: ordered, unique, and usable as a resume cursor. Compare ids as integers.',
      resolve: (entry) => String(entry.id),
    }),
    runnerId: t.id({ description: 'The runner that emitted the event.', resolve: (entry) => entry.event.runnerId }),
    timestamp: t.field({
      type: TimestampScalar,
      description: 'When it happened, ms since the epoch (a tick uses its market data timestamp).',
      resolve: (entry) => timestampOf(entry.event),
    }),
    type: t.field({ type: EventTypeEnum, description: 'The kind of event.', resolve: (entry) => entry.event.type }),
    snapshot: t.boolean({
      description:
        'True when the event was sent first by events(snapshot: true) or eventBatches(snapshot: true) to stand for a ' +
        "runner's current state (it was published before the subscription began); false for live, replayed and stored events.",
      resolve: (entry) => entry.snapshot === true,
    }),
  }),
});

/**
 * Declares one member type. `fields` resolve from the event; the interface fields come
 * from {@link EventInterface}.
 */
function eventType<V extends EventVariant>(
  variant: V,
  description: string,
  fields: ObjectFieldsShape<BuilderTypes, EntryOf<V>>,
) {
  return builder.objectRef<EntryOf<V>>(GRAPHQL_TYPE_NAMES[variant]).implement({
    description,
    interfaces: [EventInterface],
    isTypeOf: (entry) => (entry as LogEntry).event.type === variant,
    fields,
  });
}

/** A runner came up. */
export const RunnerStartedRef = eventType('RunnerStarted', 'A runner came up and starts processing ticks.', (t) => ({
  symbol: t.string({ description: 'The symbol the runner trades.', resolve: (e) => e.event.symbol }),
  reason: t.string({
    nullable: true,
    description: 'Why it started when not by a plain start, e.g. an engine that resumed it after a restart or a takeover (Redis mode); null otherwise.',
    resolve: (e) => e.event.reason ?? null,
  }),
}));

/** A runner stopped. */
export const RunnerStoppedRef = eventType('RunnerStopped', 'A runner stopped for good. Critical: never dropped or conflated.', (t) => ({
  reason: t.string({ description: 'Why it stopped.', resolve: (e) => e.event.reason }),
}));

/** A tick reached a runner. */
export const TickReceivedRef = eventType('TickReceived', 'A tick of market data reached a runner. High-frequency.', (t) => ({
  symbol: t.string({ description: 'The symbol of the tick.', resolve: (e) => e.event.symbol }),
  data: t.field({ type: MarketDataRef, description: 'The market data.', resolve: (e) => e.event.data }),
}));

/** A state machine transition. */
export const StateTransitionRef = eventType('StateTransition', "A runner's state machine moved from one state to another.", (t) => ({
  from: t.field({ type: RunnerStateEnum, description: 'State before.', resolve: (e) => e.event.from }),
  to: t.field({ type: RunnerStateEnum, description: 'State after.', resolve: (e) => e.event.to }),
  reason: t.string({ description: 'Why it moved.', resolve: (e) => e.event.reason }),
}));

/** An executed action. */
export const ActionExecutedRef = eventType('ActionExecuted', 'A runner executed an action its strategy asked for.', (t) => ({
  action: t.field({ type: ActionRef, description: 'The action.', resolve: (e) => e.event.action }),
}));

/** A position was opened. */
export const PositionOpenedRef = eventType('PositionOpened', 'A position was opened.', (t) => ({
  position: t.field({ type: PositionRef, description: 'The new position.', resolve: (e) => e.event.position }),
}));

/** The open position was marked. */
export const PositionUpdatedRef = eventType('PositionUpdated', 'The open position was marked to a new price. High-frequency.', (t) => ({
  currentPrice: t.float({ description: 'The price it would close at now (bid for a long, ask for a short).', resolve: (e) => e.event.currentPrice }),
  unrealizedPnl: t.float({ description: 'P&L if closed now, after fees.', resolve: (e) => e.event.unrealizedPnl }),
}));

/** A position was closed. */
export const PositionClosedRef = eventType('PositionClosed', 'A position was closed.', (t) => ({
  exitPrice: t.float({ description: 'Fill price of the exit.', resolve: (e) => e.event.exitPrice }),
  realizedPnl: t.float({ description: 'Realized P&L of the position, after fees.', resolve: (e) => e.event.realizedPnl }),
  reason: t.string({ description: 'Why it was closed.', resolve: (e) => e.event.reason }),
}));

/** A runner error (the variant `Error`). */
export const RunnerErrorRef = eventType('Error', 'Something went wrong in a runner. Critical when severity is CRITICAL.', (t) => ({
  error: t.string({ description: 'What went wrong, in words.', resolve: (e) => e.event.error }),
  severity: t.field({ type: ErrorSeverityEnum, description: 'How bad it is.', resolve: (e) => e.event.severity }),
}));

/** Periodic runner statistics. */
export const StatsUpdateRef = eventType('StatsUpdate', 'Periodic statistics of a runner, for dashboards.', (t) => ({
  ticksProcessed: t.int({ description: 'Valid ticks processed since start.', resolve: (e) => e.event.ticksProcessed }),
  actionsExecuted: t.int({ description: 'Actions executed since start.', resolve: (e) => e.event.actionsExecuted }),
  errorRate: t.float({ description: 'Errors per tick received since start, 0..1.', resolve: (e) => e.event.errorRate }),
  realizedPnl: t.float({ description: 'Realized P&L since start.', resolve: (e) => e.event.realizedPnl }),
  lastPrice: t.float({ nullable: true, description: 'Close of the last valid tick; null before the first.', resolve: (e) => e.event.lastPrice }),
  ticksPerSecond: t.float({ description: 'Ticks per second over the last interval.', resolve: (e) => e.event.ticksPerSecond }),
  openPosition: t.field({ type: PositionRef, nullable: true, description: 'The open position, or null when flat.', resolve: (e) => e.event.openPosition }),
}));

/** A log entry as a member of the union: the entry of any variant. */
export type AnyEntry = { [V in EventVariant]: EntryOf<V> }[EventVariant];

/**
 * True when a gap's count and range would tell this principal about runners it may not
 * see: counts of the shared log, for a token scoped to some runners.
 */
function hidesLogCounts(gap: StreamGap, principal: Principal): boolean {
  return gap.counts !== 'subscriber' && !seesAll(principal);
}

/** A gap's reason as this principal may read it. */
function reasonFor(gap: StreamGap, principal: Principal): string {
  if (seesAll(principal)) return gap.reason;
  return gap.scopedReason ?? (gap.counts === 'subscriber' ? gap.reason : 'events you asked for were lost');
}

/** A notice that events the subscriber asked for will not come. */
export const StreamGapRef = builder.objectRef<StreamGap>('StreamGap').implement({
  description:
    'Events you asked for will not come: your stream fell behind and its queue dropped them (high-frequency first), ' +
    'or your resume point (after) is older than the history the server keeps. It arrives before the next event.',
  fields: (t) => ({
    missed: t.int({
      nullable: true,
      description:
        'How many events were lost. Null when your token is scoped to some runners and the count would be of the ' +
        'shared log (every runner\'s events: a resume point no longer kept, a trimmed log); a drop of your own ' +
        'stream (too slow) is always counted.',
      resolve: (g, _args, ctx) => (hidesLogCounts(g, ctx.principal) ? null : g.missed),
    }),
    fromId: t.id({
      nullable: true,
      description: 'First id of the range lost, when it is one range. Null where missed is null.',
      resolve: (g, _args, ctx) => (g.fromId === null || hidesLogCounts(g, ctx.principal) ? null : String(g.fromId)),
    }),
    toId: t.id({
      nullable: true,
      description: 'Last id of the range lost, when it is one range. Null where missed is null.',
      resolve: (g, _args, ctx) => (g.toId === null || hidesLogCounts(g, ctx.principal) ? null : String(g.toId)),
    }),
    reason: t.string({
      description: 'Why, in words. For a token scoped to some runners, without counts or ids of the shared log.',
      resolve: (g, _args, ctx) => reasonFor(g, ctx.principal),
    }),
    timestamp: t.field({ type: TimestampScalar, description: 'When the gap was noticed, ms since the epoch.', resolve: (g) => g.timestamp }),
    epoch: t.string({
      nullable: true,
      description:
        'Set when the log was reset: your resume point belonged to another epoch of the log, and the stream goes on in this ' +
        'one (keep it for your next resume). Null for every other gap.',
      resolve: (g) => g.epoch ?? null,
    }),
  }),
});

/** What the stream carries: an event of any variant, or a gap notice. */
export type AnyStreamItem = AnyEntry | StreamGap;

/** Everything a runner can emit. */
export const RunnerEventUnion = builder.unionType('RunnerEvent', {
  description: 'Everything a runner can emit (every such member implements Event), and StreamGap notices.',
  types: [
    RunnerStartedRef,
    RunnerStoppedRef,
    TickReceivedRef,
    StateTransitionRef,
    ActionExecutedRef,
    PositionOpenedRef,
    PositionUpdatedRef,
    PositionClosedRef,
    RunnerErrorRef,
    StatsUpdateRef,
    StreamGapRef,
  ],
  resolveType: (item: AnyStreamItem) => (isGap(item) ? 'StreamGap' : resolveType(item)),
});

/** Events collected over one interval of eventBatches. */
export const EventBatchRef = builder.objectRef<EventBatch>('EventBatch').implement({
  description: 'Events collected over one interval (or until maxSize), sent as one message.',
  fields: (t) => ({
    events: t.field({
      type: [RunnerEventUnion],
      description: 'The events in log order, with StreamGap notices where some were lost.',
      resolve: (batch) => batch.items as AnyStreamItem[],
    }),
    firstId: t.id({ nullable: true, description: 'Id of the first event; null when the batch holds only notices.', resolve: (b) => (b.firstId === null ? null : String(b.firstId)) }),
    lastId: t.id({ nullable: true, description: 'Id of the last event: resume after it.', resolve: (b) => (b.lastId === null ? null : String(b.lastId)) }),
    dropped: t.int({
      description:
        'Events lost before or within this batch because the stream fell behind. For a token scoped to some runners, ' +
        'only what its own stream dropped: counts of the shared log (see StreamGap.missed) are left out.',
      resolve: (b, _args, ctx) =>
        seesAll(ctx.principal) ? b.dropped : b.items.reduce((sum, item) => sum + (isGap(item) && !hidesLogCounts(item, ctx.principal) ? item.missed : 0), 0),
    }),
  }),
});
