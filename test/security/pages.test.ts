import { request, type IncomingHttpHeaders } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/graphql/limits.js';
import { BOUNDS, startTarget, TOKENS, underAttack, type Target } from './harness.js';

/**
 * Issue 21, item 2: the GraphiQL page was an unauthenticated amplifier. Any request whose
 * Accept named text/html got the 9 MB page, uncompressed, without ETag or Cache-Control,
 * encoded anew by Yoga each time (about 120 ms of the main thread): 20 clients re-fetching
 * it starved `/health` and the bystander's stream. Now it is built once (off the main
 * thread), served as precompressed immutable bytes with validators, and page requests
 * without a token are bounded per client address (429 with Retry-After).
 */

interface Raw {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body as sent (not decompressed). */
  readonly body: Buffer;
}

/** One GET with the raw response: fetch would decompress the body and hide what was sent. */
function get(target: Target, path: string, headers: Record<string, string>, localAddress?: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: target.server.port, path, headers, agent: false, ...(localAddress ? { localAddress } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end();
  });
}

const PAGE = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
const withToken = { authorization: `Bearer ${TOKENS.operator}` };

/**
 * Polls /health every 100 ms (each poll waits for the last) until `stop` is called; the
 * bystander the review ran beside the stream's.
 */
function pollHealth(target: Target): { stop: () => Promise<{ polls: number; failed: number; slowestMs: number }> } {
  let running = true;
  let polls = 0;
  let failed = 0;
  let slowestMs = 0;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      const answer = await get(target, '/health', {}).catch(() => null);
      const took = performance.now() - started;
      polls++;
      if (answer?.status !== 200) failed++;
      slowestMs = Math.max(slowestMs, took);
      if (running) await new Promise((r) => setTimeout(r, Math.max(0, 100 - took)));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { polls, failed, slowestMs: Math.round(slowestMs) };
    },
  };
}

describe('2. the GraphiQL page is built once and served as immutable bytes', () => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget();
  });
  afterAll(async () => {
    await target.close();
  });

  it('brotli or gzip by Accept-Encoding, with Vary, an ETag per coding, Cache-Control and 304 on If-None-Match', async () => {
    const report = await underAttack(target, '2 GraphiQL page by Accept-Encoding and If-None-Match', 'br / gzip / identity bytes of one page; 304 when the ETag matches', async () => {
      const br = await get(target, '/graphql', { ...PAGE, ...withToken, 'accept-encoding': 'gzip, deflate, br' });
      const gzip = await get(target, '/graphql', { ...PAGE, ...withToken, 'accept-encoding': 'gzip' });
      const identity = await get(target, '/graphql', { ...PAGE, ...withToken });
      for (const [answer, encoding] of [
        [br, 'br'],
        [gzip, 'gzip'],
        [identity, undefined],
      ] as const) {
        expect(answer.status).toBe(200);
        expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
        expect(answer.headers['content-encoding']).toBe(encoding);
        expect(answer.headers['vary']).toMatch(/accept-encoding/i);
        expect(answer.headers['cache-control']).toBe('no-cache');
        expect(answer.headers['etag']).toMatch(/^"[A-Za-z0-9_-]{27}(-br|-gzip)?"$/);
        expect(Number(answer.headers['content-length'])).toBe(answer.body.length);
      }
      // Three codings of one page: each with an ETag of its own, each decoding to the same bytes.
      expect(new Set([br.headers.etag, gzip.headers.etag, identity.headers.etag]).size).toBe(3);
      expect(identity.body.toString('utf8')).toContain('<html');
      expect(brotliDecompressSync(br.body).equals(identity.body)).toBe(true);
      expect(gunzipSync(gzip.body).equals(identity.body)).toBe(true);
      expect(br.body.length).toBeLessThan(identity.body.length / 3);
      expect(gzip.body.length).toBeLessThan(identity.body.length / 3);

      // Built once: the next request gets the same bytes, and a browser that has them gets 304.
      const again = await get(target, '/graphql', { ...PAGE, ...withToken, 'accept-encoding': 'br, gzip' });
      expect(again.headers.etag).toBe(br.headers.etag);
      const notModified = await get(target, '/graphql', { ...PAGE, ...withToken, 'accept-encoding': 'br, gzip', 'if-none-match': br.headers.etag! });
      expect(notModified.status).toBe(304);
      expect(notModified.body.length).toBe(0);
      expect(notModified.headers.etag).toBe(br.headers.etag);
      // Another coding's tag names other bytes: the page is sent.
      const otherCoding = await get(target, '/graphql', { ...PAGE, ...withToken, 'accept-encoding': 'gzip', 'if-none-match': br.headers.etag! });
      expect(otherCoding.status).toBe(200);
      // Without a token the page is the same (and takes from the address's bucket).
      const anonymous = await get(target, '/graphql', { ...PAGE, 'accept-encoding': 'br', 'if-none-match': `"x", ${br.headers.etag!}` });
      expect(anonymous.status).toBe(304);
    });
    const build = await target.server.graphiql!.built();
    expect(build.error).toBeNull();
    expect(build.bytes.identity).toBeGreaterThan(1_000_000);
    expect(report.bystanderMaxGapMs).toBeLessThan(BOUNDS.bystanderMaxGapMs);
    expect(report.peakRssGrowthMb).toBeLessThan(BOUNDS.peakRssGrowthMb);
  }, 60_000);

  it('20 clients re-fetching the page without a token get 429 with Retry-After past the burst, and /health and the bystander go on', async () => {
    const statuses: number[] = [];
    const retryAfter: (string | undefined)[] = [];
    const health = pollHealth(target);
    const started = performance.now();
    const report = await underAttack(target, '2 GraphiQL page flood: 20 clients × 15 GETs, no token, Accept-Encoding gzip, br', `${DEFAULT_LIMITS.graphiqlBurst} pages per address, then 429 with Retry-After`, async () => {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          for (let i = 0; i < 15; i++) {
            const answer = await get(target, '/graphql', { accept: 'text/html', 'accept-encoding': 'gzip, br' });
            statuses.push(answer.status);
            if (answer.status === 429) retryAfter.push(answer.headers['retry-after']);
          }
        }),
      );
    });
    const polled = await health.stop();
    const minutes = (performance.now() - started) / 60_000;
    const sent = statuses.filter((s) => s === 200).length;
    expect(statuses).toContain(429);
    // The first test's anonymous request took a token of 127.0.0.1's bucket too.
    expect(sent).toBeLessThanOrEqual(DEFAULT_LIMITS.graphiqlBurst + Math.ceil(DEFAULT_LIMITS.graphiqlPerMinute * minutes));
    expect(sent).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 429).length).toBe(statuses.length - sent);
    expect(retryAfter.every((value) => Number(value) >= 1)).toBe(true);
    // The bystanders: /health answered every poll, the stream kept flowing.
    expect(polled.failed).toBe(0);
    expect(polled.polls).toBeGreaterThan(0);
    expect(report.bystanderMaxGapMs).toBeLessThan(BOUNDS.bystanderMaxGapMs);
    expect(report.peakRssGrowthMb).toBeLessThan(BOUNDS.peakRssGrowthMb);
    // A token holder still gets the page: the bucket is for requests without one.
    expect((await get(target, '/graphql', { ...PAGE, ...withToken, 'accept-encoding': 'br' })).status).toBe(200);
  }, 120_000);
});

describe('2. the page bucket is per client address, also in open mode', () => {
  it('a second request of one address is 429 with Retry-After, another address still gets the page', async () => {
    const target = await startTarget({ open: true, limits: { graphiqlBurst: 1, graphiqlPerMinute: 1 } });
    try {
      const report = await underAttack(target, '2 open mode: GraphiQL page ×2 from 127.0.0.1, ×1 from 127.0.0.2, burst 1', 'the second from 127.0.0.1 429 (Retry-After ≈ 60 s), 127.0.0.2 200', async () => {
        expect((await get(target, '/graphql', { ...PAGE, 'accept-encoding': 'br' }, '127.0.0.1')).status).toBe(200);
        const refused = await get(target, '/graphql', { ...PAGE, 'accept-encoding': 'br' }, '127.0.0.1');
        expect(refused.status).toBe(429);
        expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(50);
        expect(refused.body.toString()).toMatch(/GRAPHIQL_BURST/);
        expect((await get(target, '/graphql', { ...PAGE, 'accept-encoding': 'br' }, '127.0.0.2')).status).toBe(200);
        // Not a page request: GraphQL itself is not behind the page's bucket.
        const query = await get(target, `/graphql?query=${encodeURIComponent('{ runners { id } }')}`, { accept: 'application/json' }, '127.0.0.1');
        expect(query.status).toBe(200);
      });
      expect(report.bystanderMaxGapMs).toBeLessThan(BOUNDS.bystanderMaxGapMs);
    } finally {
      await target.close();
    }
  }, 60_000);

  it('with GRAPHIQL off nothing is built and a page request needs a token', async () => {
    const target = await startTarget({ limits: { graphiql: false } });
    try {
      expect(target.server.graphiql).toBeNull();
      expect((await get(target, '/graphql', PAGE)).status).toBe(401);
    } finally {
      await target.close();
    }
  });
});
