import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BatchStream, type EventBatch } from '../../src/delivery/batch.js';
import { EventBus } from '../../src/log/bus.js';
import { isGap } from '../../src/log/types.js';
import type { RunnerEvent } from '../../src/events/types.js';

const tick = (n: number): RunnerEvent => ({
  type: 'TickReceived',
  runnerId: 'a',
  symbol: 'X',
  data: { symbol: 'X', timestamp: n, open: 1, high: 1, low: 1, close: 1, volume: 1, bid: 1, ask: 1 },
});

async function ready(stream: BatchStream): Promise<EventBatch[]> {
  await vi.advanceTimersByTimeAsync(0);
  const out: EventBatch[] = [];
  while (stream.size > 0) {
    const next = await stream.next();
    if (next.done === true) break;
    out.push(next.value);
  }
  return out;
}

const summary = (b: EventBatch) => [b.items.length, b.firstId, b.lastId, b.dropped];

describe('BatchStream', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('sends one batch per interval, early when maxSize fills, nothing when nothing came', async () => {
    const bus = new EventBus();
    const stream = new BatchStream(bus.subscribe(), 100, 300);
    for (let i = 0; i < 700; i++) bus.publish(tick(i), 'X');
    expect((await ready(stream)).map(summary)).toEqual([
      [300, 1, 300, 0],
      [300, 301, 600, 0],
    ]);
    await vi.advanceTimersByTimeAsync(100);
    expect((await ready(stream)).map(summary)).toEqual([[100, 601, 700, 0]]);
    await vi.advanceTimersByTimeAsync(300);
    expect(await ready(stream)).toEqual([]);
    stream.close();
    expect(bus.subscriberCount).toBe(0);
  });

  it('counts gap notices as dropped and keeps them in the batch', async () => {
    const bus = new EventBus({ historySize: 3 });
    for (let i = 0; i < 10; i++) bus.publish(tick(i), 'X'); // keeps 8..10
    const stream = new BatchStream(bus.subscribe({ after: 0 }), 50, 100);
    await vi.advanceTimersByTimeAsync(50);
    const [batch] = await ready(stream);
    expect(summary(batch!)).toEqual([4, 8, 10, 7]);
    expect(isGap(batch!.items[0]!)).toBe(true);
    stream.close();
  });
});
