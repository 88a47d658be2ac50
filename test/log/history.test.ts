import { describe, expect, it } from 'vitest';
import { EventBus, type EventSubscription } from '../../src/log/bus.js';
import { EventHistory, INDEX_BYTES_PER_RUNNER, estimateBytes } from '../../src/log/history.js';
import { isGap, type StreamItem } from '../../src/log/types.js';
import { compileFilter } from '../../src/events/filter.js';
import type { RunnerEvent } from '../../src/events/types.js';

const T = 1_700_000_000_000;
const tick = (runnerId: string, n = 0): RunnerEvent => ({
  type: 'TickReceived',
  runnerId,
  symbol: 'X',
  data: { symbol: 'X', timestamp: T + n, open: 1, high: 1, low: 1, close: 1, volume: 1, bid: 1, ask: 1 },
});

/** Reads `n` items, waiting for live ones as needed. */
async function take(sub: EventSubscription, n: number): Promise<StreamItem[]> {
  const out: StreamItem[] = [];
  while (out.length < n) {
    const next = await sub.next();
    if (next.done === true) throw new Error(`ended after ${out.length} of ${n}`);
    out.push(next.value);
  }
  return out;
}

const show = (items: StreamItem[]) => items.map((i) => (isGap(i) ? `gap:${i.missed}` : i.id));

describe('history: replay and resume', () => {
  it('replays the last N matching events, then goes on live', async () => {
    const bus = new EventBus();
    for (let i = 0; i < 10; i++) bus.publish(tick(i % 2 === 0 ? 'a' : 'b', i), 'X');
    const sub = bus.subscribe({ filter: compileFilter({ runnerIds: ['a'] }), replay: 3 });
    bus.publish(tick('a', 10), 'X'); // id 11
    bus.publish(tick('b', 11), 'X'); // id 12
    expect(show(await take(sub, 4))).toEqual([5, 7, 9, 11]);
    expect(sub.replays).toBe(true);
  });

  it('replays what there is when fewer are kept than asked for', async () => {
    const bus = new EventBus();
    bus.publish(tick('a'), 'X');
    bus.publish(tick('a'), 'X');
    const sub = bus.subscribe({ replay: 100 });
    bus.publish(tick('a'), 'X');
    expect(show(await take(sub, 3))).toEqual([1, 2, 3]);
  });

  it('resumes after an id: every kept matching event after it, then live', async () => {
    const bus = new EventBus();
    for (let i = 0; i < 6; i++) bus.publish(tick('a', i), 'X');
    const sub = bus.subscribe({ after: 3 });
    bus.publish(tick('a'), 'X');
    expect(show(await take(sub, 4))).toEqual([4, 5, 6, 7]);
  });

  it('starts with a StreamGap when the resume point is older than the history', async () => {
    const bus = new EventBus({ historySize: 5 });
    for (let i = 0; i < 12; i++) bus.publish(tick('a', i), 'X'); // keeps 8..12
    const sub = bus.subscribe({ after: 2 });
    const items = await take(sub, 6);
    expect(show(items)).toEqual(['gap:5', 8, 9, 10, 11, 12]);
    expect(items[0]).toMatchObject({ kind: 'gap', fromId: 3, toId: 7, reason: expect.stringMatching(/events 3\.\.7 are no longer kept/) });
  });

  it('says so when a resume point is ahead of the log (a restarted server)', async () => {
    const bus = new EventBus();
    bus.publish(tick('a'), 'X');
    const sub = bus.subscribe({ after: 500 });
    bus.publish(tick('a'), 'X');
    const items = await take(sub, 2);
    expect(items[0]).toMatchObject({ kind: 'gap', missed: 0, reason: expect.stringMatching(/resume point 500 is ahead of the log \(last id 1\)/) });
    expect(show(items.slice(1))).toEqual([2]);
  });

  it('reports history that was evicted before a slow reader got to it', async () => {
    const bus = new EventBus({ historySize: 10, queueCapacity: 1000 });
    for (let i = 0; i < 10; i++) bus.publish(tick('a', i), 'X'); // 1..10
    const sub = bus.subscribe({ after: 0 });
    expect(show(await take(sub, 2))).toEqual([1, 2]);
    for (let i = 0; i < 5; i++) bus.publish(tick('a'), 'X'); // 11..15 evict 1..5
    // 3..5 were evicted unread; 6..10 still come from history, 11..15 live.
    expect(show(await take(sub, 11))).toEqual(['gap:3', 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  });

  it('switches from history to live with no gap and no duplicate while publishing at full rate', async () => {
    const bus = new EventBus({ queueCapacity: 200_000 });
    let running = true;
    let published = 0;
    const publisher = (async () => {
      while (running) {
        for (let i = 0; i < 500; i++) bus.publish(tick(`r${published % 7}`, published++), 'X');
        await new Promise((r) => setImmediate(r));
      }
    })();
    const readers: Promise<number[]>[] = [];
    for (let k = 0; k < 5; k++) {
      await new Promise((r) => setTimeout(r, 5));
      const after = Math.max(0, bus.lastId - 2000);
      const sub = bus.subscribe({ after });
      readers.push(
        take(sub, 20_000).then((items) => {
          sub.close();
          return [after, ...items.map((i) => (isGap(i) ? -1 : i.id))];
        }),
      );
    }
    const results = await Promise.all(readers);
    running = false;
    await publisher;
    for (const [after, ...ids] of results) {
      expect(ids[0]).toBe(after! + 1);
      expect(ids.every((id, i) => id === after! + 1 + i)).toBe(true);
    }
    expect(bus.subscriberCount).toBe(0);
  });
});

describe('EventHistory', () => {
  it('keeps at most `size` entries, oldest out first, found by id', () => {
    const h = new EventHistory(3);
    for (let id = 1; id <= 5; id++) h.append({ id, symbol: 'X', event: tick('a', id) });
    expect([h.oldestId, h.lastId, h.length]).toEqual([3, 5, 3]);
    expect(h.get(2)).toBeUndefined();
    expect(h.get(4)?.id).toBe(4);
    expect(h.get(6)).toBeUndefined();
  });

  it('keeps within its memory bound, whichever bound is smaller', () => {
    const one = estimateBytes(tick('a'));
    // The index's heads of runner "a" count too.
    const h = new EventHistory(1000, one * 10 + INDEX_BYTES_PER_RUNNER);
    for (let id = 1; id <= 100; id++) h.append({ id, symbol: 'X', event: tick('a', id) });
    expect(h.length).toBe(10);
    expect(h.approximateBytes).toBeLessThanOrEqual(one * 10 + INDEX_BYTES_PER_RUNNER);
  });

  it('keeps nothing with size 0', () => {
    const h = new EventHistory(0);
    h.append({ id: 1, symbol: 'X', event: tick('a') });
    expect([h.length, h.lastId]).toEqual([0, 1]);
    expect(h.get(1)).toBeUndefined();
  });
});
