import { describe, expect, it } from 'vitest';
import { ERROR_SEVERITIES, isCritical, isHighFrequency, runnerIdOf, severityRank, timestampOf } from '../../src/events/helpers.js';
import { EVENT_VARIANTS, type ErrorSeverity, type EventVariant, type RunnerEvent } from '../../src/events/types.js';
import { sampleEvents } from './fixtures.js';

const events = sampleEvents();
const of = (type: EventVariant): RunnerEvent => events.find((e) => e.type === type)!;

// [variant, runnerId, timestamp, high-frequency, critical] for the fixture of each variant.
const TABLE: [EventVariant, string, number, boolean, boolean][] = [
  ['RunnerStarted', 'btc_ema', 1_700_000_000_000, false, false],
  ['RunnerStopped', 'btc_ema', 1_700_000_000_009, false, true],
  ['TickReceived', 'btc_ema', 1_700_000_000_001, true, false],
  ['StateTransition', 'btc_ema', 1_700_000_000_002, false, false],
  ['ActionExecuted', 'btc_ema', 1_700_000_000_003, false, false],
  ['PositionOpened', 'btc_ema', 1_700_000_000_003, false, false],
  ['PositionUpdated', 'btc_ema', 1_700_000_000_004, true, false],
  ['PositionClosed', 'btc_ema', 1_700_000_000_005, false, false],
  ['Error', 'btc_ema', 1_700_000_000_006, false, false],
  ['StatsUpdate', 'btc_ema', 1_700_000_000_007, false, false],
];

describe('event helpers', () => {
  it('covers every variant', () => {
    expect(TABLE.map(([variant]) => variant)).toEqual(EVENT_VARIANTS);
  });

  it.each(TABLE)('%s: runner %s, timestamp %d, high-frequency %s, critical %s', (variant, runnerId, timestamp, high, critical) => {
    const event = of(variant);
    expect(runnerIdOf(event)).toBe(runnerId);
    expect(timestampOf(event)).toBe(timestamp);
    expect(isHighFrequency(event)).toBe(high);
    expect(isCritical(event)).toBe(critical);
  });

  it('takes the timestamp of a tick from its market data', () => {
    const tick = of('TickReceived');
    if (tick.type !== 'TickReceived') throw new Error('fixture');
    const later = { ...tick, data: { ...tick.data, timestamp: 42 } };
    expect(timestampOf(later)).toBe(42);
  });

  it('reads the runner id of other runners too', () => {
    expect(runnerIdOf(events.at(-1)!)).toBe('sol_meanrev');
  });

  it.each<[ErrorSeverity, boolean]>([
    ['Warning', false],
    ['Error', false],
    ['Critical', true],
  ])('an Error of severity %s is critical: %s, and never high-frequency', (severity, critical) => {
    const error: RunnerEvent = { type: 'Error', runnerId: 'r', error: 'x', severity, timestamp: 1 };
    expect(isCritical(error)).toBe(critical);
    expect(isHighFrequency(error)).toBe(false);
    expect(timestampOf(error)).toBe(1);
  });

  it('orders severities Warning < Error < Critical', () => {
    expect(ERROR_SEVERITIES).toEqual(['Warning', 'Error', 'Critical']);
    expect(ERROR_SEVERITIES.map(severityRank)).toEqual([0, 1, 2]);
    expect(severityRank('Warning')).toBeLessThan(severityRank('Error'));
    expect(severityRank('Error')).toBeLessThan(severityRank('Critical'));
  });
});
