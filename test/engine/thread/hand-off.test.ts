import { describe, expect, it } from 'vitest';
import { HandOff } from '../../../src/engine/thread/hand-off.js';
import { BatchDecoder } from '../../../src/engine/thread/codec.js';
import type { EngineThreadBatch } from '../../../src/engine/thread/protocol.js';
import type { RunnerEvent } from '../../../src/events/types.js';
import { tick } from '../../fixtures/ticks.js';

const tickOf = (runnerId: string, i: number): RunnerEvent => ({ type: 'TickReceived', runnerId, symbol: 'TEST', data: tick(100 + i, i) });
const transition = (runnerId: string): RunnerEvent => ({ type: 'StateTransition', runnerId, from: 'Analyzing', to: 'Entering', reason: 'test', timestamp: 1 });

/** A hand-off whose flushes run when the test says, posting into `batches`. */
function handOff(bound: number) {
  const batches: EngineThreadBatch[] = [];
  let pending: (() => void) | null = null;
  const h = new HandOff((b) => batches.push(b), () => undefined, { bound, schedule: (f) => (pending = f), clock: () => 1000 });
  const flush = () => {
    const f = pending;
    pending = null;
    f?.();
  };
  // Decoded as the main thread does, in order.
  const decoder = new BatchDecoder();
  const all: { event: RunnerEvent; symbol: string }[] = [];
  let decoded = 0;
  const published = () => {
    for (; decoded < batches.length; decoded++) {
      decoder.names(batches[decoded]!);
      decoder.events(batches[decoded]!, (event, symbol) => all.push({ event, symbol }));
    }
    return all.map((e) => e.event);
  };
  return { h, batches, flush, published, symbols: () => (published(), all.map((e) => e.symbol)) };
}

describe('engine hand-off', () => {
  it('batches a turn’s events into one message and counts them until acknowledged', () => {
    const { h, batches, flush, published, symbols } = handOff(100);
    for (let i = 0; i < 10; i++) h.publish(tickOf('a', i), 'TEST');
    expect(batches).toHaveLength(0);
    flush();
    expect(batches).toHaveLength(1);
    expect(batches[0]!.count).toBe(10);
    expect(published()).toEqual(Array.from({ length: 10 }, (_, i) => tickOf('a', i)));
    expect(symbols()).toEqual(Array(10).fill('TEST'));
    expect(h.backlog).toBe(10);
    h.acknowledge(10);
    expect(h.backlog).toBe(0);
  });

  it('over the bound drops ticks, keeps other events, and reports the count before the runner’s next standard event', () => {
    const { h, flush, published } = handOff(5);
    for (let i = 0; i < 8; i++) h.publish(tickOf('a', i), 'TEST');
    h.publish(tickOf('b', 0), 'TEST');
    flush();
    // 5 pass, 3 of a and 1 of b dropped; nothing said yet (the main thread has not caught up).
    expect(published().map((e) => e.type)).toEqual(Array(5).fill('TickReceived'));
    h.publish(transition('a'), 'TEST');
    flush();
    const events = published();
    expect(events.slice(5).map((e) => e.type)).toEqual(['Error', 'StateTransition']);
    expect(events[5]).toMatchObject({ runnerId: 'a', severity: 'Error', error: expect.stringMatching(/^3 high-frequency events of this runner \(3 TickReceived, 0 PositionUpdated\) were dropped/) });
    // b's loss is said once the main thread is under the bound again.
    h.acknowledge(7);
    flush();
    expect(published().at(-1)).toMatchObject({ type: 'Error', runnerId: 'b', error: expect.stringMatching(/^1 high-frequency events of this runner \(1 TickReceived/) });
    h.acknowledge(1);
    h.publish(tickOf('a', 9), 'TEST');
    flush();
    expect(published().at(-1)).toMatchObject({ type: 'TickReceived' });
  });
});
