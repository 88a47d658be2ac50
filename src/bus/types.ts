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
}
