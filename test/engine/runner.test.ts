import { describe, expect, it } from 'vitest';
import type { ActionKind } from '../../src/domain/action.js';
import type { Strategy } from '../../src/domain/strategy.js';
import { createStrategy } from '../../src/domain/strategy.js';
import { SymbolRunner } from '../../src/engine/runner.js';
import type { RunnerEvent } from '../../src/events/types.js';
import { tick } from '../fixtures/ticks.js';

/** A strategy that plays back a script of actions, one per tick. */
function scripted(actions: readonly ActionKind[]): Strategy {
  let i = 0;
  return {
    name: 'scripted',
    params: {},
    onTick: () => {
      const action = actions[i++] ?? 'Hold';
      return { action, reason: `script step ${i}` };
    },
  };
}

function makeRunner(strategy: Strategy, extra: { feeRate?: number; stopOnError?: boolean; quantity?: number } = {}) {
  const events: RunnerEvent[] = [];
  let now = 1_700_000_000_000;
  const runner = new SymbolRunner(
    { id: 'r1', symbol: 'TEST', strategy, quantity: extra.quantity ?? 2, clock: () => now, ...extra },
    (e) => events.push(e),
  );
  return { runner, events, advance: (ms: number) => (now += ms) };
}

const T0 = 1_700_000_000_000;

describe('SymbolRunner', () => {
  it('emits the exact sequence of a full enter → update → exit cycle with exact P&L', () => {
    const { runner, events } = makeRunner(scripted(['Hold', 'EnterLong', 'Hold', 'Exit']));
    runner.start();
    runner.processTick(tick(100, T0 + 1));
    runner.processTick(tick(101, T0 + 2)); // buys at the ask 101.5
    runner.processTick(tick(103, T0 + 3)); // marked at the bid 102.5
    runner.processTick(tick(104, T0 + 4)); // sells at the bid 103.5

    expect(events.map((e) => (e.type === 'StateTransition' ? `${e.from}->${e.to}` : e.type))).toEqual([
      'RunnerStarted',
      'Idle->Analyzing',
      'TickReceived',
      'TickReceived',
      'Analyzing->Entering',
      'ActionExecuted',
      'PositionOpened',
      'Entering->InPosition',
      'TickReceived',
      'PositionUpdated',
      'TickReceived',
      'PositionUpdated',
      'InPosition->Exiting',
      'ActionExecuted',
      'PositionClosed',
      'Exiting->Analyzing',
    ]);
    const opened = events.find((e) => e.type === 'PositionOpened');
    expect(opened).toMatchObject({ position: { side: 'LONG', quantity: 2, entryPrice: 101.5, entryTime: T0 + 2 } });
    const updates = events.filter((e) => e.type === 'PositionUpdated');
    expect(updates).toEqual([
      { type: 'PositionUpdated', runnerId: 'r1', currentPrice: 102.5, unrealizedPnl: 2, timestamp: T0 + 3 },
      { type: 'PositionUpdated', runnerId: 'r1', currentPrice: 103.5, unrealizedPnl: 4, timestamp: T0 + 4 },
    ]);
    const closed = events.find((e) => e.type === 'PositionClosed');
    expect(closed).toMatchObject({ exitPrice: 103.5, realizedPnl: 4 });
    expect(runner.stats).toMatchObject({ ticksProcessed: 4, actionsExecuted: 2, realizedPnl: 4, lastPrice: 104 });
    expect(runner.position).toBeNull();
    expect(runner.state).toBe('Analyzing');
  });

  it('computes short P&L with fees exactly', () => {
    const { runner, events } = makeRunner(scripted(['EnterShort', 'Exit']), { feeRate: 0.25, quantity: 4 });
    runner.start();
    runner.processTick(tick(100, T0 + 1)); // sells at the bid 99.5
    runner.processTick(tick(90, T0 + 2)); // buys back at the ask 90.5
    // gross (99.5 - 90.5) * 4 = 36; fees 0.25 * 4 * (99.5 + 90.5) = 190
    expect(events.find((e) => e.type === 'PositionClosed')).toMatchObject({ exitPrice: 90.5, realizedPnl: 36 - 190 });
  });

  it('rejects a bad tick with an Error naming the reason and does not process it', () => {
    const strategyCalls: number[] = [];
    const strategy: Strategy = {
      name: 'spy',
      params: {},
      onTick: (t) => {
        strategyCalls.push(t.close);
        return { action: 'Hold', reason: '' };
      },
    };
    const { runner, events } = makeRunner(strategy);
    runner.start();
    runner.processTick({ ...tick(100, T0), high: 90 }, 'feed.csv:7');
    runner.processTick({ ...tick(100, T0), symbol: 'OTHER' });
    expect(strategyCalls).toEqual([]);
    const errors = events.filter((e) => e.type === 'Error');
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({ severity: 'Error' });
    expect(errors[0]!.type === 'Error' && errors[0]!.error).toMatch(/feed\.csv:7.*high/);
    expect(errors[1]!.type === 'Error' && errors[1]!.error).toMatch(/OTHER does not match/);
    expect(events.some((e) => e.type === 'TickReceived')).toBe(false);
    expect(runner.stats).toMatchObject({ ticksProcessed: 0, ticksRejected: 2, errorRate: 1 });
  });

  it('turns a throwing strategy into an Error and keeps running', () => {
    let n = 0;
    const strategy: Strategy = {
      name: 'flaky',
      params: {},
      onTick: () => {
        if (n++ % 2 === 0) throw new Error('boom');
        return { action: 'Hold', reason: '' };
      },
    };
    const { runner, events } = makeRunner(strategy);
    runner.start();
    for (let i = 0; i < 4; i++) runner.processTick(tick(100 + i, T0 + i));
    const errors = events.filter((e) => e.type === 'Error');
    expect(errors.map((e) => e.type === 'Error' && [e.severity, e.error])).toEqual([
      ['Error', 'strategy flaky failed: boom'],
      ['Error', 'strategy flaky failed: boom'],
    ]);
    expect(runner.state).toBe('Analyzing');
    expect(runner.stats.ticksProcessed).toBe(4);
    expect(runner.stats.errorRate).toBe(0.5);
  });

  it('with stopOnError, escalates to Critical and stops, closing the open position', () => {
    let n = 0;
    const strategy: Strategy = {
      name: 'dies',
      params: {},
      onTick: () => {
        if (n++ === 1) throw new Error('division by zero');
        return { action: n === 1 ? 'EnterLong' : 'Hold', reason: 'go' };
      },
    };
    const { runner, events } = makeRunner(strategy, { stopOnError: true });
    runner.start();
    runner.processTick(tick(100, T0 + 1));
    runner.processTick(tick(102, T0 + 2));
    runner.processTick(tick(103, T0 + 3)); // ignored: stopped
    const tail = events.slice(-8).map((e) => (e.type === 'StateTransition' ? `${e.from}->${e.to}` : e.type));
    expect(tail).toEqual([
      'TickReceived',
      'PositionUpdated',
      'Error',
      'InPosition->Exiting',
      'ActionExecuted',
      'PositionClosed',
      'Exiting->Stopped',
      'RunnerStopped',
    ]);
    expect(events.find((e) => e.type === 'Error')).toMatchObject({ severity: 'Critical', error: 'strategy dies failed: division by zero' });
    const last = events.at(-1);
    expect(last).toMatchObject({ type: 'RunnerStopped', reason: 'stopped on error: strategy dies failed: division by zero' });
    expect(events.filter((e) => e.type === 'PositionClosed')).toHaveLength(1);
    expect(runner.state).toBe('Stopped');
    expect(runner.position).toBeNull();
    expect(events.filter((e) => e.type === 'TickReceived')).toHaveLength(2);
  });

  it('ignores impossible requests from a strategy with a Warning', () => {
    const { runner, events } = makeRunner(scripted(['Exit', 'EnterLong', 'EnterShort']));
    runner.start();
    for (let i = 0; i < 3; i++) runner.processTick(tick(100, T0 + i));
    const warnings = events.filter((e) => e.type === 'Error' && e.severity === 'Warning');
    expect(warnings).toHaveLength(2);
    expect(runner.position?.side).toBe('LONG');
  });

  it('reports stats with ticks per second over the interval', () => {
    const { runner, events, advance } = makeRunner(scripted(['EnterLong']));
    runner.start();
    for (let i = 0; i < 50; i++) runner.processTick(tick(100, T0 + i));
    advance(500);
    const stats = runner.emitStats();
    expect(stats).toMatchObject({
      type: 'StatsUpdate',
      ticksProcessed: 50,
      actionsExecuted: 1,
      errorRate: 0,
      lastPrice: 100,
      ticksPerSecond: 100,
      openPosition: { side: 'LONG', entryPrice: 100.5 },
    });
    expect(events.at(-1)).toBe(stats);
  });

  it('runs a real strategy end to end: EMA crossover trades a V-shaped series', () => {
    const { runner, events } = makeRunner(createStrategy('ema_crossover', { fastPeriod: 2, slowPeriod: 4, barSeconds: 0 }));
    runner.start();
    const closes = [100, 99, 98, 97, 96, 97, 99, 102, 105, 108, 104, 99, 95, 92];
    closes.forEach((c, i) => runner.processTick(tick(c, T0 + i)));
    const actions = events.filter((e) => e.type === 'ActionExecuted').map((e) => e.type === 'ActionExecuted' && e.action.kind);
    expect(actions.length).toBeGreaterThanOrEqual(2);
    expect(actions[0]).toBe('EnterLong');
    expect(actions[1]).toBe('Exit');
  });
});
