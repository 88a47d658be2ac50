import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunnerEvent } from '../../src/events/types.js';
import { SOCKET_HIGH_WATER_BYTES } from '../../src/transport/graphql-ws.js';
import { startTestServer, until, type TestServer } from './harness.js';

const MAX_AGE_MS = 300;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ maxEventAgeMs: MAX_AGE_MS });
});
afterAll(async () => {
  await t.close();
});

const tickOf = (runnerId: string, n: number): RunnerEvent => ({
  type: 'TickReceived',
  runnerId,
  symbol: 'SYM',
  data: { symbol: 'SYM', timestamp: 1_700_000_000_000 + n, open: n, high: n, low: n, close: n, volume: 1, bid: n, ask: n },
});
const openedOf = (runnerId: string): RunnerEvent => ({
  type: 'PositionOpened',
  runnerId,
  position: { symbol: 'SYM', side: 'LONG', quantity: 1, entryPrice: 1, entryTime: 1_700_000_000_000 },
  timestamp: 1_700_000_000_000,
});

interface Received {
  readonly __typename: string;
  readonly id?: string;
  readonly runnerId?: string;
  readonly data?: { readonly close: number };
  readonly missed?: number;
  readonly reason?: string;
}

/** A graphql-transport-ws client written by hand, so that it can stop reading. */
async function rawSubscriber(url: string, query: string): Promise<{ socket: WebSocket; received: Received[] }> {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  const received: Received[] = [];
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; payload?: { data?: { events: Received } } };
      if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ id: 'stalled', type: 'subscribe', payload: { query } }));
        resolve();
      } else if (message.type === 'next' && message.payload?.data != null) {
        received.push(message.payload.data.events);
      }
    });
  });
  return { socket, received };
}

describe('a graphql-ws client that stalls longer than MAX_EVENT_AGE_MS', () => {
  it('then gets a gap saying why, the latest tick of each runner and the PositionOpened, not the stale ticks', async () => {
    const client = await rawSubscriber(
      t.server.urls.ws,
      // Every field of a tick, so that the socket's buffers fill with fewer events.
      `subscription { events {
        __typename
        ... on Event { id runnerId }
        ... on TickReceived { symbol data { symbol timestamp open high low close volume bid ask } }
        ... on StreamGap { missed reason }
      } }`,
    );
    await until(() => t.bus.subscriberCount === 1, 'the subscriber');
    const [peer] = [...t.server.ws!.wss.clients];
    client.socket.pause();

    // Fill what the kernel and the server's socket hold until the server stops writing:
    // from then on this subscriber's events wait in its queue on the server.
    let n = 0;
    while (peer!.bufferedAmount < SOCKET_HIGH_WATER_BYTES) {
      for (let i = 0; i < 200; i++) t.bus.publish(tickOf('filler', n++), 'SYM');
      // Taken: written, or queued because the connection is behind (the loop then ends).
      await until(() => t.bus.stats().queued === 0 || peer!.bufferedAmount >= SOCKET_HIGH_WATER_BYTES, 'the server to take the fillers');
    }
    const beforeStall = t.bus.lastId;
    // Ticks of two runners and a PositionOpened flow while the client reads nothing.
    for (let i = 1; i <= 100; i++) {
      t.bus.publish(tickOf('a', i), 'SYM');
      if (i === 50) t.bus.publish(openedOf('a'), 'SYM');
      t.bus.publish(tickOf('b', i), 'SYM');
    }
    const published = t.bus.lastId;
    // The stall outlasts the bound (a condition on the clock itself: a busy machine only makes it longer).
    const stalledAt = performance.now();
    await until(() => performance.now() - stalledAt > 2 * MAX_AGE_MS, 'the stall to outlast the bound');

    client.socket.resume();
    const last = String(published);
    await until(() => client.received.some((r) => r.id === last), 'the last event', 20_000);

    const received = client.received;
    const firstStalled = received.findIndex((r) => Number(r.id) > beforeStall);
    // Right before the stalled events: a gap notice saying why (at most the latest filler between).
    const gapAt = received.slice(0, firstStalled).findLastIndex((r) => r.__typename === 'StreamGap');
    expect(gapAt).toBeGreaterThanOrEqual(firstStalled - 2);
    const gap = received[gapAt]!;
    expect(gap.reason).toContain(`older than ${MAX_AGE_MS} ms`);
    expect(gap.missed).toBeGreaterThanOrEqual(198);
    // Of the stalled events: the PositionOpened, and the latest tick of each runner only.
    const stalled = received.filter((r) => Number(r.id) > beforeStall);
    expect(stalled.map((r) => `${r.__typename}:${r.runnerId}${r.data ? `:${r.data.close}` : ''}`)).toEqual([
      'PositionOpened:a',
      'TickReceived:a:100',
      'TickReceived:b:100',
    ]);
    // Nothing lost without being counted: every event arrived or is in a gap's count.
    const events = received.filter((r) => r.__typename !== 'StreamGap').length;
    const missed = received.reduce((sum, r) => sum + (r.missed ?? 0), 0);
    expect(events + missed).toBe(published);

    // The metric says so too.
    const metrics = await (await fetch(`${t.server.urls.http.replace(/\/graphql$/, '')}/metrics`)).text();
    const conflated = metrics
      .split('\n')
      .filter((line) => line.startsWith('tickwire_events_conflated_by_age_total{'))
      .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
    expect(conflated).toBeGreaterThanOrEqual(gap.missed!);

    client.socket.close();
    await until(() => t.bus.subscriberCount === 0, 'the subscriber to go');
  }, 60_000);
});
