import type { EventPredicate } from '../events/filter.js';
import { isCritical, isHighFrequency } from '../events/helpers.js';
import type { RunnerEvent } from '../events/types.js';
import { BoundedQueue, PushResult, Retention } from './queue.js';
import type { LogEntry } from './types.js';

/** Queue capacity of a subscriber unless it asks for another. */
export const DEFAULT_QUEUE_CAPACITY = 10_000;

/** Options of {@link EventBus}. */
export interface EventBusOptions {
  /** Events a subscriber may have queued before it starts losing some (default 10,000). */
  readonly queueCapacity?: number;
}

/** Options of {@link EventBus.subscribe}. */
export interface SubscribeOptions {
  /** Which events to queue; runs at publish time. Omitted: every event. */
  readonly filter?: EventPredicate;
  /** This subscriber's queue capacity (default: the bus's). */
  readonly capacity?: number;
  /** Aborting it ends the subscription at once. */
  readonly signal?: AbortSignal;
}

/**
 * A subscriber fell so far behind that even its critical events no longer fit (twice
 * its capacity). It is cut off rather than let memory grow without bound.
 */
export class SubscriberOverflowError extends Error {
  override readonly name = 'SubscriberOverflowError';
  constructor(
    readonly capacity: number,
    readonly queued: number,
  ) {
    super(
      `subscriber cut off: ${queued} critical events queued, more than twice its capacity of ${capacity}; it is not reading`,
    );
  }
}

function retentionOf(entry: LogEntry): Retention {
  const event = entry.event;
  if (isHighFrequency(event)) return Retention.HighFrequency;
  return isCritical(event) ? Retention.Critical : Retention.Standard;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * One subscriber: an async iterator over the log entries that matched its filter, in
 * publish order. Breaking out of `for await`, `return()`, `close()` or the abort signal
 * remove it from the bus at once.
 */
export class EventSubscription implements AsyncIterableIterator<LogEntry> {
  private readonly queue: BoundedQueue<LogEntry>;
  private readonly waiters: { resolve: (r: IteratorResult<LogEntry>) => void; reject: (e: unknown) => void }[] = [];
  private failure: SubscriberOverflowError | null = null;
  // No more entries will come; what is queued may still be read (bus closed, overflow).
  private ended = false;
  private readonly onAbort = () => this.close();

  /** @internal Created by {@link EventBus.subscribe}. */
  constructor(
    private readonly detach: (subscription: EventSubscription) => void,
    /** @internal */
    readonly filter: EventPredicate | undefined,
    capacity: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.queue = new BoundedQueue(capacity, retentionOf);
    if (signal?.aborted === true) {
      this.ended = true;
    } else {
      signal?.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  /** Events this subscriber lost because it did not keep up. */
  get dropped(): number {
    return this.queue.dropped;
  }

  /** Events queued and not yet read. */
  get size(): number {
    return this.queue.size;
  }

  /** True once no further entry will be delivered. */
  get closed(): boolean {
    return this.ended;
  }

  /** @internal Called by the bus at publish time, for matching events only. */
  deliver(entry: LogEntry): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      waiter.resolve({ done: false, value: entry });
      return;
    }
    if (this.queue.push(entry) === PushResult.Overflow) {
      this.failure = new SubscriberOverflowError(this.queue.capacity, this.queue.size);
      this.end();
    }
  }

  /** @internal The bus is closing: deliver what is queued, then finish. */
  finish(): void {
    this.end();
  }

  /** Stops the subscription now; queued entries are discarded. Idempotent. */
  close(): void {
    this.queue.clear();
    this.failure = null;
    this.end();
  }

  next(): Promise<IteratorResult<LogEntry>> {
    const entry = this.queue.shift();
    if (entry !== undefined) return Promise.resolve({ done: false, value: entry });
    if (this.failure !== null) {
      const failure = this.failure;
      this.failure = null;
      return Promise.reject(failure);
    }
    if (this.ended) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<LogEntry>> {
    this.close();
    return Promise.resolve(DONE);
  }

  throw(error?: unknown): Promise<IteratorResult<LogEntry>> {
    this.close();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private end(): void {
    if (!this.ended) {
      this.ended = true;
      this.signal?.removeEventListener('abort', this.onAbort);
    }
    this.detach(this);
    // Waiters only exist while the queue is empty, so they are all owed "done".
    for (const waiter of this.waiters.splice(0)) waiter.resolve(DONE);
  }
}

/**
 * The typed pub/sub the engine publishes into. Each event gets the next id of the log;
 * every subscriber's filter runs at publish time, so an event a subscriber did not ask
 * for costs it one predicate call and is never queued. Publishing never throws into the
 * engine and never waits for a subscriber: slow subscribers lose events by their queue's
 * policy instead.
 */
export class EventBus {
  private subscribers: readonly EventSubscription[] = [];
  private last = 0;
  private isClosed = false;
  private readonly capacity: number;
  private readonly detach = (subscription: EventSubscription): void => {
    const i = this.subscribers.indexOf(subscription);
    if (i < 0) return;
    // Copy on write: a publish in progress keeps iterating the array it started with.
    const next = this.subscribers.slice();
    next.splice(i, 1);
    this.subscribers = next;
  };

  constructor(options: EventBusOptions = {}) {
    const capacity = options.queueCapacity ?? DEFAULT_QUEUE_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`queueCapacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  /** Id of the last event published (0 before the first). */
  get lastId(): number {
    return this.last;
  }

  /** Subscribers currently attached. */
  get subscriberCount(): number {
    return this.subscribers.length;
  }

  /** Appends an event to the log and hands it to every matching subscriber. */
  publish(event: RunnerEvent, symbol: string): LogEntry {
    const entry: LogEntry = { id: ++this.last, symbol, event };
    const subscribers = this.subscribers;
    for (let i = 0; i < subscribers.length; i++) {
      const subscriber = subscribers[i]!;
      const filter = subscriber.filter;
      let match: boolean;
      try {
        match = filter === undefined || filter(event, symbol);
      } catch {
        // A broken filter is that subscriber's problem, never the runner's or another's.
        match = false;
      }
      if (match) subscriber.deliver(entry);
    }
    return entry;
  }

  /** Subscribes to the events that match `filter`, from the next one published on. */
  subscribe(options: SubscribeOptions = {}): EventSubscription {
    const capacity = options.capacity ?? this.capacity;
    const subscription = new EventSubscription(this.detach, options.filter, capacity, options.signal);
    if (!this.isClosed && !subscription.closed) this.subscribers = [...this.subscribers, subscription];
    else subscription.finish();
    return subscription;
  }

  /** Ends every subscription (each may still read what it has queued) and refuses new ones. */
  close(): void {
    this.isClosed = true;
    for (const subscriber of this.subscribers) subscriber.finish();
    this.subscribers = [];
  }
}
