import type { EventPredicate } from '../events/filter.js';
import { isCritical, isHighFrequency } from '../events/helpers.js';
import type { RunnerEvent } from '../events/types.js';
import { QueueIterator, Retention, type AgeBound, type DropCause } from './queue.js';
import { DEFAULT_HISTORY_BYTES, DEFAULT_HISTORY_SIZE, EventHistory, type HistoryQuery } from './history.js';
import { randomBytes } from 'node:crypto';
import { LatestState } from './latest.js';
import { gapNotice, isGap, matches, type LogEntry, type StreamGap, type StreamItem } from './types.js';

/** Queue capacity of a subscriber unless it asks for another. */
export const DEFAULT_QUEUE_CAPACITY = 10_000;

/**
 * Subscribers an item is handed to in one callback; past it, the rest of the fan-out goes
 * on in the next turn of the event loop (setImmediate, after the turn's I/O). A publish to
 * 5,000 subscribers handed out in one callback held the loop for 5–15 ms, and the
 * engine's publishing slices several of them in a row: `/health` and new connections
 * waited hundreds of ms behind them. About 1–2 ms of work on a loaded server.
 */
export const FANOUT_SLICE = 4096;

/** An item being handed to the subscribers that were attached when it was published. */
interface Fanout {
  readonly item: StreamItem;
  /** The subscribers at publish time: those attached later start after it (liveFrom). */
  readonly subscribers: readonly EventSubscription[];
  /** Whether each subscriber's filter decides (entries), or every one gets it (log notices). */
  readonly filtered: boolean;
  /** When it was queued, by the age clock; undefined without an age bound. */
  readonly at: number | undefined;
  /** Already past the age bound when it reached this log (see {@link EventSubscription.offer}). */
  readonly stale: boolean;
  /** The next subscriber to hand it to. */
  next: number;
}

// The age bound's default and limit are settings (src/runtime/settings.ts).
import { DEFAULT_MAX_EVENT_AGE_MS, MAX_EVENT_AGE_LIMIT_MS } from '../runtime/settings.js';
export { DEFAULT_MAX_EVENT_AGE_MS, MAX_EVENT_AGE_LIMIT_MS };

/** The words of a gap notice for events dropped from a subscriber's own queue. */
export function dropReason(missed: number, cause: DropCause): string {
  return cause.kind === 'age'
    ? `subscriber too slow: its next event was older than ${cause.maxAgeMs} ms; ${missed} high-frequency events skipped (the latest per runner and type kept)`
    : `subscriber too slow: ${missed} events dropped (high-frequency first)`;
}

/** What age conflation keeps one of: a runner's latest event of a type. */
export function conflationKeyOf(item: StreamItem): string {
  if (isGap(item)) return '';
  const { runnerId, type } = item.event;
  let byType = conflationKeys.get(runnerId);
  if (byType === undefined) {
    // Runner ids come and go (runners started and stopped for days): past the bound the
    // interned keys start afresh, and those of the runners still running are made again.
    if (conflationKeys.size >= MAX_INTERNED_RUNNERS) conflationKeys.clear();
    byType = new Map();
    conflationKeys.set(runnerId, byType);
  }
  let key = byType.get(type);
  if (key === undefined) {
    key = `${runnerId}\u0000${type}`;
    byType.set(type, key);
  }
  return key;
}

/**
 * Keys of {@link conflationKeyOf}, made once per runner and type: an overloaded reader
 * conflates millions of events a second, and a new string for each was garbage enough to
 * double the CPU of an overload run.
 */
const conflationKeys = new Map<string, Map<string, string>>();

/**
 * Runners whose conflation keys are kept interned. Ten times MAX_RUNNERS' default: a
 * server that starts and stops runners all day kept one map per runner it ever met (about
 * 500 bytes each; a 100,000 bound let that grow for weeks).
 */
export const MAX_INTERNED_RUNNERS = 1000;

/** Runners whose conflation keys are interned now (for tests: it stays within {@link MAX_INTERNED_RUNNERS}). */
export function internedRunners(): number {
  return conflationKeys.size;
}

/**
 * Told of every change of the log, synchronously and in order: what mirrors the whole log
 * elsewhere (the socket workers) without a subscription's queue, which may drop.
 */
export interface LogTap {
  /** An entry was appended (published, or given with its id). */
  appended(entry: LogEntry): void;
  /** The log moved on to `id` without entries (see {@link EventBus.advanceTo}). */
  advanced(id: number): void;
  /**
   * The log went on in a new epoch whose ids continue after `lastId`, possibly below ids
   * already told (see {@link EventBus.restartEpoch}). Absent: the tap does not mirror epochs.
   */
  restarted?(epoch: string, lastId: number): void;
}

/** Options of {@link EventBus}. */
export interface EventBusOptions {
  /** Events a subscriber may have queued before it starts losing some (default 10,000). */
  readonly queueCapacity?: number;
  /** Most recent events kept for replay and resume (default 100,000; 0 keeps none). */
  readonly historySize?: number;
  /** Approximate memory the history may use (default 64 MiB); the smaller bound wins. */
  readonly historyBytes?: number;
  /** Clock of gap notices (default Date.now). */
  readonly clock?: () => number;
  /**
   * How far behind a subscriber may fall, in ms: when the next event it would read was
   * queued longer ago, its queued high-frequency events are conflated to the latest per
   * runner and type, after a StreamGap (see `BoundedQueue.expire`). 0 or absent: no
   * bound. Also settable later ({@link EventBus.maxEventAgeMs}).
   */
  readonly maxEventAgeMs?: number;
  /** Monotonic clock of those ages, in ms (default performance.now). */
  readonly ageClock?: () => number;
  /**
   * The id the log continues after (default 0): the largest id stored, so that ids stay
   * unique across restarts of a deployment that keeps its events.
   */
  readonly startAfter?: number;
  /**
   * The log's epoch: names one continuous id space (default: a new one). It changes when
   * the log is recreated (a new store, a flushed shared log): ids of another epoch mean
   * nothing in this one.
   */
  readonly epoch?: string;
}

/** Longest epoch a client may send back. */
export const MAX_EPOCH_LENGTH = 64;

/** A new epoch: 16 random hex digits, unique enough that two logs never share one. */
export function newEpoch(): string {
  return randomBytes(8).toString('hex');
}

/** Options of {@link EventBus.subscribe}. */
export interface SubscribeOptions {
  /** Which events to queue; runs at publish time. Omitted: every event. */
  readonly filter?: EventPredicate;
  /** This subscriber's queue capacity (default: the bus's). */
  readonly capacity?: number;
  /** Aborting it ends the subscription at once. */
  readonly signal?: AbortSignal;
  /** First the last `replay` matching events still kept, then live ones. */
  readonly replay?: number;
  /** First every kept matching event after this id, then live ones. */
  readonly after?: number;
  /**
   * The epoch `after` was read in. When it is not the log's, the ids after it belong to
   * a log that is gone: the subscription starts with a StreamGap saying the log was reset
   * (with the current epoch), then goes on live, instead of replaying unrelated ids.
   */
  readonly epoch?: string;
  /**
   * First the current state of every runner the filter lets through (its last
   * StateTransition, open position, last TickReceived and StatsUpdate, each marked
   * `snapshot`), then live events. Not together with `replay` or `after`.
   */
  readonly snapshot?: boolean;
  /**
   * What `filter` narrows to, so that finding where a replay starts follows the
   * history's index (the predicate itself is opaque). Must let through every event the
   * filter accepts.
   */
  readonly index?: HistoryQuery;
}

/** Options of {@link EventBus.recent}. */
export interface RecentOptions extends HistoryQuery {
  /**
   * Most kept entries to look at (default: all the index yields). A filter that narrows
   * by more than the index knows (symbols, severity) may otherwise read every entry of
   * the chains it names to find few matches.
   */
  readonly maxScan?: number;
}

/** What {@link EventBus.scanRecent} found. */
export interface RecentScan {
  /** The matches, oldest first. */
  readonly entries: LogEntry[];
  /** Kept entries looked at. */
  readonly scanned: number;
  /** False when `maxScan` stopped the search before `count` matches or the history's end. */
  readonly complete: boolean;
}

export { SubscriberOverflowError } from './queue.js';

/** How a queue treats an item: ticks and marks go first, critical events and gap notices never. */
export function retentionOf(item: StreamItem): Retention {
  if (isGap(item)) return Retention.Critical;
  const event = item.event;
  if (isHighFrequency(event)) return Retention.HighFrequency;
  return isCritical(event) ? Retention.Critical : Retention.Standard;
}

/** Where a subscription that asked for history reads it from. */
interface HistoryCursor {
  readonly history: EventHistory;
  /** Next id to read from the history. */
  next: number;
  /** First id delivered live: history reading stops before it, so nothing comes twice. */
  readonly liveFrom: number;
  /** A notice to give before anything else (resume point no longer kept). */
  pendingGap: StreamGap | null;
}

/**
 * A reader the bus hands a subscription's entries to synchronously while it is the
 * subscription's {@link EventSubscription.sink} (a delivery member). An object rather than
 * callbacks, so that an idle subscriber holds no closure for each.
 */
export interface SyncReader {
  /** Takes an entry now, or returns false to have it queued. */
  accept(item: StreamItem): boolean;
  /** An entry was queued although this reader was the sink (it was stale); the sink is cleared. */
  queued(): void;
  /** The subscription ended: what it holds is to be read out. */
  ended(): void;
}

/** @internal What the bus makes an {@link EventSubscription} of. */
export interface EventSubscriptionOptions {
  /** Removes the subscription from the bus; called once, when it ends. */
  readonly detach: (subscription: EventSubscription) => void;
  /** The predicate the bus runs at publish time; absent: every entry. */
  readonly filter: EventPredicate | undefined;
  /** Entries it may hold (see `QueueIterator`). */
  readonly capacity: number;
  /** Ends the subscription when aborted. */
  readonly signal: AbortSignal | undefined;
  /** The bus clock, which stamps gap notices. */
  readonly clock: () => number;
  /** Told of each item the queue drops. */
  readonly onDrop?: (item: StreamItem) => void;
  /** Bound on how stale a high-frequency entry may be when read; absent: none. */
  readonly age?: AgeBound<StreamItem>;
}

const detachOnEnd = (subscription: QueueIterator<StreamItem>): void => (subscription as unknown as EventSubscription).detachNow();
const dropNoticeOf = (missed: number, cause: DropCause, subscription: QueueIterator<StreamItem>): StreamItem =>
  (subscription as unknown as EventSubscription).gapFor(missed, cause);

/**
 * One subscriber: an async iterator over the log entries that matched its filter, in
 * publish order, with a {@link StreamGap} notice where some were lost. Breaking out of
 * `for await`, `return()`, `close()` or the abort signal remove it from the bus at once.
 * When it falls more than twice its capacity behind in critical events, reading ends
 * with a {@link SubscriberOverflowError}.
 */
export class EventSubscription extends QueueIterator<StreamItem> {
  private cursor: HistoryCursor | null = null;
  private withHistory = false;

  /** @internal The predicate the bus runs at publish time. */
  readonly filter: EventPredicate | undefined;
  private readonly clock: () => number;

  /** @internal Created by {@link EventBus.subscribe}. */
  constructor(options: EventSubscriptionOptions) {
    // Functions shared by every subscription (each is told which one it serves), not
    // closures made for each: an idle subscriber holds only its own state.
    super({ capacity: options.capacity, retentionOf, onEnd: detachOnEnd, signal: options.signal, dropNotice: dropNoticeOf, onDrop: options.onDrop, age: options.age });
    this.detach = options.detach;
    this.filter = options.filter;
    this.clock = options.clock;
  }

  private readonly detach: (subscription: EventSubscription) => void;

  /** @internal Removes it from the bus (it ended). */
  detachNow(): void {
    this.detach(this);
  }

  /** @internal The notice of `missed` entries its own queue dropped (the filter ran at publish time: they were this reader's). */
  gapFor(missed: number, cause: DropCause): StreamGap {
    return { ...this.gap({ missed, fromId: null, toId: null, reason: dropReason(missed, cause) }), counts: 'subscriber' as const };
  }

  /** True when this subscription started with entries of its own (replay, after or snapshot). */
  get replays(): boolean {
    return this.withHistory;
  }

  /** @internal Queues a notice before any entry. */
  startWithNotice(gap: StreamGap): void {
    this.push(gap);
  }

  /** @internal Queues `entries` (a snapshot) before any live entry. */
  startWith(entries: readonly LogEntry[]): void {
    for (const entry of entries) this.push(entry);
    this.withHistory = true;
  }

  /** @internal Reads `history` from `from` up to `liveFrom` before the live queue. */
  startFrom(history: EventHistory, from: number, liveFrom: number): void {
    let pendingGap: StreamGap | null = null;
    if (from > liveFrom) {
      // Ids restart with the process: a resume point from before a restart can be ahead.
      pendingGap = this.gap({
        missed: 0,
        fromId: null,
        toId: null,
        reason: `resume point ${from - 1} is ahead of the log (last id ${liveFrom - 1}): the server has restarted, events may be missing`,
        scopedReason: 'the resume point is ahead of the log: the server has restarted, events may be missing',
      });
      from = liveFrom;
    } else if (from < history.oldestId && from < liveFrom) {
      const toId = Math.min(history.oldestId, liveFrom) - 1;
      pendingGap = this.gap({
        missed: toId - from + 1,
        fromId: from,
        toId,
        reason: `events ${from}..${toId} are no longer kept (history holds the last ${history.size})`,
        scopedReason: 'events after the resume point are no longer kept in memory',
      });
      from = toId + 1;
    }
    this.cursor = { history, next: from, liveFrom, pendingGap };
    this.withHistory = true;
  }

  /**
   * Where the bus hands this subscriber's entries while it is set, instead of queueing
   * them: a reader that keeps up takes each one synchronously as it is published (a
   * delivery member writing to its socket). Its `accept` returns false when it cannot
   * take the item now (its socket is behind); the item is then queued by the drop policy,
   * and the reader reads the queue out with {@link take} before it sets a sink again. Only
   * set while nothing is queued or left to read from the history, so order holds.
   */
  sink: SyncReader | null = null;

  override take(): StreamItem | undefined {
    const cursor = this.cursor;
    // Read out after an end too (overflow, finish): skipping the history would leave a
    // silent hole before the queued live entries.
    if (cursor !== null && !this.discarded) {
      const item = this.readHistory(cursor);
      if (item !== null) return item;
    }
    return super.take();
  }

  /**
   * @internal Hands an item to the sink, or queues it when there is none or it refuses.
   * A `stale` item (it waited past the age bound before it reached this log: a mirror
   * that read its batch late) is queued even with a sink, so that the queue's age bound
   * conflates it with the others; the reader is told to read the queue out.
   */
  offer(item: StreamItem, at: number | undefined, stale = false): void {
    const sink = this.sink;
    if (sink !== null && !stale && sink.accept(item)) return;
    this.push(item, at);
    // A refusing sink has already arranged to read the queue; a stale item's reader must be told.
    if (sink !== null && stale) {
      this.sink = null;
      sink.queued();
    }
  }

  /** Tells `reader` when the log queued an item although it was the sink (see {@link offer}), and when this ends. */
  attach(reader: SyncReader): void {
    this.onEnded(reader);
  }

  private readHistory(cursor: HistoryCursor): StreamItem | null {
    if (cursor.pendingGap !== null) {
      const gap = cursor.pendingGap;
      cursor.pendingGap = null;
      return gap;
    }
    const { history } = cursor;
    while (cursor.next < cursor.liveFrom) {
      if (cursor.next < history.oldestId) {
        // Evicted while this reader was still behind: say so, then go on.
        const toId = Math.min(history.oldestId, cursor.liveFrom) - 1;
        const from = cursor.next;
        cursor.next = toId + 1;
        return this.gap({
          missed: toId - from + 1,
          fromId: from,
          toId,
          reason: `events ${from}..${toId} left the history before they were read`,
          scopedReason: 'events left the history before this stream read them',
        });
      }
      // Ids may jump (a restart after a crash, a shared log trimmed upstream): step over
      // the jump in one search, and say which ids this log does not have.
      const entry = history.firstFrom(cursor.next);
      if (entry === undefined || entry.id >= cursor.liveFrom) break;
      if (entry.id > cursor.next) {
        const from = cursor.next;
        cursor.next = entry.id;
        return this.gap({
          missed: entry.id - from,
          fromId: from,
          toId: entry.id - 1,
          reason: `ids ${from}..${entry.id - 1} are not in this server's log: they never reached it, or were skipped (as after an engine restarted from a crash)`,
          scopedReason: 'some events never reached this server, or their ids were skipped',
        });
      }
      cursor.next = entry.id + 1;
      let match: boolean;
      try {
        match = this.filter === undefined || this.filter(entry.event, entry.symbol);
      } catch {
        match = false;
      }
      if (match) return entry;
    }
    this.cursor = null;
    return null;
  }

  /** @internal A gap notice stamped with the bus clock; `scopedReason` is for readers of some runners only. */
  gap(notice: { readonly missed: number; readonly fromId: number | null; readonly toId: number | null; readonly reason: string; readonly scopedReason?: string }): StreamGap {
    const { missed, fromId, toId, reason, scopedReason } = notice;
    return { kind: 'gap', missed, fromId, toId, reason, timestamp: this.clock(), ...(scopedReason !== undefined ? { scopedReason } : {}) };
  }
}

/** Whether an entry passes a filter; a filter that throws passes nothing. */
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
  private readonly publishedByType = new Map<string, number>();
  private deliveries = 0;
  private readonly deliveredByType = new Map<string, number>();
  private readonly droppedByType = new Map<string, number>();
  private readonly countDrop = (item: StreamItem): void => {
    const type = isGap(item) ? 'StreamGap' : item.event.type;
    this.droppedByType.set(type, (this.droppedByType.get(type) ?? 0) + 1);
  };
  private readonly expiredByType = new Map<string, number>();
  private readonly countExpired = (item: StreamItem): void => {
    const type = isGap(item) ? 'StreamGap' : item.event.type;
    this.expiredByType.set(type, (this.expiredByType.get(type) ?? 0) + 1);
  };
  private maxAge = 0;
  private ageBound: AgeBound<StreamItem> | undefined = undefined;
  private readonly ageClock: () => number;
  private isClosed = false;
  private visits = 0;
  private readonly capacity: number;
  // Replaced, not cleared, when the log restarts in a new epoch: a subscription still
  // reading the old one's history keeps reading the object it started with.
  private history: EventHistory;
  private latest = new LatestState();
  private currentEpoch: string;
  private taps: readonly LogTap[] = [];
  private readonly clock: () => number;
  // Items whose fan-out did not fit in one slice, in publish order: a later item waits for
  // every earlier one, so each subscriber still gets them in order.
  private fanouts: Fanout[] = [];
  private fanoutHead = 0;
  private fanoutScheduled = false;
  private readonly fanoutLater = (): void => {
    this.fanoutScheduled = false;
    this.fanOut(FANOUT_SLICE, true);
  };
  // Subscribers handed an item since this turn began (see handingOut).
  private turnOffers = 0;
  private readonly turnEnded = (): void => {
    this.turnOffers = 0;
  };
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
    const startAfter = options.startAfter ?? 0;
    if (!Number.isSafeInteger(startAfter) || startAfter < 0) throw new RangeError(`startAfter must be a whole number ≥ 0, got ${startAfter}`);
    this.last = startAfter;
    this.history = new EventHistory(options.historySize ?? DEFAULT_HISTORY_SIZE, options.historyBytes ?? DEFAULT_HISTORY_BYTES, startAfter);
    this.clock = options.clock ?? Date.now;
    this.currentEpoch = options.epoch ?? newEpoch();
    this.ageClock = options.ageClock ?? (() => performance.now());
    this.maxEventAgeMs = options.maxEventAgeMs ?? 0;
  }

  /** The log's epoch (see {@link EventBusOptions.epoch}). */
  get epoch(): string {
    return this.currentEpoch;
  }

  /**
   * Adopts the epoch of the log this bus mirrors, whose ids are this bus's (a shared log
   * read at start, before its first entry). Subscriptions already running go on: their
   * ids came from this bus. A log that was recreated, whose ids start again, is followed
   * with {@link restartEpoch} instead.
   */
  setEpoch(epoch: string): void {
    if (epoch.length === 0 || epoch.length > MAX_EPOCH_LENGTH) throw new RangeError(`an epoch is 1..${MAX_EPOCH_LENGTH} characters, got ${epoch.length}`);
    this.currentEpoch = epoch;
  }

  /**
   * Follows the log this bus mirrors into a new epoch whose ids continue after `lastId`: a
   * shared log that was recreated (a flushed Redis) hands out ids again, possibly ids this
   * bus already delivered, and they stand for other events. The old epoch's history and
   * latest state are dropped, so that no replay, resume or snapshot mixes the two id
   * spaces; every live subscriber is told with a StreamGap that carries the new epoch,
   * before any entry of it, so that a client keeps the new epoch with the ids that follow
   * (and its old resume point, which means nothing now, is answered with a reset).
   */
  restartEpoch(epoch: string, lastId: number): void {
    if (epoch.length === 0 || epoch.length > MAX_EPOCH_LENGTH) throw new RangeError(`an epoch is 1..${MAX_EPOCH_LENGTH} characters, got ${epoch.length}`);
    if (!Number.isSafeInteger(lastId) || lastId < 0) throw new RangeError(`lastId must be a whole number ≥ 0, got ${lastId}`);
    const previous = this.currentEpoch;
    const was = this.last;
    this.currentEpoch = epoch;
    this.last = lastId;
    this.history = new EventHistory(this.history.size, this.history.maxBytes, lastId);
    this.latest = new LatestState();
    const gap: StreamGap = {
      ...gapNotice({
        missed: 0,
        reason: `the event log was recreated: epoch ${previous} (last id ${was}) is gone; this is epoch ${epoch}, whose ids continue after ${lastId}: ids read before this notice mean nothing in it, resume with the new epoch and the ids that follow`,
        timestamp: this.clock(),
      }),
      counts: 'log',
      scopedReason: 'the event log was recreated: ids restart in a new epoch; resume with the new epoch and the ids that follow',
      epoch,
    };
    this.hand(gap, false, this.maxAge > 0 ? this.ageClock() : undefined, false);
    for (const tap of this.taps) tap.restarted?.(epoch, lastId);
  }

  /**
   * The age bound of subscriptions opened from now on, in ms (0: none): when the next
   * event a subscriber would read waited longer in its queue, the subscriber is behind and
   * its queued high-frequency events are conflated (only the latest per runner and type is
   * kept, after a StreamGap saying how many were skipped); standard and critical events
   * are never dropped for age. Ages count from when this process queued the event, never
   * from its timestamp, which may come from another machine's clock.
   */
  get maxEventAgeMs(): number {
    return this.maxAge;
  }

  set maxEventAgeMs(ms: number) {
    if (!Number.isFinite(ms) || ms < 0 || ms > MAX_EVENT_AGE_LIMIT_MS) {
      throw new RangeError(`maxEventAgeMs must be 0 (off) to ${MAX_EVENT_AGE_LIMIT_MS} ms, got ${ms}`);
    }
    this.maxAge = ms;
  }

  /** Ids the history still holds: `oldestId..lastId` (empty when oldestId > lastId), but for those the log jumped over. */
  get historyRange(): { readonly oldestId: number; readonly lastId: number; readonly approximateBytes: number } {
    return { oldestId: this.history.oldestId, lastId: this.last, approximateBytes: this.history.approximateBytes };
  }

  /** Id of the last event published (0 before the first). */
  get lastId(): number {
    return this.last;
  }

  /**
   * Counters for metrics: events published by type, entries handed to subscribers, and
   * the subscribers' queues now (events waiting, events dropped by those still attached).
   */
  stats(): {
    readonly publishedByType: ReadonlyMap<string, number>;
    readonly deliveredByType: ReadonlyMap<string, number>;
    /** Events dropped by subscriber queues since start (slow consumers), by type. */
    readonly droppedByType: ReadonlyMap<string, number>;
    /** High-frequency events conflated away by subscriber queues for their age, by type. */
    readonly expiredByType: ReadonlyMap<string, number>;
    readonly delivered: number;
    readonly queued: number;
    readonly dropped: number;
  } {
    let queued = 0;
    let dropped = 0;
    for (const subscriber of this.subscribers) {
      queued += subscriber.size;
      dropped += subscriber.dropped;
    }
    return {
      publishedByType: this.publishedByType,
      deliveredByType: this.deliveredByType,
      droppedByType: this.droppedByType,
      expiredByType: this.expiredByType,
      delivered: this.deliveries,
      queued,
      dropped,
    };
  }

  /** Subscribers currently attached. */
  get subscriberCount(): number {
    return this.subscribers.length;
  }

  /** Appends an event to the log and hands it to every matching subscriber. */
  publish(event: RunnerEvent, symbol: string): LogEntry {
    return this.deliver({ id: this.last + 1, symbol, event });
  }

  /**
   * Moves the log's position forward to `id` without a gap notice: the ids before it were
   * never this log's to deliver (a shared log joined part-way, whose first entry read is
   * far past where this process started). Does nothing for an id not ahead of the log.
   */
  advanceTo(id: number): void {
    if (!Number.isSafeInteger(id) || id <= this.last) return;
    this.last = id;
    for (const tap of this.taps) tap.advanced(id);
  }

  /** Tells `tap` of every change of the log from now on; returns what stops it. */
  tap(tap: LogTap): () => void {
    this.taps = [...this.taps, tap];
    return () => {
      this.taps = this.taps.filter((t) => t !== tap);
    };
  }

  /** Every runner's latest state entries (what `snapshot` subscriptions start with), oldest first. */
  latestEntries(): LogEntry[] {
    return this.latest.snapshot(undefined).map(({ snapshot: _, ...entry }) => entry);
  }

  /**
   * Takes runners' latest state entries from the log this bus mirrors, for those older
   * than its history (a mirror that joined late); entries published here come after.
   */
  restoreLatest(entries: readonly LogEntry[]): void {
    for (const entry of entries) this.latest.update(entry);
  }

  /**
   * Appends an entry whose id was given elsewhere (a shared log such as a Redis Stream).
   * Ids must increase; an id further on than the next one means entries were lost on the
   * way, and every subscriber is told with a StreamGap before the entry. Returns false,
   * and delivers nothing, for an id not after the last one (a duplicate).
   */
  publishEntry(entry: LogEntry, why = 'the shared log was trimmed or cut', queuedAt?: number): boolean {
    if (!Number.isSafeInteger(entry.id) || entry.id <= this.last) return false;
    const missed = entry.id - this.last - 1;
    if (missed > 0) {
      const gap: StreamGap = {
        ...gapNotice({ missed, reason: `ids ${this.last + 1}..${entry.id - 1} never reached this server (${why})`, fromId: this.last + 1, toId: entry.id - 1, timestamp: this.clock() }),
        scopedReason: `events never reached this server (${why}); some may have been yours`,
      };
      this.hand(gap, false, this.maxAge > 0 ? this.ageClock() : undefined, false);
    }
    this.deliver(entry, queuedAt);
    return true;
  }

  private deliver(entry: LogEntry, queuedAt?: number): LogEntry {
    const { event } = entry;
    this.last = entry.id;
    this.publishedByType.set(event.type, (this.publishedByType.get(event.type) ?? 0) + 1);
    this.history.append(entry);
    this.latest.update(entry);
    for (const tap of this.taps) tap.appended(entry);
    // Read once for every queue this event goes into, not once per subscriber.
    const at = this.maxAge > 0 ? (queuedAt ?? this.ageClock()) : undefined;
    // Already past the bound when it got here: no reader takes it directly (see offer).
    const stale = at !== undefined && queuedAt !== undefined && queuedAt < this.ageClock() - this.maxAge;
    this.hand(entry, true, at, stale);
    return entry;
  }

  /**
   * Hands `item` to the subscribers attached now: at once, up to {@link FANOUT_SLICE} of
   * them, and the rest in later turns; after the items still being handed out, if any.
   */
  private hand(item: StreamItem, filtered: boolean, at: number | undefined, stale: boolean): void {
    const subscribers = this.subscribers;
    if (subscribers.length === 0) return;
    this.fanouts.push({ item, subscribers, filtered, at, stale, next: 0 });
    // Behind: this item waits its turn; the scheduled slice hands it out.
    if (this.fanouts.length - this.fanoutHead > 1) return;
    this.fanOut(FANOUT_SLICE);
  }

  /**
   * True while published items are still being handed to subscribers (see {@link
   * FANOUT_SLICE}), or this turn has handed out a slice's worth already: a publisher with
   * a backlog (the engine's hand-off) then waits for the next turn, so that a run of
   * publishes to many subscribers is cut into slices too, not only one large publish.
   */
  get handingOut(): boolean {
    return this.fanoutHead < this.fanouts.length || this.turnOffers >= FANOUT_SLICE;
  }

  /**
   * Hands out queued items, in order, to at most `budget` subscribers; schedules the rest.
   * `late`: in a later turn than their publish, when they may have waited past the age bound.
   */
  private fanOut(budget: number, late = false): void {
    const fanouts = this.fanouts;
    while (this.fanoutHead < fanouts.length) {
      const fanout = fanouts[this.fanoutHead]!;
      budget -= this.handSome(fanout, budget, late);
      if (fanout.next < fanout.subscribers.length) break;
      fanouts[this.fanoutHead++] = undefined as unknown as Fanout;
    }
    if (this.fanoutHead === fanouts.length) {
      this.fanouts = [];
      this.fanoutHead = 0;
    } else if (!this.fanoutScheduled) {
      this.fanoutScheduled = true;
      setImmediate(this.fanoutLater);
    }
  }

  /** Hands `fanout` on to up to `budget` of its subscribers; returns how many it looked at. */
  private handSome(fanout: Fanout, budget: number, late: boolean): number {
    const { item, subscribers, filtered, at } = fanout;
    const from = fanout.next;
    const to = Math.min(subscribers.length, from + budget);
    // Waited for its turn past the age bound: queued and conflated like any stale item.
    const stale = fanout.stale || (late && at !== undefined && at < this.ageClock() - this.maxAge);
    const entry = filtered ? (item as LogEntry) : null;
    let matched = 0;
    for (let i = from; i < to; i++) {
      const subscriber = subscribers[i]!;
      if (entry !== null) {
        const filter = subscriber.filter;
        let match: boolean;
        try {
          match = filter === undefined || filter(entry.event, entry.symbol);
        } catch {
          // A broken filter is that subscriber's problem, never the runner's or another's.
          match = false;
        }
        if (!match) continue;
        matched++;
      }
      subscriber.offer(item, at, stale);
    }
    fanout.next = to;
    if (to > from) {
      if (this.turnOffers === 0) setImmediate(this.turnEnded);
      this.turnOffers += to - from;
    }
    if (matched > 0) {
      this.deliveries += matched;
      const type = entry!.event.type;
      this.deliveredByType.set(type, (this.deliveredByType.get(type) ?? 0) + matched);
    }
    return to - from;
  }

  /**
   * Subscribes to the events that match `filter`, from the next one published on; with
   * `replay` or `after`, first the matching events the history still holds. History and
   * live meet without a gap or a duplicate: registering and taking the history's end
   * happen in one synchronous step, and publishing is synchronous too.
   */
  subscribe(options: SubscribeOptions = {}): EventSubscription {
    const capacity = options.capacity ?? this.capacity;
    // One bound for every subscription opened while the setting stays the same.
    if (this.maxAge > 0 && this.ageBound?.maxAgeMs !== this.maxAge) {
      this.ageBound = { maxAgeMs: this.maxAge, keyOf: conflationKeyOf, now: this.ageClock, onExpire: this.countExpired };
    }
    const age = this.maxAge > 0 ? this.ageBound : undefined;
    const subscription = new EventSubscription({ detach: this.detach, filter: options.filter, capacity, signal: options.signal, clock: this.clock, onDrop: this.countDrop, age });
    if (this.isClosed || subscription.closed) {
      subscription.finish();
      return subscription;
    }
    const liveFrom = this.last + 1;
    if (options.snapshot === true) {
      if (options.after !== undefined || options.replay !== undefined) throw new RangeError('snapshot is not combined with replay or after');
      subscription.startWith(this.latest.snapshot(options.filter, options.index));
    } else if (options.after !== undefined && options.epoch !== undefined && options.epoch !== this.currentEpoch) {
      subscription.startWithNotice({
        ...gapNotice({
          missed: 0,
          reason: `the event log was reset: id ${options.after} was read in log epoch ${options.epoch}, which is gone; this is epoch ${this.currentEpoch}, going on with live events`,
          timestamp: this.clock(),
        }),
        counts: 'log',
        scopedReason: 'the event log was reset: the resume point belongs to a log that is gone; going on with live events',
        epoch: this.currentEpoch,
      });
    } else if (options.after !== undefined) {
      subscription.startFrom(this.history, Math.max(1, options.after + 1), liveFrom);
    } else if (options.replay !== undefined && options.replay > 0) {
      subscription.startFrom(this.history, this.replayStart(options.filter, options.replay, options.index), liveFrom);
    }
    this.subscribers = [...this.subscribers, subscription];
    return subscription;
  }

  /**
   * The last `count` kept events that match `filter`, oldest first: what a subscription
   * with `replay: count` would be sent first, for a query that wants it once. With
   * runner ids, a scope or types in `options`, it reads only those chains of the
   * history's index: the work is about what it returns, not the history's size.
   */
  recent(filter: EventPredicate | undefined, count: number, options: RecentOptions = {}): LogEntry[] {
    return this.scanRecent(filter, count, options).entries;
  }

  /** {@link recent}, saying how much it read and whether `maxScan` cut it short. */
  scanRecent(filter: EventPredicate | undefined, count: number, options: RecentOptions = {}): RecentScan {
    const entries: LogEntry[] = [];
    if (count <= 0) return { entries, scanned: 0, complete: true };
    const maxScan = options.maxScan ?? Number.POSITIVE_INFINITY;
    const cursor = this.history.newestFirst(options);
    let complete = true;
    for (;;) {
      if (cursor.visited >= maxScan) {
        complete = false;
        break;
      }
      const entry = cursor.next();
      if (entry === undefined) break;
      if (matches(filter, entry) && entries.push(entry) === count) break;
    }
    this.visits += cursor.visited;
    return { entries: entries.reverse(), scanned: cursor.visited, complete };
  }

  /**
   * Calls `visit` with the kept entries `query` narrows to, newest first, until it
   * returns false: for readers that decide as they go how far back to look (candles).
   */
  walkBack(query: HistoryQuery, visit: (entry: LogEntry) => boolean): void {
    const cursor = this.history.newestFirst(query);
    for (let entry = cursor.next(); entry !== undefined && visit(entry); entry = cursor.next());
    this.visits += cursor.visited;
  }

  /** Kept entries read by {@link recent}, {@link walkBack} and replays since start: their work. */
  get historyVisits(): number {
    return this.visits;
  }

  /** Id from which the last `count` matching kept events start. */
  private replayStart(filter: EventPredicate | undefined, count: number, index: HistoryQuery | undefined): number {
    const cursor = this.history.newestFirst(index);
    let found = 0;
    let oldest = this.last + 1;
    for (let entry = cursor.next(); entry !== undefined; entry = cursor.next()) {
      if (!matches(filter, entry)) continue;
      oldest = entry.id;
      if (++found === count) break;
    }
    this.visits += cursor.visited;
    // Fewer than `count`: nothing older matches, so reading starts at the oldest match.
    return oldest;
  }

  /** Ends every subscription (each may still read what it has queued) and refuses new ones. */
  close(): void {
    this.isClosed = true;
    // What was published reaches its subscribers before they end.
    this.fanOut(Number.POSITIVE_INFINITY);
    for (const subscriber of this.subscribers) subscriber.finish();
    this.subscribers = [];
  }
}
