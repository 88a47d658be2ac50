import {
  createSourceEventStream,
  execute,
  getOperationAST,
  GraphQLError,
  Kind,
  print,
  visit,
  type ASTNode,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { maskError } from './errors.js';
import { eventExecutor } from './jit.js';
import { log } from '../runtime/log.js';
import { DEFAULT_QUEUE_CAPACITY } from '../log/bus.js';
import { Hub } from '../delivery/hub.js';
import type { DirectSource, MemberWatcher } from '../delivery/member.js';
import type { FrameWriter } from '../delivery/writer.js';
import { QueueIterator, Retention, type AgeBound, type DropCause } from '../log/queue.js';

/** Events a cohort executes before it lets the event loop run I/O. */
const PUMP_BATCH = 64;

/**
 * Results of source events kept per shared document for the cohorts that have not reached
 * that event yet. Cohorts of one document read the same events at about the same time
 * (each pump takes up to {@link PUMP_BATCH} before yielding), so a few thousand cover the
 * spread; a cohort further behind executes the event itself, which is only slower. Bounded
 * rather than weak: the bus's history holds its entries for a long time, and a weak map
 * keyed by them would hold a result (and its JSON) per document for every kept event.
 */
const SHARED_RESULTS_KEPT = 4096;

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
  /**
   * Results of high-frequency events that members' queues conflated away because they had
   * waited longer than the age bound (`maxEventAgeMs`); by type in `expiredByType()`.
   */
  readonly expired: number;
  /**
   * Executions a cohort did not run because another cohort of the same document (with
   * other variables) had already executed that source event.
   */
  readonly executionsSaved: number;
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
  readonly dropNotice?: (missed: number, cause: DropCause) => Source;
  /**
   * Oldest a queued result of a high-frequency source event may be when its member reads
   * it, in ms since the event was queued on this process (for the subscriber's bus queue
   * when it came through one); older ones are conflated to the latest per
   * {@link SharedExecutionOptions.conflationKeyOf}, after a drop notice. 0 or absent: none.
   */
  readonly maxEventAgeMs?: number;
  /** What age conflation keeps one of (runner and type); also names the type in stats. */
  readonly conflationKeyOf?: (source: Source) => { readonly key: string; readonly type: string };
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
  /**
   * Root subscription fields whose arguments only choose the source stream (filter,
   * history, conflation, batching) and whose `resolve` does not read them. An operation
   * whose variables appear nowhere but in such a field's arguments gives the same result
   * for a source event whatever its variables, so cohorts of that document, operation
   * name and context key share the execution of every event that has a position
   * ({@link SharedExecutionOptions.positionOf}): the bus hands each subscriber the same
   * entry object, and the result is looked up by that object. Events without a position
   * (notices, batches) are each subscriber's own and executed per cohort. Default: none.
   */
  readonly sourceArgumentFields?: readonly string[];
  /**
   * The delivery core: when a subscription's context names a connection writer
   * ({@link DeliveryTarget}, set by the graphql-ws transport) and its source stream can
   * hand items over synchronously, the subscription becomes a member of an execution
   * group that appends shared bytes to that writer; the iterator returned to the transport
   * yields nothing and only says when it ended. Returns such a source, or null.
   */
  readonly directSource?: (stream: AsyncIterator<unknown>) => DirectSource<Source & object> | null;
  /** True for a source event that is the same object for every subscriber (a log entry). */
  readonly sharedSource?: (source: Source) => boolean;
}

/**
 * Where a subscription's frames go on the delivery core's live path: put in the operation's
 * context (`delivery`) by a transport that writes frames itself.
 */
export interface DeliveryTarget {
  readonly writer: FrameWriter;
  /** The operation's id: `{"id":…,"type":"next","payload":` goes before each payload. */
  readonly id: string;
  /**
   * Set by the delivery core when it takes the subscription: the stream that yields
   * nothing and settles when the subscription ends. The transport hands this one to its
   * protocol, not what the enveloped `subscribe` returned: that wraps it in Yoga's
   * per-subscriber iterators (its error masking, which the core does itself), about 2 KB
   * of every idle subscriber for a stream that never yields.
   */
  stream?: AsyncIterableIterator<ExecutionResult>;
}

/** The {@link DeliveryTarget} of an operation's context, if its transport gave one. */
function deliveryTargetOf(contextValue: unknown): DeliveryTarget | undefined {
  const target = (contextValue as { delivery?: DeliveryTarget } | null)?.delivery;
  return target !== undefined && typeof target === 'object' && typeof target.id === 'string' ? target : undefined;
}

const SUFFIX = Buffer.from('}');

// Iterators of subscriptions that the delivery core writes itself (they yield nothing).
const directStreams = new WeakSet<object>();

/** True for what `subscribe` returned for a delivery-core member: there is nothing to write for it. */
export function isDeliveredDirectly(stream: unknown): boolean {
  return typeof stream === 'object' && stream !== null && directStreams.has(stream);
}
const DONE_RESULT: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** The message of a failure as Yoga masks it (the default `errorMessage` of its masked errors). */
const MASKED_MESSAGE = 'Unexpected error.';

/**
 * What `subscribe` returns for a delivery-core member: it yields nothing, settles when the
 * member ends (rejected with the failure masked, as Yoga's masking would have done), and
 * `return()` or `throw()` end the member. Its promise is made when it is first asked for.
 */
class MemberStream implements AsyncIterableIterator<ExecutionResult>, MemberWatcher {
  private settledWith: Promise<IteratorResult<ExecutionResult>> | null = null;
  private settle: { resolve: (done: IteratorResult<ExecutionResult>) => void; reject: (error: Error) => void } | null = null;
  // Undefined while the member runs; then null for a plain end, or the masked failure.
  private outcome: Error | null | undefined = undefined;

  constructor(private readonly member: { watcher: MemberWatcher | null; close(): void }) {
    member.watcher = this;
    directStreams.add(this);
  }

  /** @internal The member ended. */
  ended(failure: Error | null): void {
    this.outcome = failure === null ? null : masked(failure);
    const settle = this.settle;
    this.settle = null;
    if (settle === null) return;
    if (this.outcome === null) settle.resolve(DONE_RESULT);
    else settle.reject(this.outcome);
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.settledWith !== null) return this.settledWith;
    const outcome = this.outcome;
    if (outcome === undefined) {
      this.settledWith = new Promise((resolve, reject) => {
        this.settle = { resolve, reject };
      });
    } else {
      this.settledWith = outcome === null ? Promise.resolve(DONE_RESULT) : Promise.reject(outcome);
    }
    return this.settledWith;
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    this.member.close();
    return Promise.resolve(DONE_RESULT);
  }

  throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
    this.member.close();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** A member's failure as the client is told it: masked as Yoga masks a subscription's error, which it logs. */
function masked(failure: Error): Error {
  const error = maskError(failure, MASKED_MESSAGE);
  if (error !== failure) log.error({ err: failure }, 'a subscription failed; its client is sent a masked error');
  return error;
}

/**
 * Executes and encodes one source event for an execution group: errors masked once as
 * Yoga would (its own masking never sees these results), the JSON made once.
 */
function encoderOf(args: ExecutionArgs): (source: object) => Buffer | Promise<Buffer> {
  const encode = (result: ExecutionResult): Buffer => {
    const masked =
      result.errors === undefined || result.errors.length === 0
        ? result
        : { ...result, errors: result.errors.map((error) => maskError(error, 'Unexpected error.', false) as GraphQLError) };
    return Buffer.from(JSON.stringify(masked));
  };
  return (source) => {
    const result = eventExecutor.execute({ ...args, rootValue: source });
    return result instanceof Promise ? result.then(encode) : encode(result);
  };
}

/** The plugin with a view of its counters. */
export type SharedExecutionPlugin = Plugin & {
  readonly stats: () => SharedExecutionStats;
  /** Results conflated away for their age (see {@link SharedExecutionStats.expired}), by event type. */
  readonly expiredByType: () => ReadonlyMap<string, number>;
};

/** Results of source events, shared by every cohort of one document across variables. */
interface SharedResults {
  /** By source event object, oldest first; pending while an execution is async. */
  readonly results: Map<object, ExecutionResult | Promise<ExecutionResult>>;
  /** Cohorts using it: the last one to end removes it. */
  users: number;
}

/** A cohort's hold on the {@link SharedResults} of its document, with their key. */
interface CohortShare {
  readonly key: string;
  readonly results: SharedResults;
}

/** Subscribers of one document, operation name, context key and variables, fed from one source stream. */
interface Cohort {
  /** Each member, with the log position it joined at: it is sent only what comes after. */
  readonly members: Map<QueueIterator<ExecutionResult>, number>;
  readonly source: AsyncIterator<unknown>;
  /** Where results are shared across variables; null when they cannot be. */
  readonly shared: CohortShare | null;
}

/**
 * True when every variable of the operation is used only in the arguments of its root
 * field, and that field is one of `fields`. A variable anywhere else (a nested field's
 * argument, a directive, even on the root field) may change the result, so it must not be
 * shared across variables. Fragments of the document are counted whether the operation
 * uses them or not: an unused one only costs the sharing.
 */
export function variablesOnlyInRootArguments(document: DocumentNode, operationName: string | null | undefined, fields: ReadonlySet<string>): boolean {
  const operation = getOperationAST(document, operationName);
  if (operation == null || operation.operation !== 'subscription') return false;
  const [root, ...others] = operation.selectionSet.selections;
  if (root === undefined || others.length > 0 || root.kind !== Kind.FIELD || !fields.has(root.name.value)) return false;
  const countVariables = (node: ASTNode): number => {
    let count = 0;
    visit(node, {
      // A definition declares the variable; it is not a use.
      VariableDefinition: () => false,
      Variable: () => {
        count++;
      },
    });
    return count;
  };
  let everywhere = countVariables(operation);
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) everywhere += countVariables(definition);
  }
  const inArguments = (root.arguments ?? []).reduce((sum, argument) => sum + countVariables(argument), 0);
  return everywhere === inArguments;
}


/**
 * The keys an operation is grouped by. Yoga caches parsed documents, so the same query
 * text is usually the same object: its printed form and whether it shares results across
 * variables are worked out once per document.
 */
class OperationKeys {
  private readonly printed = new WeakMap<DocumentNode, string>();
  // By document, then operation name: whether results may be shared across variables.
  private readonly variableFree = new WeakMap<DocumentNode, Map<string, boolean>>();

  constructor(
    private readonly contextKey: ((contextValue: unknown) => string) | undefined,
    private readonly sourceArgumentFields: ReadonlySet<string>,
  ) {}

  /** Context key, document and operation name: what cohorts that share results across variables have in common. */
  document(args: ExecutionArgs): string {
    let documentKey = this.printed.get(args.document);
    if (documentKey === undefined) {
      documentKey = print(args.document);
      this.printed.set(args.document, documentKey);
    }
    const contextKey = this.contextKey?.(args.contextValue) ?? '';
    return `${contextKey}\u0000${documentKey}\u0000${args.operationName ?? ''}`;
  }

  /** The {@link document} key and the variables: one cohort's. */
  cohort(args: ExecutionArgs): string {
    return `${this.document(args)}\u0000${JSON.stringify(args.variableValues ?? {})}`;
  }

  /** True when the operation's variables only choose its source stream (see `sourceArgumentFields`). */
  sharesAcrossVariables(args: ExecutionArgs): boolean {
    if (this.sourceArgumentFields.size === 0) return false;
    let byName = this.variableFree.get(args.document);
    if (byName === undefined) {
      byName = new Map();
      this.variableFree.set(args.document, byName);
    }
    const name = args.operationName ?? '';
    let shares = byName.get(name);
    if (shares === undefined) {
      shares = variablesOnlyInRootArguments(args.document, args.operationName, this.sourceArgumentFields);
      byName.set(name, shares);
    }
    return shares;
  }
}

/** The {@link SharedResults} of each document whose cohorts share results, while one of them runs. */
class SharedResultsTable {
  private readonly byDocument = new Map<string, SharedResults>();

  /** The results of the document `key`, for one more cohort. */
  acquire(key: string): CohortShare {
    let results = this.byDocument.get(key);
    if (results === undefined) {
      results = { results: new Map(), users: 0 };
      this.byDocument.set(key, results);
    }
    results.users++;
    return { key, results };
  }

  /** A cohort has ended: the last one out removes its document's results. */
  release(shared: CohortShare | null): void {
    if (shared === null || --shared.results.users > 0) return;
    if (this.byDocument.get(shared.key) === shared.results) this.byDocument.delete(shared.key);
  }
}

/** Keeps the result of `source` for the document's other cohorts, the oldest forgotten past {@link SHARED_RESULTS_KEPT}. */
function remember(shared: SharedResults, source: object, result: ExecutionResult | Promise<ExecutionResult>): void {
  shared.results.set(source, result);
  if (shared.results.size > SHARED_RESULTS_KEPT) {
    const oldest = shared.results.keys().next();
    if (oldest.done !== true) shared.results.delete(oldest.value);
  }
}

/** What a member's queue needs to know of a result: its source's class and conflation key. */
interface ResultMeta {
  readonly retention: Retention;
  readonly key: string;
  readonly type: string;
}

/**
 * The bounded queues of the cohorts' members: the capacity and age bound they share,
 * what each result's source event said about it, and what the age bound conflated away.
 */
class MemberQueues<Source> {
  /** Results conflated away for their age, by event type. */
  readonly expiredByType = new Map<string, number>();
  /** Their total. */
  expired = 0;
  private readonly meta = new WeakMap<ExecutionResult, ResultMeta>();
  private readonly retentionOfResult = (result: ExecutionResult): Retention => this.meta.get(result)?.retention ?? Retention.Standard;
  private readonly capacity: number;
  private readonly age: AgeBound<ExecutionResult> | undefined;

  constructor(private readonly options: SharedExecutionOptions<Source>) {
    this.capacity = options.memberCapacity ?? DEFAULT_QUEUE_CAPACITY;
    const maxAgeMs = options.maxEventAgeMs ?? 0;
    if (!Number.isFinite(maxAgeMs) || maxAgeMs < 0) throw new RangeError(`maxEventAgeMs must be 0 (off) or a positive number of ms, got ${maxAgeMs}`);
    this.age =
      maxAgeMs > 0
        ? {
            maxAgeMs,
            keyOf: (result) => this.meta.get(result)?.key ?? '',
            onExpire: (result) => {
              const type = this.meta.get(result)?.type ?? 'unknown';
              this.expiredByType.set(type, (this.expiredByType.get(type) ?? 0) + 1);
              this.expired++;
            },
          }
        : undefined;
  }

  /** True when results are bounded by age: each push then says when its event was queued. */
  get aged(): boolean {
    return this.age !== undefined;
  }

  /** Notes what `source` says of `result`, its execution; returns `result`. */
  tag(result: ExecutionResult, source: Source): ExecutionResult {
    const retention = this.options.retentionOf(source);
    // Only high-frequency results are ever conflated; the key is worked out for them alone.
    const conflation = retention === Retention.HighFrequency ? this.options.conflationKeyOf?.(source) : undefined;
    this.meta.set(result, { retention, key: conflation?.key ?? '', type: conflation?.type ?? '' });
    return result;
  }

  /** A member's queue: `onEnd` runs once when it ends, `dropNotice` makes the notice of what it lost. */
  open(onEnd: () => void, dropNotice: ((missed: number, cause: DropCause) => ExecutionResult) | undefined): QueueIterator<ExecutionResult> {
    return new QueueIterator({ capacity: this.capacity, retentionOf: this.retentionOfResult, onEnd, dropNotice, age: this.age });
  }
}

/**
 * The state of one {@link useSharedExecution} plugin and what it does with a subscription:
 * the cohorts of the queue path, the delivery core's hub for subscriptions whose transport
 * writes frames itself, and the counters of both.
 */
export class SharedExecution<Source> {
  private readonly cohorts = new Map<string, Cohort>();
  private readonly shared = new SharedResultsTable();
  private readonly keys: OperationKeys;
  private readonly queues: MemberQueues<Source>;
  private readonly hub: Hub<Source & object>;
  private executions = 0;
  private deliveries = 0;
  private executionsSaved = 0;
  private privateCohorts = 0;

  constructor(private readonly options: SharedExecutionOptions<Source>) {
    this.queues = new MemberQueues(options);
    this.keys = new OperationKeys(options.contextKey, new Set(options.sourceArgumentFields ?? []));
    this.hub = new Hub<Source & object>((source) => options.sharedSource?.(source) ?? false);
  }

  /**
   * The subscribe function of an operation (in place of graphql's): a member of the
   * delivery core when the transport writes frames itself, else a member of a cohort.
   */
  async subscribe(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const stream = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in stream)) return stream;
    const own = stream[Symbol.asyncIterator]();
    const target = deliveryTargetOf(args.contextValue);
    const direct = target === undefined ? null : (this.options.directSource?.(own) ?? null);
    if (target !== undefined && direct !== null) return this.openDirect(args, direct, target);
    return this.join(args, own);
  }

  /** Counters and sizes now, of both paths. */
  stats(): SharedExecutionStats {
    let members = 0;
    for (const cohort of this.cohorts.values()) members += cohort.members.size;
    const core = this.hub.stats();
    return {
      cohorts: this.cohorts.size + core.groups,
      members: members + core.members,
      executions: this.executions + core.executions,
      deliveries: this.deliveries + core.deliveries,
      executionsSaved: this.executionsSaved + core.executionsSaved,
      expired: this.queues.expired,
    };
  }

  /** Results conflated away for their age (see {@link SharedExecutionStats.expired}), by event type; kept up to date. */
  get expiredByType(): ReadonlyMap<string, number> {
    return this.queues.expiredByType;
  }

  /** Makes the subscriber whose source stream is `own` a member of its cohort, which starts with it when new. */
  private join(args: ExecutionArgs, own: AsyncIterator<unknown>): QueueIterator<ExecutionResult> {
    const shareable = this.options.isShareable?.(own) ?? true;
    // A private cohort has a key of its own that nobody else can join.
    const key = shareable ? this.keys.cohort(args) : `private\u0000${++this.privateCohorts}`;
    let cohort = this.cohorts.get(key);
    // A new cohort's own stream starts where it should; one joined late must skip its backlog.
    let joinedAt = Number.NEGATIVE_INFINITY;
    if (cohort === undefined) {
      cohort = { members: new Map(), source: own, shared: this.keys.sharesAcrossVariables(args) ? this.shared.acquire(this.keys.document(args)) : null };
      this.cohorts.set(key, cohort);
      void this.pump(key, cohort, args);
    } else {
      // Not awaited: between an await and joining, the cohort could lose its last member
      // and end, and this subscriber would join a cohort that no longer reads.
      void own.return?.();
      joinedAt = this.options.position?.() ?? Number.NEGATIVE_INFINITY;
    }
    const member = this.openMember(key, cohort, args);
    cohort.members.set(member, joinedAt);
    return member;
  }

  /** A member's queue, which leaves `cohort` when it ends; the last one out closes the cohort's source. */
  private openMember(key: string, cohort: Cohort, args: ExecutionArgs): QueueIterator<ExecutionResult> {
    const notice = this.options.dropNotice;
    const member: QueueIterator<ExecutionResult> = this.queues.open(
      () => {
        cohort.members.delete(member);
        // The last member out closes the source, which ends the pump.
        if (cohort.members.size === 0) {
          if (this.cohorts.get(key) === cohort) this.cohorts.delete(key);
          void cohort.source.return?.();
        }
      },
      notice === undefined ? undefined : (missed, cause) => executeNow({ ...args, rootValue: notice(missed, cause) }),
    );
    return member;
  }

  /** Reads the cohort's source, executes each event once and hands the result to every member. */
  private async pump(key: string, cohort: Cohort, args: ExecutionArgs): Promise<void> {
    const source = cohort.source;
    const queued = source instanceof QueueIterator ? (source as QueueIterator<unknown>) : null;
    let sinceYield = 0;
    try {
      for (;;) {
        // A backlog resolves every next() at once, which would run this loop as one long
        // chain of microtasks; yielding now and then lets sockets write in between.
        if (++sinceYield >= PUMP_BATCH) {
          sinceYield = 0;
          await new Promise((resolve) => setImmediate(resolve));
        }
        const next = await source.next();
        if (next.done === true || cohort.members.size === 0) break;
        // Its age counts from when it was queued for this subscriber, not from now.
        const at = queued?.lastEnqueuedAt;
        const position = this.options.positionOf?.(next.value as Source) ?? null;
        const result = await this.resultOf(cohort, args, next.value, position);
        const pushedAt = !this.queues.aged ? undefined : at !== undefined && !Number.isNaN(at) ? at : performance.now();
        this.deliver(cohort, result, position, pushedAt);
      }
    } catch (err) {
      log.error({ err }, 'shared subscription execution failed; its subscribers are completed');
    } finally {
      if (this.cohorts.get(key) === cohort) this.cohorts.delete(key);
      for (const member of cohort.members.keys()) member.finish();
      this.shared.release(cohort.shared);
      await cohort.source.return?.();
    }
  }

  /** Pushes a result to every member that joined before its event was published. */
  private deliver(cohort: Cohort, result: ExecutionResult, position: number | null, pushedAt: number | undefined): void {
    for (const [member, joinedAt] of cohort.members) {
      if (position !== null && position <= joinedAt) continue;
      this.deliveries++;
      member.push(result, pushedAt);
    }
  }

  /** The result of a source event: executed here, or by another cohort of the document. */
  private resultOf(cohort: Cohort, args: ExecutionArgs, source: unknown, position: number | null): ExecutionResult | Promise<ExecutionResult> {
    const shared = cohort.shared?.results;
    // Only an event with a place in the log is the same object for every subscriber.
    const shareable = shared !== undefined && position !== null && typeof source === 'object' && source !== null;
    if (shareable) {
      const known = shared.results.get(source);
      if (known !== undefined) {
        this.executionsSaved++;
        return known;
      }
    }
    this.executions++;
    const result = eventExecutor.execute({ ...args, rootValue: source });
    const settle = (done: ExecutionResult): ExecutionResult => this.queues.tag(done, source as Source);
    const settled = result instanceof Promise ? result.then(settle) : settle(result);
    if (shareable) remember(shared, source, settled);
    return settled;
  }

  /**
   * The delivery core's path: one member of the group of its document, operation and
   * principal (across variables when they only choose the stream). What is returned to
   * the transport yields nothing: it settles when the member ends, and `return()` ends it.
   */
  private openDirect(args: ExecutionArgs, source: DirectSource<Source & object>, target: DeliveryTarget): AsyncIterableIterator<ExecutionResult> {
    const key = this.keys.sharesAcrossVariables(args) ? `direct\u0000${this.keys.document(args)}` : `direct\u0000${this.keys.cohort(args)}`;
    const prefix = Buffer.from(`{"id":${JSON.stringify(target.id)},"type":"next","payload":`);
    const member = this.hub.open(key, () => encoderOf(args), source, { writer: target.writer, prefix, suffix: SUFFIX });
    const stream = new MemberStream(member);
    target.stream = stream;
    return stream;
  }
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
 *
 * Across variables, cohorts of one document keep their own source streams (their own
 * filter, history, order and drop policy) and share only results: with
 * `sourceArgumentFields`, an event executed for one cohort is not executed again for
 * another cohort of that document, operation name and context key that receives it too.
 *
 * The plugin is a thin shell over a {@link SharedExecution}, which does the work.
 */
export function useSharedExecution<Source>(options: SharedExecutionOptions<Source>): SharedExecutionPlugin {
  const execution = new SharedExecution(options);
  const subscribe = (args: ExecutionArgs) => execution.subscribe(args);
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(subscribe as Parameters<typeof setSubscribeFn>[0]);
    },
    stats: () => execution.stats(),
    expiredByType: () => execution.expiredByType,
  };
}
