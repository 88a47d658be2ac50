import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Collect } from '../collect.js';
import { EventBus } from '../../../src/log/bus.js';
import { isGap, type LogEntry } from '../../../src/log/types.js';
import { EngineError } from '../../../src/engine/config.js';
import { TradingEngine, type EventSink, type LocalEngine } from '../../../src/engine/engine.js';
import { ThreadedEngine, type ThreadedEngineOptions } from '../../../src/engine/thread/threaded.js';
import { compileFilter } from '../../../src/events/filter.js';
import { timestampOf } from '../../../src/events/helpers.js';
import type { RunnerEvent } from '../../../src/events/types.js';
import { ConfigError, loadServerConfig } from '../../../src/app/config.js';

/** Waits for a condition, checking at every turn of the event loop (never a fixed sleep). */
async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The error a start is refused with, whether the engine throws it or rejects with it. */
async function refusal(start: () => unknown): Promise<EngineError> {
  try {
    await start();
  } catch (err) {
    expect(err).toBeInstanceOf(EngineError);
    return err as EngineError;
  }
  throw new Error('expected an EngineError');
}

/** Blocks this thread, as a flood of socket work would. */
function stall(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy: nothing on this thread's event loop runs meanwhile
  }
}

/**
 * A runner's events make sense in the order they arrived: RunnerStarted first,
 * RunnerStopped last and once, every StateTransition starts where the last one ended,
 * and tick timestamps never go back.
 */
function expectCoherent(events: readonly RunnerEvent[]): void {
  expect(events[0]?.type).toBe('RunnerStarted');
  expect(events.at(-1)?.type).toBe('RunnerStopped');
  expect(events.filter((e) => e.type === 'RunnerStopped')).toHaveLength(1);
  let state = 'Idle';
  let lastTick = 0;
  for (const e of events) {
    if (e.type === 'StateTransition') {
      expect(e.from).toBe(state);
      state = e.to;
    }
    if (e.type === 'TickReceived') {
      expect(e.data.timestamp).toBeGreaterThanOrEqual(lastTick);
      lastTick = e.data.timestamp;
    }
  }
  expect(state).toBe('Stopped');
}

/** Engine threads load the sources through tsx: on a busy machine that alone takes seconds. */
const THREAD_TEST_MS = 90_000;

const engines: LocalEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
}, THREAD_TEST_MS);

type Make = (sink: EventSink, options?: ThreadedEngineOptions) => LocalEngine;
const track = <T extends LocalEngine>(engine: T): T => {
  engines.push(engine);
  return engine;
};
const KINDS: readonly [string, Make][] = [
  ['in-thread TradingEngine', (sink, options) => track(new TradingEngine(sink, options))],
  ['ThreadedEngine, 1 thread', (sink, options) => track(new ThreadedEngine(sink, { ...options, threads: 1 }))],
  ['ThreadedEngine, 2 threads', (sink, options) => track(new ThreadedEngine(sink, { ...options, threads: 2 }))],
];

describe.each(KINDS)('%s', (_name, make) => {
  it('publishes each runner’s events in order, with their symbols, and stops and restarts runners', async () => {
    const sink = new Collect();
    const engine = make(sink);
    await engine.addRunner({ id: 'a', symbol: 'BTCUSDT', feed: { kind: 'simulated', ticksPerSecond: 500 } });
    await engine.addRunner({ id: 'b', symbol: 'ETHUSDT', strategy: 'mean_reversion', feed: { kind: 'simulated', ticksPerSecond: 500 } });
    await until(() => sink.ticks('a') > 20 && sink.ticks('b') > 20, 'ticks of a and b');
    const stopped = await engine.stopRunner('a', 'enough');
    expect(stopped).toMatchObject({ state: 'Stopped', stopReason: 'enough' });
    // Resolved once its RunnerStopped is published.
    expect(sink.of('a').at(-1)).toMatchObject({ type: 'RunnerStopped', reason: 'enough' });
    const countA = sink.of('a').length;
    const countB = sink.of('b').length;
    await until(() => sink.of('b').length > countB + 3, 'more of b');
    expect(sink.of('a')).toHaveLength(countA);
    expect(sink.events.every((e) => e.symbol === (e.event.runnerId === 'a' ? 'BTCUSDT' : 'ETHUSDT'))).toBe(true);
    await expect(refusal(() => engine.addRunner({ id: 'b', symbol: 'X' }))).resolves.toMatchObject({ code: 'DUPLICATE_RUNNER', message: 'runner "b" is already running' });
    const again = await engine.addRunner({ id: 'a', symbol: 'SOLUSDT', feed: { kind: 'simulated', ticksPerSecond: 500 } });
    expect(again).toMatchObject({ id: 'a', symbol: 'SOLUSDT', state: 'Analyzing' });
    expect(engine.listRunners().map((r) => r.id)).toEqual(['a', 'b']);
    await until(() => sink.of('a').length > countA + 5, 'the restarted a');
    await engine.stopAll('test over');
    expect(engine.listRunners().every((r) => r.state === 'Stopped')).toBe(true);
    const first = sink.of('a').slice(0, countA);
    expectCoherent(first);
    expectCoherent(sink.of('a').slice(countA));
    expectCoherent(sink.of('b'));
    await expect(engine.stopRunner('ghost')).rejects.toMatchObject({ code: 'UNKNOWN_RUNNER', message: 'no runner with id "ghost"' });
  }, THREAD_TEST_MS);

  it('refuses bad configurations and starts over the limits with the in-thread engine’s errors', async () => {
    const engine = make(new Collect(), { maxRunners: 2, maxTotalTicksPerSecond: 1000 });
    expect(await refusal(() => engine.addRunner({ id: 'q', symbol: 'S', quantity: -1 }))).toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(/^runner "q": quantity: Too small/) });
    expect(await refusal(() => engine.addRunner({ id: 'u', symbol: 'S', strategy: 'moon' }))).toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(/moon/) });
    expect(await refusal(() => engine.addRunner({ id: 'r', symbol: 'X', feed: { kind: 'replay', path: '/nowhere/at/all/ticks.csv' } }))).toMatchObject({
      code: 'INVALID_CONFIG',
      message: 'runner "r": feed.path: no such file "ticks.csv"',
    });
    expect((await refusal(() => engine.addRunner({ id: 'fast', symbol: 'X', feed: { kind: 'simulated', ticksPerSecond: 100_000 } }))).message).toBe(
      `runner "fast": feed.ticksPerSecond 100000 is over the engine's limit of 1000 ticks/s for all runners together (MAX_TOTAL_TICKS_PER_SECOND)`,
    );
    // Spread over threads, the runners still count against one total.
    await engine.addRunner({ id: 'a', symbol: 'X', feed: { kind: 'simulated', ticksPerSecond: 600 } });
    expect((await refusal(() => engine.addRunner({ id: 'b', symbol: 'X', feed: { kind: 'simulated', ticksPerSecond: 500 } }))).message).toBe(
      'runner "b": feed.ticksPerSecond 500 would take the engine to 1100 ticks/s, over its limit of 1000 (MAX_TOTAL_TICKS_PER_SECOND); 600 are in use',
    );
    await engine.addRunner({ id: 'b', symbol: 'X', feed: { kind: 'simulated', ticksPerSecond: 100 } });
    expect((await refusal(() => engine.addRunner({ id: 'c', symbol: 'X', feed: { kind: 'simulated', ticksPerSecond: 10 } }))).message).toBe(
      'runner "c": the engine already runs 2 runners, its limit (MAX_RUNNERS=2); stop one first',
    );
    await engine.stopRunner('a');
    await engine.addRunner({ id: 'c', symbol: 'X', feed: { kind: 'simulated', ticksPerSecond: 10 } });
    expect(engine.listRunners().map((r) => r.id)).toEqual(['a', 'b', 'c']);
    // Refused starts leave nothing behind.
    expect(engine.getRunner('q')).toBeUndefined();
    expect(engine.getRunner('fast')).toBeUndefined();
  }, THREAD_TEST_MS);

  it('a runner that fails stops alone; the others keep going', async () => {
    const sink = new Collect();
    const engine = make(sink);
    const dir = mkdtempSync(join(tmpdir(), 'tickwire-threaded-'));
    const path = join(dir, 'bad.jsonl');
    writeFileSync(path, Array.from({ length: 50 }, (_, i) => `{"bad": ${i}}`).join('\n'));
    await engine.addRunner({ id: 'broken', symbol: 'BTCUSDT', stopOnError: true, feed: { kind: 'replay', path } });
    await engine.addRunner({ id: 'healthy', symbol: 'ETHUSDT', feed: { kind: 'simulated', ticksPerSecond: 1000 } });
    await until(() => engine.getRunner('broken')!.state === 'Stopped', 'the broken runner to stop');
    const before = sink.of('healthy').length;
    await until(() => sink.of('healthy').length > before + 10, 'the healthy runner to go on');
    expect(sink.of('broken').find((e) => e.type === 'Error')).toMatchObject({ severity: 'Critical', error: 'bad feed row (bad.jsonl:1): missing field timestamp' });
    expect(sink.of('broken').at(-1)).toMatchObject({ type: 'RunnerStopped' });
    expect(engine.getRunner('broken')!.stopReason).toMatch(/^stopped on error: bad feed row/);
    expect(engine.getRunner('healthy')!.state).not.toBe('Stopped');
  }, THREAD_TEST_MS);

  it('the runner view is never behind the events published, and ends equal to them', async () => {
    let engine: LocalEngine | undefined;
    const ticks = new Map<string, number>();
    const realized = new Map<string, number>();
    const behind: string[] = [];
    // Checked at the moment each event is published: what a subscriber could then query.
    const sink: EventSink = {
      publish(event) {
        const view = engine?.getRunner(event.runnerId);
        if (view === undefined) return;
        if (event.type === 'TickReceived') ticks.set(event.runnerId, (ticks.get(event.runnerId) ?? 0) + 1);
        if (event.type === 'PositionClosed') realized.set(event.runnerId, (realized.get(event.runnerId) ?? 0) + event.realizedPnl);
        const seen = ticks.get(event.runnerId) ?? 0;
        if (view.stats.ticksProcessed < seen) behind.push(`${event.runnerId}: view ${view.stats.ticksProcessed} ticks, ${seen} published`);
      },
    };
    engine = make(sink);
    // Quick EMAs trade often, so positions open and close during the test.
    const fast = { strategy: 'ema_crossover', params: { fastPeriod: 2, slowPeriod: 3, barSeconds: 0 } };
    await engine.addRunner({ id: 'v1', symbol: 'BTCUSDT', ...fast, feed: { kind: 'simulated', ticksPerSecond: 1000 } });
    await engine.addRunner({ id: 'v2', symbol: 'ETHUSDT', ...fast, feed: { kind: 'simulated', ticksPerSecond: 1000 } });
    await until(() => (realized.size === 2 && (ticks.get('v1') ?? 0) > 300 && (ticks.get('v2') ?? 0) > 300), 'trades of both runners');
    await engine.stopAll();
    expect(behind.slice(0, 5)).toEqual([]);
    for (const id of ['v1', 'v2']) {
      const view = engine.getRunner(id)!;
      expect(view.stats.ticksProcessed).toBe(ticks.get(id));
      expect(view.stats.realizedPnl).toBeCloseTo(realized.get(id) ?? 0, 6);
      expect(view.position).toBeNull();
    }
  }, THREAD_TEST_MS);
});

describe('ThreadedEngine', () => {
  it('ENGINE_THREADS=2 spreads runners over two threads; every runner’s events reach the bus in order', async () => {
    const bus = new EventBus();
    const engine = track(new ThreadedEngine(bus, { threads: 2 }));
    const all = bus.subscribe();
    const ids = ['s0', 's1', 's2', 's3'];
    for (const [i, id] of ids.entries()) await engine.addRunner({ id, symbol: `SYM${i}`, feed: { kind: 'simulated', ticksPerSecond: 500 } });
    expect(ids.map((id) => engine.threadOf(id)).sort()).toEqual([0, 0, 1, 1]);
    const seen: LogEntry[] = [];
    const ticks = new Map<string, number>();
    const take = async () => {
      const next = await all.next();
      if (next.done === true) throw new Error('the subscription ended');
      if (isGap(next.value)) throw new Error(`unexpected gap: ${next.value.reason}`);
      seen.push(next.value);
      const event = next.value.event;
      if (event.type === 'TickReceived') ticks.set(event.runnerId, (ticks.get(event.runnerId) ?? 0) + 1);
    };
    while (!ids.every((id) => (ticks.get(id) ?? 0) >= 100)) await take();
    await engine.stopAll('test over');
    // stopAll resolved: every RunnerStopped is in the bus, so in this subscriber's queue.
    while (all.size > 0) await take();
    all.close();
    const logIds = seen.map((e) => e.id);
    expect(logIds).toEqual([...logIds].sort((x, y) => x - y));
    for (const [i, id] of ids.entries()) {
      const mine = seen.filter((e) => e.event.runnerId === id);
      expect(mine.every((e) => e.symbol === `SYM${i}`)).toBe(true);
      expectCoherent(mine.map((e) => e.event));
    }
  }, THREAD_TEST_MS);

  it('a runner keeps its rate while the main thread is blocked: ticks are stamped during the stall', async () => {
    const sink = new Collect();
    const engine = track(new ThreadedEngine(sink, { threads: 1 }));
    await engine.addRunner({ id: 'steady', symbol: 'BTCUSDT', feed: { kind: 'simulated', ticksPerSecond: 200 } });
    await until(() => sink.ticks('steady') > 10, 'first ticks');
    const from = Date.now();
    stall(1000);
    const to = Date.now();
    // What the thread produced meanwhile arrives once this thread is free again.
    await until(() => sink.of('steady').some((e) => e.type === 'TickReceived' && e.data.timestamp > to), 'ticks after the stall');
    const during = sink.of('steady').filter((e) => e.type === 'TickReceived' && e.data.timestamp > from + 100 && e.data.timestamp < to - 100);
    // 200 ticks/s over 800 ms is 160; a busy machine may slow the thread, not stop it.
    expect(during.length).toBeGreaterThan(0);
    await engine.stopAll();
    expectCoherent(sink.of('steady'));
  }, THREAD_TEST_MS);

  it('above the hand-off bound, ticks are dropped, never other events, and every loss is reported with its count', async () => {
    const sink = new Collect();
    const engine = track(new ThreadedEngine(sink, { threads: 1, handOffBound: 50 }));
    await engine.addRunner({ id: 'flood', symbol: 'BTCUSDT', feed: { kind: 'simulated', ticksPerSecond: 2000 } });
    await until(() => sink.ticks('flood') > 10, 'first ticks');
    // 300 ms of a blocked main thread is some 600 ticks: far over a bound of 50.
    stall(300);
    await until(() => sink.of('flood').some((e) => e.type === 'Error'), 'the loss report');
    await engine.stopRunner('flood');
    const events = sink.of('flood');
    const reports = events.filter((e) => e.type === 'Error');
    expect(reports.length).toBeGreaterThan(0);
    let droppedTicks = 0;
    for (const report of reports) {
      expect(report).toMatchObject({
        severity: 'Error',
        error: expect.stringMatching(/^\d+ high-frequency events of this runner \(\d+ TickReceived, \d+ PositionUpdated\) were dropped before publication: the server's main thread was more than 50 events behind the engine thread/),
      });
      if (report.type === 'Error') droppedTicks += Number(/\((\d+) TickReceived/.exec(report.error)![1]);
    }
    expect(droppedTicks).toBeGreaterThan(0);
    // Nothing lost silently: every tick the runner processed was published or counted as dropped.
    expect(sink.ticks('flood') + droppedTicks).toBe(engine.getRunner('flood')!.stats.ticksProcessed);
    // Standard and critical events all arrived, in order.
    expectCoherent(events);
    const transitions = events.filter((e) => e.type === 'StateTransition').length;
    const actions = events.filter((e) => e.type === 'ActionExecuted').length;
    expect(actions).toBe(engine.getRunner('flood')!.stats.actionsExecuted);
    expect(transitions).toBeGreaterThan(1);
  }, THREAD_TEST_MS);

  it('a main thread far behind publishes what waited in slices: its other work gets turns before the backlog is through', async () => {
    let published = 0;
    let stallEnd = Number.POSITIVE_INFINITY;
    let latest = 0;
    /** Events of the backlog (stamped before the stall ended), and how many were published before a turn came. */
    let backlog = 0;
    let beforeTurn: number | null = null;
    let armed = false;
    const sink: EventSink = {
      publish: (event) => {
        published++;
        const stamp = timestampOf(event);
        latest = Math.max(latest, stamp);
        if (stamp <= stallEnd) backlog++;
        // Each publish costs ~10 µs here, as a server's subscribers and store make it cost.
        const end = performance.now() + 0.01;
        while (performance.now() < end) {
          // the cost of a publish
        }
        if (armed) {
          // The first publish after the stall asks for a turn of the event loop.
          armed = false;
          const from = published;
          setImmediate(() => (beforeTurn = published - from));
        }
      },
    };
    const engine = track(new ThreadedEngine(sink, { threads: 1 }));
    await engine.addRunner({ id: 'flood', symbol: 'BTCUSDT', feed: { kind: 'simulated', ticksPerSecond: 19_000 } });
    await until(() => published > 1000, 'first events');
    // Tens of thousands of events wait in the port meanwhile (up to the hand-off bound).
    stall(2000);
    stallEnd = Date.now();
    backlog = 0;
    armed = true;
    await until(() => beforeTurn !== null, 'a turn of the event loop');
    // The backlog is through once events stamped well after the stall are published.
    await until(() => latest > stallEnd + 200, 'the backlog published');
    await engine.stopRunner('flood');
    expect(backlog, 'events that waited through the stall').toBeGreaterThan(5000);
    // Before: Node hands the listener every message queued, and all were published before
    // anything else ran (a starved server's /health and SIGTERM waited seconds).
    expect(beforeTurn, `published before the first turn, of a backlog of ${backlog}`).toBeLessThan(backlog / 2);
  }, THREAD_TEST_MS);

  it('no turn of the event loop publishes more than about 2 ms of events, however large the batches and the backlog', async () => {
    let published = 0;
    let stallEnd = Number.POSITIVE_INFINITY;
    let latest = 0;
    let backlog = 0;
    /** Events published since the last turn of the loop, and the most in one turn while the backlog went out. */
    let inTurn = 0;
    let mostInTurn = 0;
    let measuring = false;
    const sink: EventSink = {
      publish: (event) => {
        published++;
        const stamp = timestampOf(event);
        latest = Math.max(latest, stamp);
        if (stamp <= stallEnd) backlog++;
        // Each publish costs at least 10 µs, as a server's subscribers and store make it
        // cost: 2 ms is some 200 of them, whatever the machine.
        const end = performance.now() + 0.01;
        while (performance.now() < end) {
          // the cost of a publish
        }
        if (!measuring) return;
        // A turn ends at the next check phase: an immediate set now runs once this callback
        // and whatever else runs in the same phase are done.
        if (inTurn++ === 0) {
          setImmediate(() => {
            mostInTurn = Math.max(mostInTurn, inTurn);
            inTurn = 0;
          });
        }
      },
    };
    const engine = track(new ThreadedEngine(sink, { threads: 1 }));
    await engine.addRunner({ id: 'flood', symbol: 'BTCUSDT', feed: { kind: 'simulated', ticksPerSecond: 19_000 } });
    await until(() => published > 1000, 'first events');
    stall(1000);
    stallEnd = Date.now();
    backlog = 0;
    measuring = true;
    await until(() => latest > stallEnd + 200, 'the backlog published');
    await engine.stopRunner('flood');
    expect(backlog, 'events that waited through the stall').toBeGreaterThan(5000);
    // Before: a batch (or 20 ms of batches, some 3,000 events) was published in one turn.
    expect(mostInTurn, `most events published in one turn (backlog ${backlog})`).toBeLessThan(500);
  }, THREAD_TEST_MS);

  it('with maxEventAgeMs, a backlog past a quarter of it sheds ticks and marks, reported as Warnings with their counts; no other event is shed', async () => {
    const sink = new Collect();
    const engine = track(new ThreadedEngine(sink, { threads: 1, maxEventAgeMs: 200 }));
    // Quick EMAs trade often: marks, actions and transitions go through the backlog too.
    const fast = { strategy: 'ema_crossover', params: { fastPeriod: 2, slowPeriod: 3, barSeconds: 0 } };
    await engine.addRunner({ id: 'old', symbol: 'BTCUSDT', ...fast, feed: { kind: 'simulated', ticksPerSecond: 3000 } });
    await until(() => sink.ticks('old') > 10, 'first ticks');
    // Everything of the next second waits far over 50 ms.
    stall(1000);
    const stallEnd = Date.now();
    await until(() => sink.of('old').some((e) => e.type === 'TickReceived' && e.data.timestamp > stallEnd + 100), 'ticks after the stall');
    await engine.stopRunner('old');
    const events = sink.of('old');
    const reports = events.filter((e) => e.type === 'Error');
    expect(reports.length, 'shedding reports').toBeGreaterThan(0);
    let shedTicks = 0;
    for (const report of reports) {
      expect(report).toMatchObject({
        severity: 'Warning',
        error: expect.stringMatching(/^\d+ high-frequency events of this runner \(\d+ TickReceived, \d+ PositionUpdated\) were shed before publication: .* over a quarter of MAX_EVENT_AGE_MS \(200 ms\)/),
      });
      if (report.type !== 'Error') continue;
      shedTicks += Number(/\((\d+) TickReceived/.exec(report.error)![1]);
    }
    // Ticks of the stall were shed (some 3,000 were emitted), and none silently.
    expect(shedTicks).toBeGreaterThan(100);
    expect(sink.ticks('old') + shedTicks).toBe(engine.getRunner('old')!.stats.ticksProcessed);
    // Every other event arrived, in order, RunnerStopped last.
    expectCoherent(events);
    expect(events.filter((e) => e.type === 'ActionExecuted')).toHaveLength(engine.getRunner('old')!.stats.actionsExecuted);
  }, THREAD_TEST_MS);

  it('a thread that dies stops only its runners, each with a RunnerStopped saying why; the next start gets a new thread', async () => {
    const bus = new EventBus();
    const sink = new Collect();
    const engine = track(new ThreadedEngine({ publish: (e, s) => (sink.publish(e, s), bus.publish(e, s)) }, { threads: 2 }));
    await engine.addRunner({ id: 'doomed', symbol: 'BTCUSDT', feed: { kind: 'simulated', ticksPerSecond: 200 } });
    await engine.addRunner({ id: 'survivor', symbol: 'ETHUSDT', feed: { kind: 'simulated', ticksPerSecond: 200 } });
    const doomedThread = engine.threadOf('doomed')!;
    expect(engine.threadOf('survivor')).not.toBe(doomedThread);
    await until(() => sink.ticks('doomed') > 5 && sink.ticks('survivor') > 5, 'ticks of both');
    engine.crashThread(doomedThread, 'a bug in the engine thread');
    await until(() => engine.getRunner('doomed')!.state === 'Stopped', 'the doomed runner reported stopped');
    const reason = `engine thread ${doomedThread} failed: a bug in the engine thread`;
    expect(engine.getRunner('doomed')).toMatchObject({ state: 'Stopped', stopReason: reason, position: null });
    expect(sink.of('doomed').at(-1)).toMatchObject({ type: 'RunnerStopped', reason });
    // It reached the bus like any event: with an id, for subscribers and the store.
    expect(bus.recent(compileFilter({ runnerIds: ['doomed'], types: ['RunnerStopped'] }), 10)).toHaveLength(1);
    const survivorTicks = sink.ticks('survivor');
    await until(() => sink.ticks('survivor') > survivorTicks + 20, 'the survivor to go on');
    expect(engine.getRunner('survivor')!.state).not.toBe('Stopped');
    // The dead thread's place is taken by a new thread at the next start.
    await engine.addRunner({ id: 'newcomer', symbol: 'SOLUSDT', feed: { kind: 'simulated', ticksPerSecond: 200 } });
    expect(engine.threadOf('newcomer')).toBe(doomedThread);
    await until(() => sink.ticks('newcomer') > 5, 'the newcomer’s ticks');
    // Restarting the stopped runner works too.
    await engine.addRunner(engine.getRunner('doomed')!.config);
    await until(() => engine.getRunner('doomed')!.state !== 'Stopped' && sink.of('doomed').at(-1)?.type !== 'RunnerStopped', 'the doomed runner restarted');
    await engine.stopAll();
    expect(engine.listRunners().every((r) => r.state === 'Stopped')).toBe(true);
  }, THREAD_TEST_MS);

  it('ENGINE_THREADS: default 1, 0 to 64, anything else a configuration error naming it', () => {
    expect(loadServerConfig({}).engineThreads).toBe(1);
    expect(loadServerConfig({ ENGINE_THREADS: '0' }).engineThreads).toBe(0);
    expect(loadServerConfig({ ENGINE_THREADS: '64' }).engineThreads).toBe(64);
    for (const bad of ['65', '-1', '1.5']) {
      expect(() => loadServerConfig({ ENGINE_THREADS: bad })).toThrow(ConfigError);
      expect(() => loadServerConfig({ ENGINE_THREADS: bad })).toThrow('invalid environment: ENGINE_THREADS: must be a whole number from 0 (runners on the main thread) to 64');
    }
    expect(() => new ThreadedEngine(new Collect(), { threads: 65 })).toThrow(/threads must be a whole number from 1 to 64/);
  }, THREAD_TEST_MS);
});
