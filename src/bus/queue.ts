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
   */
  constructor(
    readonly capacity: number,
    private readonly retentionOf: (item: T) => Retention,
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
    if (retention === Retention.HighFrequency) return this.dropNew();
    if (this.dropOldest(Retention.Standard)) {
      this.append(item);
      return PushResult.QueuedDroppedOlder;
    }
    if (retention === Retention.Standard) return this.dropNew();
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

  private dropNew(): PushResult {
    this.droppedCount++;
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
