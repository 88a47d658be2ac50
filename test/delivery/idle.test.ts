/**
 * What an idle subscriber holds: the structures a subscriber needs only once it falls
 * behind, or only while it writes, are made then and given up after, so that thousands of
 * quiet subscribers cost little (`idleMemoryPerSubscriberKb` in `npm run bench`). Asserted
 * on the objects, never on timing or heap sizes.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/log/bus.js';
import type { StreamItem } from '../../src/log/types.js';
import { isGap } from '../../src/log/types.js';
import { Hub } from '../../src/delivery/hub.js';
import type { DirectSource } from '../../src/delivery/member.js';
import { FrameWriter, releaseIdleSpares, WS_TEXT_FRAMING } from '../../src/delivery/writer.js';
import type { RunnerEvent } from '../../src/events/types.js';
import { TradingEngine } from '../../src/engine/engine.js';
import { createTickwireYoga } from '../../src/graphql/yoga.js';
import { prepareOperation, subscribePrepared } from '../../src/graphql/operation.js';
import { isDeliveredDirectly, type DeliveryTarget } from '../../src/graphql/shared-execution.js';
import { parseFrames } from '../support/ws-frames.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

const stateTransition = (runnerId: string, reason: string): RunnerEvent => ({ type: 'StateTransition', runnerId, from: 'Analyzing', to: 'Entering', reason, timestamp: 1 });

/** A socket that nobody reads (until `resume`), with everything written kept. */
function stalledSocket() {
  const stream = new PassThrough({ highWaterMark: 1 << 20 });
  const writes: Buffer[] = [];
  const write = stream.write.bind(stream);
  stream.write = ((chunk: Buffer) => {
    writes.push(Buffer.from(chunk));
    return write(chunk);
  }) as typeof stream.write;
  return { stream, writes };
}

describe('an idle subscriber', () => {
  it('holds no queue while it keeps up, and makes one only when its connection falls behind', async () => {
    const bus = new EventBus();
    const hub = new Hub<StreamItem>((item) => !isGap(item));
    const { stream, writes } = stalledSocket();
    const writer = new FrameWriter(stream, WS_TEXT_FRAMING, 4096);
    const subscription = bus.subscribe({ filter: (event) => event.runnerId === 'a' });
    const encode = (item: StreamItem) => Buffer.from(JSON.stringify(isGap(item) ? { gap: item.missed } : { id: item.id, reason: (item.event as { reason?: string }).reason }));
    hub.open('g', () => encode, subscription as unknown as DirectSource<StreamItem>, { writer, prefix: Buffer.from('{"p":'), suffix: Buffer.from('}') });

    for (let i = 0; i < 3; i++) bus.publish(stateTransition('a', `r${i}`), 'X');
    bus.publish(stateTransition('b', 'not this one'), 'X');
    await turn();
    expect(parseFrames(Buffer.concat(writes)).map((f) => (JSON.parse(f) as { p: { id: number } }).p.id)).toEqual([1, 2, 3]);
    // Live with room: every entry went straight to the socket; nothing was ever queued.
    expect(subscription.holdsQueue).toBe(false);
    expect(subscription.size).toBe(0);

    // The socket stops reading: past the writer's mark the next entries wait in the queue.
    const long = 'x'.repeat(1000);
    for (let i = 0; i < 8; i++) bus.publish(stateTransition('a', long), 'X');
    expect(subscription.holdsQueue).toBe(true);
    expect(subscription.size).toBeGreaterThan(0);
    subscription.close();
  });

  it("gives its connection's spare buffer up once the connection wrote nothing between two sweeps", async () => {
    const { stream } = stalledSocket();
    stream.resume();
    const writer = new FrameWriter(stream, WS_TEXT_FRAMING);
    expect(writer.holdsSpare).toBe(false);
    writer.text('{"type":"connection_ack"}');
    await turn();
    // The buffer of the write is kept for the next frames…
    expect(writer.holdsSpare).toBe(true);
    // …through a sweep that finds it wrote since the last one…
    releaseIdleSpares();
    expect(writer.holdsSpare).toBe(true);
    // …and given up at the next, when it wrote nothing meanwhile.
    releaseIdleSpares();
    expect(writer.holdsSpare).toBe(false);
    // A busy connection keeps its own.
    writer.text('{"type":"ping"}');
    await turn();
    releaseIdleSpares();
    writer.text('{"type":"ping"}');
    await turn();
    releaseIdleSpares();
    expect(writer.holdsSpare).toBe(true);
    writer.end();
  });

  it("is handed to graphql-ws as the delivery core's own stream, not through Yoga's per-subscriber wrappers", async () => {
    const bus = new EventBus();
    const tickwire = createTickwireYoga({ engine: new TradingEngine(bus), bus });
    const { stream, writes } = stalledSocket();
    stream.resume();
    const delivery: DeliveryTarget = { writer: new FrameWriter(stream, WS_TEXT_FRAMING), id: '1' };
    const query = 'subscription { events(runnerIds: ["a"]) { ... on StateTransition { reason } } }';
    const args = await prepareOperation(tickwire.yoga, { delivery }, { query });
    if (Array.isArray(args)) throw new Error(`refused: ${String(args)}`);
    const enveloped = await subscribePrepared(args as Exclude<typeof args, readonly unknown[]>);
    // What Yoga's envelop returns wraps the core's stream (masking, hooks); the transport
    // takes the core's own from the target instead.
    expect(delivery.stream).toBeDefined();
    expect(isDeliveredDirectly(delivery.stream)).toBe(true);
    expect(enveloped).not.toBe(delivery.stream);

    bus.publish(stateTransition('a', 'live'), 'X');
    await turn();
    expect(parseFrames(Buffer.concat(writes))).toEqual(['{"id":"1","type":"next","payload":{"data":{"events":{"reason":"live"}}}}']);
    // Ending it (graphql-ws's `complete`) ends the member and its log subscription.
    const next = delivery.stream!.next();
    await delivery.stream!.return!();
    await expect(next).resolves.toEqual({ done: true, value: undefined });
    expect(bus.subscriberCount).toBe(0);
  });

  it("fails as Yoga's masking would have told it, although no Yoga wrapper is in the way", async () => {
    const bus = new EventBus({ queueCapacity: 2 });
    const tickwire = createTickwireYoga({ engine: new TradingEngine(bus), bus });
    const { stream } = stalledSocket();
    const delivery: DeliveryTarget = { writer: new FrameWriter(stream, WS_TEXT_FRAMING, 64), id: '1' };
    const query = 'subscription { events(runnerIds: ["a"]) { ... on RunnerStopped { reason } } }';
    const args = await prepareOperation(tickwire.yoga, { delivery }, { query });
    if (Array.isArray(args)) throw new Error(`refused: ${String(args)}`);
    await subscribePrepared(args as Exclude<typeof args, readonly unknown[]>);
    const next = delivery.stream!.next();
    // Nobody reads the socket: past twice its capacity in critical events the subscriber is cut off.
    for (let i = 0; i < 10; i++) bus.publish({ type: 'RunnerStopped', runnerId: 'a', reason: `stop ${i}`, timestamp: 1 }, 'X');
    stream.resume();
    // The client is told "Unexpected error.", never the server's own words.
    await expect(next).rejects.toThrow(/^Unexpected error\.$/);
  });
});
