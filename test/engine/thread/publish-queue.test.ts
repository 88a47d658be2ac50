import { afterEach, describe, expect, it } from 'vitest';
import type { EventSink } from '../../../src/engine/engine.js';
import { PublishQueue, type PublishQueueOptions } from '../../../src/engine/thread/publish-queue.js';
import { BatchDecoder, BatchEncoder } from '../../../src/engine/thread/codec.js';
import type { RunnerEvent } from '../../../src/events/types.js';
import { tick } from '../../fixtures/ticks.js';

const SYMBOLS: Record<string, string> = { a: 'AAA', b: 'BBB', c: 'CCC' };

/** Events numbered by `n`, so that a label names each one. */
const T = (id: string, n: number): RunnerEvent => ({ type: 'TickReceived', runnerId: id, symbol: SYMBOLS[id]!, data: tick(100 + n, 1000 + n, SYMBOLS[id]) });
const M = (id: string, n: number): RunnerEvent => ({ type: 'PositionUpdated', runnerId: id, currentPrice: 100 + n, unrealizedPnl: n, timestamp: 1000 + n });
const ST = (id: string, n: number): RunnerEvent => ({ type: 'StateTransition', runnerId: id, from: 'Analyzing', to: 'Analyzing', reason: `${n}`, timestamp: 1000 + n });
const STARTED = (id: string): RunnerEvent => ({ type: 'RunnerStarted', runnerId: id, symbol: SYMBOLS[id]!, timestamp: 1000 });
const STOPPED = (id: string): RunnerEvent => ({ type: 'RunnerStopped', runnerId: id, reason: 'done', timestamp: 2000 });

const REPORT = /^(\d+) high-frequency events of this runner \((\d+) TickReceived, (\d+) PositionUpdated\) were shed before publication: they had waited up to \d+ ms on the server's main thread, over a quarter of MAX_EVENT_AGE_MS \(400 ms\)/;

/** A short name of an event: `T a3` (tick 3 of a), `M a1`, `ST b1`, `RS a` (started), `RX a` (stopped), `W a 2+1` (a report: 2 ticks, 1 mark shed). */
function label(event: RunnerEvent): string {
  const id = event.runnerId;
  switch (event.type) {
    case 'TickReceived':
      return `T ${id}${event.data.close - 100}`;
    case 'PositionUpdated':
      return `M ${id}${event.currentPrice - 100}`;
    case 'StateTransition':
      return `ST ${id}${event.reason}`;
    case 'RunnerStarted':
      return `RS ${id}`;
    case 'RunnerStopped':
      return `RX ${id}`;
    case 'Error': {
      const m = REPORT.exec(event.error);
      if (m === null) return `E ${id} ${event.error}`;
      expect(Number(m[1])).toBe(Number(m[2]) + Number(m[3]));
      return `W ${id} ${m[2]}+${m[3]}`;
    }
    default:
      return `${event.type} ${id}`;
  }
}

const queues: PublishQueue[] = [];
afterEach(() => {
  for (const q of queues.splice(0)) q.close();
});

/**
 * A queue on a clock the test moves (each publish costs `costMs` of it), whose slices run
 * when the test says (`turn`), fed batches encoded as an engine thread encodes them.
 */
function harness(options: PublishQueueOptions & { costMs?: number } = {}) {
  const clock = { t: 0 };
  const scheduled: (() => void)[] = [];
  let cancelled = 0;
  const out: { event: RunnerEvent; symbol: string }[] = [];
  const listeners: ((event: RunnerEvent) => void)[] = [];
  const sink: EventSink = {
    publish: (event, symbol) => {
      out.push({ event, symbol });
      clock.t += options.costMs ?? 0;
      for (const l of listeners) l(event);
    },
  };
  const queue = new PublishQueue(sink, {
    now: () => clock.t,
    clock: () => 42,
    schedule: (run) => {
      scheduled.push(run);
      return run;
    },
    cancel: (handle) => {
      const at = scheduled.indexOf(handle as () => void);
      if (at >= 0) scheduled.splice(at, 1);
      cancelled++;
    },
    ...options,
  });
  queues.push(queue);
  const encoder = new BatchEncoder();
  const decoder = new BatchDecoder();
  return {
    clock,
    out,
    queue,
    labels: () => out.map((o) => label(o.event)),
    cancelled: () => cancelled,
    pending: () => scheduled.length,
    /** Queues one batch as a thread hands it off, emitted at `since`. */
    add(events: readonly RunnerEvent[], since: number, done: (waitedMs: number) => void = () => undefined): void {
      for (const e of events) encoder.event(e, SYMBOLS[e.runnerId]!);
      const { batch } = encoder.take(since, []);
      decoder.names(batch);
      queue.addBatch(decoder, batch, done);
    },
    /** Runs the slice scheduled (one callback); false when none is. */
    turn(): boolean {
      const run = scheduled.shift();
      run?.();
      return run !== undefined;
    },
    /** Resolves with the next event published that `match` accepts. */
    next(match: (event: RunnerEvent) => boolean): Promise<RunnerEvent> {
      return new Promise((resolve) => listeners.push((e) => match(e) && resolve(e)));
    },
  };
}

describe('PublishQueue', () => {
  it('publishes a large backlog in slices of about 2 ms per callback, in order, each batch done after its last event', () => {
    // Each publish costs 0.1 ms: a slice of 2 ms is 20 events, overrun by at most the
    // events between two readings of the clock.
    const h = harness({ costMs: 0.1 });
    const sent: string[] = [];
    const done: number[] = [];
    for (let b = 0; b < 3; b++) {
      const events = Array.from({ length: 100 }, (_, i) => (i % 10 === 9 ? ST('a', b * 100 + i) : T('a', b * 100 + i)));
      sent.push(...events.map(label));
      // Old events, but no age bound: nothing is shed.
      h.add(events, -10_000, () => done.push(h.out.length));
    }
    expect(h.out).toHaveLength(0);
    const perTurn: number[] = [];
    while (true) {
      const before = h.out.length;
      if (!h.turn()) break;
      perTurn.push(h.out.length - before);
    }
    expect(h.labels()).toEqual(sent);
    expect(h.out.every((o) => o.symbol === 'AAA')).toBe(true);
    expect(Math.max(...perTurn)).toBeLessThanOrEqual(36);
    expect(perTurn.length).toBeGreaterThanOrEqual(300 / 36);
    expect(done).toEqual([100, 200, 300]);
    expect(h.queue.backlog).toBe(0);
  });

  it('close publishes what is left at once, runs its batches’ done and leaves nothing scheduled', () => {
    const h = harness({ costMs: 0.1 });
    const done: number[] = [];
    h.add(Array.from({ length: 100 }, (_, i) => T('a', i)), 0, () => done.push(h.out.length));
    h.add([ST('a', 100), STOPPED('a')], 0, () => done.push(h.out.length));
    h.turn();
    expect(h.out.length).toBeLessThan(100);
    expect(h.pending()).toBe(1);
    h.queue.close();
    expect(h.out).toHaveLength(102);
    expect(done).toEqual([100, 102]);
    expect(h.pending()).toBe(0);
    expect(h.cancelled()).toBe(1);
  });

  it('an old backlog sheds ticks and marks but each runner’s latest, never another event, in order, and reports it once a second', async () => {
    // Shed past a quarter of 400 ms.
    const h = harness({ maxEventAgeMs: 400 });
    // Emitted at 0, published at 1000: old. a4, a's mark 3 and b3 come later.
    h.add([STARTED('a'), T('a', 1), T('b', 1), T('c', 1), T('a', 2), M('a', 1), ST('a', 1), T('a', 3), T('b', 2), T('c', 2), M('a', 2), ST('b', 1)], 0);
    // Emitted at 950: 50 ms old, young enough; and the latest of a and b.
    h.add([T('a', 4), M('a', 3), T('b', 3)], 950);
    h.clock.t = 1000;
    expect(h.turn()).toBe(true);
    expect(h.labels()).toEqual([
      'RS a',
      // Said before the runner's next event published: 2 ticks and a mark of a shed so far.
      'W a 2+1',
      'ST a1',
      'W c 1+0',
      // c's latest tick in the backlog: kept.
      'T c2',
      'W b 2+0',
      'ST b1',
      // a reported less than a second ago: a3 and mark 2 wait for the next report.
      'T a4',
      'M a3',
      'T b3',
    ]);
    const warning = h.out.find((o) => o.event.type === 'Error')!;
    expect(warning).toEqual({ event: expect.objectContaining({ severity: 'Warning', timestamp: 42, runnerId: 'a' }), symbol: 'AAA' });
    expect(h.turn()).toBe(false);
    // With nothing queued, the rest is reported once a's second is up.
    const late = h.next((e) => e.type === 'Error');
    h.clock.t = 2000;
    expect(label(await late)).toBe('W a 1+1');
    // Every tick and mark was published or counted in a report.
    let ticks = 0;
    let marks = 0;
    for (const { event } of h.out) {
      if (event.type === 'TickReceived') ticks++;
      if (event.type === 'PositionUpdated') marks++;
      if (event.type === 'Error') {
        const m = REPORT.exec(event.error)!;
        ticks += Number(m[2]);
        marks += Number(m[3]);
      }
    }
    expect([ticks, marks]).toEqual([9, 3]);
  });

  it('a runner’s loss is reported before its RunnerStopped even within the second; young backlogs shed nothing', () => {
    const h = harness({ maxEventAgeMs: 400 });
    h.clock.t = 1000;
    // 99 ms old: kept.
    h.add([T('a', 1), T('a', 2), M('a', 1), M('a', 2)], 901);
    h.add([T('a', 3), T('a', 4), ST('a', 1), T('a', 5), T('a', 6)], 0);
    h.add([T('a', 7), STOPPED('a')], 0);
    h.turn();
    expect(h.labels()).toEqual(['T a1', 'T a2', 'M a1', 'M a2', 'W a 2+0', 'ST a1', 'T a7', 'W a 2+0', 'RX a']);
  });
});
