import type { RunnerEvent } from '../events/types.js';
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
 * The most recent entries of the log, for replay and resume: at most `size` entries and
 * about `maxBytes` of memory, whichever is reached first; the oldest go first. Ids are
 * contiguous, so an entry is found by id in O(1).
 */
export class EventHistory {
  private readonly ring: (LogEntry | undefined)[];
  private readonly sizes: Float64Array;
  private bytes = 0;
  private first = 1;
  private last = 0;

  constructor(
    readonly size: number = DEFAULT_HISTORY_SIZE,
    readonly maxBytes: number = DEFAULT_HISTORY_BYTES,
    startAfter = 0,
  ) {
    this.first = startAfter + 1;
    this.last = startAfter;
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`history size must be a whole number ≥ 0, got ${size}`);
    if (!(maxBytes >= 0)) throw new RangeError(`history bytes must be ≥ 0, got ${maxBytes}`);
    this.ring = new Array(Math.max(1, size));
    this.sizes = new Float64Array(Math.max(1, size));
  }

  /** Id of the oldest entry kept (greater than `lastId` when empty). */
  get oldestId(): number {
    return this.first;
  }

  /** Id of the newest entry appended (0 before the first). */
  get lastId(): number {
    return this.last;
  }

  /** Entries kept now. */
  get length(): number {
    return this.last - this.first + 1;
  }

  /** Approximate memory held, in bytes. */
  get approximateBytes(): number {
    return this.bytes;
  }

  /** Appends the next entry of the log; after a jump in ids the history starts again. */
  append(entry: LogEntry): void {
    if (entry.id !== this.last + 1) {
      // A jump in ids: what is kept would not be contiguous, so start again from here.
      this.ring.fill(undefined);
      this.bytes = 0;
      this.first = entry.id;
    }
    this.last = entry.id;
    if (this.size === 0) {
      this.first = entry.id + 1;
      return;
    }
    if (this.length > this.size) this.evict();
    const slot = entry.id % this.size;
    const bytes = estimateBytes(entry.event);
    this.ring[slot] = entry;
    this.sizes[slot] = bytes;
    this.bytes += bytes;
    while (this.bytes > this.maxBytes && this.length > 1) this.evict();
  }

  /** The entry with this id, if it is still kept. */
  get(id: number): LogEntry | undefined {
    if (id < this.first || id > this.last) return undefined;
    return this.ring[id % this.size];
  }

  private evict(): void {
    const slot = this.first % this.size;
    this.bytes -= this.sizes[slot] ?? 0;
    this.ring[slot] = undefined;
    this.first++;
  }
}
