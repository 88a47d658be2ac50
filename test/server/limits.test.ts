import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EventBus } from '../../src/log/bus.js';
import { TradingEngine } from '../../src/engine/engine.js';
import { hashToken, TokenStore } from '../../src/graphql/auth.js';
import { loadServerConfig } from '../../src/app/config.js';
import { DEFAULT_LIMITS } from '../../src/graphql/limits.js';
import { startServer, type TickwireServer } from '../../src/app/server.js';
import { post, watch } from './transports.js';

let server: TickwireServer;
beforeAll(async () => {
  const bus = new EventBus();
  server = await startServer({
    engine: new TradingEngine(bus),
    bus,
    port: 0,
    host: '127.0.0.1',
    limits: { ...DEFAULT_LIMITS, maxDepth: 4, maxAliases: 2, maxSubscriptionsPerConnection: 2, wsMaxPayload: 4096, maxBodyBytes: 2048, connectionInitTimeoutMs: 200, graphiql: false, introspection: false },
  });
});
afterAll(async () => {
  await server.close();
});

/** Polls until `cond` holds: waits on what the server did, never on the clock alone. */
async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A raw graphql-transport-ws connection, to send what a well-behaved client would not. */
function raw(): Promise<{ socket: WebSocket; messages: string[]; closed: Promise<{ code: number; reason: string }> }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(server.urls.ws, 'graphql-transport-ws');
    const messages: string[] = [];
    const closed = new Promise<{ code: number; reason: string }>((r) => socket.once('close', (code, reason) => r({ code, reason: String(reason) })));
    socket.on('message', (d) => messages.push(String(d)));
    socket.once('open', () => resolve({ socket, messages, closed }));
    socket.once('error', reject);
  });
}

describe('limits', () => {
  it('refuses an HTTP body over MAX_BODY_BYTES (413) or without a length (411), before reading it', async () => {
    const big = JSON.stringify({ query: `{ runners { id } } # ${'x'.repeat(4000)}` });
    const res = await fetch(server.urls.http, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      errors: [{ message: `request body of ${Buffer.byteLength(big)} bytes is over the limit of 2048 (MAX_BODY_BYTES)`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
    });
    const chunked = await fetch(server.urls.http, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"query":"{ runners { id } }"}'));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(411);
    expect(((await chunked.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe('LENGTH_REQUIRED');
    // Under the limit, nothing changes.
    expect((await post(server, '{ runners { id } }')).errors).toBeUndefined();
  });

  it('refuses operations that are too deep or use too many aliases, with the reason', async () => {
    const deep = await post(server, '{ runners { position { side } stats { ticksProcessed } } }');
    expect(deep.errors).toBeUndefined();
    const tooDeep = await post(server, '{ eventHistory { edges { node { ... on TickReceived { data { close } } } } } }');
    expect(tooDeep.errors?.[0]?.message).toMatch(/depth/i);
    const aliases = await post(server, '{ a: runners { id } b: runners { id } c: runners { id } }');
    expect(aliases.errors?.[0]?.message).toMatch(/alias/i);
  });

  it('refuses introspection and serves no GraphiQL when switched off', async () => {
    const intro = await post(server, '{ __schema { queryType { name } } }');
    expect(intro.errors?.[0]?.message).toMatch(/introspection/i);
    const page = await fetch(server.urls.http, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toContain('<title>tickwire</title>');
  });

  it('caps subscriptions per graphql-ws connection', async () => {
    const c = await raw();
    c.socket.send(JSON.stringify({ type: 'connection_init' }));
    await until(() => c.messages.some((m) => m.includes('connection_ack')), 'connection_ack');
    for (const id of ['1', '2', '3']) {
      c.socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query: 'subscription { events { __typename } }' } }));
    }
    await until(() => c.messages.some((m) => m.includes('"type":"error"')), 'the refusal of the third');
    const refused = c.messages.map((m) => JSON.parse(m) as { id?: string; type: string; payload?: { message: string }[] }).find((m) => m.type === 'error');
    expect(refused?.id).toBe('3');
    expect(refused?.payload?.[0]?.message).toBe('too many subscriptions on this connection (at most 2, MAX_SUBSCRIPTIONS_PER_CONNECTION)');
    c.socket.close();
  });

  it('closes a connection that never sends connection_init (4408) and one that sends too much (1009)', async () => {
    const silent = await raw();
    expect((await silent.closed).code).toBe(4408);
    const noisy = await raw();
    noisy.socket.send('x'.repeat(10_000));
    expect((await noisy.closed).code).toBe(1009);
    // The server keeps serving others.
    const w = watch('graphql-ws', server, 'subscription { events { __typename } }');
    await until(() => server.tickwire.admission.open['graphql-ws'] === 1, 'the subscription to be open');
    expect(w.errors).toEqual([]);
    await w.close();
  });

  it('reads every limit from the environment, with clear errors', () => {
    const config = loadServerConfig({ MAX_DEPTH: '8', GRAPHIQL: 'false', WS_MAX_PAYLOAD: '2048' });
    expect(config.limits).toMatchObject({ maxDepth: 8, graphiql: false, wsMaxPayload: 2048, introspection: true });
    expect(() => loadServerConfig({ GRAPHIQL: 'maybe' })).toThrow(/GRAPHIQL/);
    expect(() => loadServerConfig({ MAX_DEPTH: '0' })).toThrow(/MAX_DEPTH/);
  });
});

describe('browser origins', () => {
  it('refuses a WebSocket and an HTTP request from another site, and accepts its own and allowed ones', async () => {
    const bus = new EventBus();
    const s = await startServer({
      engine: new TradingEngine(bus),
      bus,
      port: 0,
      host: '127.0.0.1',
      limits: { ...DEFAULT_LIMITS, allowedOrigins: ['https://dash.example.com'] },
    });
    try {
      const open = (origin: string) =>
        new Promise<string>((resolve) => {
          const socket = new WebSocket(s.urls.ws, 'graphql-transport-ws', { origin });
          socket.once('open', () => {
            socket.close();
            resolve('open');
          });
          socket.once('unexpected-response', (_req, res) => resolve(`refused ${res.statusCode}`));
          socket.once('error', () => resolve('error'));
        });
      expect(await open('https://evil.example.com')).toBe('refused 401');
      expect(await open('https://dash.example.com')).toBe('open');
      expect(await open(`http://127.0.0.1:${s.port}`)).toBe('open');
      const res = await fetch(s.urls.http, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://evil.example.com' },
        body: JSON.stringify({ query: '{ runners { id } }' }),
      });
      expect(res.status).toBe(403);
      expect(() => loadServerConfig({ ALLOWED_ORIGINS: 'https://a.example.com/path' })).toThrow(/ALLOWED_ORIGINS/);
    } finally {
      await s.close();
    }
  });
});

describe('subscriptions per token', () => {
  it('caps them across connections and gives them back when a connection goes', async () => {
    const bus = new EventBus();
    const s = await startServer({
      engine: new TradingEngine(bus),
      bus,
      port: 0,
      host: '127.0.0.1',
      limits: { ...DEFAULT_LIMITS, maxSubscriptionsPerToken: 3 },
    });
    try {
      const connect = () => connectFrom(s, '127.0.0.1');
      const a = await connect();
      const b = await connect();
      const open = () => s.tickwire.admission.open['graphql-ws'];
      a.subscribe('a1');
      a.subscribe('a2');
      await until(() => open() === 2, "a's two subscriptions");
      b.subscribe('b1');
      await until(() => open() === 3, "b's first");
      b.subscribe('b2');
      await until(() => b.errors.length === 1, 'the refusal of b2');
      expect(b.errors).toEqual(['b2: too many subscriptions for client address 127.0.0.1 (at most 3, MAX_SUBSCRIPTIONS_PER_TOKEN, per client address in open mode)']);
      a.socket.close();
      await until(() => open() === 1, "a's subscriptions to be given back");
      b.subscribe('b3');
      await until(() => open() === 2, 'b3 to be admitted');
      expect(b.errors).toHaveLength(1);
      b.socket.close();
    } finally {
      await s.close();
    }
  });
});

describe('subscriptions per token over SSE', () => {
  it('counts event streams against the same quota and refuses the one too many with 429', async () => {
    const bus = new EventBus();
    const s = await startServer({ engine: new TradingEngine(bus), bus, port: 0, host: '127.0.0.1', limits: { ...DEFAULT_LIMITS, maxSubscriptionsPerToken: 1 } });
    try {
      const url = `${s.urls.http}?query=${encodeURIComponent('subscription { events { __typename } }')}`;
      const open = () => {
        const ac = new AbortController();
        return { ac, res: fetch(url, { headers: { accept: 'text/event-stream' }, signal: ac.signal }) };
      };
      const first = open();
      expect((await first.res).status).toBe(200);
      const second = await open().res;
      expect(second.status).toBe(429);
      // Yoga sends the refusal in the form the client asked for (an event stream), with the status.
      expect(await second.text()).toContain('TOO_MANY_SUBSCRIPTIONS');
      first.ac.abort();
      await until(() => s.tickwire.admission.open['yoga-sse'] === 0, 'the first stream to be given back');
      const third = open();
      expect((await third.res).status).toBe(200);
      third.ac.abort();
    } finally {
      await s.close();
    }
  });
});

/** A graphql-ws connection from `localAddress` (a loopback alias: 127.0.0.x all reach 127.0.0.1 on Linux). */
function connectFrom(s: TickwireServer, localAddress: string, token?: string) {
  return new Promise<{ socket: WebSocket; errors: string[]; subscribe(id: string): void }>((resolve, reject) => {
    const socket = new WebSocket(s.urls.ws, 'graphql-transport-ws', { localAddress });
    const errors: string[] = [];
    socket.on('message', (d) => {
      const m = JSON.parse(String(d)) as { type: string; id?: string; payload?: { message: string }[] };
      if (m.type === 'connection_ack') resolve({ socket, errors, subscribe });
      if (m.type === 'error') errors.push(`${m.id}: ${m.payload?.[0]?.message}`);
    });
    const subscribe = (id: string) => socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query: 'subscription { events { __typename } }' } }));
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', ...(token !== undefined ? { payload: { token } } : {}) })));
    socket.once('error', reject);
  });
}

/** Opens an SSE subscription (Yoga's, or graphql-sse's distinct mode) from `localAddress`: its status, and how to end it. */
function sseFrom(s: TickwireServer, localAddress: string, endpoint: 'http' | 'sse' = 'http'): Promise<{ status: number; body: Promise<string>; close(): void }> {
  return new Promise((resolve, reject) => {
    const url = new URL(s.urls[endpoint]);
    url.searchParams.set('query', 'subscription { events { __typename } }');
    const req = request(url, { localAddress, headers: { accept: 'text/event-stream' } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += String(d)));
      const body = new Promise<string>((r) => res.once('end', () => r(text)).once('close', () => r(text)));
      resolve({ status: res.statusCode ?? 0, body, close: () => req.destroy() });
    });
    req.once('error', reject);
    req.end();
  });
}

describe('subscriptions per client address in open mode', () => {
  it('gives every client address a quota of its own, across transports', async () => {
    const bus = new EventBus();
    const s = await startServer({ engine: new TradingEngine(bus), bus, port: 0, host: '127.0.0.1', limits: { ...DEFAULT_LIMITS, maxSubscriptionsPerToken: 2 } });
    try {
      const open = () => s.tickwire.admission.open['graphql-ws'];
      const one = await connectFrom(s, '127.0.0.1');
      const two = await connectFrom(s, '127.0.0.2');
      one.subscribe('a');
      one.subscribe('b');
      await until(() => open() === 2, 'the first address to hold two');
      // The open principal is everybody: a quota per principal would refuse these.
      two.subscribe('a');
      two.subscribe('b');
      await until(() => open() === 4, 'the second address to hold two of its own');
      two.subscribe('c');
      await until(() => two.errors.length === 1, 'the refusal of the third from 127.0.0.2');
      expect(two.errors).toEqual(['c: too many subscriptions for client address 127.0.0.2 (at most 2, MAX_SUBSCRIPTIONS_PER_TOKEN, per client address in open mode)']);
      // The same quota over HTTP: the address is full on every transport, another is not.
      const refused = await sseFrom(s, '127.0.0.2');
      expect(refused.status).toBe(429);
      expect(await refused.body).toContain('client address 127.0.0.2');
      const refusedSse = await sseFrom(s, '127.0.0.2', 'sse');
      expect(refusedSse.status).toBe(429);
      expect(await refusedSse.body).toContain('client address 127.0.0.2');
      const third = await sseFrom(s, '127.0.0.3');
      expect(third.status).toBe(200);
      third.close();
      expect(one.errors).toEqual([]);
      one.socket.close();
      two.socket.close();
    } finally {
      await s.close();
    }
  });

  it('keeps a token\'s quota per token, whatever address it comes from', async () => {
    const bus = new EventBus();
    const tokens = new TokenStore([{ name: 'dash', sha256: hashToken('dash-secret'), role: 'viewer', runners: ['*'] }]);
    const s = await startServer({ engine: new TradingEngine(bus), bus, port: 0, host: '127.0.0.1', tokens, limits: { ...DEFAULT_LIMITS, maxSubscriptionsPerToken: 2 } });
    try {
      const open = () => s.tickwire.admission.open['graphql-ws'];
      const one = await connectFrom(s, '127.0.0.1', 'dash-secret');
      const two = await connectFrom(s, '127.0.0.2', 'dash-secret');
      one.subscribe('a');
      await until(() => open() === 1, 'the first');
      two.subscribe('a');
      await until(() => open() === 2, 'the second, from another address');
      two.subscribe('b');
      await until(() => two.errors.length === 1, 'the refusal of the third');
      expect(two.errors).toEqual(['b: too many subscriptions for token "dash" (at most 2, MAX_SUBSCRIPTIONS_PER_TOKEN)']);
      one.socket.close();
      two.socket.close();
    } finally {
      await s.close();
    }
  });
});
