import type { EventPredicate } from '../events/filter.js';
import { isCritical, isHighFrequency } from '../events/helpers.js';
import type { RunnerEvent } from '../events/types.js';
import { QueueIterator, Retention } from './queue.js';
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

export { SubscriberOverflowError } from './queue.js';

/** How a queue treats an entry: ticks and marks go first, critical events never. */
export function retentionOf(entry: LogEntry): Retention {
  const event = entry.event;
  if (isHighFrequency(event)) return Retention.HighFrequency;
  return isCritical(event) ? Retention.Critical : Retention.Standard;
}

/**
 * One subscriber: an async iterator over the log entries that matched its filter, in
 * publish order. Breaking out of `for await`, `return()`, `close()` or the abort signal
 * remove it from the bus at once. When it falls more than twice its capacity behind in
 * critical events, reading ends with a {@link SubscriberOverflowError}.
 */
export class EventSubscription extends QueueIterator<LogEntry> {
  /** @internal Created by {@link EventBus.subscribe}. */
  constructor(
    detach: (subscription: EventSubscription) => void,
    /** @internal The predicate the bus runs at publish time. */
    readonly filter: EventPredicate | undefined,
    capacity: number,
    signal: AbortSignal | undefined,
  ) {
    super(capacity, retentionOf, () => detach(this), signal);
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
      if (match) subscriber.push(entry);
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
