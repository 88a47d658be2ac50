import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventsClient } from '../../src/client/index.js';
import type { RunnerEvent } from '../../src/events/types.js';
import { startTestServer, until, type TestServer } from '../server/harness.js';

/** A TCP proxy in front of the server whose connections the test can cut. */
async function cuttableProxy(targetPort: number): Promise<{ port: number; cut(): void; close(): Promise<void>; cuts: number }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = new (client.constructor as typeof Socket)();
    upstream.connect(targetPort, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const proxy = {
    port: (server.address() as AddressInfo).port,
    cuts: 0,
    cut: () => {
      proxy.cuts++;
      for (const s of sockets) s.destroy();
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
  return proxy;
}

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

const tickOf = (n: number): RunnerEvent => ({
  type: 'TickReceived',
  runnerId: 'live',
  symbol: 'LIVE',
  data: { symbol: 'LIVE', timestamp: n, open: 1, high: 1, low: 1, close: n, volume: 1, bid: 1, ask: 1 },
});

describe.each([
  ['graphql-ws', (port: number) => createEventsClient({ url: `ws://127.0.0.1:${port}/graphql` })],
  ['graphql-sse', (port: number) => createEventsClient({ url: `http://127.0.0.1:${port}/graphql/stream`, transport: 'sse' })],
])('the typed client over %s after a cut connection', (_, create) => {
  it('resumes from the last id it saw: no gap, no duplicate', async () => {
    const proxy = await cuttableProxy(t.server.port);
    const client = create(proxy.port);
    let n = 0;
    const timer = setInterval(() => {
      for (let i = 0; i < 50; i++) t.bus.publish(tickOf(n++), 'LIVE');
    }, 5);
    try {
      const events = client.events({ runnerIds: ['live'] });
      const ids: number[] = [];
      for await (const event of events) {
        if (event.__typename !== 'TickReceived') throw new Error(`unexpected ${event.__typename}`);
        ids.push(Number(event.id));
        // Cut twice, mid-stream.
        if (ids.length === 500 || ids.length === 1500) proxy.cut();
        if (ids.length === 3000) break;
      }
      expect(proxy.cuts).toBe(2);
      expect(ids.every((id, i) => i === 0 || id === ids[i - 1]! + 1)).toBe(true);
    } finally {
      clearInterval(timer);
      await client.close();
      await proxy.close();
    }
    await until(() => t.bus.subscriberCount === 0, 'the server-side subscribers to go');
  }, 30_000);
});
