import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventBus, type EventSubscription } from '../../src/log/bus.js';
import { EventHistory, INDEX_BYTES_PER_RUNNER, estimateBytes, type HistoryQuery } from '../../src/log/history.js';
import { isGap, type LogEntry, type StreamItem } from '../../src/log/types.js';
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

  it('keeps what it holds across a jump in ids, and finds entries by id and by runner on both sides', () => {
    const h = new EventHistory(12);
    for (let id = 1; id <= 10; id++) h.append({ id, symbol: 'X', event: tick(id % 2 === 1 ? 'a' : 'b', id) });
    // An engine restarted after a crash skips 200,000 ids.
    for (let id = 200_011; id <= 200_014; id++) h.append({ id, symbol: 'X', event: tick(id % 2 === 1 ? 'a' : 'b', id) });
    // 12 kept: 1 and 2 made room.
    expect([h.oldestId, h.lastId, h.length, h.runnerCount]).toEqual([3, 200_014, 12, 2]);
    expect(h.get(2)).toBeUndefined();
    expect([h.get(3)?.id, h.get(10)?.id, h.get(200_011)?.id, h.get(200_014)?.id]).toEqual([3, 10, 200_011, 200_014]);
    expect([h.get(11), h.get(200_010), h.get(200_015)]).toEqual([undefined, undefined, undefined]);
    // The first kept at or after an id: how a reader steps over the jump.
    expect([h.firstFrom(7)?.id, h.firstFrom(11)?.id, h.firstFrom(150_000)?.id, h.firstFrom(200_015)]).toEqual([7, 200_011, 200_011, undefined]);
    const newestFirst = (runnerIds: string[] | null) => {
      const cursor = h.newestFirst({ runnerIds });
      const ids: number[] = [];
      for (let e = cursor.next(); e !== undefined; e = cursor.next()) ids.push(e.id);
      return ids;
    };
    expect(newestFirst(['a'])).toEqual([200_013, 200_011, 9, 7, 5, 3]);
    expect(newestFirst(null)).toEqual([200_014, 200_013, 200_012, 200_011, 10, 9, 8, 7, 6, 5, 4, 3]);
  });

  it('answers get, firstFrom and every chain as a plain list would, whatever the jumps, sizes and evictions', () => {
    const steps = fc.array(fc.record({ jump: fc.oneof(fc.constant(1), fc.constant(1), fc.integer({ min: 2, max: 5 }), fc.constant(200_001)), runner: fc.constantFrom('a', 'b', 'c'), error: fc.boolean() }), { maxLength: 120 });
    fc.assert(
      fc.property(steps, fc.integer({ min: 0, max: 30 }), fc.boolean(), fc.integer({ min: 0, max: 300_000 }), (plan, size, tight, probe) => {
        const h = new EventHistory(size, tight ? 3000 : undefined);
        const all: LogEntry[] = [];
        let id = 0;
        for (const [n, s] of plan.entries()) {
          id += s.jump;
          const event: RunnerEvent = s.error ? { type: 'Error', runnerId: s.runner, error: 'e', severity: 'Warning', timestamp: T + n } : tick(s.runner, n);
          const entry = { id, symbol: 'X', event };
          all.push(entry);
          h.append(entry);
        }
        const kept = all.slice(all.length - h.length);
        expect(h.lastId).toBe(id);
        expect(h.oldestId).toBe(kept[0]?.id ?? id + 1);
        // Ticks come back rebuilt from numbers: equal to what was appended, not the same object.
        for (const e of all) expect(h.get(e.id)).toStrictEqual(kept.includes(e) ? e : undefined);
        for (const at of [probe, probe % (id + 2), ...all.map((e) => e.id + 1)]) {
          expect(h.firstFrom(at)).toStrictEqual(kept.find((e) => e.id >= at));
        }
        const queries: HistoryQuery[] = [{}, { runnerIds: ['a', 'c'] }, { types: ['Error'] }, { runnerIds: ['b'], types: ['TickReceived'] }];
        for (const query of queries) {
          const want = kept.filter((e) => (query.runnerIds == null || query.runnerIds.includes(e.event.runnerId)) && (query.types == null || query.types.includes(e.event.type))).reverse();
          const cursor = h.newestFirst(query);
          const got: LogEntry[] = [];
          for (let e = cursor.next(); e !== undefined; e = cursor.next()) got.push(e);
          expect(got).toEqual(want);
        }
      }),
      { numRuns: 300 },
    );
  });
});

/** Appends 300 ticks and marks of two runners to `h`, each entry and event watched by `refs`; returns copies. */
function appendMixed(h: EventHistory, refs: WeakRef<object>[]): LogEntry[] {
  const appended: LogEntry[] = [];
  for (let i = 1; i <= 300; i++) {
    const event: RunnerEvent =
      i % 3 === 0 ? { type: 'PositionUpdated', runnerId: 'a', currentPrice: 100 + i / 7, unrealizedPnl: -i / 3, timestamp: T + i } : tick(i % 2 === 0 ? 'a' : 'b', i);
    const entry: LogEntry = { id: i, symbol: 'X', event };
    refs.push(new WeakRef(entry), new WeakRef(event));
    appended.push(structuredClone(entry));
    h.append(entry);
  }
  return appended;
}

describe('EventHistory keeps ticks and marks as numbers', () => {
  /** A full collection now (V8's, made callable for this test). */
  const collect: () => void = (() => {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  })();

  it('holds no tick or mark object it was given, and reads back equal entries, the same object for readers of one stretch', async () => {
    const h = new EventHistory(1000);
    const refs: WeakRef<object>[] = [];
    // In a function of its own: an async test's suspended frame would hold its last locals.
    const appended = appendMixed(h, refs);
    // A WeakRef's target lives at least until the job that made it ends.
    await new Promise((resolve) => setImmediate(resolve));
    collect();
    // Kept as objects, every entry (and its event) would still be reachable from the history.
    expect(refs.flatMap((r, i) => (r.deref() === undefined ? [] : [i]))).toEqual([]);
    for (const e of appended) expect(h.get(e.id)).toStrictEqual(e);
    expect(h.get(150)).toBe(h.firstFrom(150));
  });

  it('keeps as objects what numbers would not rebuild: another symbol, a snapshot copy, every other kind', () => {
    const h = new EventHistory(100);
    const entries: LogEntry[] = [
      { id: 1, symbol: 'X', event: tick('a', 1) },
      // The same runner on another symbol while its first entry is kept (a restart elsewhere).
      { id: 2, symbol: 'Y', event: { type: 'TickReceived', runnerId: 'a', symbol: 'Y', data: { symbol: 'Y', timestamp: T, open: 2, high: 2, low: 2, close: 2, volume: 2, bid: 2, ask: 2 } } },
      { id: 3, symbol: 'X', event: tick('c', 3), snapshot: true },
      { id: 4, symbol: 'X', event: { type: 'Error', runnerId: 'a', error: 'e', severity: 'Warning', timestamp: T } },
    ];
    for (const e of entries) h.append(e);
    expect(h.get(1)).toStrictEqual(entries[0]);
    expect(h.get(1)).not.toBe(entries[0]);
    for (const e of entries.slice(1)) expect(h.get(e.id)).toBe(e);
  });
});

describe('history across a jump in ids', () => {
  /** A bus that mirrors a log whose ids jump by 200,000 after id 6 (an engine restarted after a crash). */
  function jumped(): EventBus {
    const bus = new EventBus();
    for (let id = 1; id <= 6; id++) bus.publishEntry({ id, symbol: 'X', event: tick(id % 2 === 1 ? 'a' : 'b', id) });
    for (let id = 200_007; id <= 200_010; id++) bus.publishEntry({ id, symbol: 'X', event: tick(id % 2 === 1 ? 'a' : 'b', id) });
    return bus;
  }

  it('keeps the events from before the jump: the oldest id, recent events, replay', async () => {
    const bus = jumped();
    expect(bus.historyRange).toMatchObject({ oldestId: 1, lastId: 200_010 });
    expect(bus.recent(undefined, 4, { runnerIds: ['a'] }).map((e) => e.id)).toEqual([3, 5, 200_007, 200_009]);
    expect(bus.recent(undefined, 3).map((e) => e.id)).toEqual([200_008, 200_009, 200_010]);
    const sub = bus.subscribe({ filter: compileFilter({ runnerIds: ['a'] }), replay: 3 });
    expect(show(await take(sub, 4))).toEqual([5, 'gap:200000', 200_007, 200_009]);
    sub.close();
  });

  it('resumes across the jump: the events before it, a StreamGap for the ids between, the events after, then live', async () => {
    const bus = jumped();
    const sub = bus.subscribe({ after: 4 });
    for (let i = 0; i < 3; i++) bus.publish(tick('a'), 'X');
    const items = await take(sub, 8);
    expect(show(items)).toEqual([5, 6, 'gap:200000', 200_007, 200_008, 200_009, 200_010, 200_011]);
    expect(items[2]).toMatchObject({ kind: 'gap', fromId: 7, toId: 200_006, reason: expect.stringMatching(/ids 7\.\.200006 are not in this server's log/) });
    // A resume point inside the jump: only what follows it, after the notice.
    const inside = bus.subscribe({ after: 100_000 });
    expect(show(await take(inside, 2))).toEqual(['gap:100006', 200_007]);
    sub.close();
    inside.close();
  });
});
