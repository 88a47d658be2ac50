import { describe, expect, it } from 'vitest';
import { EventBus, type EventSubscription } from '../../src/log/bus.js';
import { BoundedQueue, QueueIterator, Retention, type DropCause } from '../../src/log/queue.js';
import { isGap, type StreamGap, type StreamItem } from '../../src/log/types.js';
import type { RunnerEvent } from '../../src/events/types.js';

const T = 1_700_000_000_000;
const tick = (runnerId: string, n: number): RunnerEvent => ({
  type: 'TickReceived',
  runnerId,
  symbol: 'X',
  data: { symbol: 'X', timestamp: T + n, open: n, high: n, low: n, close: n, volume: 1, bid: n, ask: n },
});
const mark = (runnerId: string, n: number): RunnerEvent => ({ type: 'PositionUpdated', runnerId, currentPrice: n, unrealizedPnl: 0, timestamp: T + n });
const opened = (runnerId: string): RunnerEvent => ({
  type: 'PositionOpened',
  runnerId,
  position: { symbol: 'X', side: 'LONG', quantity: 1, entryPrice: 1, entryTime: T },
  timestamp: T,
});
const critical = (runnerId: string): RunnerEvent => ({ type: 'Error', runnerId, error: 'boom', severity: 'Critical', timestamp: T });

/** A clock the test moves by hand. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/**
 * Everything a subscription has queued now. A notice owed comes before the items it is
 * about, while some are still queued, so reading until the queue is empty gets it too.
 */
async function readQueued(sub: EventSubscription): Promise<StreamItem[]> {
  const out: StreamItem[] = [];
  while (sub.size > 0) {
    const next = await sub.next();
    if (next.done === true) break;
    out.push(next.value);
  }
  return out;
}

/** Entries as `type:runner:n` (n: the tick's or mark's number), gap notices as `gap:missed`. */
function show(items: readonly StreamItem[]): string[] {
  return items.map((item) => {
    if (isGap(item)) return `gap:${item.missed}`;
    const e = item.event;
    const n = e.type === 'TickReceived' ? `:${e.data.open}` : e.type === 'PositionUpdated' ? `:${e.currentPrice}` : '';
    return `${e.type}:${e.runnerId}${n}`;
  });
}

describe('a subscriber queue bounded by age', () => {
  it('conflates the ticks of a reader that fell behind to the latest per runner and type, after a gap; standard and critical events stay', async () => {
    const clock = manualClock();
    const bus = new EventBus({ maxEventAgeMs: 1000, ageClock: clock.now });
    const sub = bus.subscribe();
    // The subscriber does not read for 1.5 s while ticks, marks and a PositionOpened flow.
    for (let i = 1; i <= 10; i++) {
      bus.publish(tick('a', i), 'X');
      bus.publish(tick('b', i), 'X');
      if (i === 5) bus.publish(opened('a'), 'X');
      if (i === 6) bus.publish(critical('b'), 'X');
      bus.publish(mark('a', i), 'X');
      clock.advance(50);
    }
    clock.advance(1000);
    // Fresh ones, queued within the bound: not touched.
    bus.publish(tick('a', 11), 'X');
    bus.publish(tick('a', 12), 'X');

    const items = await readQueued(sub);
    const gap = items[0] as StreamGap;
    expect(isGap(gap)).toBe(true);
    // 32 high-frequency events queued, of which 3 are the latest of their runner and type.
    expect(gap).toMatchObject({ missed: 29, counts: 'subscriber' });
    expect(gap.reason).toContain('older than 1000 ms');
    expect(show(items.slice(1))).toEqual(['PositionOpened:a', 'Error:b', 'TickReceived:b:10', 'PositionUpdated:a:10', 'TickReceived:a:12']);
    // Log order is kept among what is sent.
    const ids = items.slice(1).map((i) => (isGap(i) ? 0 : i.id));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(Object.fromEntries(bus.stats().expiredByType)).toEqual({ TickReceived: 20, PositionUpdated: 9 });
    expect(sub.expired).toBe(29);
    bus.close();
  });

  it('sends nothing older than the bound but standard and critical events and the latest of each runner and type', async () => {
    const clock = manualClock();
    const maxAgeMs = 200;
    const bus = new EventBus({ maxEventAgeMs: maxAgeMs, ageClock: clock.now });
    const sub = bus.subscribe();
    const published: { id: number; key: string; at: number; highFrequency: boolean }[] = [];
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 16807) % 2147483647) % n;
    let sent = 0;
    let missed = 0;
    let checked = 0;
    for (let step = 0; step < 3000; step++) {
      const r = rand(10);
      const runner = `r${rand(4)}`;
      const event = r < 6 ? tick(runner, step) : r < 8 ? mark(runner, step) : r < 9 ? opened(runner) : critical(runner);
      const { id } = bus.publish(event, 'X');
      published.push({ id, key: `${runner}/${event.type}`, at: clock.now(), highFrequency: r < 8 });
      clock.advance(rand(20));
      // A reader that reads in bursts, with long pauses between them.
      if (rand(50) !== 0) continue;
      const cutoff = clock.now() - maxAgeMs;
      // The latest event of each runner and type queued so far.
      const latest = new Map<string, number>();
      for (const p of published) latest.set(p.key, p.id);
      for (let k = 1 + rand(100); k > 0 && sub.size > 0; k--) {
        const next = await sub.next();
        if (next.done === true) break;
        const item = next.value;
        if (isGap(item)) {
          missed += item.missed;
          continue;
        }
        sent++;
        const p = published[item.id - 1]!;
        if (p.at >= cutoff || !p.highFrequency) continue;
        checked++;
        // Older than the bound: only as the latest of its runner and type.
        expect(item.id).toBe(latest.get(p.key));
      }
    }
    expect(checked).toBeGreaterThan(0);
    expect(missed).toBeGreaterThan(0);
    // Every event was sent, is still queued, or was counted in a gap notice.
    expect(sent + missed + sub.size).toBe(3000);
    bus.close();
  });

  it('keeps standard and critical items in order, whatever their age', () => {
    const clock = manualClock();
    const queue = new BoundedQueue<{ id: number; r: Retention }>(100, (x) => x.r, undefined, { maxAgeMs: 10, keyOf: () => 'k', now: clock.now });
    for (let id = 0; id < 20; id++) queue.push({ id, r: id % 2 === 0 ? Retention.Standard : Retention.Critical });
    clock.advance(100);
    expect(queue.expire()).toBe(0);
    const out: number[] = [];
    for (let x = queue.shift(); x !== undefined; x = queue.shift()) out.push(x.id);
    expect(out).toEqual([...Array(20).keys()]);
  });

  it('drops the latest it kept once a newer one of the same key turns up in a later pass', () => {
    const clock = manualClock();
    const queue = new BoundedQueue<{ id: number; key: string }>(100, () => Retention.HighFrequency, undefined, { maxAgeMs: 10, keyOf: (x) => x.key, now: clock.now });
    queue.push({ id: 1, key: 'a' });
    queue.push({ id: 2, key: 'a' });
    queue.push({ id: 3, key: 'b' });
    clock.advance(11);
    // The head is past the bound: 1 goes, 2 is the latest 'a'.
    expect(queue.expire()).toBe(1);
    queue.push({ id: 4, key: 'a' });
    clock.advance(20);
    // The next pass looks only at what was queued since (4), which supersedes the 2 kept before.
    expect(queue.expire()).toBe(1);
    const out: number[] = [];
    for (let x = queue.shift(); x !== undefined; x = queue.shift()) out.push(x.id);
    expect(out).toEqual([3, 4]);
    expect(queue.expired).toBe(2);
  });

  it('looks at each queued item a bounded number of times however often it is read', () => {
    const clock = manualClock();
    let looks = 0;
    const queue = new BoundedQueue<number>(
      200_000,
      () => {
        looks++;
        return Retention.HighFrequency;
      },
      undefined,
      { maxAgeMs: 5, keyOf: (n) => `k${n % 1000}`, now: clock.now },
    );
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      queue.push(i);
      if (i % 10 === 0) clock.advance(1);
    }
    let read = 0;
    // Every read finds a stale head: every read runs the age check.
    for (;;) {
      queue.expire();
      if (queue.shift() === undefined) break;
      read++;
      clock.advance(1);
    }
    expect(read).toBeGreaterThan(0);
    // Without the resume point this would be about n × reads.
    expect(looks).toBeLessThan(3 * n);
  });

  it('tells a reader why it lost what: capacity and age are separate notices', async () => {
    const clock = manualClock();
    const notices: string[] = [];
    const it = new QueueIterator<number>({
      capacity: 4,
      retentionOf: () => Retention.HighFrequency,
      onEnd: () => undefined,
      dropNotice: (missed: number, cause: DropCause) => {
        notices.push(`${cause.kind}:${missed}`);
        return -missed;
      },
      age: { maxAgeMs: 10, keyOf: () => 'same', now: clock.now },
    });
    for (let i = 1; i <= 6; i++) it.push(i);
    clock.advance(20);
    const read: number[] = [];
    while (it.size > 0) {
      const next = await it.next();
      if (next.done !== true) read.push(next.value);
    }
    // 1 and 2 were dropped for capacity; of 3..6 (stale, one key) only 6 stays.
    expect(notices).toEqual(['capacity:2', 'age:3']);
    expect(read).toEqual([-2, -3, 6]);
  });

  it('is off with 0 and refuses a bad bound', async () => {
    const clock = manualClock();
    const bus = new EventBus({ ageClock: clock.now });
    const sub = bus.subscribe();
    for (let i = 0; i < 5; i++) bus.publish(tick('a', i), 'X');
    clock.advance(1_000_000);
    expect(show(await readQueued(sub))).toHaveLength(5);
    expect(() => new EventBus({ maxEventAgeMs: -1 })).toThrow(/maxEventAgeMs must be 0 \(off\) to 600000 ms, got -1/);
    expect(() => (bus.maxEventAgeMs = Number.NaN)).toThrow(/maxEventAgeMs/);
    bus.close();
  });
});
