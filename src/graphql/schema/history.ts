import { CODE, graphqlError } from '../errors.js';
import { MAX_FILTER_LIST, validateFilter } from '../../events/filter.js';
import { gapNotice } from '../../log/types.js';
import { HISTORY_SCAN_ROWS, type HistoryPage } from '../../store/store.js';
import { StoreTimeoutError } from '../../store/timeout.js';
import { builder } from './builder.js';
import { seesAll } from './principal.js';
import { badInput, filterArgs, filterOf } from './filter-args.js';
import { RunnerEventUnion, type AnyStreamItem } from './events.js';
import { TimestampScalar } from './scalars.js';

/** Largest page of eventHistory. */
export const MAX_HISTORY_PAGE = 1000;

type HistoryPageShape = Pick<HistoryPage, 'entries' | 'undecodable' | 'lastId' | 'hasMore'>;

/** One edge: a stored event, or the notice that stands in for a row that did not decode. */
interface Edge {
  readonly id: number;
  readonly node: AnyStreamItem;
}

/**
 * The page's edges in id order. A row that did not decode becomes a StreamGap of one
 * event in its place, so the reader learns of it and pages on past it.
 */
function edgesOf(page: HistoryPageShape): Edge[] {
  const edges: Edge[] = page.entries.map((entry) => ({ id: entry.id, node: entry as AnyStreamItem }));
  if (page.undecodable.length === 0) return edges;
  for (const row of page.undecodable) {
    const reason = `stored event ${row.id} (${row.type}) could not be decoded (${row.reason}): skipped`;
    edges.push({ id: row.id, node: gapNotice({ missed: 1, reason, fromId: row.id, toId: row.id }) });
  }
  return edges.sort((a, b) => a.id - b.id);
}

const EventEdgeRef = builder.objectRef<Edge>('EventEdge').implement({
  description: 'One stored event and its cursor.',
  fields: (t) => ({
    cursor: t.id({ description: 'The event id: pass it as `after` for the next page.', resolve: (e) => String(e.id) }),
    node: t.field({
      type: RunnerEventUnion,
      description: 'The event; a StreamGap of one event in place of a stored row that could not be decoded.',
      resolve: (e) => e.node,
    }),
  }),
});

const PageInfoRef = builder.objectRef<HistoryPageShape>('PageInfo').implement({
  description: 'Where a page ends.',
  fields: (t) => ({
    hasNextPage: t.boolean({
      description: 'More events may match after endCursor: more matched than the page holds, or the page stopped at its scan bound.',
      resolve: (p) => p.hasMore,
    }),
    endCursor: t.id({
      nullable: true,
      description:
        'Where the next page starts (pass it as after): the cursor of the last edge, or, when the page stopped at its ' +
        `scan bound (${HISTORY_SCAN_ROWS} stored events read by a where, minSeverity or a scoped token), the id of the last ` +
        'event read, even on a page with no edges. Null when the page read nothing.',
      resolve: (p) => (p.lastId === null ? null : String(p.lastId)),
    }),
  }),
});

const EventConnectionRef = builder.objectRef<HistoryPageShape>('EventConnection').implement({
  description: 'A page of stored events, oldest first (Relay connection).',
  fields: (t) => ({
    edges: t.field({ type: [EventEdgeRef], description: 'The events of this page.', resolve: (p) => edgesOf(p) }),
    pageInfo: t.field({ type: PageInfoRef, description: 'Where the page ends.', resolve: (p) => p }),
  }),
});

builder.queryField('eventHistory', (t) =>
  t.field({
    type: EventConnectionRef,
    description:
      'Stored events, ordered by id, filtered like the live stream. Which types are stored is configured ' +
      '(by default all but TickReceived and PositionUpdated). With where or minSeverity (or for a token scoped to some ' +
      `runners), which test every stored event they read, a page reads at most ${HISTORY_SCAN_ROWS} stored events past ` +
      'its cursor and may hold fewer than first while hasNextPage is true: page on from endCursor. Such a query counts ' +
      `${HISTORY_SCAN_ROWS} against MAX_COST. A read that takes longer than STORE_QUERY_TIMEOUT_MS ends with STORE_TIMEOUT.`,
    args: {
      ...filterArgs,
      from: t.arg({ type: TimestampScalar, required: false, description: 'Only events at or after this time.' }),
      to: t.arg({ type: TimestampScalar, required: false, description: 'Only events at or before this time.' }),
      after: t.arg.id({ required: false, description: 'Only events after this id (the endCursor of the page before).' }),
      first: t.arg.int({ required: false, defaultValue: 100, description: `Page size, 1 to ${MAX_HISTORY_PAGE} (default 100).` }),
    },
    resolve: async (_root, args, ctx) => {
      if (ctx.store === null) {
        throw graphqlError(CODE.NOT_AVAILABLE, 'this server reads no event store (an API instance of a Redis deployment reads it only with DATABASE_URL)');
      }
      const filter = filterOf(args);
      const first = args.first ?? 100;
      const problem = validateFilter(filter, MAX_FILTER_LIST);
      if (problem !== null) throw badInput(problem);
      if (first < 1 || first > MAX_HISTORY_PAGE) throw badInput(`first must be within 1..${MAX_HISTORY_PAGE}, got ${first}`);
      if (args.after != null && !/^(0|[1-9][0-9]{0,15})$/.test(String(args.after))) {
        throw badInput(`after must be an event id (a whole number as a string), got ${JSON.stringify(args.after)}`);
      }
      const runnerGlobs = seesAll(ctx.principal) ? null : ctx.principal.runners;
      try {
        return await ctx.store.history({ ...filter, runnerGlobs, from: args.from ?? null, to: args.to ?? null, after: args.after == null ? null : Number(args.after), first });
      } catch (err) {
        if (!(err instanceof StoreTimeoutError)) throw err;
        throw graphqlError(CODE.STORE_TIMEOUT, `${err.message}; narrow the query (types, runnerIds, symbols, from/to, a smaller first) or try again later`);
      }
    },
  }),
);
