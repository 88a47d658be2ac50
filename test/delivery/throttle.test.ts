import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../../src/log/bus.js';
import { ThrottledStream } from '../../src/delivery/throttle.js';
import { isGap, type StreamItem } from '../../src/log/types.js';
import type { RunnerEvent } from '../../src/events/types.js';

const tick = (runnerId: string, close: number): RunnerEvent => ({
  type: 'TickReceived',
  runnerId,
  symbol: 'X',
  data: { symbol: 'X', timestamp: close, open: close, high: close, low: close, close, volume: 1, bid: close, ask: close },
});
const mark = (runnerId: string, price: number): RunnerEvent => ({ type: 'PositionUpdated', runnerId, currentPrice: price, unrealizedPnl: 0, timestamp: price });
const transition = (runnerId: string): RunnerEvent => ({ type: 'StateTransition', runnerId, from: 'Analyzing', to: 'Entering', reason: 'x', timestamp: 1 });
const stopped = (runnerId: string): RunnerEvent => ({ type: 'RunnerStopped', runnerId, reason: 'x', timestamp: 1 });

/** Everything the stream has ready now, after letting its microtasks run. */
async function ready(stream: ThrottledStream): Promise<StreamItem[]> {
  await vi.advanceTimersByTimeAsync(0);
  const out: StreamItem[] = [];
  while (stream.size > 0) {
    const next = await stream.next();
    if (next.done === true) break;
    out.push(next.value);
  }
  return out;
}

const describeItem = (i: StreamItem) =>
  isGap(i) ? 'gap' : i.event.type === 'TickReceived' ? `tick ${i.event.runnerId} ${i.event.data.close}` : i.event.type === 'PositionUpdated' ? `mark ${i.event.runnerId} ${i.event.currentPrice}` : `${i.event.type} ${i.event.runnerId}`;

describe('ThrottledStream', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends the latest high-frequency event per runner and type at the end of each window', async () => {
    const bus = new EventBus();
    const stream = new ThrottledStream(bus.subscribe(), 100, 1000);
    for (let i = 1; i <= 50; i++) {
      bus.publish(tick('a', i), 'X');
      bus.publish(tick('b', 100 + i), 'X');
      bus.publish(mark('a', 1000 + i), 'X');
    }
    expect(await ready(stream)).toEqual([]);
    await vi.advanceTimersByTimeAsync(100);
    expect((await ready(stream)).map(describeItem)).toEqual(['tick a 50', 'tick b 150', 'mark a 1050']);
    // A quiet window sends nothing; the next burst sends its own last values.
    await vi.advanceTimersByTimeAsync(100);
    expect(await ready(stream)).toEqual([]);
    bus.publish(tick('a', 51), 'X');
    bus.publish(tick('a', 52), 'X');
    await vi.advanceTimersByTimeAsync(100);
    expect((await ready(stream)).map(describeItem)).toEqual(['tick a 52']);
    stream.close();
    expect(bus.subscriberCount).toBe(0);
  });

  it('passes standard events at once and in order, and never holds back critical ones', async () => {
    const bus = new EventBus();
    const stream = new ThrottledStream(bus.subscribe(), 1000, 1000);
    bus.publish(tick('a', 1), 'X');
    bus.publish(transition('a'), 'X');
    bus.publish(tick('a', 2), 'X');
    bus.publish(transition('b'), 'X');
    bus.publish(stopped('a'), 'X');
    expect((await ready(stream)).map(describeItem)).toEqual(['StateTransition a', 'StateTransition b', 'RunnerStopped a']);
    await vi.advanceTimersByTimeAsync(1000);
    expect((await ready(stream)).map(describeItem)).toEqual(['tick a 2']);
    stream.close();
  });

  it('passes a snapshot at once: its tick and mark are the state a page draws first, not a flood to conflate', async () => {
    const bus = new EventBus();
    bus.publish(tick('a', 1), 'X');
    bus.publish(mark('a', 2), 'X');
    bus.publish(tick('b', 3), 'X');
    const stream = new ThrottledStream(bus.subscribe({ snapshot: true }), 1000, 1000);
    bus.publish(tick('a', 4), 'X');
    // Before any window ends, and not replaced by the live tick that came after it.
    expect((await ready(stream)).map(describeItem)).toEqual(['tick a 1', 'mark a 2', 'tick b 3']);
    await vi.advanceTimersByTimeAsync(1000);
    expect((await ready(stream)).map(describeItem)).toEqual(['tick a 4']);
    stream.close();
  });

  it('sends what is pending when the source ends, so the last value is never lost', async () => {
    const bus = new EventBus();
    const stream = new ThrottledStream(bus.subscribe(), 1000, 1000);
    bus.publish(tick('a', 7), 'X');
    bus.close();
    expect((await ready(stream)).map(describeItem)).toEqual(['tick a 7']);
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('refuses a window out of range', () => {
    const bus = new EventBus();
    expect(() => new ThrottledStream(bus.subscribe(), 0, 10)).toThrow(/throttle window must be 1..60000 ms, got 0/);
  });
});
