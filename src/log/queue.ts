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

const performanceNow = (): number => performance.now();

/** Throws when a queue of `capacity` with `age` could not be made. */
function checkQueue(capacity: number, age: { readonly maxAgeMs: number } | undefined): void {
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`queue capacity must be a positive integer, got ${capacity}`);
  if (age !== undefined && !(age.maxAgeMs > 0 && Number.isFinite(age.maxAgeMs))) throw new RangeError(`maxAgeMs must be a positive number of ms, got ${age.maxAgeMs}`);
}

/**
 * How old a queued high-frequency item may get before the queue conflates it (see
 * {@link BoundedQueue.expire}). Ages are measured from when the item was queued on this
 * process, with a clock of this process: event timestamps may come from other machines
 * (a recorded feed, another instance through Redis) and say nothing about how long an
 * item has waited here.
 */
export interface AgeBound<T> {
  /** Oldest a high-frequency item may be when it is next to be read, in ms (> 0). */
  readonly maxAgeMs: number;
  /**
   * What conflation keeps one of: of the high-frequency items, only the latest per key
   * stays (for events, runner and type). Called for high-frequency items only.
   */
  readonly keyOf: (item: T) => string;
  /** A monotonic clock in ms (default `performance.now`); push times must come from it. */
  readonly now?: () => number;
  /** Told of every item dropped for its age (for metrics). */
  readonly onExpire?: (item: T) => void;
}

/**
 * A FIFO queue with a capacity and a drop policy by class: when full, the oldest
 * high-frequency item goes first, then the oldest standard one; critical items are never
 * dropped. Dropping the oldest item of a class is amortized O(1): dropped slots become
 * holes that `shift` skips, and each class has a cursor that only moves forward, so a
 * slot is scanned at most once per class.
 *
 * With an {@link AgeBound}, staleness is bounded by time too: see {@link expire}.
 */
export class BoundedQueue<T> {
  private items: (T | undefined)[] = [];
  // Push time of each slot of `items` (only with an age bound); queue order is push order,
  // so the head is always the oldest.
  private times: number[] = [];
  private head = 0;
  private live = 0;
  // Where the search for the oldest item of each droppable class resumes.
  private readonly cursors = [0, 0];
  private droppedCount = 0;
  private expiredCount = 0;
  // Slots before this one were looked at by a pass of `expire` already.
  private ageScan = 0;
  // Slot numbers that never repeat: slot i is `base + i` until the array is compacted.
  private base = 0;
  // Where the last pass kept the latest of each key (absolute slot numbers).
  // Made at the first conflation pass: most queues never need one, and there is one per subscriber.
  private latest: Map<string, number> | null = null;
  // Keys met in the pass under way (kept to spare an allocation per pass).
  private passKeys: Set<string> | null = null;
  private readonly now: () => number;

  /**
   * @param capacity items held before dropping starts (critical items may double it)
   * @param retentionOf the class of an item; called on push and while looking for a victim
   * @param onDrop told of every item dropped (for metrics)
   * @param age bound on how stale a high-frequency item may be when read; absent: none
   */
  constructor(
    readonly capacity: number,
    private readonly retentionOf: (item: T) => Retention,
    private readonly onDrop?: (item: T) => void,
    private readonly age?: AgeBound<T>,
  ) {
    checkQueue(capacity, age);
    this.now = age?.now ?? performanceNow;
  }


  /** Items queued now. */
  get size(): number {
    return this.live;
  }

  /** Items lost to the drop policy (capacity) so far. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** High-frequency items conflated away by the age bound so far. */
  get expired(): number {
    return this.expiredCount;
  }

  /**
   * Appends an item, dropping by the policy when full. `at` is when it was queued, by the
   * age bound's clock (default: now); a caller that pushes one item into many queues reads
   * the clock once and passes it to each.
   */
  push(item: T, at?: number): PushResult {
    if (this.live < this.capacity) {
      this.append(item, at);
      return PushResult.Queued;
    }
    const retention = this.retentionOf(item);
    if (this.dropOldest(Retention.HighFrequency)) {
      this.append(item, at);
      return PushResult.QueuedDroppedOlder;
    }
    if (retention === Retention.HighFrequency) return this.dropNew(item);
    if (this.dropOldest(Retention.Standard)) {
      this.append(item, at);
      return PushResult.QueuedDroppedOlder;
    }
    if (retention === Retention.Standard) return this.dropNew(item);
    if (this.live >= 2 * this.capacity) return PushResult.Overflow;
    this.append(item, at);
    return PushResult.Queued;
  }

  /**
   * Applies the age bound before a read. When the next item was queued more than
   * `maxAgeMs` ago, the reader is behind: every high-frequency item queued now that a
   * newer one of the same key follows is dropped, so what it reads next is the latest of
   * each key (however old) and standard and critical items, in their order. Returns how
   * many were dropped now.
   *
   * Conflating the whole queue, not only the items past the bound, matters: a reader kept
   * at the edge of the bound would otherwise get one item just under it after another
   * (every one nearly `maxAgeMs` old), and a gap notice between each two.
   *
   * Amortized O(1) per item: the check reads the head only; a pass looks at the items
   * queued since the previous pass, once, and remembers where it kept the latest of each
   * key, so that a later pass that finds a newer one drops the one kept before.
   */
  expire(): number {
    const age = this.age;
    if (age === undefined || this.live === 0) return 0;
    const items = this.items;
    let head = this.head;
    while (items[head] === undefined) head++;
    this.head = head;
    if (this.times[head]! >= this.now() - age.maxAgeMs) return 0;
    const from = Math.max(this.ageScan, head);
    const seen = (this.passKeys ??= new Set());
    const latest = (this.latest ??= new Map());
    let dropped = 0;
    // Newest first: the first of a key met is the one kept.
    for (let i = items.length - 1; i >= from; i--) {
      const item = items[i];
      if (item === undefined || this.retentionOf(item) !== Retention.HighFrequency) continue;
      const key = age.keyOf(item);
      if (seen.has(key)) {
        items[i] = undefined;
        this.live--;
        dropped++;
        age.onExpire?.(item);
        continue;
      }
      seen.add(key);
      const before = latest.get(key);
      latest.set(key, this.base + i);
      // The one a previous pass kept, if it is still queued: a newer one is here now.
      const slot = before === undefined ? -1 : before - this.base;
      const victim = slot >= head ? items[slot] : undefined;
      if (victim === undefined) continue;
      items[slot] = undefined;
      this.live--;
      dropped++;
      age.onExpire?.(victim);
    }
    seen.clear();
    this.ageScan = items.length;
    this.expiredCount += dropped;
    return dropped;
  }

  private shiftedAt = Number.NaN;

  /** When the item last taken by {@link shift} was queued (with an age bound; else NaN). */
  get lastShiftedAt(): number {
    return this.shiftedAt;
  }

  /** Takes the oldest item, or undefined when empty. */
  shift(): T | undefined {
    if (this.live === 0) return undefined;
    const items = this.items;
    let head = this.head;
    while (items[head] === undefined) head++;
    const item = items[head];
    items[head] = undefined;
    if (this.age !== undefined) this.shiftedAt = this.times[head]!;
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

  private append(item: T, at: number | undefined): void {
    this.items.push(item);
    if (this.age !== undefined) this.times.push(at ?? this.now());
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
    this.base += this.items.length;
    this.items.length = 0;
    this.times.length = 0;
    this.head = 0;
    this.cursors[0] = 0;
    this.cursors[1] = 0;
    this.ageScan = 0;
    // Nothing kept is queued any more.
    this.latest?.clear();
  }

  private compact(): void {
    const head = this.head;
    const items = this.items;
    items.copyWithin(0, head);
    items.length -= head;
    if (this.age !== undefined) {
      this.times.copyWithin(0, head);
      this.times.length -= head;
    }
    this.base += head;
    this.head = 0;
    this.cursors[0] = Math.max(0, this.cursors[0]! - head);
    this.cursors[1] = Math.max(0, this.cursors[1]! - head);
    this.ageScan = Math.max(0, this.ageScan - head);
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

/** Why a reader lost items: its queue was full, or they were older than the age bound. */
export type DropCause = { readonly kind: 'capacity' } | { readonly kind: 'age'; readonly maxAgeMs: number };

const CAPACITY: DropCause = Object.freeze({ kind: 'capacity' });

/** Told once when a {@link QueueIterator} ends (see {@link QueueIterator.onEnded}). */
export interface EndListener {
  ended(): void;
}

/** What a {@link QueueIterator} is made of. */
export interface QueueIteratorOptions<T> {
  /** Items it may hold (see {@link BoundedQueue}). */
  readonly capacity: number;
  /** How its queue treats an item when it is full. */
  readonly retentionOf: (item: T) => Retention;
  /** Called exactly once, when the iterator ends, with the iterator (so that one function serves many). */
  readonly onEnd: (self: QueueIterator<T>) => void;
  /** Ends the iterator when aborted. */
  readonly signal?: AbortSignal;
  /**
   * Makes the item a reader gets, before anything else, after the queue dropped `missed`
   * items (`cause` says why); without it drops are only counted in `dropped` and `expired`.
   */
  readonly dropNotice?: (missed: number, cause: DropCause, self: QueueIterator<T>) => T;
  /** Told of each item the queue drops. */
  readonly onDrop?: (item: T) => void;
  /** Bound on how stale a high-frequency item may be when read (see {@link BoundedQueue.expire}); absent: none. */
  readonly age?: AgeBound<T>;
}

/**
 * An async iterator fed by pushes, over a {@link BoundedQueue}: the one shape of every
 * live stream here (a bus subscriber, a member of a shared execution). A waiting reader
 * gets a pushed item at once; otherwise items queue by the drop policy. `close()`,
 * `return()`, `break` or the abort signal end it at once and call `onEnd` exactly once.
 */
export class QueueIterator<T> implements AsyncIterableIterator<T> {
  // Made when the first item has to wait: a reader that keeps up (a delivery member that
  // takes each item as it is published, a reader waiting in `next()`) never queues, and an
  // empty queue with its arrays was about 0.4 KB of every idle subscriber.
  private queue: BoundedQueue<T> | null = null;
  private waiters: ((r: IteratorResult<T>) => void)[] | null = null;
  private failure: SubscriberOverflowError | null = null;
  // No more items will come; what is queued may still be read (source ended, overflow).
  private ended = false;
  // Only with a signal.
  private onAbort: (() => void) | null = null;

  private reportedDrops = 0;
  private reportedExpired = 0;
  private lastAt = Number.NaN;
  private readonly capacity: number;
  private readonly retentionOf: (item: T) => Retention;
  private readonly onDrop: ((item: T) => void) | undefined;
  private readonly age: AgeBound<T> | undefined;
  private readonly onEnd: (self: QueueIterator<T>) => void;
  private readonly signal: AbortSignal | undefined;
  private readonly dropNotice: ((missed: number, cause: DropCause, self: QueueIterator<T>) => T) | undefined;

  constructor(options: QueueIteratorOptions<T>) {
    const { capacity, signal, age } = options;
    checkQueue(capacity, age);
    this.capacity = capacity;
    this.retentionOf = options.retentionOf;
    this.onDrop = options.onDrop;
    this.age = age;
    this.onEnd = options.onEnd;
    this.signal = signal;
    this.dropNotice = options.dropNotice;
    if (signal?.aborted === true) {
      this.ended = true;
    } else if (signal !== undefined) {
      this.onAbort = () => this.close();
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  /** Whether the queue has been made: false for a reader that never had to queue. */
  get holdsQueue(): boolean {
    return this.queue !== null;
  }

  /** Items lost because the reader did not keep up (its queue was full). */
  get dropped(): number {
    return this.queue?.dropped ?? 0;
  }

  /** High-frequency items conflated away because they waited longer than the age bound. */
  get expired(): number {
    return this.queue?.expired ?? 0;
  }

  /**
   * When the item last returned by `next()` was pushed, by the age bound's clock: what a
   * reader that queues it again elsewhere passes on, so its age counts from here. NaN when
   * unknown (no age bound, or an item that did not come through the queue).
   */
  get lastEnqueuedAt(): number {
    return this.lastAt;
  }

  /** Items queued and not yet read. */
  get size(): number {
    return this.queue?.size ?? 0;
  }

  /** True once no further item will be accepted. */
  get closed(): boolean {
    return this.ended;
  }

  /**
   * Hands an item to a waiting reader or queues it. Ignored once ended. `at` is when it
   * was queued, by the age bound's clock (default: now; see {@link BoundedQueue.push}).
   */
  push(item: T, at?: number): void {
    if (this.ended) return;
    const waiter = this.waiters?.shift();
    if (waiter !== undefined) {
      this.lastAt = at ?? Number.NaN;
      waiter({ done: false, value: item });
      return;
    }
    const queue = (this.queue ??= new BoundedQueue(this.capacity, this.retentionOf, this.onDrop, this.age));
    if (queue.push(item, at) === PushResult.Overflow) {
      this.failure = new SubscriberOverflowError(queue.capacity, queue.size);
      this.end();
    }
  }

  /** No more items: the reader gets what is queued, then the end. */
  finish(): void {
    this.end();
  }

  /** Ends now; queued items are discarded. Idempotent. */
  close(): void {
    this.queue?.clear();
    this.failure = null;
    this.discarded = true;
    this.end();
  }

  /**
   * True once {@link close} discarded the stream: nothing more is read. A stream that
   * only ended (finish, overflow) is still read out, notices included.
   */
  protected discarded = false;

  /**
   * The next item if one can be read now, else undefined (nothing queued, or the end:
   * see {@link closed} and {@link takeFailure}). The synchronous half of `next()`, for a
   * reader that is told when to read instead of waiting on a promise (a delivery member).
   */
  take(): T | undefined {
    const queue = this.queue;
    // Nothing was ever queued: nothing to read, nothing dropped.
    if (queue === null) return undefined;
    // Ends before anything stale is read; a finished stream is read out as it stands.
    if (this.age !== undefined && !this.ended) queue.expire();
    // A stream that ended with items still queued (overflow, finish) is read out: what it
    // dropped before them is announced first, or they would follow a silent hole. After
    // close() nothing is left to read and nothing is owed.
    if (this.dropNotice !== undefined && !this.discarded) {
      if (queue.dropped > this.reportedDrops) {
        const missed = queue.dropped - this.reportedDrops;
        this.reportedDrops = queue.dropped;
        this.lastAt = Number.NaN;
        return this.dropNotice(missed, CAPACITY, this);
      }
      if (queue.expired > this.reportedExpired) {
        const missed = queue.expired - this.reportedExpired;
        this.reportedExpired = queue.expired;
        this.lastAt = Number.NaN;
        return this.dropNotice(missed, Object.freeze({ kind: 'age', maxAgeMs: this.age!.maxAgeMs }), this);
      }
    }
    const item = queue.shift();
    if (item !== undefined) this.lastAt = queue.lastShiftedAt;
    return item;
  }

  /** Once ended and read out: why it failed (read once), or null for a plain end. */
  takeFailure(): SubscriberOverflowError | null {
    const failure = this.failure;
    this.failure = null;
    return failure;
  }

  /**
   * Called once when no more items will be pushed (finish, close, overflow, abort): a
   * reader that is not waiting in `next()` learns it must read out what is left.
   */
  onEnded(listener: EndListener): void {
    this.endListener = listener;
  }

  private endListener: EndListener | null = null;

  next(): Promise<IteratorResult<T>> {
    const item = this.take();
    if (item !== undefined) return Promise.resolve({ done: false, value: item });
    const failure = this.takeFailure();
    if (failure !== null) return Promise.reject(failure);
    if (this.ended) return Promise.resolve(DONE);
    return new Promise((resolve) => (this.waiters ??= []).push(resolve));
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
      if (this.onAbort !== null) this.signal?.removeEventListener('abort', this.onAbort);
    }
    if (!this.endNotified) {
      this.endNotified = true;
      this.onEnd(this);
    }
    // Waiters only exist while the queue is empty, so they are all owed "done".
    const waiters = this.waiters;
    this.waiters = null;
    if (waiters !== null) for (const waiter of waiters) waiter(DONE);
    const listener = this.endListener;
    this.endListener = null;
    listener?.ended();
  }

  private endNotified = false;
}
