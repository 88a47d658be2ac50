import { describe, expect, it } from 'vitest';
import { EventBus, FANOUT_SLICE, type EventSubscription } from '../../src/log/bus.js';
import { isGap, type StreamItem } from '../../src/log/types.js';
import type { RunnerEvent } from '../../src/events/types.js';

/**
 * A publish to thousands of subscribers is handed out in slices, one per turn of the event
 * loop, so that I/O (a `/health` request, a new connection's ack) is served between them;
 * each subscriber still gets every entry once and in order. Counts, never times.
 */

const SUBSCRIBERS = 3 * FANOUT_SLICE;
const tick = (n: number): RunnerEvent => ({
  type: 'TickReceived',
  runnerId: 'r',
  symbol: 'X',
  data: { symbol: 'X', timestamp: n, open: 1, high: 1, low: 1, close: 1, volume: 1, bid: 1, ask: 1 },
});

/** What a subscription's sink does when the bus queues an entry for it instead (see onQueued below). */
const queuedBy = new WeakMap<EventSubscription, () => void>();

/** Subscribers whose sinks record the ids they are handed; `done` settles once each has `expected` of them. */
function sinks(bus: EventBus, count: number, expected: number) {
  const got: number[][] = [];
  let complete = 0;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  const subscriptions: EventSubscription[] = [];
  for (let i = 0; i < count; i++) {
    const ids: number[] = [];
    got.push(ids);
    const subscription = bus.subscribe();
    subscription.sink = {
      accept: (item: StreamItem) => {
        if (isGap(item)) throw new Error(`unexpected gap: ${item.reason}`);
        ids.push(item.id);
        if (ids.length === expected && ++complete === count) resolve();
        return true;
      },
      queued: () => queuedBy.get(subscription)?.(),
      ended: () => {},
    };
    subscriptions.push(subscription);
  }
  const handed = () => got.reduce((n, ids) => n + ids.length, 0);
  return { got, done, handed, subscriptions };
}

describe('fan-out in slices', () => {
  it(`hands a publish to at most FANOUT_SLICE (${FANOUT_SLICE}) subscribers per callback, so a callback queued behind it runs before the rest`, async () => {
    const bus = new EventBus();
    const { done, handed } = sinks(bus, SUBSCRIBERS, 1);
    bus.publish(tick(1), 'X');
    const inPublish = handed();
    // Queued after the publish: on a loop that served all thousands in one callback, it would see all of them served.
    const behind = new Promise<number>((resolve) => setImmediate(() => resolve(handed())));
    expect(inPublish).toBe(FANOUT_SLICE);
    expect(bus.handingOut).toBe(true);
    expect(await behind).toBeLessThan(SUBSCRIBERS);
    await done;
    expect(handed()).toBe(SUBSCRIBERS);
    // The turn that handed out the last slice is over: the engine's hand-off may publish again.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(bus.handingOut).toBe(false);
    expect(bus.stats().delivered).toBe(SUBSCRIBERS);
  });

  it('keeps each subscriber’s order with publishes that wait behind an unfinished one, without duplicates', async () => {
    const bus = new EventBus();
    const { got, done } = sinks(bus, SUBSCRIBERS, 3);
    const ids = [1, 2, 3].map((n) => bus.publish(tick(n), 'X').id);
    // Joined while the first ones are handed out: it starts after them, and replays them from the history once.
    const late = bus.subscribe({ after: 0 });
    await done;
    expect(got.every((seen) => seen.length === 3 && seen.every((id, i) => id === ids[i]))).toBe(true);
    const replayed: number[] = [];
    for (let item = late.take(); item !== undefined; item = late.take()) if (!isGap(item)) replayed.push(item.id);
    expect(replayed).toEqual(ids);
  });

  it('queues, for the age bound, what waited for its slice past the bound, instead of handing it on', async () => {
    let now = 0;
    const bus = new EventBus({ maxEventAgeMs: 1000, ageClock: () => now });
    const { handed, subscriptions } = sinks(bus, 2 * FANOUT_SLICE, 1);
    const queued = new Set<EventSubscription>();
    for (const s of subscriptions) queuedBy.set(s, () => queued.add(s));
    bus.publish(tick(1), 'X');
    expect(handed()).toBe(FANOUT_SLICE);
    now = 5000;
    while (bus.handingOut) await new Promise<void>((resolve) => setImmediate(resolve));
    // The second slice came after the bound: queued (their readers told), not handed to the sinks.
    expect(handed()).toBe(FANOUT_SLICE);
    expect(queued.size).toBe(FANOUT_SLICE);
    const late = subscriptions[subscriptions.length - 1]!;
    const first = late.take();
    expect(first !== undefined && !isGap(first) && first.id).toBe(1);
  });

  it('hands out everything before it ends the subscriptions when the bus closes', () => {
    const bus = new EventBus();
    const { handed } = sinks(bus, SUBSCRIBERS, 1);
    bus.publish(tick(1), 'X');
    bus.close();
    expect(handed()).toBe(SUBSCRIBERS);
  });
});
