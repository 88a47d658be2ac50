import { ERROR_SEVERITIES, severityRank } from './helpers.js';
import { EVENT_VARIANTS, type ErrorSeverity, type EventVariant, type RunnerEvent } from './types.js';

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


/** Longest list a filter argument may hold: longer ones are refused, not truncated. */
export const MAX_FILTER_LIST = 1000;

const MATCH_ALL: EventPredicate = () => true;
const MATCH_NONE: EventPredicate = () => false;

/**
 * Compiles a filter once into a predicate for the publish path: lists become Sets and
 * arguments that do not filter cost nothing per event.
 */
export function compileFilter(filter: EventFilter): EventPredicate {
  const { runnerIds, symbols, types, minSeverity } = filter;
  if (runnerIds?.length === 0 || symbols?.length === 0 || types?.length === 0) return MATCH_NONE;
  const runnerSet = runnerIds == null ? null : new Set(runnerIds);
  const symbolSet = symbols == null ? null : new Set(symbols);
  const typeSet = types == null ? null : new Set<EventVariant>(types);
  const minRank = minSeverity == null ? 0 : severityRank(minSeverity);
  if (runnerSet === null && symbolSet === null && typeSet === null && minRank === 0) return MATCH_ALL;
  return (event, symbol) =>
    (runnerSet === null || runnerSet.has(event.runnerId)) &&
    (symbolSet === null || symbolSet.has(symbol)) &&
    (typeSet === null || typeSet.has(event.type)) &&
    (minRank === 0 || event.type !== 'Error' || severityRank(event.severity) >= minRank);
}

/**
 * Says what is wrong with a filter built from untrusted input, or returns null. The
 * message names the argument (and the index, for a bad list entry).
 */
export function validateFilter(filter: EventFilter, maxListLength = MAX_FILTER_LIST): string | null {
  const lists = [
    ['runnerIds', filter.runnerIds],
    ['symbols', filter.symbols],
    ['types', filter.types],
  ] as const;
  for (const [name, list] of lists) {
    if (list == null) continue;
    if (!Array.isArray(list)) return `${name} must be a list`;
    if (list.length > maxListLength) {
      return `${name} has ${list.length} entries; at most ${maxListLength} are allowed`;
    }
    for (let i = 0; i < list.length; i++) {
      const value: unknown = list[i];
      if (typeof value !== 'string') return `${name}[${i}] must be a string, got ${JSON.stringify(value) ?? String(value)}`;
      if (name === 'types' && !(EVENT_VARIANTS as readonly string[]).includes(value)) {
        return `${name}[${i}]: unknown event type "${value}" (expected one of ${EVENT_VARIANTS.join(', ')})`;
      }
    }
  }
  if (filter.minSeverity != null && !(ERROR_SEVERITIES as readonly string[]).includes(filter.minSeverity)) {
    return `minSeverity: unknown severity "${String(filter.minSeverity)}" (expected one of ${ERROR_SEVERITIES.join(', ')})`;
  }
  return null;
}
