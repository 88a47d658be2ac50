import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/log/bus.js';
import { createEventsClient } from '../../src/client/index.js';
import { TradingEngine } from '../../src/engine/engine.js';
import { hashToken, TokenStore } from '../../src/graphql/auth.js';
import { startServer } from '../../src/app/server.js';
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

describe('the typed client over graphql-ws with throttleMs', () => {
  it('resumes after the highest id it saw, though conflated events come out of order', async () => {
    const proxy = await tcpProxy(t.server.port);
    const statuses: string[] = [];
    const client = createEventsClient({ url: `ws://127.0.0.1:${proxy.port}/graphql`, onConnection: (s) => statuses.push(s.state) });
    let n = 0;
    // Ticks conflate (late, at the end of each window); the state transitions pass at once.
    const timer = setInterval(() => {
      for (let i = 0; i < 20; i++) t.bus.publish(tickOf(n++), 'LIVE');
      t.bus.publish({ type: 'StateTransition', runnerId: 'live', from: 'Idle', to: 'Analyzing', reason: `#${n}`, timestamp: n }, 'LIVE');
    }, 5);
    try {
      const ids: number[] = [];
      let outOfOrder = 0;
      for await (const event of client.events({ runnerIds: ['live'], throttleMs: 20 })) {
        if (!('id' in event)) continue;
        const late = ids.length > 0 && Number(event.id) < Math.max(...ids.slice(-50));
        ids.push(Number(event.id));
        // Cut right after a conflated tick came late: the moment a resume from the last
        // id received (rather than the highest) would repeat what followed it.
        if (late && ids.length > (outOfOrder + 1) * 100 && outOfOrder < 3) {
          outOfOrder++;
          proxy.cut();
        }
        if (ids.length === 900) break;
      }
      expect(outOfOrder).toBe(3); // the case this test is about did happen
      expect(new Set(ids).size).toBe(ids.length); // and still no event twice
      expect(statuses.filter((s) => s === 'connected').length).toBe(4);
    } finally {
      clearInterval(timer);
      await client.close();
      await proxy.close();
    }
  }, 30_000);
});

describe('the typed client and a refused token', () => {
  it('over SSE, ends events() at once with the 401 instead of trying again', async () => {
    const bus = new EventBus();
    const tokens = new TokenStore([{ name: 'ops', sha256: hashToken('right'), role: 'operator', runners: ['*'] }]);
    const server = await startServer({ engine: new TradingEngine(bus), bus, port: 0, host: '127.0.0.1', tokens });
    let requests = 0;
    server.http.on('request', () => requests++);
    const client = createEventsClient({ url: server.urls.sse, transport: 'sse', token: 'wrong', retryAttempts: Infinity });
    try {
      const failure = await client.events().next().then(
        () => null,
        (err: unknown) => err,
      );
      expect((failure as { response?: { status?: number } }).response?.status).toBe(401);
      // One request: no retry followed the refusal.
      expect(requests).toBe(1);
    } finally {
      await client.close();
      await server.close();
      bus.close();
    }
  });

  it('ends events() at once with close code 4403 instead of trying again', async () => {
    const bus = new EventBus();
    const tokens = new TokenStore([{ name: 'ops', sha256: hashToken('right'), role: 'operator', runners: ['*'] }]);
    const server = await startServer({ engine: new TradingEngine(bus), bus, port: 0, host: '127.0.0.1', tokens });
    const closes: number[] = [];
    const client = createEventsClient({
      url: server.urls.ws,
      token: 'wrong',
      retryAttempts: Infinity,
      onConnection: (s) => s.state === 'closed' && closes.push(s.code),
    });
    try {
      const failure = await client.events().next().then(
        () => null,
        (err: unknown) => err,
      );
      expect((failure as { code?: number }).code).toBe(4403);
      await new Promise((r) => setTimeout(r, 500));
      expect(closes).toEqual([4403]); // one attempt, however many retries were allowed
    } finally {
      await client.close();
      await server.close();
      bus.close();
    }
  });
});
