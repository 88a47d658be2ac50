import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunnerEvent } from '../../src/events/types.js';
import { startTestServer, until, type TestServer } from './harness.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

const tickOf = (n: number): RunnerEvent => ({
  type: 'TickReceived',
  runnerId: 'a',
  symbol: 'A',
  data: { symbol: 'A', timestamp: n, open: 1, high: 1, low: 1, close: 1, volume: 1, bid: 1, ask: 1 },
});

const QUERY = 'subscription { events { ... on Event { id } ... on StreamGap { missed } } }';

describe.each([
  ['Yoga SSE', () => ({ method: 'GET', path: `/graphql?query=${encodeURIComponent(QUERY)}`, body: undefined })],
  ['graphql-sse', () => ({ method: 'POST', path: '/graphql/stream', body: JSON.stringify({ query: QUERY }) })],
])('an SSE client that stops reading (%s)', (_, shape) => {
  it('costs bounded memory and learns what it lost when it reads again', async () => {
    const { method, path, body } = shape();
    let text = '';
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: t.server.port, method, path, headers: { accept: 'text/event-stream', 'content-type': 'application/json' } },
        resolve,
      );
      req.once('error', reject);
      req.end(body);
    });
    expect(res.statusCode).toBe(200);
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    await until(() => t.bus.subscriberCount === 1, 'the subscriber');
    res.pause();

    const heapBefore = process.memoryUsage().heapUsed;
    let heapPeak = heapBefore;
    for (let n = 0; n < 100_000; n++) {
      t.bus.publish(tickOf(n), 'A');
      if (n % 5000 === 0) {
        await new Promise((r) => setImmediate(r));
        heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
      }
    }
    await new Promise((r) => setTimeout(r, 200));
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    expect(heapPeak - heapBefore).toBeLessThan(150 * 1024 * 1024);

    res.resume();
    await until(() => text.includes('"missed"'), 'a StreamGap notice', 15_000);
    // Far fewer events than were published reached the stalled client, and it was told.
    expect(text.split('"id"').length - 1).toBeLessThan(100_000);
    res.destroy();
    await until(() => t.bus.subscriberCount === 0, 'the subscriber to go');
  }, 60_000);
});
