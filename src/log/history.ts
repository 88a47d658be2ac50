import { isNumericMark, isNumericTick, readMark, readTick, TICK_NUMBERS, writeMark, writeTick } from '../events/numbers.js';
import { EVENT_VARIANTS, type EventVariant, type RunnerEvent } from '../events/types.js';
import type { LogEntry } from './types.js';

/** Events the history keeps unless told otherwise. */
export const DEFAULT_HISTORY_SIZE = 100_000;
/** Approximate memory the history may use unless told otherwise. */
export const DEFAULT_HISTORY_BYTES = 64 * 1024 * 1024;

/**
 * A rough size of an entry in memory: object headers and numbers at a fixed cost per
 * variant, strings at two bytes a character. Precise enough to bound memory, and cheap
 * enough for the publish path (no serialization).
 */
export function estimateBytes(event: RunnerEvent): number {
  let bytes = 160;
  switch (event.type) {
    case 'TickReceived':
      bytes += 200 + 2 * (event.symbol.length + event.data.symbol.length);
      break;
    case 'StateTransition':
      bytes += 2 * event.reason.length;
      break;
    case 'ActionExecuted':
      bytes += 120 + 2 * (event.action.reason.length + event.action.symbol.length);
      break;
    case 'PositionOpened':
      bytes += 120;
      break;
    case 'PositionClosed':
    case 'RunnerStopped':
      bytes += 2 * event.reason.length;
      break;
    case 'Error':
      bytes += 2 * event.error.length;
      break;
    case 'StatsUpdate':
      bytes += 120;
      break;
    default:
      break;
  }
  return bytes + 2 * event.runnerId.length;
}

/**
 * What a read of the history narrows to, so that it follows the index instead of every
 * entry: the entries it yields are a superset of what the caller's predicate accepts.
 * Null or omitted: does not narrow.
 */
export interface HistoryQuery {
  /** Only these runners. */
  readonly runnerIds?: readonly string[] | null;
  /** Only the kept runners this accepts (a token's scope), checked once per runner, not per entry. */
  readonly runnerAllowed?: ((runnerId: string) => boolean) | null;
  /** Only these kinds of event. */
  readonly types?: readonly EventVariant[] | null;
}

/** Memory charged for each runner the index holds heads for (a Map entry and its arrays). */
export const INDEX_BYTES_PER_RUNNER = 256;

const TYPE_COUNT = EVENT_VARIANTS.length;
// An object, not a Map: a property load by an interned literal is the cheaper of the two on the publish path.
const TYPE_INDEX: Readonly<Record<string, number>> = Object.freeze(Object.fromEntries(EVENT_VARIANTS.map((type, i) => [type, i])));

/** Which chain of the index a walk follows: every entry, a runner's, a runner's of one type, one type's. */
type Chain = 0 | 1 | 2 | 3;
const Chain = { All: 0, Runner: 1, RunnerType: 2, Type: 3 } as const;

/** Newest kept entry of one runner, overall and per type, as sequence numbers (0: none). */
interface RunnerHeads {
  /** The runner's id and the symbol of its first kept entry: what a slot kept as numbers is rebuilt with. */
  readonly runnerId: string;
  readonly symbol: string;
  newest: number;
  readonly byType: Float64Array;
}

/** How a slot keeps its entry: the entry object, or a tick or a mark as numbers (see events/numbers.ts). */
const AS_OBJECT = 0;
const AS_TICK = 1;
const AS_MARK = 2;

/**
 * Entries rebuilt from numbers that are kept (by sequence number, modulo this): readers
 * of the same stretch of history (subscribers resuming from about the same place, a
 * replay read by several members of one execution group) get the same object, so an
 * execution group's payload memo (delivery/group.ts) still serves all of them.
 */
const REBUILT_KEPT = 4096;

/**
 * The most recent entries of the log, for replay and resume: at most `size` entries and
 * about `maxBytes` of memory, whichever is reached first; the oldest go first.
 *
 * Ids strictly increase but may jump (an engine restarted after a crash skips ids; a
 * shared log trimmed before it was read loses some): the ring is indexed by a sequence
 * number of its own (1, 2, 3… in append order), and each slot keeps its entry's id in a
 * typed array, so a jump keeps what is kept and an id is found by binary search (O(1)
 * when no jump lies between it and either end, the usual case). Only a new epoch, whose
 * ids start again, starts a new history (the bus replaces this object).
 *
 * Entries are also linked per runner, per runner and type, and per type: each slot keeps
 * how many entries back the previous one of its chains is, so "the newest N of runner R"
 * reads N entries, not the whole history. The links live in arrays of `size` beside the
 * ring, and a link to an entry older than the oldest kept ends its chain: eviction needs
 * no work on them. Only the per-runner heads grow with what is kept; they are dropped
 * with a runner's last kept entry and charged to `maxBytes`.
 *
 * Per slot: the entry and its runner's heads (two references), its id (8 bytes), its
 * size and three links (4 bytes each), how it is kept (1 byte) and 8 numbers (64 bytes):
 * 105 bytes, fixed with `size`, besides the entries kept as objects.
 *
 * Ticks and marks, almost every event, are kept as numbers in a Float64Array rather than
 * as the entry object, and rebuilt when read. Kept as objects, every event the history
 * holds outlives the young generation: at 100,000 events/s the collector copied each one
 * twice and then swept it from the old generation, pauses the main thread's event loop
 * paid for (docs/performance.md), and under a steady load the old generation's pages
 * grew for half an hour with that churn (the soak, docs/operations.md).
 */
export class EventHistory {
  private readonly slots: number;
  private readonly ring: (LogEntry | undefined)[];
  private readonly keptAs: Uint8Array;
  private readonly numbers: Float64Array;
  private readonly rebuilt: (LogEntry | undefined)[] = new Array(REBUILT_KEPT);
  private readonly rebuiltSeq = new Float64Array(REBUILT_KEPT);
  private readonly ids: Float64Array;
  private readonly sizes: Uint32Array;
  private readonly backOfRunner: Uint32Array;
  private readonly backOfRunnerType: Uint32Array;
  private readonly backOfType: Uint32Array;
  /** Per slot, the heads of its entry's runner: eviction checks them without a Map lookup. */
  private readonly headsOf: (RunnerHeads | undefined)[];
  private readonly runners = new Map<string, RunnerHeads>();
  private readonly typeHeads = new Float64Array(TYPE_COUNT);
  private bytes = 0;
  /** Sequence number of the oldest entry kept (greater than `lastSeq` when empty). */
  private firstSeq = 1;
  /** Sequence number of the newest entry kept (0 before the first). */
  private lastSeq = 0;
  private last = 0;

  constructor(
    readonly size: number = DEFAULT_HISTORY_SIZE,
    readonly maxBytes: number = DEFAULT_HISTORY_BYTES,
    startAfter = 0,
  ) {
    this.last = startAfter;
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`history size must be a whole number ≥ 0, got ${size}`);
    if (!(maxBytes >= 0)) throw new RangeError(`history bytes must be ≥ 0, got ${maxBytes}`);
    const slots = Math.max(1, size);
    this.slots = slots;
    this.ring = new Array(slots);
    this.keptAs = new Uint8Array(slots);
    this.numbers = new Float64Array(slots * TICK_NUMBERS);
    this.ids = new Float64Array(slots);
    this.sizes = new Uint32Array(slots);
    this.backOfRunner = new Uint32Array(slots);
    this.backOfRunnerType = new Uint32Array(slots);
    this.backOfType = new Uint32Array(slots);
    this.headsOf = new Array(slots);
  }

  /** Id of the oldest entry kept (greater than `lastId` when empty). */
  get oldestId(): number {
    return this.lastSeq >= this.firstSeq ? this.ids[this.firstSeq % this.slots]! : this.last + 1;
  }

  /** Id of the newest entry appended (0 before the first). */
  get lastId(): number {
    return this.last;
  }

  /** Entries kept now. */
  get length(): number {
    return this.lastSeq - this.firstSeq + 1;
  }

  /** Approximate memory held, in bytes (entries and the index's per-runner heads). */
  get approximateBytes(): number {
    return this.bytes;
  }

  /** Runners with at least one kept entry. */
  get runnerCount(): number {
    return this.runners.size;
  }

  /**
   * Appends the next entry of the log. Its id must be above the last one; it may jump
   * ahead, and what is kept stays (a reader of the history is told of the ids between).
   */
  append(entry: LogEntry): void {
    if (!(entry.id > this.last)) throw new RangeError(`history ids must increase: ${entry.id} after ${this.last}`);
    this.last = entry.id;
    if (this.size === 0) return;
    const seq = ++this.lastSeq;
    if (this.length > this.size) this.evict();
    const slot = seq % this.slots;
    const event = entry.event;
    const bytes = estimateBytes(event);
    this.ids[slot] = entry.id;
    let heads = this.runners.get(event.runnerId);
    if (heads === undefined) {
      // Once per runner while it has entries kept, not once per event.
      heads = { runnerId: event.runnerId, symbol: entry.symbol, newest: 0, byType: new Float64Array(TYPE_COUNT) };
      this.runners.set(event.runnerId, heads);
      this.bytes += INDEX_BYTES_PER_RUNNER;
    }
    this.keep(slot, entry, heads);
    this.headsOf[slot] = heads;
    this.backOfRunner[slot] = back(seq, heads.newest);
    heads.newest = seq;
    const type = TYPE_INDEX[event.type];
    if (type !== undefined) {
      this.backOfRunnerType[slot] = back(seq, heads.byType[type]!);
      heads.byType[type] = seq;
      this.backOfType[slot] = back(seq, this.typeHeads[type]!);
      this.typeHeads[type] = seq;
    } else {
      this.backOfRunnerType[slot] = 0;
      this.backOfType[slot] = 0;
    }
    this.sizes[slot] = bytes;
    this.bytes += bytes;
    while (this.bytes > this.maxBytes && this.length > 1) this.evict();
  }

  /** Keeps `entry` in `slot`: as numbers when it is a tick or a mark its runner's heads can rebuild, else as itself. */
  private keep(slot: number, entry: LogEntry, heads: RunnerHeads): void {
    const event = entry.event;
    // A copy standing for a runner's state, or a runner that changed symbols while kept: as it is.
    if (entry.snapshot === undefined && entry.symbol === heads.symbol) {
      if (isNumericTick(event, entry.symbol)) {
        writeTick(event.data, this.numbers, slot * TICK_NUMBERS);
        this.keptAs[slot] = AS_TICK;
        this.ring[slot] = undefined;
        return;
      }
      if (isNumericMark(event)) {
        writeMark(event, this.numbers, slot * TICK_NUMBERS);
        this.keptAs[slot] = AS_MARK;
        this.ring[slot] = undefined;
        return;
      }
    }
    this.keptAs[slot] = AS_OBJECT;
    this.ring[slot] = entry;
  }

  /** The entry of a kept sequence number: the object, or one rebuilt from its numbers. */
  private entryOf(seq: number): LogEntry | undefined {
    const slot = seq % this.slots;
    const kind = this.keptAs[slot];
    if (kind === AS_OBJECT) return this.ring[slot];
    const memo = seq % REBUILT_KEPT;
    if (this.rebuiltSeq[memo] === seq) return this.rebuilt[memo];
    const heads = this.headsOf[slot]!;
    const at = slot * TICK_NUMBERS;
    const event = kind === AS_TICK ? readTick(heads.runnerId, heads.symbol, this.numbers, at) : readMark(heads.runnerId, this.numbers, at);
    const entry: LogEntry = { id: this.ids[slot]!, symbol: heads.symbol, event };
    this.rebuilt[memo] = entry;
    this.rebuiltSeq[memo] = seq;
    return entry;
  }

  /** The entry with this id, if it is still kept. */
  get(id: number): LogEntry | undefined {
    const seq = this.seqFrom(id);
    return seq !== 0 && this.ids[seq % this.slots] === id ? this.entryOf(seq) : undefined;
  }

  /** The kept entry with the smallest id at or after `id`, if any: how a reader steps over a jump in ids. */
  firstFrom(id: number): LogEntry | undefined {
    const seq = this.seqFrom(id);
    return seq === 0 ? undefined : this.entryOf(seq);
  }

  /** Sequence number of the kept entry with the smallest id at or after `id`, or 0: O(log n), O(1) without a jump on the way. */
  private seqFrom(id: number): number {
    const { firstSeq, lastSeq, ids, slots } = this;
    if (lastSeq < firstSeq || id > this.last) return 0;
    // Without a jump between `id` and the newest entry (or the oldest), it is where the distance puts it.
    const fromNewest = lastSeq - (this.last - id);
    if (fromNewest >= firstSeq && ids[fromNewest % slots] === id) return fromNewest;
    const oldest = ids[firstSeq % slots]!;
    if (id <= oldest) return firstSeq;
    const fromOldest = firstSeq + (id - oldest);
    if (fromOldest <= lastSeq && ids[fromOldest % slots] === id) return fromOldest;
    // ids[lo] < id <= ids[hi]
    let lo = firstSeq;
    let hi = lastSeq;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (ids[mid % slots]! < id) lo = mid;
      else hi = mid;
    }
    return hi;
  }

  /**
   * The kept entries `query` narrows to, newest first, as a cursor: each call of `next`
   * costs O(log k) for k chains, whatever lies between two of them in the history.
   * Reads only; appending while a cursor is open is fine (it yields no newer entries
   * and stops at evicted ones).
   */
  newestFirst(query: HistoryQuery = {}): HistoryCursor {
    const heads: number[] = [];
    const chains: Chain[] = [];
    const add = (seq: number, chain: Chain): void => {
      if (seq >= this.firstSeq && seq <= this.lastSeq) {
        heads.push(seq);
        chains.push(chain);
      }
    };
    const types = query.types == null ? null : [...new Set(query.types)].map((t) => TYPE_INDEX[t]).filter((t) => t !== undefined);
    let runners: RunnerHeads[] | null = null;
    if (query.runnerIds != null) {
      runners = [];
      for (const id of new Set(query.runnerIds)) {
        const found = this.runners.get(id);
        if (found !== undefined && (query.runnerAllowed == null || query.runnerAllowed(id))) runners.push(found);
      }
    } else if (query.runnerAllowed != null) {
      runners = [];
      for (const [id, found] of this.runners) if (query.runnerAllowed(id)) runners.push(found);
    }
    if (runners !== null) {
      for (const r of runners) {
        if (types === null) add(r.newest, Chain.Runner);
        else for (const t of types) add(r.byType[t]!, Chain.RunnerType);
      }
    } else if (types !== null) {
      for (const t of types) add(this.typeHeads[t]!, Chain.Type);
    } else {
      add(this.lastSeq, Chain.All);
    }
    return new HistoryCursor(this, heads, chains);
  }

  /** @internal Sequence number of the oldest kept entry (see {@link HistoryCursor}). */
  get oldestSeq(): number {
    return this.firstSeq;
  }

  /** @internal The kept entry with this sequence number. */
  entryAt(seq: number): LogEntry | undefined {
    return seq >= this.firstSeq && seq <= this.lastSeq ? this.entryOf(seq) : undefined;
  }

  /** @internal The sequence number before `seq` (a kept one) on `chain` that is still kept, or 0. */
  previous(seq: number, chain: 0 | 1 | 2 | 3): number {
    let distance: number;
    switch (chain) {
      case Chain.All:
        distance = 1;
        break;
      case Chain.Runner:
        distance = this.backOfRunner[seq % this.slots]!;
        break;
      case Chain.RunnerType:
        distance = this.backOfRunnerType[seq % this.slots]!;
        break;
      case Chain.Type:
        distance = this.backOfType[seq % this.slots]!;
        break;
    }
    const prev = seq - distance;
    return distance > 0 && prev >= this.firstSeq ? prev : 0;
  }

  private evict(): void {
    const slot = this.firstSeq % this.slots;
    this.bytes -= this.sizes[slot] ?? 0;
    // The runner's newest entry leaving means it has none left: drop its heads.
    const heads = this.headsOf[slot];
    if (heads !== undefined && heads.newest === this.firstSeq) {
      this.runners.delete(heads.runnerId);
      this.bytes -= INDEX_BYTES_PER_RUNNER;
    }
    this.ring[slot] = undefined;
    this.keptAs[slot] = AS_OBJECT;
    this.headsOf[slot] = undefined;
    this.firstSeq++;
  }
}

/**
 * How many entries back `prev` is from `seq`, as a link stores it (0: none). One further
 * back than the ring holds was evicted before `seq` was appended, so it ends the chain too:
 * the distance always fits the link's 32 bits.
 */
function back(seq: number, prev: number): number {
  return prev === 0 || seq - prev > 0xffff_ffff ? 0 : seq - prev;
}

/**
 * Kept entries newest first, merged from the index's chains (a max-heap on their next
 * sequence numbers, which order as the ids do). `visited` counts the entries it yielded, the measure of a read's work.
 */
export class HistoryCursor {
  private visits = 0;

  /** @internal Created by {@link EventHistory.newestFirst}; `heap` holds sequence numbers. */
  constructor(
    private readonly history: EventHistory,
    private readonly heap: number[],
    private readonly chains: (0 | 1 | 2 | 3)[],
  ) {
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  /** Entries yielded so far. */
  get visited(): number {
    return this.visits;
  }

  /** The next older entry, or undefined when none is left (or the rest was evicted). */
  next(): LogEntry | undefined {
    const { heap, chains, history } = this;
    while (heap.length > 0) {
      const seq = heap[0]!;
      if (seq < history.oldestSeq) {
        // Evicted since the cursor opened: its slot, links included, may hold a newer entry now.
        heap.length = 0;
        chains.length = 0;
        return undefined;
      }
      const prev = history.previous(seq, chains[0]!);
      if (prev > 0) {
        heap[0] = prev;
      } else {
        heap[0] = heap[heap.length - 1]!;
        chains[0] = chains[chains.length - 1]!;
        heap.pop();
        chains.pop();
      }
      this.down(0);
      const entry = history.entryAt(seq);
      if (entry !== undefined) {
        this.visits++;
        return entry;
      }
    }
    return undefined;
  }

  private down(i: number): void {
    const { heap, chains } = this;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let top = i;
      if (l < n && heap[l]! > heap[top]!) top = l;
      if (r < n && heap[r]! > heap[top]!) top = r;
      if (top === i) return;
      const seq = heap[i]!;
      heap[i] = heap[top]!;
      heap[top] = seq;
      const chain = chains[i]!;
      chains[i] = chains[top]!;
      chains[top] = chain;
      i = top;
    }
  }
}
