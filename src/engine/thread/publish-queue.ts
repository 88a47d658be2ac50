import type { RunnerEvent } from '../../events/types.js';
import type { EventSink } from '../engine.js';
import type { BatchCursor, BatchDecoder } from './codec.js';
import type { EngineThreadBatch } from './protocol.js';

/**
 * Longest the main thread publishes engine events in one callback before sockets, timers
 * and signals get a turn, in ms. A hand-off batch holds up to thousands of events (some
 * 2,500 at 100,000 ticks/s) and Node hands a port's listener every message queued when it
 * wakes: published in one go, they held the loop for 10–50 ms, and for seconds after a
 * stall.
 */
export const PUBLISH_SLICE_MS = 2;

/**
 * Events published between two readings of the clock: reading it per event would cost
 * more than some publishes, and 16 publishes of even 40 µs (a busy server's) overrun a
 * slice by well under a millisecond.
 */
const CLOCK_EVERY = 16;

/** A runner's shedding is reported at most this often (ms). */
export const SHED_REPORT_MS = 1000;

/** Milliseconds since the epoch at sub-millisecond resolution, comparable with `EngineThreadBatch.since` of any thread. */
function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Options of a {@link PublishQueue}. */
export interface PublishQueueOptions {
  /** Longest publishing run per callback, in ms (default {@link PUBLISH_SLICE_MS}). */
  readonly sliceMs?: number;
  /**
   * The server's age bound of high-frequency events (MAX_EVENT_AGE_MS); 0 or absent: no
   * shedding. A tick or mark that waited more than a quarter of it here is shed unless it
   * is its runner's latest of its type in the backlog: past that age a subscriber's own
   * queue would drop it soon anyway, and publishing it only delays every fresher event.
   */
  readonly maxEventAgeMs?: number;
  /** Milliseconds since the epoch at sub-ms resolution, as `EngineThreadBatch.since` (default `performance.timeOrigin + performance.now()`). */
  readonly now?: () => number;
  /** Milliseconds since the epoch, for the timestamps of shedding reports (default Date.now). */
  readonly clock?: () => number;
  /** Runs the next slice after this turn's I/O (default `setImmediate`); returns a handle for `cancel`. */
  readonly schedule?: (run: () => void) => unknown;
  /** Cancels a scheduled slice (default `clearImmediate`). */
  readonly cancel?: (handle: unknown) => void;
}

/** Events waiting in the queue: a thread's batch (decoded when published) or events given as they are. */
interface Entry {
  readonly cursor: BatchCursor | null;
  readonly plain: readonly { readonly event: RunnerEvent; readonly symbol: string }[];
  /** The position (over everything ever queued) of its first event. */
  readonly first: number;
  readonly count: number;
  /** When its oldest event was emitted (as `EngineThreadBatch.since`). */
  readonly since: number;
  /** Runs once each of its events is published or shed, with how long its oldest one waited (ms). */
  readonly done: ((waitedMs: number) => void) | null;
}

/** What a runner lost to shedding since its last report. */
interface Shed {
  readonly symbol: string;
  ticks: number;
  marks: number;
  /** The longest a shed event had waited, ms. */
  waitedMs: number;
}

/**
 * The main thread's queue of engine events: batches are queued as they arrive and their
 * events decoded and published later, in order, in slices of at most {@link
 * PUBLISH_SLICE_MS} per callback, so no callback holds the event loop for long however
 * large the batches or the backlog.
 *
 * With `maxEventAgeMs`, a backlog that grows old sheds high-frequency events (TickReceived,
 * PositionUpdated) that waited more than a quarter of it, except each runner's latest tick
 * and latest mark in the backlog, so that a watcher still ends on the current price and
 * P&L. Every other event is always published, in order. What a runner lost is reported as
 * an Error event of severity Warning naming the counts, at most once per
 * {@link SHED_REPORT_MS} per runner (and always before its RunnerStopped, so that it is
 * said before the runner's last word).
 */
export class PublishQueue {
  private readonly entries: Entry[] = [];
  private head = 0;
  /** Events queued ever / passed ever (published or shed): positions in the queue's order. */
  private added = 0;
  private passed = 0;
  /** Per runner, the position of its latest tick / mark queued (only while shedding is on). */
  private readonly latestTick = new Map<string, number>();
  private readonly latestMark = new Map<string, number>();
  private readonly shed = new Map<string, Shed>();
  /** When each runner's shedding was last reported (`now()`), kept for {@link SHED_REPORT_MS}. */
  private readonly reported = new Map<string, number>();
  private scheduled: unknown = null;
  private reportTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly sliceMs: number;
  private readonly maxEventAgeMs: number;
  /** Age above which a tick or mark may be shed, ms (Infinity: never). */
  private readonly shedAfterMs: number;
  private readonly now: () => number;
  private readonly clock: () => number;
  private readonly schedule: (run: () => void) => unknown;
  private readonly cancel: (handle: unknown) => void;
  private readonly run = () => {
    this.scheduled = null;
    this.slice();
  };

  /** A queue that publishes into `sink`. */
  constructor(
    private readonly sink: EventSink,
    options: PublishQueueOptions = {},
  ) {
    this.sliceMs = options.sliceMs ?? PUBLISH_SLICE_MS;
    this.maxEventAgeMs = options.maxEventAgeMs ?? 0;
    if (!Number.isFinite(this.maxEventAgeMs) || this.maxEventAgeMs < 0) throw new RangeError(`maxEventAgeMs must be 0 (off) or more, got ${this.maxEventAgeMs}`);
    this.shedAfterMs = this.maxEventAgeMs > 0 ? this.maxEventAgeMs / 4 : Number.POSITIVE_INFINITY;
    this.now = options.now ?? preciseNow;
    this.clock = options.clock ?? Date.now;
    this.schedule = options.schedule ?? setImmediate;
    this.cancel = options.cancel ?? ((handle) => clearImmediate(handle as NodeJS.Immediate));
  }

  /** Events queued and not yet published or shed. */
  get backlog(): number {
    return this.added - this.passed;
  }

  /**
   * Queues a batch whose names `decoder` has learned (`BatchDecoder.names`); its events are
   * decoded as they are published. `done` runs once all of them are published or shed.
   */
  addBatch(decoder: BatchDecoder, batch: EngineThreadBatch, done: (waitedMs: number) => void): void {
    const cursor = decoder.cursor(batch);
    const first = this.added;
    if (this.shedAfterMs !== Number.POSITIVE_INFINITY) {
      // Which tick and mark of each runner is its latest: those are never shed. A pass over
      // the records, nothing decoded.
      const scan = decoder.cursor(batch);
      while (!scan.done) {
        if (scan.isTick) this.latestTick.set(scan.runnerId, first + scan.index);
        else if (scan.isMark) this.latestMark.set(scan.runnerId, first + scan.index);
        scan.skip();
      }
    }
    this.push({ cursor, plain: [], first, count: batch.count, since: batch.since, done });
  }

  /** Queues events as they are (never shed), after everything queued; `done` runs once they are published. */
  addEvents(events: readonly { readonly event: RunnerEvent; readonly symbol: string }[], done: (() => void) | null = null): void {
    this.push({ cursor: null, plain: events, first: this.added, count: events.length, since: this.now(), done: done === null ? null : () => done() });
  }

  /** Publishes everything queued now, in one go (a thread that died, shutdown). */
  flush(): void {
    this.slice(Number.POSITIVE_INFINITY);
  }

  /** Publishes what is queued, then stops: no slice or report stays scheduled (a report still due is published now). */
  close(): void {
    this.flush();
    this.closed = true;
    if (this.scheduled !== null) this.cancel(this.scheduled);
    this.scheduled = null;
    if (this.reportTimer !== null) clearTimeout(this.reportTimer);
    this.reportTimer = null;
    for (const id of [...this.shed.keys()]) this.report(id);
  }

  private push(entry: Entry): void {
    this.entries.push(entry);
    this.added += entry.count;
    if (this.scheduled === null && !this.closed) this.scheduled = this.schedule(this.run);
  }

  /** Publishes for up to `sliceMs`, then leaves the rest to the next turn. */
  private slice(sliceMs = this.sliceMs): void {
    if (this.sink.handingOut === true && sliceMs !== Number.POSITIVE_INFINITY) {
      this.later();
      return;
    }
    const start = this.now();
    let now = start;
    let sinceClock = 0;
    const sink = this.sink;
    const shedding = this.shedAfterMs !== Number.POSITIVE_INFINITY;
    while (this.head < this.entries.length) {
      const entry = this.entries[this.head]!;
      let old = now - entry.since > this.shedAfterMs;
      const cursor = entry.cursor;
      for (;;) {
        if (++sinceClock === CLOCK_EVERY) {
          sinceClock = 0;
          now = this.now();
          if (now - start >= sliceMs) {
            this.later();
            return;
          }
          old = now - entry.since > this.shedAfterMs;
        }
        let event: RunnerEvent;
        let symbol: string;
        if (cursor !== null) {
          if (cursor.done) break;
          const id = cursor.runnerId;
          const tick = cursor.isTick;
          if (shedding && (tick || cursor.isMark)) {
            const latest = tick ? this.latestTick : this.latestMark;
            const position = entry.first + cursor.index;
            if (latest.get(id) === position) latest.delete(id);
            else if (old) {
              this.lose(id, cursor.symbol, tick, now - entry.since);
              cursor.skip();
              this.passed++;
              continue;
            }
          }
          symbol = cursor.symbol;
          event = cursor.next();
        } else {
          const at = this.passed - entry.first;
          if (at >= entry.plain.length) break;
          ({ event, symbol } = entry.plain[at]!);
        }
        this.passed++;
        if (this.shed.size > 0 && this.shed.has(event.runnerId)) {
          // The loss is said before what comes next of the runner: once a second, and before its last word.
          const last = this.reported.get(event.runnerId);
          if (event.type === 'RunnerStopped' || last === undefined || now - last >= SHED_REPORT_MS) this.report(event.runnerId);
        }
        try {
          sink.publish(event, symbol);
        } catch {
          // The bus never throws; a foreign sink that does must not stop the others' events.
        }
        // The bus hands this event out over the next turns (many subscribers): the rest
        // waits until it has, so that no turn does more than a slice of fan-out.
        if (sink.handingOut === true && sliceMs !== Number.POSITIVE_INFINITY && this.hasMore(entry)) {
          this.later();
          return;
        }
      }
      this.entries[this.head++] = undefined as unknown as Entry;
      try {
        entry.done?.(this.now() - entry.since);
      } catch (err) {
        // A failing callback (a foreign onBatch) is its caller's error; the rest still goes out.
        this.later();
        throw err;
      }
    }
    // All through: the array starts over (entries are few, one per batch).
    this.entries.length = 0;
    this.head = 0;
    if (this.shed.size > 0 || this.reported.size > 0) this.reportLater();
  }

  /** True when `entry` has events left to publish or shed. */
  private hasMore(entry: Entry): boolean {
    return entry.cursor !== null ? !entry.cursor.done : this.passed - entry.first < entry.plain.length;
  }

  private later(): void {
    if (this.head > 1024) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
    if (this.scheduled === null && !this.closed) this.scheduled = this.schedule(this.run);
  }

  private lose(id: string, symbol: string, tick: boolean, waitedMs: number): void {
    let shed = this.shed.get(id);
    if (shed === undefined) {
      shed = { symbol, ticks: 0, marks: 0, waitedMs: 0 };
      this.shed.set(id, shed);
    }
    if (tick) shed.ticks++;
    else shed.marks++;
    if (waitedMs > shed.waitedMs) shed.waitedMs = waitedMs;
  }

  /** Publishes a runner's shedding report now. */
  private report(id: string): void {
    const shed = this.shed.get(id);
    if (shed === undefined) return;
    this.shed.delete(id);
    this.reported.set(id, this.now());
    const error =
      `${shed.ticks + shed.marks} high-frequency events of this runner (${shed.ticks} TickReceived, ${shed.marks} PositionUpdated) were shed before publication: ` +
      `they had waited up to ${Math.round(shed.waitedMs)} ms on the server's main thread, over a quarter of MAX_EVENT_AGE_MS (${this.maxEventAgeMs} ms); ` +
      `its latest tick and mark of the backlog were published, and every other event`;
    try {
      this.sink.publish({ type: 'Error', runnerId: id, error, severity: 'Warning', timestamp: this.clock() }, shed.symbol);
    } catch {
      // As in slice.
    }
  }

  /**
   * The queue is empty: losses not yet reported (their runner reported one less than a
   * second ago) are reported once their second is up, and old report times forgotten.
   */
  private reportLater(): void {
    if (this.reportTimer !== null || this.closed) return;
    const now = this.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [id, at] of this.reported) {
      if (now - at >= SHED_REPORT_MS && !this.shed.has(id)) this.reported.delete(id);
    }
    for (const id of this.shed.keys()) next = Math.min(next, (this.reported.get(id) ?? now) + SHED_REPORT_MS);
    if (next === Number.POSITIVE_INFINITY) return;
    this.reportTimer = setTimeout(
      () => {
        this.reportTimer = null;
        // With events queued, the slices report each runner's loss before its next event.
        if (this.head < this.entries.length) return;
        const at = this.now();
        for (const id of [...this.shed.keys()]) {
          const last = this.reported.get(id);
          if (last === undefined || at - last >= SHED_REPORT_MS) this.report(id);
        }
        this.reportLater();
      },
      Math.max(0, next - now),
    );
    this.reportTimer.unref();
  }
}
