import type { ErrorSeverity, EventType } from '../client/generated/graphql.js';
import type { EventVariant } from '../events/types.js';

/**
 * Every name of each kind of event: its EventType enum value (what `types:` takes), its
 * GraphQL object type name (what `__typename` says), its wire variant (what recordings
 * and the engine say) and the word `tail` prints before it (`tick`, `stats`: a user
 * types back what they read). The first three differ for one kind only (ERROR /
 * RunnerError / Error), which is exactly where users guessed wrong; keyed by variant so a
 * new one cannot be left out.
 */
export const EVENT_NAMES: Readonly<Record<EventVariant, { readonly type: EventType; readonly typename: string; readonly label: string }>> = {
  RunnerStarted: { type: 'RUNNER_STARTED', typename: 'RunnerStarted', label: 'started' },
  RunnerStopped: { type: 'RUNNER_STOPPED', typename: 'RunnerStopped', label: 'stopped' },
  TickReceived: { type: 'TICK_RECEIVED', typename: 'TickReceived', label: 'tick' },
  StateTransition: { type: 'STATE_TRANSITION', typename: 'StateTransition', label: 'state' },
  ActionExecuted: { type: 'ACTION_EXECUTED', typename: 'ActionExecuted', label: 'action' },
  PositionOpened: { type: 'POSITION_OPENED', typename: 'PositionOpened', label: 'opened' },
  PositionUpdated: { type: 'POSITION_UPDATED', typename: 'PositionUpdated', label: 'mark' },
  PositionClosed: { type: 'POSITION_CLOSED', typename: 'PositionClosed', label: 'closed' },
  Error: { type: 'ERROR', typename: 'RunnerError', label: 'error' },
  StatsUpdate: { type: 'STATS_UPDATE', typename: 'StatsUpdate', label: 'stats' },
};

/**
 * Case, `_` and `-` do not distinguish names: `TICK_RECEIVED`, `TickReceived` and
 * `tick-received` are one key, and so are `RUNNER_ERROR` and `RunnerError`.
 */
const keyOf = (name: string): string => name.toLowerCase().replace(/[_-]/g, '');

const BY_KEY: ReadonlyMap<string, EventType> = new Map(
  (Object.entries(EVENT_NAMES) as [EventVariant, { type: EventType; typename: string; label: string }][]).flatMap(([variant, { type, typename, label }]) => [
    [keyOf(type), type],
    [keyOf(typename), type],
    [keyOf(variant), type],
    [keyOf(label), type],
  ]),
);

/** The EventType enum values, in the order of the event table. */
export const EVENT_TYPE_VALUES: readonly EventType[] = Object.values(EVENT_NAMES).map((n) => n.type);

/**
 * What `--type` accepts, in words, for the help and for the message of a name it does
 * not know.
 */
export const ACCEPTED_TYPE_NAMES =
  `${EVENT_TYPE_VALUES.join(', ')}; ` +
  `or the GraphQL type names (${Object.values(EVENT_NAMES).map((n) => n.typename).join(', ')}), ` +
  `the wire name Error, RUNNER_ERROR, or the word tail prints (${Object.values(EVENT_NAMES).map((n) => n.label).join(', ')}); ` +
  `any case, with or without _ or -`;

/**
 * The EventType of a name a user typed (`ERROR`, `RunnerError`, `Error`, `runner_error`,
 * `tick_received`, `TickReceived`…), or undefined when it names no event type.
 */
export function parseEventType(name: string): EventType | undefined {
  return BY_KEY.get(keyOf(name.trim()));
}

const SEVERITIES: readonly ErrorSeverity[] = ['WARNING', 'ERROR', 'CRITICAL'];

/** The severities `--min-severity` accepts, lowest first. */
export const ACCEPTED_SEVERITIES = `${SEVERITIES.join(', ')} (any case)`;

/** The ErrorSeverity of a name a user typed (`warning`, `Error`, `CRITICAL`), or undefined. */
export function parseSeverity(name: string): ErrorSeverity | undefined {
  const upper = name.trim().toUpperCase();
  return SEVERITIES.find((s) => s === upper);
}
