import { describe, expect, it } from 'vitest';
import { conflationKeyOf, EventBus, internedRunners, MAX_INTERNED_RUNNERS } from '../../src/log/bus.js';
import { MAX_STOPPED_SNAPSHOT_RUNNERS } from '../../src/log/latest.js';
import type { RunnerEvent } from '../../src/events/types.js';

/**
 * A server that runs for days starts and stops runners all along (the soak: one every
 * 15 s, each with a new id): what the log keeps per runner must not grow with every
 * runner it ever met.
 */

const T = 1_700_000_000_000;
const RUNNERS = 2000;

/** What a short-lived runner publishes: started, a state, a tick, stats, stopped. */
function lifeOf(runnerId: string): RunnerEvent[] {
  const data = { symbol: 'AAA', timestamp: T, open: 1, high: 1, low: 1, close: 1, volume: 1, bid: 1, ask: 1 };
  return [
    { type: 'RunnerStarted', runnerId, symbol: 'AAA', timestamp: T },
    { type: 'StateTransition', runnerId, from: 'Idle', to: 'Analyzing', reason: 'started', timestamp: T },
    { type: 'TickReceived', runnerId, symbol: 'AAA', data },
    { type: 'StatsUpdate', runnerId, ticksProcessed: 1, actionsExecuted: 0, errorRate: 0, timestamp: T } as RunnerEvent,
    { type: 'RunnerStopped', runnerId, reason: 'soak', timestamp: T },
  ];
}

describe(`${RUNNERS} runners started and stopped one after another`, () => {
  it(`the snapshot keeps the running runners and the ${MAX_STOPPED_SNAPSHOT_RUNNERS} stopped last, not every runner ever seen`, () => {
    const bus = new EventBus({ historySize: 1000 });
    for (const event of lifeOf('steady').slice(0, 4)) bus.publish(event, 'AAA');
    for (let n = 0; n < RUNNERS; n++) for (const event of lifeOf(`soak_${n}`)) bus.publish(event, 'AAA');
    const kept = new Set(bus.latestEntries().map((e) => e.event.runnerId));
    expect(kept.size).toBe(MAX_STOPPED_SNAPSHOT_RUNNERS + 1);
    // The running one, and those stopped last.
    expect(kept.has('steady')).toBe(true);
    expect(kept.has(`soak_${RUNNERS - 1}`)).toBe(true);
    expect(kept.has(`soak_${RUNNERS - MAX_STOPPED_SNAPSHOT_RUNNERS}`)).toBe(true);
    expect(kept.has(`soak_${RUNNERS - MAX_STOPPED_SNAPSHOT_RUNNERS - 1}`)).toBe(false);
    // A stopped runner started again is running: no longer among the stopped that make way.
    for (const event of lifeOf('soak_0').slice(0, 3)) bus.publish(event, 'AAA');
    for (let n = RUNNERS; n < RUNNERS + MAX_STOPPED_SNAPSHOT_RUNNERS; n++) for (const event of lifeOf(`soak_${n}`)) bus.publish(event, 'AAA');
    const after = new Set(bus.latestEntries().map((e) => e.event.runnerId));
    expect([after.has('soak_0'), after.has('steady'), after.size]).toEqual([true, true, MAX_STOPPED_SNAPSHOT_RUNNERS + 2]);
    bus.close();
  });

  it(`the conflation keys interned for them stay within ${MAX_INTERNED_RUNNERS} runners, and stay the same string per runner and type`, () => {
    const bus = new EventBus({ historySize: 1000 });
    for (let n = 0; n < RUNNERS * 3; n++) {
      const entry = bus.publish(lifeOf(`churn_${n}`)[2]!, 'AAA');
      expect(conflationKeyOf(entry)).toBe(`churn_${n}\u0000TickReceived`);
      expect(internedRunners()).toBeLessThanOrEqual(MAX_INTERNED_RUNNERS);
    }
    const tick = bus.publish(lifeOf('steady')[2]!, 'AAA');
    expect(conflationKeyOf(tick)).toBe(conflationKeyOf(tick));
    bus.close();
  });
});
