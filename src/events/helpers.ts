import type { ErrorSeverity, EventVariant, RunnerEvent } from './types.js';

/** Severities from least to most severe; the index is the rank. */
export const ERROR_SEVERITIES: readonly ErrorSeverity[] = ['Warning', 'Error', 'Critical'];

const SEVERITY_RANK: Readonly<Record<ErrorSeverity, number>> = { Warning: 0, Error: 1, Critical: 2 };

/** Rank of a severity: Warning 0 < Error 1 < Critical 2. */
export function severityRank(severity: ErrorSeverity): number {
  return SEVERITY_RANK[severity];
}

/** The variants that arrive at tick rate and may be conflated or shed under load. */
export const HIGH_FREQUENCY_VARIANTS: ReadonlySet<EventVariant> = new Set<EventVariant>([
  'TickReceived',
  'PositionUpdated',
]);

/** The id of the runner that emitted the event. */
export function runnerIdOf(event: RunnerEvent): string {
  return event.runnerId;
}

/** Milliseconds since the Unix epoch; a tick carries its market data's timestamp. */
export function timestampOf(event: RunnerEvent): number {
  return event.type === 'TickReceived' ? event.data.timestamp : event.timestamp;
}

/** True for events emitted at tick rate (TickReceived, PositionUpdated). */
export function isHighFrequency(event: RunnerEvent): boolean {
  return event.type === 'TickReceived' || event.type === 'PositionUpdated';
}

/**
 * True for events that must always reach a subscriber: never conflated, never dropped.
 * RunnerStopped, and Error with severity Critical.
 */
export function isCritical(event: RunnerEvent): boolean {
  return event.type === 'RunnerStopped' || (event.type === 'Error' && event.severity === 'Critical');
}
