import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/log/bus.js';
import { isGap, type LogEntry } from '../../src/log/types.js';
import { TradingEngine } from '../../src/engine/engine.js';
import { compileFilter } from '../../src/events/filter.js';

describe('engine → bus', () => {
  it('streams the events of several runners to one subscriber, and the same events to another, independently', async () => {
    const bus = new EventBus();
    const engine = new TradingEngine(bus);
    const all = bus.subscribe();
    const lifecycle = bus.subscribe({ filter: compileFilter({ types: ['RunnerStarted', 'RunnerStopped'] }) });
    engine.addRunner({ id: 'a', symbol: 'AAA', feed: { kind: 'simulated', ticksPerSecond: 1000, seed: 1 } });
    engine.addRunner({ id: 'b', symbol: 'BBB', strategy: 'mean_reversion', feed: { kind: 'simulated', ticksPerSecond: 1000, seed: 2 } });
    const seen: LogEntry[] = [];
    for await (const entry of all) {
      if (isGap(entry)) throw new Error(`unexpected gap: ${entry.reason}`);
      seen.push(entry);
      if (seen.filter((e) => e.event.type === 'TickReceived').length >= 200) break;
    }
    await engine.stopAll('test over');
    const ids = seen.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(new Set(seen.map((e) => e.event.runnerId))).toEqual(new Set(['a', 'b']));
    expect(seen.every((e) => e.symbol === (e.event.runnerId === 'a' ? 'AAA' : 'BBB'))).toBe(true);
    const life: string[] = [];
    while (lifecycle.size > 0) {
      const next = await lifecycle.next();
      if (next.done === true) break;
      const entry = next.value;
      if (!isGap(entry)) life.push(`${entry.event.type}:${entry.event.runnerId}`);
    }
    expect(life.sort()).toEqual(['RunnerStarted:a', 'RunnerStarted:b', 'RunnerStopped:a', 'RunnerStopped:b']);
    expect(bus.subscriberCount).toBe(1);
    lifecycle.close();
    expect(bus.subscriberCount).toBe(0);
  });
});
