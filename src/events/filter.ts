import { ERROR_SEVERITIES, severityRank } from './helpers.js';
import { EVENT_VARIANTS, type ErrorSeverity, type EventVariant, type RunnerEvent } from './types.js';
import { compileWhere, DEFAULT_WHERE_LIMITS, validateWhere, type EventWhere, type WhereLimits } from './where.js';

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
  /**
   * Typed field predicates, per variant: they constrain only the variants they name and
   * never let through what the other arguments drop (see ./where.ts for the semantics).
   */
  readonly where?: EventWhere | null;
}

/** A compiled filter: `symbol` is the symbol of the runner that emitted the event. */
export type EventPredicate = (event: RunnerEvent, symbol: string) => boolean;

/** Longest list a filter argument may hold: longer ones are refused, not truncated. */
export const MAX_FILTER_LIST = 1000;

// Shared constants, so callers may recognise a filter that lets everything (or nothing)
// through by identity and skip the per-event call altogether.
const MATCH_ALL: EventPredicate = () => true;
const MATCH_NONE: EventPredicate = () => false;

/**
 * Compiles a filter once into a predicate for the publish path, where an unmatched event
 * should cost one call: lists become Sets, arguments that do not filter are left out of
 * the predicate entirely, an empty list gives a constant `false` and a filter without
 * arguments a constant `true`. Expects a filter that {@link validateFilter} accepted.
 */
export function compileFilter(filter: EventFilter): EventPredicate {
  const { runnerIds, symbols, types, minSeverity, where } = filter;
  if (runnerIds?.length === 0 || symbols?.length === 0 || types?.length === 0) return MATCH_NONE;

  // Each check is made by a function of its own, so that its closure holds only what it
  // reads: one closure scope shared by all of them kept every one's Set and the list of
  // checks alive for each subscriber, however few it used (about 0.3 KB of an idle one).
  const checks: EventPredicate[] = [];
  if (runnerIds != null) checks.push(runnerIn(runnerIds));
  // Matches on the emitting runner's symbol: most variants carry no symbol of their own.
  if (symbols != null) checks.push(symbolIn(symbols));
  if (types != null) checks.push(typeIn(types));
  // Warning is the lowest severity, so a minimum of Warning drops nothing.
  const minRank = minSeverity == null ? 0 : severityRank(minSeverity);
  if (minRank > 0) checks.push(severityAtLeast(minRank));

  // Last: the cheap checks above reject most events before a field is read.
  const fields = compileWhere(where);
  if (fields !== null) checks.push(fields);
  return allOf(checks);
}

/** `event.runnerId` is one of `ids`: one comparison for one id (the usual case), else a Set. */
function runnerIn(ids: readonly string[]): EventPredicate {
  const wanted = new Set(ids);
  if (wanted.size === 1) {
    const only = ids[0]!;
    return (event) => event.runnerId === only;
  }
  return (event) => wanted.has(event.runnerId);
}

/** The emitting runner's symbol is one of `symbols`. */
function symbolIn(symbols: readonly string[]): EventPredicate {
  const wanted = new Set(symbols);
  if (wanted.size === 1) {
    const only = symbols[0]!;
    return (_event, symbol) => symbol === only;
  }
  return (_event, symbol) => wanted.has(symbol);
}

/** The event's type is one of `types`. */
function typeIn(types: readonly EventVariant[]): EventPredicate {
  const wanted = new Set<EventVariant>(types);
  if (wanted.size === 1) {
    const only = types[0]!;
    return (event) => event.type === only;
  }
  return (event) => wanted.has(event.type);
}

/** Anything but an Error event, or an Error of at least `minRank`. */
function severityAtLeast(minRank: number): EventPredicate {
  return (event) => event.type !== 'Error' || severityRank(event.severity) >= minRank;
}

/** Every one of `checks`, in order: unrolled for up to four, the usual counts. */
function allOf(checks: readonly EventPredicate[]): EventPredicate {
  const [a, b, c, d] = checks;
  if (a === undefined) return MATCH_ALL;
  if (b === undefined) return a;
  if (c === undefined) return (event, symbol) => a(event, symbol) && b(event, symbol);
  if (d === undefined) return (event, symbol) => a(event, symbol) && b(event, symbol) && c(event, symbol);
  if (checks.length === 4) return (event, symbol) => a(event, symbol) && b(event, symbol) && c(event, symbol) && d(event, symbol);
  return (event, symbol) => {
    for (const check of checks) if (!check(event, symbol)) return false;
    return true;
  };
}

/** Renders an offending entry for a message; must not throw whatever the value is. */
function show(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return typeof value;
  }
}

/**
 * Says what is wrong with a filter built from untrusted input, or returns null when it
 * is usable. Lists longer than `maxListLength` are refused because each entry costs
 * memory per subscription and time at compile; `where` is bounded by `whereLimits`.
 * The message names the argument, and the index for a bad list entry, e.g.
 * `types[2]: unknown event type "Foo"`, or the place in `where`, e.g.
 * `where.tickReceived.close.in has 51 values; at most 50 are allowed in one in`.
 */
export function validateFilter(
  filter: EventFilter,
  maxListLength: number = MAX_FILTER_LIST,
  whereLimits: WhereLimits = DEFAULT_WHERE_LIMITS,
): string | null {
  const lists = [
    ['runnerIds', filter.runnerIds],
    ['symbols', filter.symbols],
    ['types', filter.types],
  ] as const;
  for (const [name, list] of lists) {
    if (list == null) continue;
    if (!Array.isArray(list)) return `${name} must be a list, got ${show(list)}`;
    if (list.length > maxListLength) {
      return `${name} has ${list.length} entries; at most ${maxListLength} are allowed`;
    }
    for (let i = 0; i < list.length; i++) {
      const value: unknown = list[i];
      if (typeof value !== 'string') return `${name}[${i}] must be a string, got ${show(value)}`;
      if (name === 'types' && !(EVENT_VARIANTS as readonly string[]).includes(value)) {
        return `${name}[${i}]: unknown event type ${show(value)} (expected one of ${EVENT_VARIANTS.join(', ')})`;
      }
    }
  }
  const minSeverity: unknown = filter.minSeverity;
  if (minSeverity != null && !(ERROR_SEVERITIES as readonly unknown[]).includes(minSeverity)) {
    return `minSeverity: unknown severity ${show(minSeverity)} (expected one of ${ERROR_SEVERITIES.join(', ')})`;
  }
  return validateWhere(filter.where, whereLimits);
}
