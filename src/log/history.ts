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
  newest: number;
  readonly byType: Float64Array;
}

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
 * size and three links (4 bytes each): 40 bytes, fixed with `size`, besides the entries.
 */
export class EventHistory {
  private readonly slots: number;
  private readonly ring: (LogEntry | undefined)[];
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
    this.ring[slot] = entry;
    this.ids[slot] = entry.id;
    let heads = this.runners.get(event.runnerId);
    if (heads === undefined) {
      // Once per runner while it has entries kept, not once per event.
      heads = { newest: 0, byType: new Float64Array(TYPE_COUNT) };
      this.runners.set(event.runnerId, heads);
      this.bytes += INDEX_BYTES_PER_RUNNER;
    }
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

  /** The entry with this id, if it is still kept. */
  get(id: number): LogEntry | undefined {
    const seq = this.seqFrom(id);
    return seq !== 0 && this.ids[seq % this.slots] === id ? this.ring[seq % this.slots] : undefined;
  }

  /** The kept entry with the smallest id at or after `id`, if any: how a reader steps over a jump in ids. */
  firstFrom(id: number): LogEntry | undefined {
    const seq = this.seqFrom(id);
    return seq === 0 ? undefined : this.ring[seq % this.slots];
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
    return seq >= this.firstSeq && seq <= this.lastSeq ? this.ring[seq % this.slots] : undefined;
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
    if (this.headsOf[slot]?.newest === this.firstSeq) {
      this.runners.delete(this.ring[slot]!.event.runnerId);
      this.bytes -= INDEX_BYTES_PER_RUNNER;
    }
    this.ring[slot] = undefined;
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
