import { describe, expect, it } from 'vitest';
import { take } from '../support/iterate.js';
import { EventBus } from '../../src/log/bus.js';
import { LatestState } from '../../src/log/latest.js';
import { isGap, type LogEntry, type StreamItem } from '../../src/log/types.js';
import { compileFilter } from '../../src/events/filter.js';
import type { RunnerEvent } from '../../src/events/types.js';

const T = 1_700_000_000_000;
const tick = (runnerId: string, close: number): RunnerEvent => ({
  type: 'TickReceived',
  runnerId,
  symbol: 'AAA',
  data: { symbol: 'AAA', timestamp: T, open: close, high: close, low: close, close, volume: 1, bid: close, ask: close },
});
const position = { symbol: 'AAA', side: 'LONG' as const, quantity: 1, entryPrice: 10, entryTime: T };


describe('snapshot on subscribe', () => {
  it("sends each runner's latest state, open position, tick and stats, marked, in id order, then live", async () => {
    const bus = new EventBus();
    const ids: Record<string, number> = {};
    const publish = (name: string, event: RunnerEvent) => (ids[name] = bus.publish(event, 'AAA').id);
    publish('started', { type: 'RunnerStarted', runnerId: 'a', symbol: 'AAA', timestamp: T });
    publish('toAnalyzing', { type: 'StateTransition', runnerId: 'a', from: 'Idle', to: 'Analyzing', reason: 'started', timestamp: T });
    publish('tick1', tick('a', 10));
    publish('toInPosition', { type: 'StateTransition', runnerId: 'a', from: 'Entering', to: 'InPosition', reason: 'filled', timestamp: T });
    publish('opened', { type: 'PositionOpened', runnerId: 'a', position, timestamp: T });
    publish('bTick', tick('b', 5));
    publish('mark', { type: 'PositionUpdated', runnerId: 'a', currentPrice: 11, unrealizedPnl: 1, timestamp: T });
    publish('bOpened', { type: 'PositionOpened', runnerId: 'b', position, timestamp: T });
    publish('tick2', tick('a', 11));
    publish('bClosed', { type: 'PositionClosed', runnerId: 'b', exitPrice: 5, realizedPnl: -5, reason: 'exit', timestamp: T });
    publish('error', { type: 'Error', runnerId: 'a', error: 'x', severity: 'Warning', timestamp: T });

    const sub = bus.subscribe({ snapshot: true });
    // Live after the snapshot: published after the subscription started.
    const live = bus.publish(tick('a', 12), 'AAA').id;
    const got = (await take(sub, 5)) as LogEntry[];
    expect(got.map((e) => e.id)).toEqual([ids['toInPosition'], ids['bTick'], ids['mark'], ids['tick2'], live]);
    expect(got.map((e) => e.snapshot === true)).toEqual([true, true, true, true, false]);
    // b's position was closed: a closed position is not state. The Error is not state either.
    expect(got.some((e) => e.event.type === 'PositionOpened')).toBe(false);
    sub.return?.();
  });

  it('applies the filter and the scope to the snapshot too', async () => {
    const bus = new EventBus();
    for (const runner of ['a', 'b', 'c']) {
      bus.publish(tick(runner, 1), 'AAA');
      bus.publish({ type: 'StatsUpdate', runnerId: runner, ticksProcessed: 1, actionsExecuted: 0, errorRate: 0, realizedPnl: 0, lastPrice: 1, ticksPerSecond: 1, openPosition: null, timestamp: T }, 'AAA');
    }
    const sub = bus.subscribe({
      snapshot: true,
      filter: compileFilter({ types: ['StatsUpdate'] }),
      index: { runnerIds: ['a', 'b', 'zzz'], runnerAllowed: (id) => id !== 'b' },
    });
    bus.close();
    const got = (await take(sub, 10)) as LogEntry[];
    expect(got.map((e) => [e.event.runnerId, e.event.type, e.snapshot])).toEqual([['a', 'StatsUpdate', true]]);
  });

  it('is refused with replay or after', () => {
    const bus = new EventBus();
    expect(() => bus.subscribe({ snapshot: true, replay: 3 })).toThrow(/snapshot is not combined with replay or after/);
    expect(() => bus.subscribe({ snapshot: true, after: 0 })).toThrow(/snapshot is not combined with replay or after/);
  });

  it('forgets the runner seen longest ago past its bound', () => {
    const latest = new LatestState(2);
    let id = 0;
    for (const runner of ['a', 'b', 'c']) latest.update({ id: ++id, symbol: 'AAA', event: tick(runner, 1) });
    expect(latest.size).toBe(2);
    expect(latest.snapshot(undefined).map((e) => e.event.runnerId)).toEqual(['b', 'c']);
  });

  it('meets live without a gap or a duplicate while a runner publishes as fast as it can', async () => {
    const bus = new EventBus();
    const record = bus.subscribe({ capacity: 1_000_000 });
    let n = 0;
    const publishSome = (count: number) => {
      for (let i = 0; i < count; i++) bus.publish(tick('a', ++n), 'AAA');
    };
    publishSome(1000);
    // Subscriptions start between publications of a busy runner, many times over.
    const subs = Array.from({ length: 50 }, () => {
      publishSome(37);
      return bus.subscribe({ snapshot: true });
    });
    publishSome(500);
    bus.close();
    const all = (await take(record, Number.POSITIVE_INFINITY)).filter((i): i is LogEntry => !isGap(i)).map((e) => e.id);
    for (const sub of subs) {
      const got = (await take(sub, Number.POSITIVE_INFINITY)) as LogEntry[];
      expect(got[0]?.snapshot).toBe(true);
      const start = all.indexOf(got[0]!.id);
      // The snapshot's tick, then every later tick once, in order: what the log holds after it.
      expect(got.map((e) => e.id)).toEqual(all.slice(start));
      expect(got.slice(1).every((e) => e.snapshot === undefined)).toBe(true);
    }
  });
});
