import { describe, expect, it } from 'vitest';
import { ERROR_SEVERITIES, isCritical, isHighFrequency, runnerIdOf, severityRank, timestampOf } from '../../src/events/helpers.js';
import type { ErrorSeverity, RunnerEvent } from '../../src/events/types.js';
import { sampleEvents } from './fixtures.js';

describe('event helpers', () => {
  const events = sampleEvents();
  const of = (type: RunnerEvent['type']) => events.find((e) => e.type === type)!;

  it('reads the runner id and the timestamp of every variant (a tick uses its market data)', () => {
    for (const e of events) expect(runnerIdOf(e)).toBe(e.runnerId);
    expect(timestampOf(of('TickReceived'))).toBe(1_700_000_000_001);
    expect(timestampOf(of('PositionClosed'))).toBe(1_700_000_000_005);
    expect(events.map(timestampOf).every((t) => Number.isInteger(t) && t >= 1_700_000_000_000)).toBe(true);
  });

  it('classifies every variant', () => {
    const table = Object.fromEntries(events.map((e) => [e.type, [isHighFrequency(e), isCritical(e)]]));
    expect(table).toEqual({
      RunnerStarted: [false, false],
      RunnerStopped: [false, true],
      TickReceived: [true, false],
      StateTransition: [false, false],
      ActionExecuted: [false, false],
      PositionOpened: [false, false],
      PositionUpdated: [true, false],
      PositionClosed: [false, false],
      Error: [false, false],
      StatsUpdate: [false, false],
    });
  });

  it('makes an Error critical only at severity Critical', () => {
    const error = (severity: ErrorSeverity): RunnerEvent => ({ type: 'Error', runnerId: 'r', error: 'x', severity, timestamp: 1 });
    expect(ERROR_SEVERITIES.map((s) => isCritical(error(s)))).toEqual([false, false, true]);
  });

  it('orders severities Warning < Error < Critical', () => {
    expect(ERROR_SEVERITIES).toEqual(['Warning', 'Error', 'Critical']);
    expect(severityRank('Warning')).toBeLessThan(severityRank('Error'));
    expect(severityRank('Error')).toBeLessThan(severityRank('Critical'));
  });
});
