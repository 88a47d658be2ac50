import type { EventBus } from '../../log/bus.js';
import { builder } from './builder.js';
import { seesAll } from './principal.js';

/** Where the event log stands, for a client about to subscribe or resume. */
const EventLogRef = builder.objectRef<EventBus>('EventLog').implement({
  description:
    "The server's event log: its epoch and the ids it holds. Ids are unique and ordered within one epoch; the epoch " +
    'changes when the log is recreated (a new store, a flushed shared log), and ids of another epoch mean nothing in this one.',
  fields: (t) => ({
    epoch: t.string({
      description:
        'Names this log. Keep it with the last id you read and send both when you resume (events(after:, epoch:)): a resume ' +
        'into another epoch starts with a StreamGap saying the log was reset, instead of events that only share the ids.',
      resolve: (bus) => bus.epoch,
    }),
    lastId: t.id({
      nullable: true,
      description:
        "Id of the newest event (0 before the first). Null for a token scoped to some runners: the log's ids count every " +
        "runner's events, and would tell how busy the others are.",
      resolve: (bus, _args, ctx) => (seesAll(ctx.principal) ? String(bus.lastId) : null),
    }),
    oldestId: t.id({
      nullable: true,
      description: 'Id of the oldest event still held in memory (what replay and after can reach without the store). Null where lastId is.',
      resolve: (bus, _args, ctx) => (seesAll(ctx.principal) ? String(bus.historyRange.oldestId) : null),
    }),
  }),
});

builder.queryField('log', (t) =>
  t.field({
    type: EventLogRef,
    description: 'The event log: its epoch, for resuming, and the ids it holds.',
    resolve: (_root, _args, ctx) => ctx.bus,
  }),
);
