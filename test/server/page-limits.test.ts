import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { acceptsEventStream, yogaAccept } from '../../src/transport/accept.js';
import { loadServerConfig } from '../../src/app/config.js';
import { GraphiqlPage, pageClientKey } from '../../src/transport/graphiql-page.js';
import { DEFAULT_LIMITS, operationIdRefusal } from '../../src/graphql/limits.js';
import { log } from '../../src/runtime/log.js';
import { TokenBuckets } from '../../src/transport/token-bucket.js';

describe('TokenBuckets', () => {
  it('gives each key its burst, then one token per 60/perMinute s, and says when the next is back', () => {
    const buckets = new TokenBuckets({ burst: 3, perMinute: 6 });
    const taken = [0, 1, 2, 3].map(() => buckets.take('a', 1000));
    expect(taken.map((v) => v.ok)).toEqual([true, true, true, false]);
    // One token every 10 s.
    expect(taken[3]).toEqual({ ok: false, retryAfterSeconds: 10 });
    expect(buckets.take('a', 6000)).toEqual({ ok: false, retryAfterSeconds: 5 });
    expect(buckets.take('a', 11_000).ok).toBe(true);
    expect(buckets.take('a', 11_000).ok).toBe(false);
    // Another key has its own bucket.
    expect(buckets.take('b', 11_000).ok).toBe(true);
    // A long quiet spell refills up to the burst, not beyond.
    const after = [0, 1, 2, 3].map(() => buckets.take('a', 10_000_000).ok);
    expect(after).toEqual([true, true, true, false]);
  });

  it('remembers at most maxKeys keys, forgetting the least recently seen', () => {
    const buckets = new TokenBuckets({ burst: 1, perMinute: 1, maxKeys: 100 });
    for (let i = 0; i < 1000; i++) buckets.take(`k${i}`, 0);
    expect(buckets.size).toBe(100);
    // k999 was seen last: still empty. k0 was forgotten: a full bucket again.
    expect(buckets.take('k999', 0).ok).toBe(false);
    expect(buckets.take('k0', 0).ok).toBe(true);
  });

  it('refuses a bucket that could never give a token', () => {
    expect(() => new TokenBuckets({ burst: 0, perMinute: 1 })).toThrow(/burst >= 1/);
    expect(() => new TokenBuckets({ burst: 1, perMinute: 0 })).toThrow(/perMinute > 0/);
  });
});

describe('pageClientKey', () => {
  it('is the IPv4 address, and the /64 of an IPv6 one (one host holds a whole /64)', () => {
    expect(pageClientKey('10.1.2.3')).toBe('10.1.2.3');
    expect(pageClientKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(pageClientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(pageClientKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(pageClientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(pageClientKey('::1')).toBe('0:0:0:0::/64');
    expect(pageClientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(pageClientKey(undefined)).toBe('unknown');
  });
});

describe('GRAPHIQL_BURST and GRAPHIQL_PER_MINUTE', () => {
  it('default to a small bucket and are read from the environment, with clear errors', () => {
    expect(loadServerConfig({}).limits).toMatchObject({ graphiqlBurst: DEFAULT_LIMITS.graphiqlBurst, graphiqlPerMinute: DEFAULT_LIMITS.graphiqlPerMinute });
    expect(DEFAULT_LIMITS.graphiqlBurst).toBe(10);
    expect(DEFAULT_LIMITS.graphiqlPerMinute).toBe(30);
    expect(loadServerConfig({ GRAPHIQL_BURST: '3', GRAPHIQL_PER_MINUTE: '120' }).limits).toMatchObject({ graphiqlBurst: 3, graphiqlPerMinute: 120 });
    expect(() => loadServerConfig({ GRAPHIQL_BURST: '0' })).toThrow(/GRAPHIQL_BURST/);
    expect(() => loadServerConfig({ GRAPHIQL_PER_MINUTE: 'lots' })).toThrow(/GRAPHIQL_PER_MINUTE/);
  });
});

describe('Accept with q=0', () => {
  it('leaves every header without a refused type as it is', () => {
    for (const accept of [undefined, '', '*/*', 'text/event-stream', 'text/html;q=0.1, application/xml', 'application/json;q=0.5', 'text/html,*/*;q=0.8']) {
      expect(yogaAccept(accept)).toBe(accept);
    }
  });

  it('gives Yoga only the types it serves that are not refused, or null for none', () => {
    expect(yogaAccept('text/event-stream;q=0')).toBeNull();
    expect(yogaAccept('*/*;q=0')).toBeNull();
    expect(yogaAccept('TEXT/EVENT-STREAM; Q=0.000')).toBeNull();
    expect(yogaAccept('text/event-stream;q=0, application/json')).toBe('application/json;charset=utf-8');
    // */* still stands for the rest, but not for the page: only a named text/html is a page request.
    expect(yogaAccept('*/*, text/event-stream;q=0')).toBe('application/graphql-response+json;charset=utf-8, application/json;charset=utf-8, multipart/mixed;charset=utf-8');
    expect(yogaAccept('text/html;q=0, application/json')).toBe('application/json;charset=utf-8');
    expect(yogaAccept('text/html, application/json;q=0')).toBe('text/html;charset=utf-8');
  });

  it('opens a graphql-sse stream only for an event-stream Accept that is not refused', () => {
    expect(acceptsEventStream('text/event-stream')).toBe(true);
    expect(acceptsEventStream('text/event-stream; charset=utf-8')).toBe(true);
    expect(acceptsEventStream('text/event-stream, application/json;q=0')).toBe(true);
    expect(acceptsEventStream('text/event-stream;q=0')).toBe(false);
    expect(acceptsEventStream('application/json, text/event-stream;q=0.0')).toBe(false);
    expect(acceptsEventStream('*/*')).toBe(false);
    expect(acceptsEventStream(undefined)).toBe(false);
  });
});

describe('operation ids', () => {
  it('are refused over 128 UTF-8 bytes, naming what and how long', () => {
    expect(operationIdRefusal('a'.repeat(128), 'id')).toBeNull();
    expect(operationIdRefusal('a'.repeat(129), 'id')).toBe('id is 129 bytes long, over the limit of 128');
    // Counted in bytes, as they go on the wire: 43 three-byte characters are 129.
    expect(operationIdRefusal('€'.repeat(43), 'extensions.operationId')).toMatch(/129 bytes/);
  });
});

describe('GraphiqlPage when the page cannot be built', () => {
  it('answers 500 saying why, logs it once, and never starts another build', async () => {
    // render-graphiql writes the options into the page with JSON.stringify, which throws on a BigInt.
    const page = new GraphiqlPage({ options: { title: 'x', defaultQuery: 1n as unknown as string }, burst: 100, perMinute: 100 });
    const errors = vi.spyOn(log, 'error').mockImplementation(() => undefined);
    const server = createServer((req, res) => page.serve(req, res, true));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    try {
      const first = await fetch(url, { headers: { accept: 'text/html' } });
      expect(first.status).toBe(500);
      expect(await first.text()).toMatch(/the GraphiQL page could not be built: .*BigInt/);
      const build = await page.built();
      expect(build.error).toMatch(/BigInt/);
      expect(build.bytes).toEqual({});
      const second = await fetch(url, { headers: { accept: 'text/html' } });
      expect(second.status).toBe(500);
      expect(errors.mock.calls.filter(([, message]) => message === 'the GraphiQL page could not be built')).toHaveLength(1);
    } finally {
      errors.mockRestore();
      await page.close();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 60_000);
});
