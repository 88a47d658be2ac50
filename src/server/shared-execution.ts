import { createSourceEventStream, execute, GraphQLError, print, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { log } from './log.js';
import { DEFAULT_QUEUE_CAPACITY } from '../bus/bus.js';
import { QueueIterator, Retention } from '../bus/queue.js';

/** Events a cohort executes before it lets the event loop run I/O. */
const PUMP_BATCH = 64;

/** Executes an operation whose resolvers are synchronous (the notices are). */
function executeNow(args: ExecutionArgs): ExecutionResult {
  const result = execute(args);
  if (result instanceof Promise) {
    return { errors: [new GraphQLError('a stream notice could not be executed synchronously')] };
  }
  return result;
}

/** Counters of the shared execution, for tests and metrics. */
export interface SharedExecutionStats {
  /** Cohorts alive now. */
  readonly cohorts: number;
  /** Subscribers in them. */
  readonly members: number;
  /** Executions performed. */
  readonly executions: number;
  /** Results handed to subscribers (one execution serves every member of a cohort). */
  readonly deliveries: number;
}

/** Options of {@link useSharedExecution}. */
export interface SharedExecutionOptions<Source> {
  /** How a member's queue treats the result of a source event when it is full. */
  readonly retentionOf: (source: Source) => Retention;
  /** Results a member may have queued (default: the bus's 10,000). */
  readonly memberCapacity?: number;
  /**
   * Whether a subscriber's source stream may be shared. A stream that starts with its
   * own history (replay, resume) is not: it is executed for its subscriber alone.
   */
  readonly isShareable?: (source: AsyncIterator<unknown>) => boolean;
  /**
   * The source event that tells a member it lost `missed` results because it did not
   * keep up; it is executed with the member's document and comes before its next result.
   */
  readonly dropNotice?: (missed: number) => Source;
  /**
   * What of the context changes results: subscribers share only with others of the same
   * key (the principal, whose scope filters the stream). Default: nothing.
   */
  readonly contextKey?: (contextValue: unknown) => string;
  /**
   * Where a source event stands in the log (its id), or null for one that has no place
   * (a notice, a batch); with {@link SharedExecutionOptions.position}, a member that joins
   * a running cohort is sent only events after the log's position when it joined, as a
   * stream of its own would, and not what the cohort still had queued from before.
   */
  readonly positionOf?: (source: Source) => number | null;
  /** The log's position now (the id of the last event published). */
  readonly position?: () => number;
}

/** The plugin with a view of its counters. */
export type SharedExecutionPlugin = Plugin & { readonly stats: () => SharedExecutionStats };

interface Cohort {
  /** Each member, with the log position it joined at: it is sent only what comes after. */
  readonly members: Map<QueueIterator<ExecutionResult>, number>;
  readonly source: AsyncIterator<unknown>;
}

/**
 * An envelop plugin that runs each event once for all subscribers with the same
 * document, operation name and variables (Hasura calls them cohorts). The cohort reads
 * one source stream, executes each event once and pushes the result object to every
 * member's bounded queue; a slow member loses high-frequency results by the same policy
 * as the bus, and never holds up the others.
 *
 * Resolvers must not depend on who asks: anything per-client has to be part of the
 * document or the variables. Every subscriber still runs the schema's `subscribe`
 * resolver once, so argument validation stays where it is; the stream it opens is
 * closed at once when a cohort already exists. A member receives the cohort's events
 * from the moment it joins: with `positionOf` and `position`, exactly those published
 * after it joined.
 */
export function useSharedExecution<Source>(options: SharedExecutionOptions<Source>): SharedExecutionPlugin {
  const cohorts = new Map<string, Cohort>();
  const documentKeys = new WeakMap<DocumentNode, string>();
  const retentions = new WeakMap<ExecutionResult, Retention>();
  const capacity = options.memberCapacity ?? DEFAULT_QUEUE_CAPACITY;
  const retentionOfResult = (result: ExecutionResult) => retentions.get(result) ?? Retention.Standard;
  let executions = 0;
  let deliveries = 0;
  let privateCohorts = 0;

  // Yoga caches parsed documents, so the same query text is usually the same object.
  const keyOf = (args: ExecutionArgs): string => {
    let documentKey = documentKeys.get(args.document);
    if (documentKey === undefined) {
      documentKey = print(args.document);
      documentKeys.set(args.document, documentKey);
    }
    const contextKey = options.contextKey?.(args.contextValue) ?? '';
    return `${contextKey}\u0000${documentKey}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}`;
  };

  async function pump(key: string, cohort: Cohort, args: ExecutionArgs): Promise<void> {
    let sinceYield = 0;
    try {
      for (;;) {
        // A backlog resolves every next() at once, which would run this loop as one long
        // chain of microtasks; yielding now and then lets sockets write in between.
        if (++sinceYield >= PUMP_BATCH) {
          sinceYield = 0;
          await new Promise((resolve) => setImmediate(resolve));
        }
        const next = await cohort.source.next();
        if (next.done === true || cohort.members.size === 0) break;
        executions++;
        const result = await execute({ ...args, rootValue: next.value });
        retentions.set(result, options.retentionOf(next.value as Source));
        const position = options.positionOf?.(next.value as Source) ?? null;
        for (const [member, joinedAt] of cohort.members) {
          if (position !== null && position <= joinedAt) continue;
          deliveries++;
          member.push(result);
        }
      }
    } catch (err) {
      log.error({ err }, 'shared subscription execution failed; its subscribers are completed');
    } finally {
      if (cohorts.get(key) === cohort) cohorts.delete(key);
      for (const member of cohort.members.keys()) member.finish();
      await cohort.source.return?.();
    }
  }

  async function subscribeShared(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const stream = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in stream)) return stream;
    const own = stream[Symbol.asyncIterator]();
    const shareable = options.isShareable?.(own) ?? true;
    // A private cohort has a key of its own that nobody else can join.
    const key = shareable ? keyOf(args) : `private\u0000${++privateCohorts}`;
    let cohort = cohorts.get(key);
    // A new cohort's own stream starts where it should; one joined late must skip its backlog.
    let joinedAt = Number.NEGATIVE_INFINITY;
    if (cohort === undefined) {
      const created: Cohort = { members: new Map(), source: own };
      cohorts.set(key, created);
      cohort = created;
      void pump(key, created, args);
    } else {
      // Not awaited: between an await and joining, the cohort could lose its last member
      // and end, and this subscriber would join a cohort that no longer reads.
      void own.return?.();
      joinedAt = options.position?.() ?? Number.NEGATIVE_INFINITY;
    }
    const joined = cohort;
    const notice = options.dropNotice;
    const member: QueueIterator<ExecutionResult> = new QueueIterator(
      capacity,
      retentionOfResult,
      () => {
        joined.members.delete(member);
        // The last member out closes the source, which ends the pump.
        if (joined.members.size === 0) {
          if (cohorts.get(key) === joined) cohorts.delete(key);
          void joined.source.return?.();
        }
      },
      undefined,
      notice === undefined ? undefined : (missed) => executeNow({ ...args, rootValue: notice(missed) }),
    );
    joined.members.set(member, joinedAt);
    return member;
  }

  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(subscribeShared as Parameters<typeof setSubscribeFn>[0]);
    },
    stats: () => {
      let members = 0;
      for (const cohort of cohorts.values()) members += cohort.members.size;
      return { cohorts: cohorts.size, members, executions, deliveries };
    },
  };
}
