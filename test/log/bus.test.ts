import { getEventListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { EventBus, SubscriberOverflowError, type EventSubscription } from '../../src/log/bus.js';
import { BoundedQueue, Retention } from '../../src/log/queue.js';
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
const transition = (runnerId: string): RunnerEvent => ({
  type: 'StateTransition', runnerId, from: 'Idle', to: 'Analyzing', reason: 'start', timestamp: T,
});
const critical = (runnerId: string): RunnerEvent => ({ type: 'Error', runnerId, error: 'boom', severity: 'Critical', timestamp: T });
const stopped = (runnerId: string): RunnerEvent => ({ type: 'RunnerStopped', runnerId, reason: 'x', timestamp: T });

/** Reads what is queued right now without waiting for more; fails on a gap notice. */
async function drain(sub: EventSubscription): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  while (sub.size > 0) {
    const next = await sub.next();
    if (next.done === true) break;
    if (isGap(next.value)) throw new Error(`unexpected gap: ${next.value.reason}`);
    out.push(next.value);
  }
  return out;
}

/** Reads what is ready now (history, gap notices, queue) without waiting for more. */
async function drainItems(sub: EventSubscription): Promise<StreamItem[]> {
  const out: StreamItem[] = [];
  for (;;) {
    const next = await Promise.race([sub.next(), new Promise<null>((r) => setTimeout(() => r(null), 20))]);
    if (next === null || next.done === true) break;
    out.push(next.value);
  }
  return out;
}

/** Entries as their ids and gap notices as `gap:missed`. */
const show = (items: StreamItem[]) => items.map((i) => (isGap(i) ? `gap:${i.missed}` : i.id));

describe('EventBus', () => {
  it('gives ordered ids from 1 and returns the entry', () => {
    const bus = new EventBus();
    expect(bus.lastId).toBe(0);
    const a = bus.publish(tick('a'), 'X');
    const b = bus.publish(tick('b'), 'Y');
    expect([a.id, b.id, bus.lastId]).toEqual([1, 2, 2]);
    expect(b).toEqual({ id: 2, symbol: 'Y', event: tick('b') });
  });

  it('delivers the events of several runners to one subscriber in publish order', async () => {
    const bus = new EventBus();
    const sub = bus.subscribe();
    const events = [tick('a', 1), transition('b'), tick('c', 2), critical('a'), tick('b', 3)];
    for (const e of events) bus.publish(e, 'X');
    const got = await drain(sub);
    expect(got.map((e) => e.id)).toEqual([1, 2, 3, 4, 5]);
    expect(got.map((e) => e.event)).toEqual(events);
  });

  it('gives several subscribers the same events independently', async () => {
    const bus = new EventBus();
    const fast = bus.subscribe();
    const slow = bus.subscribe();
    for (let i = 0; i < 5; i++) bus.publish(tick('a', i), 'X');
    const fromFast = await drain(fast);
    expect(fromFast).toHaveLength(5);
    expect(slow.size).toBe(5);
    const fromSlow = await drain(slow);
    // The same entry objects: built once at publish, never copied per subscriber.
    fromFast.forEach((entry, i) => expect(fromSlow[i]).toBe(entry));
  });

  it('runs the filter at publish time and never queues an unmatched event', async () => {
    const bus = new EventBus();
    const filter = vi.fn(compileFilter({ runnerIds: ['a'] }));
    const sub = bus.subscribe({ filter });
    bus.publish(tick('b'), 'X');
    expect(filter).toHaveBeenCalledTimes(1);
    expect(sub.size).toBe(0);
    bus.publish(tick('a'), 'X');
    expect(filter).toHaveBeenCalledTimes(2);
    expect(sub.size).toBe(1);
    expect((await sub.next()).value?.event.runnerId).toBe('a');
  });

  it('hands a waiting reader the event at once', async () => {
    const bus = new EventBus();
    const sub = bus.subscribe();
    const pending = sub.next();
    bus.publish(tick('a'), 'X');
    expect((await pending).value?.id).toBe(1);
  });

  it('treats a throwing filter as no match, without touching the others or the publisher', async () => {
    const bus = new EventBus();
    const broken = bus.subscribe({
      filter: () => {
        throw new Error('bug');
      },
    });
    const fine = bus.subscribe();
    expect(() => bus.publish(tick('a'), 'X')).not.toThrow();
    expect(broken.size).toBe(0);
    expect(fine.size).toBe(1);
  });

  it.each([
    ['break', async (bus: EventBus) => {
      const sub = bus.subscribe();
      bus.publish(tick('a'), 'X');
      for await (const _ of sub) break;
    }],
    ['return()', async (bus: EventBus) => {
      await bus.subscribe().return();
    }],
    ['close()', async (bus: EventBus) => {
      bus.subscribe().close();
    }],
    ['abort', async (bus: EventBus) => {
      const ac = new AbortController();
      bus.subscribe({ signal: ac.signal });
      ac.abort();
    }],
  ])('removes the subscriber at once on %s', async (_, end) => {
    const bus = new EventBus();
    await end(bus);
    expect(bus.subscriberCount).toBe(0);
  });

  it('leaves no subscriber and no listener after 1000 subscribe/abort and 1000 subscribe/break cycles', async () => {
    const bus = new EventBus();
    const shared = new AbortController();
    for (let i = 0; i < 1000; i++) {
      const ac = new AbortController();
      const sub = bus.subscribe({ signal: ac.signal });
      const pending = sub.next();
      ac.abort();
      expect(await pending).toEqual({ done: true, value: undefined });
      expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    }
    for (let i = 0; i < 1000; i++) {
      const sub = bus.subscribe({ signal: shared.signal });
      bus.publish(tick('a', i), 'X');
      for await (const _ of sub) break;
    }
    expect(bus.subscriberCount).toBe(0);
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
  });

  it('is born closed on an aborted signal', async () => {
    const bus = new EventBus();
    const sub = bus.subscribe({ signal: AbortSignal.abort() });
    expect(sub.closed).toBe(true);
    expect(bus.subscriberCount).toBe(0);
    expect(await sub.next()).toEqual({ done: true, value: undefined });
  });

  it('drops high-frequency events first, oldest first, then standard ones; never critical ones', async () => {
    const bus = new EventBus();
    const sub = bus.subscribe({ capacity: 5 });
    bus.publish(transition('a'), 'X'); // 1 standard
    bus.publish(tick('a', 2), 'X'); // 2 hf
    bus.publish(critical('a'), 'X'); // 3 critical
    bus.publish(tick('a', 4), 'X'); // 4 hf
    bus.publish(transition('a'), 'X'); // 5 standard — full
    bus.publish(tick('a', 6), 'X'); // 6: drops 2
    bus.publish(transition('a'), 'X'); // 7: drops 4
    bus.publish(transition('a'), 'X'); // 8: drops 6 (the last tick)
    bus.publish(stopped('a'), 'X'); // 9: no tick left, drops 1 (oldest standard)
    expect(sub.dropped).toBe(4);
    // The reader learns what it lost before it reads on.
    const items = await drainItems(sub);
    expect(show(items)).toEqual(['gap:4', 3, 5, 7, 8, 9]);
    expect(items[0]).toMatchObject({ kind: 'gap', missed: 4, reason: expect.stringMatching(/subscriber too slow: 4 events dropped/) });
  });

  it('lets critical events take the queue to twice its capacity, then cuts the subscriber off', async () => {
    const bus = new EventBus();
    const sub = bus.subscribe({ capacity: 3 });
    for (let i = 0; i < 6; i++) bus.publish(critical('a'), 'X');
    expect(sub.size).toBe(6);
    expect(sub.dropped).toBe(0);
    expect(bus.subscriberCount).toBe(1);
    bus.publish(critical('a'), 'X');
    expect(bus.subscriberCount).toBe(0);
    expect((await drain(sub)).map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6]);
    await expect(sub.next()).rejects.toBeInstanceOf(SubscriberOverflowError);
    expect(await sub.next()).toEqual({ done: true, value: undefined });
  });

  it('keeps a subscriber that never reads within its capacity', () => {
    const bus = new EventBus({ queueCapacity: 1000 });
    const sub = bus.subscribe();
    for (let i = 0; i < 200_000; i++) bus.publish(i % 10 === 0 ? transition('a') : tick('a', i), 'X');
    expect(sub.size).toBe(1000);
    expect(sub.dropped).toBe(199_000);
    // The bus's own history is bounded too (default 100,000 events).
    expect(bus.historyRange.lastId - bus.historyRange.oldestId + 1).toBe(100_000);
  });

  it('delivers nothing after close(), and lets subscribers read what they had', async () => {
    const bus = new EventBus();
    const sub = bus.subscribe();
    bus.publish(tick('a'), 'X');
    bus.close();
    bus.publish(tick('a'), 'X');
    expect(bus.subscriberCount).toBe(0);
    expect((await drain(sub)).map((e) => e.id)).toEqual([1]);
    expect(await sub.next()).toEqual({ done: true, value: undefined });
    expect(bus.subscribe().closed).toBe(true);
  });

  it('refuses a nonsensical capacity', () => {
    expect(() => new EventBus({ queueCapacity: 0 })).toThrow(/queueCapacity must be a positive integer, got 0/);
    expect(() => new EventBus().subscribe({ capacity: 1.5 })).toThrow(/capacity must be a positive integer/);
  });
});

describe('BoundedQueue', () => {
  type Item = { id: number; r: Retention };

  /** The same policy written the obvious, slow way. */
  class Reference {
    items: Item[] = [];
    dropped = 0;
    constructor(readonly capacity: number) {}
    push(item: Item): boolean {
      if (this.items.length < this.capacity) return this.items.push(item) > 0;
      for (const r of [Retention.HighFrequency, Retention.Standard]) {
        const i = this.items.findIndex((x) => x.r === r);
        if (i >= 0) {
          this.items.splice(i, 1);
          this.dropped++;
          this.items.push(item);
          return true;
        }
        if (item.r === r) {
          this.dropped++;
          return true;
        }
      }
      if (this.items.length >= 2 * this.capacity) return false;
      this.items.push(item);
      return true;
    }
  }

  it('behaves like the obvious implementation over random sequences', () => {
    let seed = 12345;
    const rand = (n: number) => (seed = (seed * 16807) % 2147483647) % n;
    for (let round = 0; round < 200; round++) {
      const capacity = 1 + rand(8);
      const queue = new BoundedQueue<Item>(capacity, (x) => x.r);
      const reference = new Reference(capacity);
      for (let id = 0; id < 300; id++) {
        if (rand(3) === 0) {
          expect(queue.shift()).toBe(reference.items.shift());
          continue;
        }
        // Few critical items, so that the overflow path is reached but rarely.
        const r = [Retention.HighFrequency, Retention.HighFrequency, Retention.Standard, Retention.Standard, Retention.Critical][rand(5)]!;
        const item = { id, r };
        const accepted = reference.push(item);
        expect(queue.push(item) !== 3).toBe(accepted);
        if (!accepted) break;
        expect(queue.size).toBe(reference.items.length);
        expect(queue.dropped).toBe(reference.dropped);
      }
      const rest: Item[] = [];
      for (let x = queue.shift(); x !== undefined; x = queue.shift()) rest.push(x);
      expect(rest).toEqual(reference.items);
    }
  });

  it('stays correct across compactions of a long-lived queue', () => {
    const queue = new BoundedQueue<number>(50_000, () => Retention.Standard);
    let next = 0;
    let expected = 0;
    // Mismatches gathered and asserted once: 299,000 calls of expect took over 20 s on a busy machine.
    const wrong: string[] = [];
    for (let round = 0; round < 100; round++) {
      for (let i = 0; i < 3000; i++) queue.push(next++);
      for (let i = 0; i < 2990; i++) {
        const got = queue.shift();
        if (got !== expected && wrong.length < 10) wrong.push(`round ${round}: ${String(got)} where ${expected} was due`);
        expected++;
      }
    }
    expect(wrong).toEqual([]);
    expect(queue.size).toBe(1000);
  });
});

describe('drop counters', () => {
  it('count what slow subscribers lost, by type, including subscribers that left', () => {
    const bus = new EventBus();
    const sub = bus.subscribe({ capacity: 2 });
    for (let i = 0; i < 5; i++) bus.publish(tick('a', i), 'X');
    bus.publish(transition('a'), 'X');
    sub.close();
    expect(Object.fromEntries(bus.stats().droppedByType)).toEqual({ TickReceived: 4 });
  });
});

describe('EventBus.recent', () => {
  it('returns exactly what a subscription with the same replay is sent first', async () => {
    const bus = new EventBus({ historySize: 50 });
    for (let i = 0; i < 120; i++) {
      bus.publish({ type: 'StateTransition', runnerId: `r${i % 3}`, from: 'Idle', to: 'Analyzing', reason: String(i), timestamp: i }, 'S');
    }
    for (const [filter, count] of [
      [compileFilter({ runnerIds: ['r1'] }), 5],
      [compileFilter({ runnerIds: ['r2'] }), 100],
      [undefined, 50],
      [compileFilter({ runnerIds: [] }), 3],
    ] as const) {
      const subscription = bus.subscribe({ ...(filter ? { filter } : {}), replay: count });
      const replayed = show(await drainItems(subscription));
      subscription.close();
      expect(bus.recent(filter, count).map((e) => e.id)).toEqual(replayed);
    }
    expect(bus.recent(undefined, 0)).toEqual([]);
    expect(bus.recent(compileFilter({ runnerIds: ['r0'] }), 2).map((e) => e.event.runnerId)).toEqual(['r0', 'r0']);
    bus.close();
  });
});
