import {
  createSourceEventStream,
  execute,
  print,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** How many recent results each cohort keeps for members that are a little behind. */
const RESULT_CACHE_SIZE = 256;

type MaybePromise<T> = T | Promise<T>;

/**
 * Subscribers whose document, operation and variables are the same. Every member keeps
 * its own bus subscription (its own filter and bounded queue, so a slow member never
 * holds up a fast one), but an event is executed once for the whole cohort: the first
 * member to reach it executes, the others find the result here.
 */
class Cohort {
  members = 0;
  private readonly ids = new Float64Array(RESULT_CACHE_SIZE).fill(-1);
  private readonly results: (MaybePromise<ExecutionResult> | undefined)[] = new Array(RESULT_CACHE_SIZE);

  resultFor(id: number, run: () => MaybePromise<ExecutionResult>): MaybePromise<ExecutionResult> {
    const slot = id % RESULT_CACHE_SIZE;
    if (this.ids[slot] === id) return this.results[slot]!;
    const result = run();
    this.ids[slot] = id;
    this.results[slot] = result;
    return result;
  }
}

/** Counters of the shared execution, for tests and metrics. */
export interface SharedExecutionStats {
  /** Cohorts alive now. */
  readonly cohorts: number;
  /** Executions performed. */
  readonly executions: number;
  /** Results handed out from a cohort's cache instead of executing again. */
  readonly shared: number;
}

/** Options of {@link useSharedExecution}. */
export interface SharedExecutionOptions<Source> {
  /**
   * The log position of a source event: results are shared by it. Events without one
   * (return null) are executed per subscriber.
   */
  readonly idOf: (source: Source) => number | null;
}

/** The plugin with a view of its counters. */
export type SharedExecutionPlugin = Plugin & { readonly stats: () => SharedExecutionStats };

/**
 * An envelop plugin that shares subscription execution between subscribers with the same
 * document, operation name and variables (Hasura calls them cohorts). Resolvers must not
 * depend on who asks: anything per-client has to be part of the document or variables.
 *
 * The source stream still comes from the schema's own `subscribe` resolver per
 * subscriber, so argument validation, filtering and cleanup stay where they are.
 */
export function useSharedExecution<Source>(options: SharedExecutionOptions<Source>): SharedExecutionPlugin {
  const cohorts = new Map<string, Cohort>();
  const documentKeys = new WeakMap<DocumentNode, string>();
  let executions = 0;
  let shared = 0;

  // Yoga caches parsed documents, so the same query text is usually the same object.
  const keyOf = (args: ExecutionArgs): string => {
    let documentKey = documentKeys.get(args.document);
    if (documentKey === undefined) {
      documentKey = print(args.document);
      documentKeys.set(args.document, documentKey);
    }
    return `${documentKey}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}`;
  };

  async function subscribeShared(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const stream = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in stream)) return stream;
    const key = keyOf(args);
    let cohort = cohorts.get(key);
    if (cohort === undefined) {
      cohort = new Cohort();
      cohorts.set(key, cohort);
    }
    cohort.members++;
    const member = cohort;
    const source = stream[Symbol.asyncIterator]() as AsyncIterator<Source>;
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      if (--member.members === 0 && cohorts.get(key) === member) cohorts.delete(key);
    };
    const run = (rootValue: Source) => () => {
      executions++;
      return execute({ ...args, rootValue });
    };

    // A plain iterator, not a generator: a generator's `finally` never runs when it is
    // returned before its first `next()`, and that would leak the bus subscriber.
    const iterator: AsyncIterableIterator<ExecutionResult> = {
      async next(): Promise<IteratorResult<ExecutionResult>> {
        if (left) return { done: true, value: undefined };
        const next = await source.next();
        if (next.done === true) {
          leave();
          return { done: true, value: undefined };
        }
        const id = options.idOf(next.value);
        if (id === null) return { done: false, value: await run(next.value)() };
        const before = executions;
        const result = member.resultFor(id, run(next.value));
        if (executions === before) shared++;
        return { done: false, value: await result };
      },
      async return(): Promise<IteratorResult<ExecutionResult>> {
        leave();
        await source.return?.();
        return { done: true, value: undefined };
      },
      async throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
        await iterator.return?.();
        throw error;
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(subscribeShared as Parameters<typeof setSubscribeFn>[0]);
    },
    stats: () => ({ cohorts: cohorts.size, executions, shared }),
  };
}
