import type { EventPredicate } from '../events/filter.js';
import type { RunnerEvent } from '../events/types.js';

/**
 * One event as the log holds it: the event, its position in the log and the symbol of
 * the runner that emitted it (so a `symbols` filter can match events that carry no symbol).
 */
export interface LogEntry {
  /** Position in the log: ordered, unique, starting at 1. */
  readonly id: number;
  /** Symbol traded by the emitting runner. */
  readonly symbol: string;
  readonly event: RunnerEvent;
  /**
   * True on a copy sent first to a subscriber that asked for the current state
   * (`snapshot`): an entry published before it joined, standing for a runner's state.
   */
  readonly snapshot?: true;
}

/**
 * A notice in a stream that events the subscriber asked for will not come: its queue
 * dropped them because it did not keep up, or its resume point is older than the
 * history the bus keeps. It comes before the next event, so the reader knows what it lost.
 */
export interface StreamGap {
  readonly kind: 'gap';
  /** How many events were lost (log positions, for a resume point no longer kept). */
  readonly missed: number;
  /** First and last log ids of the range lost, when it is one range; else null. */
  readonly fromId: number | null;
  readonly toId: number | null;
  readonly reason: string;
  /** When the gap was noticed, ms since the epoch. */
  readonly timestamp: number;
  /**
   * What `missed` and the id range count: `subscriber`, this subscriber's own events (its
   * queue dropped them); `log`, positions of the shared log, every runner's events.
   * Absent means `log`. A reader that may see only some runners is not told a `log`
   * count: it would give away how busy the runners it may not see are.
   */
  readonly counts?: GapCount;
  /**
   * `reason` for a reader that may see only some runners: in words, without counts or id
   * ranges of the shared log and without internal error text. Absent: a general one.
   */
  readonly scopedReason?: string;
  /**
   * Set when the gap is a log reset: the resume point belonged to another epoch of the
   * log, and the stream goes on in this one.
   */
  readonly epoch?: string;
}

/** What a {@link StreamGap}'s `missed` counts. */
export type GapCount = 'subscriber' | 'log';

/** What a bus subscription yields: log entries, and a gap notice where some were lost. */
export type StreamItem = LogEntry | StreamGap;

/** True for a {@link StreamGap}. */
export function isGap(item: StreamItem): item is StreamGap {
  return 'kind' in item;
}

/** What a {@link gapNotice} says. */
export interface GapNoticeOptions {
  /** Events lost. */
  readonly missed: number;
  /** Why, for people. */
  readonly reason: string;
  /** First id lost, when known (default null). */
  readonly fromId?: number | null;
  /** Last id lost, when known (default null). */
  readonly toId?: number | null;
  /** When, in ms since the epoch (default now). */
  readonly timestamp?: number;
}

/** A gap notice, stamped now unless told otherwise. */
export function gapNotice(options: GapNoticeOptions): StreamGap {
  const { missed, reason, fromId = null, toId = null, timestamp = Date.now() } = options;
  return { kind: 'gap', missed, fromId, toId, reason, timestamp };
}

/** Whether `filter` accepts an entry; a filter that throws accepts nothing (it is its subscriber's problem). */
export function matches(filter: EventPredicate | undefined, entry: LogEntry): boolean {
  try {
    return filter === undefined || filter(entry.event, entry.symbol);
  } catch {
    return false;
  }
}
