/** How a queue treats an item when it is full. */
export enum Retention {
  /** Dropped first, oldest first (ticks, position marks). */
  HighFrequency = 0,
  /** Dropped when no high-frequency item is left. */
  Standard = 1,
  /** Never dropped; may take the queue past its capacity, up to twice it. */
  Critical = 2,
}

/** Result of {@link BoundedQueue.push}. */
export enum PushResult {
  Queued = 0,
  /** Queued, and an older item was dropped to make room. */
  QueuedDroppedOlder = 1,
  /** The new item itself was dropped (a full queue held nothing less important). */
  DroppedNew = 2,
  /** A critical item found the queue at twice its capacity: the consumer is gone for good. */
  Overflow = 3,
}

/** Compact the backing array once this many slots at its head are spent. */
const COMPACT_AFTER = 1024;

/**
 * A FIFO queue with a capacity and a drop policy by class: when full, the oldest
 * high-frequency item goes first, then the oldest standard one; critical items are never
 * dropped. Dropping the oldest item of a class is amortized O(1): dropped slots become
 * holes that `shift` skips, and each class has a cursor that only moves forward, so a
 * slot is scanned at most once per class.
 */
export class BoundedQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  private live = 0;
  // Where the search for the oldest item of each droppable class resumes.
  private readonly cursors = [0, 0];
  private droppedCount = 0;

  /**
   * @param capacity items held before dropping starts (critical items may double it)
   * @param retentionOf the class of an item; called on push and while looking for a victim
   * @param onDrop told of every item dropped (for metrics)
   */
  constructor(
    readonly capacity: number,
    private readonly retentionOf: (item: T) => Retention,
    private readonly onDrop?: (item: T) => void,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`queue capacity must be a positive integer, got ${capacity}`);
  }

  /** Items queued now. */
  get size(): number {
    return this.live;
  }

  /** Items lost to the drop policy so far. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Appends an item, dropping by the policy when full. */
  push(item: T): PushResult {
    if (this.live < this.capacity) {
      this.append(item);
      return PushResult.Queued;
    }
    const retention = this.retentionOf(item);
    if (this.dropOldest(Retention.HighFrequency)) {
      this.append(item);
      return PushResult.QueuedDroppedOlder;
    }
    if (retention === Retention.HighFrequency) return this.dropNew(item);
    if (this.dropOldest(Retention.Standard)) {
      this.append(item);
      return PushResult.QueuedDroppedOlder;
    }
    if (retention === Retention.Standard) return this.dropNew(item);
    if (this.live >= 2 * this.capacity) return PushResult.Overflow;
    this.append(item);
    return PushResult.Queued;
  }

  /** Takes the oldest item, or undefined when empty. */
  shift(): T | undefined {
    if (this.live === 0) return undefined;
    const items = this.items;
    let head = this.head;
    while (items[head] === undefined) head++;
    const item = items[head];
    items[head] = undefined;
    this.head = head + 1;
    this.live--;
    if (this.live === 0) {
      this.reset();
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= items.length) {
      this.compact();
    }
    return item;
  }

  /** Empties the queue (the items are not counted as dropped). */
  clear(): void {
    this.items = [];
    this.reset();
    this.live = 0;
  }

  private append(item: T): void {
    this.items.push(item);
    this.live++;
  }

  private dropNew(item: T): PushResult {
    this.droppedCount++;
    this.onDrop?.(item);
    return PushResult.DroppedNew;
  }

  private dropOldest(retention: Retention.HighFrequency | Retention.Standard): boolean {
    const items = this.items;
    let i = Math.max(this.cursors[retention]!, this.head);
    for (; i < items.length; i++) {
      const item = items[i];
      if (item !== undefined && this.retentionOf(item) === retention) {
        items[i] = undefined;
        this.cursors[retention] = i + 1;
        this.live--;
        this.droppedCount++;
        this.onDrop?.(item);
        return true;
      }
    }
    this.cursors[retention] = i;
    return false;
  }

  private reset(): void {
    this.items.length = 0;
    this.head = 0;
    this.cursors[0] = 0;
    this.cursors[1] = 0;
  }

  private compact(): void {
    const head = this.head;
    const items = this.items;
    items.copyWithin(0, head);
    items.length -= head;
    this.head = 0;
    this.cursors[0] = Math.max(0, this.cursors[0]! - head);
    this.cursors[1] = Math.max(0, this.cursors[1]! - head);
  }
}

/**
 * A reader fell so far behind that even its critical items no longer fit (twice its
 * capacity). It is cut off rather than let memory grow without bound.
 */
export class SubscriberOverflowError extends Error {
  override readonly name = 'SubscriberOverflowError';
  constructor(
    readonly capacity: number,
    readonly queued: number,
  ) {
    super(`subscriber cut off: ${queued} critical events queued, more than twice its capacity of ${capacity}; it is not reading`);
  }
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * An async iterator fed by pushes, over a {@link BoundedQueue}: the one shape of every
 * live stream here (a bus subscriber, a member of a shared execution). A waiting reader
 * gets a pushed item at once; otherwise items queue by the drop policy. `close()`,
 * `return()`, `break` or the abort signal end it at once and call `onEnd` exactly once.
 */
export class QueueIterator<T> implements AsyncIterableIterator<T> {
  private readonly queue: BoundedQueue<T>;
  private readonly waiters: ((r: IteratorResult<T>) => void)[] = [];
  private failure: SubscriberOverflowError | null = null;
  // No more items will come; what is queued may still be read (source ended, overflow).
  private ended = false;
  private readonly onAbort = () => this.close();

  private reportedDrops = 0;

  /**
   * @param dropNotice makes the item a reader gets, before anything else, after the
   *   queue dropped `missed` items; without it drops are only counted in `dropped`
   */
  constructor(
    capacity: number,
    retentionOf: (item: T) => Retention,
    private readonly onEnd: () => void,
    private readonly signal?: AbortSignal,
    private readonly dropNotice?: (missed: number) => T,
    onDrop?: (item: T) => void,
  ) {
    this.queue = new BoundedQueue(capacity, retentionOf, onDrop);
    if (signal?.aborted === true) this.ended = true;
    else signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Items lost because the reader did not keep up. */
  get dropped(): number {
    return this.queue.dropped;
  }

  /** Items queued and not yet read. */
  get size(): number {
    return this.queue.size;
  }

  /** True once no further item will be accepted. */
  get closed(): boolean {
    return this.ended;
  }

  /** Hands an item to a waiting reader or queues it. Ignored once ended. */
  push(item: T): void {
    if (this.ended) return;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      waiter({ done: false, value: item });
      return;
    }
    if (this.queue.push(item) === PushResult.Overflow) {
      this.failure = new SubscriberOverflowError(this.queue.capacity, this.queue.size);
      this.end();
    }
  }

  /** No more items: the reader gets what is queued, then the end. */
  finish(): void {
    this.end();
  }

  /** Ends now; queued items are discarded. Idempotent. */
  close(): void {
    this.queue.clear();
    this.failure = null;
    this.end();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.dropNotice !== undefined && this.queue.dropped > this.reportedDrops && !this.ended) {
      const missed = this.queue.dropped - this.reportedDrops;
      this.reportedDrops = this.queue.dropped;
      return Promise.resolve({ done: false, value: this.dropNotice(missed) });
    }
    const item = this.queue.shift();
    if (item !== undefined) return Promise.resolve({ done: false, value: item });
    if (this.failure !== null) {
      const failure = this.failure;
      this.failure = null;
      return Promise.reject(failure);
    }
    if (this.ended) return Promise.resolve(DONE);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.close();
    return Promise.resolve(DONE);
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
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
    if (!this.endNotified) {
      this.endNotified = true;
      this.onEnd();
    }
    // Waiters only exist while the queue is empty, so they are all owed "done".
    for (const waiter of this.waiters.splice(0)) waiter(DONE);
  }

  private endNotified = false;
}
