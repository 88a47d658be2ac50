import type { EventStore, StoredEvent } from './store.js';

/** A notice in the source that events were lost before the writer got them. */
export interface LostNotice {
  readonly kind: 'gap';
  readonly missed: number;
  readonly reason: string;
  /**
   * `subscriber`: the writer's own queue dropped them (the store fell behind). Anything
   * else: ids that never reached this process, reported where they were lost.
   */
  readonly counts?: 'subscriber' | 'log';
}

/** What the writer reads: events, and notices of events lost. */
export type WriterItem = StoredEvent | LostNotice;

/** What the writer reads: a bounded stream of log entries (a bus subscription). */
export interface WriterSource {
  next(): Promise<IteratorResult<WriterItem>>;
  /** Items waiting; the writer's backlog. */
  readonly size: number;
  close(): void;
}

/** Options of {@link StoreWriter}. */
export interface StoreWriterOptions {
  /** Rows per INSERT (default 5000). */
  readonly batchSize?: number;
  /** INSERTs in flight at once (default 3; the pg pool has 4 connections). */
  readonly concurrency?: number;
  /** First and longest wait between retries, in ms (defaults 100 and 5000). */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /**
   * Called when a write fails (it will be retried): `outageStarted` is true for the first
   * failure after writes worked. `onRecovered` is called once when writes work again.
   */
  readonly onFailure?: (error: unknown, attempt: number, outageStarted: boolean) => void;
  readonly onRecovered?: (afterAttempts: number) => void;
  /** Called when events were lost before they could be written (the buffer overflowed). */
  readonly onLost?: (missed: number, reason: string) => void;
}

/** Counters of a {@link StoreWriter}. */
export interface StoreWriterStats {
  readonly written: number;
  readonly failures: number;
  readonly lost: number;
  /** Events waiting to be written. */
  readonly backlog: number;
  /** False while writes fail and are being retried. */
  readonly healthy: boolean;
}

/**
 * Writes the event stream to the store in batches, off the engine's path: the engine
 * publishes into the bus, whose bounded queue for this writer is the write buffer. When
 * the database is unreachable the writer retries with backoff and the queue holds what
 * comes meanwhile (up to its bound, high-frequency events dropped first); when the
 * database is back, the backlog is written. A retried batch is never written twice.
 */
export class StoreWriter {
  private written = 0;
  private failures = 0;
  private lost = 0;
  private healthy = true;
  private stopping = false;
  private wake: (() => void) | null = null;
  private readonly done: Promise<void>;

  constructor(
    private readonly store: EventStore,
    private readonly source: WriterSource,
    private readonly options: StoreWriterOptions = {},
  ) {
    this.done = this.run();
  }

  /** Counters for metrics and tests. */
  get stats(): StoreWriterStats {
    return { written: this.written, failures: this.failures, lost: this.lost, backlog: this.source.size, healthy: this.healthy };
  }

  /**
   * Writes what is buffered, then stops. Used at shutdown: nothing accepted is lost if the
   * database answers within `timeoutMs`.
   */
  async flush(timeoutMs = 5000): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await Promise.race([this.done, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  private async run(): Promise<void> {
    const batchSize = this.options.batchSize ?? 5000;
    const concurrency = this.options.concurrency ?? 3;
    // Rows carry their ids as primary keys, so batches may land in any order.
    const inflight = new Set<Promise<void>>();
    for (;;) {
      const first = await this.nextOrStop();
      if (first === null || first.done === true) break;
      const batch: StoredEvent[] = [];
      this.collect(first.value, batch);
      // Then take what is already there, up to a batch: one INSERT for a burst.
      while (batch.length < batchSize && this.source.size > 0) {
        const next = await this.source.next();
        if (next.done === true) break;
        this.collect(next.value, batch);
      }
      if (batch.length > 0) {
        const write = this.write(batch).finally(() => inflight.delete(write));
        inflight.add(write);
        if (inflight.size >= concurrency) await Promise.race(inflight);
      }
    }
    await Promise.all(inflight);
    this.source.close();
  }

  /** The next item; null once a flush asked to stop and nothing is left to write. */
  private nextOrStop(): Promise<IteratorResult<WriterItem> | null> {
    if (this.source.size > 0) return this.source.next();
    if (this.stopping) return Promise.resolve(null);
    return new Promise((resolve) => {
      // An item may already be on its way to the pending read (a microtask away): stop
      // only after it had its turn, so it is written, not lost. The first resolve wins.
      this.wake = () => setImmediate(() => resolve(null));
      this.source.next().then(
        (result) => {
          this.wake = null;
          resolve(result);
        },
        () => resolve(null),
      );
    });
  }

  private collect(item: WriterItem, batch: StoredEvent[]): void {
    if ('kind' in item) {
      // Ids the shared log never delivered here are not the store's loss: the appender or
      // the reader that lost them has said so; reporting them again would blame the store.
      if (item.counts !== 'subscriber') return;
      this.lost += item.missed;
      this.options.onLost?.(item.missed, item.reason);
      return;
    }
    batch.push(item);
  }

  private async write(batch: StoredEvent[]): Promise<void> {
    let attempt = 0;
    for (;;) {
      try {
        await this.store.insert(batch);
        this.written += batch.length;
        if (!this.healthy) {
          this.healthy = true;
          this.options.onRecovered?.(attempt);
        }
        return;
      } catch (err) {
        attempt++;
        this.failures++;
        const outageStarted = this.healthy;
        this.healthy = false;
        this.options.onFailure?.(err, attempt, outageStarted);
        // At shutdown a dead database must not hold the process: give up after a few tries.
        if (this.stopping && attempt >= 3) return;
        const min = this.options.retryMinMs ?? 100;
        const max = this.options.retryMaxMs ?? 5000;
        await new Promise((r) => setTimeout(r, Math.min(max, min * 2 ** (attempt - 1))));
      }
    }
  }
}
