import type { ErrorSeverity, EventType, EventsSubscriptionVariables } from '../client/generated/graphql.js';

/** The log's filter as the form holds it: empty strings mean "any". */
export interface LogFilter {
  readonly runner: string;
  readonly type: string;
  readonly minSeverity: string;
}

/** Every event type, in the order the form lists them. */
export const EVENT_TYPES: readonly EventType[] = [
  'RUNNER_STARTED',
  'RUNNER_STOPPED',
  'TICK_RECEIVED',
  'STATE_TRANSITION',
  'ACTION_EXECUTED',
  'POSITION_OPENED',
  'POSITION_UPDATED',
  'POSITION_CLOSED',
  'ERROR',
  'STATS_UPDATE',
];

/** The severities, lowest first. */
export const SEVERITIES: readonly ErrorSeverity[] = ['WARNING', 'ERROR', 'CRITICAL'];

/** How often high-frequency events reach the page at most, per runner and type. */
export const THROTTLE_MS = 250;

/** Events the log shows when it (re)subscribes, so it never starts empty. */
export const LOG_REPLAY = 100;

/**
 * The subscription arguments of a log filter: the server filters, so a narrow filter
 * costs the page nothing for the events it does not want.
 */
export function logVariables(filter: LogFilter): EventsSubscriptionVariables {
  const type = EVENT_TYPES.find((t) => t === filter.type);
  const minSeverity = SEVERITIES.find((s) => s === filter.minSeverity);
  return {
    throttleMs: THROTTLE_MS,
    replay: LOG_REPLAY,
    ...(filter.runner !== '' ? { runnerIds: [filter.runner] } : {}),
    ...(type !== undefined ? { types: [type] } : {}),
    ...(minSeverity !== undefined ? { minSeverity } : {}),
  };
}
