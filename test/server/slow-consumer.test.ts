import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunnerEvent } from '../../src/events/types.js';
import { startTestServer, until, type TestServer } from './harness.js';
import { watch } from './transports.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

const tickOf = (runnerId: string, n: number): RunnerEvent => ({
  type: 'TickReceived',
  runnerId,
  symbol: runnerId.toUpperCase(),
  data: { symbol: runnerId.toUpperCase(), timestamp: n, open: 1, high: 1, low: 1, close: 1, volume: 1, bid: 1, ask: 1 },
});

/** A graphql-transport-ws client written by hand, so that it can stop reading. */
async function rawSubscriber(url: string, query: string): Promise<{ socket: WebSocket; messages: string[] }> {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  const messages: string[] = [];
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
    socket.on('message', (data) => {
      const text = String(data);
      if (text.includes('"connection_ack"')) {
        socket.send(JSON.stringify({ id: 'slow', type: 'subscribe', payload: { query } }));
        resolve();
        return;
      }
      messages.push(text);
    });
  });
  return { socket, messages };
}

describe('a client that stops reading', () => {
  it('costs the server bounded memory, does not slow another client, and learns what it lost', async () => {
    const slow = await rawSubscriber(
      t.server.urls.ws,
      'subscription { events { ... on Event { id } ... on StreamGap { missed reason } } }',
    );
    const fast = watch('graphql-ws', t.server, 'subscription { events(runnerIds: ["b"]) { ... on Event { id } } }');
    await until(() => t.bus.subscriberCount === 2, 'both subscribers');
    slow.socket.pause();

    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    let heapPeak = heapBefore;
    // 50,000 events/s for two seconds: 500 every 10 ms, one in a hundred for runner b.
    let published = 0;
    let forB = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        for (let i = 0; i < 500; i++) {
          const b = published % 100 === 0;
          if (b) forB++;
          t.bus.publish(tickOf(b ? 'b' : 'a', published++), b ? 'B' : 'A');
        }
        heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
        if (published >= 100_000) {
          clearInterval(timer);
          resolve();
        }
      }, 10);
    });

    // The other client got every one of its events while the first one was stuck.
    await fast.take(forB, 10_000);
    expect(fast.results).toHaveLength(forB);
    // Bounded: queues of 10,000 and a socket high-water mark of 1 MiB, not 100,000 events.
    expect(heapPeak - heapBefore).toBeLessThan(150 * 1024 * 1024);

    slow.socket.resume();
    await until(() => slow.messages.some((m) => m.includes('"missed"')), 'a StreamGap notice', 10_000);
    const gap = JSON.parse(slow.messages.find((m) => m.includes('"missed"'))!) as {
      payload: { data: { events: { missed: number; reason: string } } };
    };
    expect(gap.payload.data.events.missed).toBeGreaterThan(0);
    expect(gap.payload.data.events.reason).toMatch(/subscriber too slow/);
    // It lost events, but far from all of them, and it is still subscribed.
    expect(slow.messages.length).toBeLessThan(100_000);
    expect(t.bus.subscriberCount).toBe(2);

    slow.socket.close();
    await fast.close();
    await until(() => t.bus.subscriberCount === 0, 'both subscribers to go');
  }, 60_000);
});
