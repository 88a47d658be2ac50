import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventsClient } from '../../src/client/index.js';
import type { RunnerEvent } from '../../src/events/types.js';
import { startTestServer, until, type TestServer } from '../server/harness.js';
import { tcpProxy } from '../support/proxy.js';

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
    const proxy = await tcpProxy(t.server.port);
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
