import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, LOG_REPLAY, logVariables, SEVERITIES, THROTTLE_MS } from '../../src/dashboard/filters.js';
import { readFileSync } from 'node:fs';

describe('log filter → subscription arguments', () => {
  it('sends only what is chosen, always throttled and with a short replay', () => {
    expect(logVariables({ runner: '', type: '', minSeverity: '' })).toEqual({ throttleMs: THROTTLE_MS, replay: LOG_REPLAY });
    expect(logVariables({ runner: 'btc_ema', type: 'ERROR', minSeverity: 'CRITICAL' })).toEqual({
      throttleMs: THROTTLE_MS,
      replay: LOG_REPLAY,
      runnerIds: ['btc_ema'],
      types: ['ERROR'],
      minSeverity: 'CRITICAL',
    });
  });

  it('ignores values that are not event types or severities (a tampered form)', () => {
    expect(logVariables({ runner: '', type: 'BOGUS', minSeverity: 'LOUD' })).toEqual({ throttleMs: THROTTLE_MS, replay: LOG_REPLAY });
  });

  it('offers exactly the schema\'s event types and severities', () => {
    const sdl = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    const values = (name: string) =>
      [...(/enum (\w+) \{([^}]*)\}/g[Symbol.matchAll](sdl))].find((m) => m[1] === name)![2]!.split('\n').map((l) => l.trim()).filter((l) => /^[A-Z_]+$/.test(l));
    expect([...EVENT_TYPES].sort()).toEqual(values('EventType').sort());
    expect(SEVERITIES).toEqual(values('ErrorSeverity'));
  });
});
