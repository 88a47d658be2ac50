import type { ErrorSeverity, EventVariant, RunnerEvent } from './types.js';

/**
 * What a subscriber wants to see. Arguments combine with AND; inside a list, OR.
 * An omitted or null argument does not filter; an empty list matches nothing.
 * `minSeverity` drops Error events below it and leaves every other type alone.
 */
export interface EventFilter {
  readonly runnerIds?: readonly string[] | null;
  /** Matches every event of a runner trading one of these symbols. */
  readonly symbols?: readonly string[] | null;
  readonly types?: readonly EventVariant[] | null;
  readonly minSeverity?: ErrorSeverity | null;
}

/** A compiled filter: `symbol` is the symbol of the runner that emitted the event. */
export type EventPredicate = (event: RunnerEvent, symbol: string) => boolean;

// TODO(helper): compileFilter(filter: EventFilter): EventPredicate
