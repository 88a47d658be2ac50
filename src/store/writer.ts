import { setImmediate as nextTurn } from 'node:timers/promises';
import type { EventStore, StoredEvent } from './store.js';

/** Losses are reported at most this often (default of {@link StoreWriterOptions.lossReportMs}). */
export const DEFAULT_LOSS_REPORT_MS = 1000;

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

/**
 * Why events were not stored: `overflow`, the writer's buffer overflowed (the store fell
 * behind); `shutdown`, the store did not take them before the shutdown's deadline.
 */
export type LossCause = 'overflow' | 'shutdown';

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
  /** Told after each batch the store took (the writer's process saves where the log stands then). */
  readonly onWritten?: () => void;
  /**
   * Called when events were lost before they could be written: with how many since the
   * last call, why, and the words of the latest notice. Overflows are reported at most
   * once per `lossReportMs`: what the callback does may itself take a place in the full
   * buffer (the server publishes an Error event that the writer stores), and reported
   * at once, each report would cost another event, reported at once in turn, without
   * end (seen: the server's thread never came back to its event loop). What was still
   * buffered when a flush gave up is reported at once.
   */
  readonly onLost?: (missed: number, cause: LossCause, reason: string) => void;
  /** Least time between two `onLost` calls, in ms (default {@link DEFAULT_LOSS_REPORT_MS}). */
  readonly lossReportMs?: number;
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
  /** Lost and not yet reported, why, and the words of the latest notice. */
  private unreported = 0;
  private unreportedCause: LossCause = 'overflow';
  private unreportedReason = '';
  private lastReport = Number.NEGATIVE_INFINITY;
  private reportTimer: NodeJS.Timeout | null = null;
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
   * database takes it within `timeoutMs`. Otherwise the writer gives up then: what is
   * still buffered is counted as lost and reported (`onLost`), no further batch is sent
   * (the writes in flight may still land), and this resolves false. True when
   * everything was written.
   */
  async flush(timeoutMs = 5000): Promise<boolean> {
    this.stopping = true;
    this.wake?.();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<true>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)));
    const finished = await Promise.race([this.done.then(() => false as const), timedOut]).finally(() => clearTimeout(timer));
    if (finished === false) return true;
    // Writing on in the background would hold the database (and the process's exit)
    // for as long as the backlog takes: minutes on a starved machine.
    const left = this.source.size;
    this.source.close();
    this.lose(left, 'shutdown', `the store did not take them within the shutdown's ${timeoutMs} ms`);
    this.reportLoss();
    return false;
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
      // Then take what is already there, up to a batch: one INSERT for a burst. Counted
      // in items read, notices too: a batch ends even when the source keeps refilling.
      for (let read = 1; read < batchSize && this.source.size > 0; read++) {
        const next = await this.source.next();
        if (next.done === true) break;
        this.collect(next.value, batch);
      }
      if (batch.length > 0) {
        const write = this.write(batch).finally(() => inflight.delete(write));
        inflight.add(write);
        if (inflight.size >= concurrency) await Promise.race(inflight);
      }
      // A full source answers `next` at once, in microtasks: without a turn of the event
      // loop between batches, a busy writer would hold the thread (sockets, timers, signals).
      await nextTurn();
    }
    await Promise.all(inflight);
    this.reportLoss();
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
      this.lose(item.missed, 'overflow', item.reason);
      return;
    }
    batch.push(item);
  }

  /** Counts a loss; reports it at once at shutdown, else as soon as the last report is old enough. */
  private lose(missed: number, cause: LossCause, reason: string): void {
    if (missed <= 0) return;
    // One report, one cause.
    if (this.unreported > 0 && cause !== this.unreportedCause) this.reportLoss();
    this.lost += missed;
    this.unreported += missed;
    this.unreportedCause = cause;
    this.unreportedReason = reason;
    if (cause === 'shutdown') this.reportLoss();
    else this.lossLater();
  }

  private lossLater(): void {
    if (this.reportTimer !== null) return;
    const wait = this.lastReport + (this.options.lossReportMs ?? DEFAULT_LOSS_REPORT_MS) - performance.now();
    if (wait <= 0) {
      this.reportLoss();
      return;
    }
    this.reportTimer = setTimeout(() => this.reportLoss(), wait);
    // The count is in `stats` meanwhile; a report due must not keep the process alive.
    this.reportTimer.unref();
  }

  private reportLoss(): void {
    if (this.reportTimer !== null) clearTimeout(this.reportTimer);
    this.reportTimer = null;
    if (this.unreported === 0) return;
    const missed = this.unreported;
    this.unreported = 0;
    this.lastReport = performance.now();
    this.options.onLost?.(missed, this.unreportedCause, this.unreportedReason);
  }

  private async write(batch: StoredEvent[]): Promise<void> {
    let attempt = 0;
    for (;;) {
      try {
        await this.store.insert(batch);
        this.written += batch.length;
        this.options.onWritten?.();
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
        if (this.stopping && attempt >= 3) {
          this.lose(batch.length, 'shutdown', `writing them failed ${attempt} times (${(err as Error).message})`);
          return;
        }
        const min = this.options.retryMinMs ?? 100;
        const max = this.options.retryMaxMs ?? 5000;
        await new Promise((r) => setTimeout(r, Math.min(max, min * 2 ** (attempt - 1))));
      }
    }
  }
}
