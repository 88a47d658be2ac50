import { describe, expect, it } from 'vitest';
import { BatchCursor, BatchDecoder, BatchEncoder, MIN_TABLE_LIMIT } from '../../../src/engine/thread/codec.js';
import type { EngineThreadBatch as EncodedBatch } from '../../../src/engine/thread/protocol.js';
import type { RunnerUpdate } from '../../../src/engine/thread/protocol.js';
import type { RunnerEvent } from '../../../src/events/types.js';
import { sampleEvents } from '../../events/fixtures.js';
import { tick } from '../../fixtures/ticks.js';

/** Through a real port, as between threads: the buffers are transferred, the rest cloned. */
async function across(batch: EncodedBatch, transfer: ArrayBuffer[]): Promise<EncodedBatch> {
  const { port1, port2 } = new MessageChannel();
  const received = new Promise<EncodedBatch>((resolve) => port2.addEventListener('message', (m) => resolve(m.data as EncodedBatch), { once: true }));
  port2.start();
  port1.postMessage(batch, transfer);
  const out = await received;
  port1.close();
  port2.close();
  return out;
}

const stats = { ticksProcessed: 7, ticksRejected: 1, actionsExecuted: 2, errors: 1, errorRate: 0.125, realizedPnl: -3.5, lastPrice: 101.25 };

describe('engine thread batches', () => {
  it('forget runners gone long ago: 5,000 runners one after another leave both runner tables bounded, and every event and view still decodes whole, a batch decoded late included', () => {
    const encoder = new BatchEncoder();
    const decoder = new BatchDecoder();
    const position = { symbol: 'AAA', side: 'LONG' as const, quantity: 2, entryPrice: 100, entryTime: 5 };
    const steady: RunnerUpdate = { id: 'steady', symbol: 'AAA', state: 'InPosition', position, unrealizedPnl: 1, stats, stoppedAt: null, stopReason: null };
    let previous: { cursor: BatchCursor; n: number } | null = null;
    let fresh = 0;
    for (let n = 0; n < 5000; n++) {
      const id = `soak_${n}`;
      encoder.event({ type: 'TickReceived', runnerId: id, symbol: `SOAK${n % 10}`, data: tick(n, n, `SOAK${n % 10}`) }, `SOAK${n % 10}`);
      encoder.event({ type: 'TickReceived', runnerId: 'steady', symbol: 'AAA', data: tick(1, n, 'AAA') }, 'AAA');
      encoder.update({ id, symbol: `SOAK${n % 10}`, state: 'Stopped', position: null, unrealizedPnl: 0, stats, stoppedAt: n, stopReason: 'soak' }, `SOAK${n % 10}`);
      encoder.update(steady, 'AAA');
      const { batch } = encoder.take(n, []);
      if (batch.fresh) fresh++;
      decoder.names(batch);
      const views: RunnerUpdate[] = [];
      decoder.updates(batch, (u) => views.push(u));
      expect(views).toEqual([{ id, symbol: `SOAK${n % 10}`, state: 'Stopped', position: null, unrealizedPnl: 0, stats, stoppedAt: n, stopReason: 'soak' }, steady]);
      // The batch before is decoded only now, after this one's names (the publish queue decodes late).
      if (previous !== null) {
        const got: string[] = [];
        while (!previous.cursor.done) got.push(`${previous.cursor.next().runnerId}`);
        expect(got).toEqual([`soak_${previous.n}`, 'steady']);
      }
      previous = { cursor: decoder.cursor(batch), n };
      expect(encoder.tableSize).toBeLessThanOrEqual(MIN_TABLE_LIMIT + 2);
      expect(decoder.tableSize).toBeLessThanOrEqual(MIN_TABLE_LIMIT + 2);
    }
    expect(fresh).toBeGreaterThan(2);
  });

  it('with more runners running than the table holds at least: it starts afresh twice at most, then keeps them', () => {
    const encoder = new BatchEncoder();
    const decoder = new BatchDecoder();
    const runners = 3 * MIN_TABLE_LIMIT;
    let fresh = 0;
    for (let b = 0; b < 10; b++) {
      for (let r = 0; r < runners; r++) encoder.event({ type: 'TickReceived', runnerId: `r${r}`, symbol: 'AAA', data: tick(r, b, 'AAA') }, 'AAA');
      const { batch } = encoder.take(b, []);
      if (batch.fresh) fresh++;
      decoder.names(batch);
      const got: string[] = [];
      decoder.events(batch, (e) => got.push(e.runnerId));
      expect(got).toEqual(Array.from({ length: runners }, (_, r) => `r${r}`));
    }
    expect(fresh).toBeLessThanOrEqual(2);
    expect(decoder.tableSize).toBe(runners);
  });

  it('decode to the very events and views encoded, key order included, over several batches', async () => {
    const encoder = new BatchEncoder();
    const decoder = new BatchDecoder();
    const first: [RunnerEvent, string][] = [
      ...sampleEvents().map((e): [RunnerEvent, string] => [e, 'BTCUSDT']),
      [{ type: 'TickReceived', runnerId: 'a', symbol: 'AAA', data: tick(100.5, 1_700_000_000_123, 'AAA') }, 'AAA'],
      [{ type: 'PositionUpdated', runnerId: 'a', currentPrice: 100.25, unrealizedPnl: -0.1, timestamp: 1_700_000_000_124 }, 'AAA'],
      // A tick whose market symbol is not its runner's never comes from a runner; it still arrives whole.
      [{ type: 'TickReceived', runnerId: 'b', symbol: 'BBB', data: tick(5, 1, 'OTHER') }, 'BBB'],
    ];
    const position = { symbol: 'AAA', side: 'LONG' as const, quantity: 2, entryPrice: 100, entryTime: 5 };
    const updates: RunnerUpdate[] = [
      { id: 'a', symbol: 'AAA', state: 'InPosition', position, unrealizedPnl: -0.1, stats, stoppedAt: null, stopReason: null },
      { id: 'b', symbol: 'BBB', state: 'Analyzing', position: null, unrealizedPnl: 0, stats: { ...stats, lastPrice: null }, stoppedAt: null, stopReason: null },
    ];
    for (const [e, s] of first) encoder.event(e, s);
    for (const u of updates) encoder.update(u, u.symbol);
    const one = encoder.take(1, []);
    // Restarted on another symbol, then stopped: the view's position goes, its reason comes.
    const second: [RunnerEvent, string][] = [
      [{ type: 'TickReceived', runnerId: 'a', symbol: 'ZZZ', data: tick(7, 2, 'ZZZ') }, 'ZZZ'],
      [{ type: 'RunnerStopped', runnerId: 'a', reason: 'done', timestamp: 3 }, 'ZZZ'],
    ];
    for (const [e, s] of second) encoder.event(e, s);
    const stopped: RunnerUpdate = { id: 'a', symbol: 'ZZZ', state: 'Stopped', position: null, unrealizedPnl: 0, stats, stoppedAt: 3, stopReason: 'done' };
    const same: RunnerUpdate = { ...updates[1]!, unrealizedPnl: 0 };
    encoder.update(stopped, 'ZZZ');
    encoder.update(same, 'BBB');
    const two = encoder.take(2, []);
    const events: [RunnerEvent, string][] = [];
    const views: RunnerUpdate[] = [];
    for (const { batch, transfer } of [one, two]) {
      const arrived = await across(batch, transfer);
      decoder.names(arrived);
      decoder.updates(arrived, (u) => views.push(u));
      decoder.events(arrived, (e, s) => events.push([e, s]));
    }
    expect(JSON.stringify(events)).toBe(JSON.stringify([...first, ...second]));
    expect(JSON.stringify(views)).toBe(JSON.stringify([...updates, stopped, same]));
    // Only the first sight and the change carried a position or a reason.
    expect(one.batch.changes).toHaveLength(2);
    expect(two.batch.changes).toHaveLength(1);
  });
});
