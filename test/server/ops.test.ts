import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/log/bus.js';
import { TradingEngine } from '../../src/engine/engine.js';
import { startServer } from '../../src/app/server.js';
import { publishScript, until } from './harness.js';
import { watch } from './transports.js';

describe('/metrics, /health and /ready', () => {
  it('report what the server is doing, and readiness with the reason when a dependency is down', async () => {
    const bus = new EventBus();
    let storeHealthy = true;
    const server = await startServer({
      engine: new TradingEngine(bus),
      bus,
      port: 0,
      host: '127.0.0.1',
      health: { store: () => ({ written: 7, backlog: 3, lost: 0, failures: 2, healthy: storeHealthy }), redis: () => null },
    });
    const base = server.urls.http.replace(/\/graphql$/, '');
    try {
      expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: 'ok' });
      const w = watch('graphql-ws', server, 'subscription { events(types: [TICK_RECEIVED]) { __typename } }');
      await until(() => bus.subscriberCount === 1, 'the subscriber');
      publishScript(bus);
      await w.take(2);
      const res = await fetch(`${base}/metrics`);
      expect(res.headers.get('content-type')).toMatch(/text\/plain/);
      const text = await res.text();
      expect(text).toMatch(/^tickwire_events_published_total\{type="TickReceived"\} 2$/m);
      expect(text).toMatch(/^tickwire_events_published_total\{type="Error"\} 3$/m);
      expect(text).toMatch(/^tickwire_events_delivered_total\{type="TickReceived"\} 2$/m);
      expect(text).toMatch(/^tickwire_connections\{transport="graphql-ws"\} 1$/m);
      expect(text).toMatch(/^# TYPE tickwire_events_dropped_total counter$/m);
      expect(text).toMatch(/^tickwire_connections\{transport="graphql-sse"\} 0$/m);
      expect(text).toMatch(/^tickwire_shared_execution_cohorts 1$/m);
      expect(text).toMatch(/^tickwire_store_backlog 3$/m);
      expect(text).toMatch(/^tickwire_store_up 1$/m);
      expect(text).toMatch(/^tickwire_process_resident_memory_bytes \d+/m);
      expect((await fetch(`${base}/ready`)).status).toBe(200);
      storeHealthy = false;
      const notReady = await fetch(`${base}/ready`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toEqual({ status: 'unavailable', problems: ['event store writes are failing'] });
      expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^tickwire_store_up 0$/m);
      await w.close();
    } finally {
      await server.close();
    }
  });
});

describe('request ids', () => {
  it('answers every request with an X-Request-Id: the caller\'s when it is sane, else a new one', async () => {
    const bus = new EventBus();
    const server = await startServer({ engine: new TradingEngine(bus), bus, port: 0, host: '127.0.0.1' });
    try {
      const post = (headers: Record<string, string>) =>
        fetch(server.urls.http, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"query":"{ runners { id } }"}' });
      expect((await post({ 'x-request-id': 'lb-7f3a.1' })).headers.get('x-request-id')).toBe('lb-7f3a.1');
      const fresh = (await post({})).headers.get('x-request-id');
      expect(fresh).toMatch(/^[0-9a-f-]{36}$/);
      expect((await post({})).headers.get('x-request-id')).not.toBe(fresh);
      const forged = (await post({ 'x-request-id': 'a b {"level":60}' })).headers.get('x-request-id');
      expect(forged).toMatch(/^[0-9a-f-]{36}$/);
      expect((await fetch(server.urls.http.replace(/\/graphql$/, '/health'))).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await server.close();
      bus.close();
    }
  });
});
