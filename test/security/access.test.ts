import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EventBus } from '../../src/log/bus.js';
import { TradingEngine } from '../../src/engine/engine.js';
import type { RunnerEvent } from '../../src/events/types.js';
import { hashToken, loadTokensFile, TokenStore, type Principal } from '../../src/graphql/auth.js';
import { ConfigError, DEFAULT_STORE_TYPES } from '../../src/app/config.js';
import { startPersistence } from '../../src/app/persistence.js';
import { EngineHost, RemoteEngine } from '../../src/engine/remote.js';
import type { EventStore } from '../../src/store/store.js';
import { privateStream, REDIS_URL, redisAvailable } from '../support/redis.js';
import { BOUNDS, startTarget, TOKENS, underAttack, waitFor, type Target, type TargetOptions } from './harness.js';

/**
 * The access items of the adversarial review, one row each: what an attacker (or a token
 * of too little scope) gets, while a bystander keeps watching its runner undisturbed.
 */

const sim = (id: string, symbol: string, ticksPerSecond = 100) => ({ id, symbol, feed: { kind: 'simulated', ticksPerSecond, seed: 7 } });

/** What internal error text looks like: hosts, ports, connection strings, absolute paths. */
const INTERNAL = /db\.internal|10\.9\.8\.7|postgres:\/\/|ECONNREFUSED|\/srv\/|node_modules|s3cret/;
/** The driver's error the failing store throws: everything a client must never read. */
const driverError = () => new Error('connect ECONNREFUSED 10.9.8.7:5432 (postgres://tickwire:s3cret@db.internal:5432/events) at /srv/tickwire/node_modules/pg/lib/client.js:132');

/**
 * Tokens whose principals the test makes by hand: two with the same display name and
 * different scopes, as a tokens file may no longer declare them but a principal must
 * never be told apart by.
 */
class HandMadeTokens extends TokenStore {
  constructor(private readonly byToken: ReadonlyMap<string, Principal>) {
    super([]);
  }

  override authenticate(token: string): Principal | null {
    return this.byToken.get(token) ?? null;
  }
}

const scoped = (id: string, name: string, pattern: string): Principal => {
  const prefix = pattern.replace(/\*$/, '');
  return { id, name, role: 'viewer', runners: [pattern], allows: (runnerId) => runnerId.startsWith(prefix) };
};

/** Two tokens named "dash": one sees btc_*, the other eth_*; and the bystander. */
const twinTokens = () =>
  new HandMadeTokens(
    new Map([
      ['dash-btc-secret', scoped('dash#btc', 'dash', 'btc_*')],
      ['dash-eth-secret', scoped('dash#eth', 'dash', 'eth_*')],
      [TOKENS.bystander, scoped('bystander', 'bystander', 'bystander*')],
    ]),
  );

interface Watch {
  readonly data: Record<string, unknown>[];
  readonly errors: unknown[];
  dispose(): void;
}

/** A graphql-ws subscription with a token: its payloads' data and its errors. */
function watch(target: Target, token: string | undefined, query: string, variables?: Record<string, unknown>): Watch {
  const client = createClient({ url: target.server.urls.ws, webSocketImpl: WebSocket, retryAttempts: 0, ...(token ? { connectionParams: { token } } : {}) });
  const data: Record<string, unknown>[] = [];
  const errors: unknown[] = [];
  client.subscribe(
    { query, ...(variables ? { variables } : {}) },
    {
      next: (r) => void (r.errors ? errors.push(r.errors) : data.push(r.data as Record<string, unknown>)),
      error: (err) => void errors.push(err),
      complete: () => undefined,
    },
  );
  return { data, errors, dispose: () => void client.dispose() };
}

/** A raw HTTP request with the headers a rebinding page's browser would send. */
function rawPost(port: number, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += String(d)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

type Gap = { __typename: 'StreamGap'; missed: number | null; fromId: string | null; toId: string | null; reason: string };
const GAP_QUERY = 'subscription ($after: ID) { events(after: $after) { __typename ... on StreamGap { missed fromId toId reason } ... on Event { id runnerId } } }';
const gapsOf = (w: Watch): Gap[] => w.data.map((d) => d['events'] as Gap).filter((e) => e.__typename === 'StreamGap');

/** A gap a scoped token may read: no count, no range, no number of the shared log at all. */
function expectNoGlobalCount(gap: Gap | undefined): void {
  expect(gap).toBeDefined();
  expect(gap!.missed).toBeNull();
  expect(gap!.fromId).toBeNull();
  expect(gap!.toId).toBeNull();
  expect(gap!.reason).not.toMatch(/\d/);
}

interface Row {
  readonly name: string;
  readonly expected: string;
  /** Needs the machine's Redis. */
  readonly redis?: boolean;
  /** The target; `cleanup` runs after it is closed. */
  readonly target: () => Promise<{ options: TargetOptions; cleanup?: () => Promise<void> }>;
  /** The attack, asserting what the attacker got. */
  readonly attack: (target: Target) => Promise<void>;
}

const rows: Row[] = [
  {
    name: '6 tokens file with two entries named "dash"',
    expected: 'the file is refused with a ConfigError naming both entries',
    target: async () => ({ options: {} }),
    attack: async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'tickwire-access-')), 'tokens.yaml');
      writeFileSync(
        file,
        `tokens:
  - { name: dash, sha256: ${hashToken('one')}, role: viewer, runners: ["btc_*"] }
  - { name: dash, sha256: ${hashToken('two')}, role: viewer, runners: ["eth_*"] }
`,
      );
      expect(() => loadTokensFile(file)).toThrow(ConfigError);
      expect(() => loadTokensFile(file)).toThrow(/tokens\.1\.name: duplicate token name "dash" \(also tokens\.0\.name\)/);
    },
  },
  {
    name: '6 two principals named "dash" (btc_*, eth_*) subscribe with the same document',
    expected: "each receives only its own runners' events: no shared cohort",
    target: async () => ({ options: { tokens: twinTokens(), runners: [sim('btc_ema', 'BTCUSDT'), sim('eth_ema', 'ETHUSDT')] } }),
    attack: async (target) => {
      const query = 'subscription { events(types: [TICK_RECEIVED]) { ... on Event { runnerId } } }';
      const btc = watch(target, 'dash-btc-secret', query);
      const eth = watch(target, 'dash-eth-secret', query);
      try {
        await waitFor(() => btc.data.length >= 50 && eth.data.length >= 50, 'ticks for both principals');
        const runnersOf = (w: Watch) => new Set(w.data.map((d) => (d['events'] as { runnerId: string }).runnerId));
        expect([...runnersOf(btc)]).toEqual(['btc_ema']);
        expect([...runnersOf(eth)]).toEqual(['eth_ema']);
        expect(btc.errors).toEqual([]);
        expect(eth.errors).toEqual([]);
      } finally {
        btc.dispose();
        eth.dispose();
      }
    },
  },
  {
    name: '6 two principals named "dash" against MAX_SUBSCRIPTIONS_PER_TOKEN=1',
    expected: 'each has a quota of its own: the second principal subscribes, a second subscription of the first is refused',
    target: async () => ({ options: { tokens: twinTokens(), limits: { maxSubscriptionsPerToken: 1 }, runners: [sim('btc_ema', 'BTCUSDT'), sim('eth_ema', 'ETHUSDT')] } }),
    attack: async (target) => {
      const query = (type: string) => `subscription { events(types: [${type}]) { ... on Event { runnerId } } }`;
      const btc = watch(target, 'dash-btc-secret', query('TICK_RECEIVED'));
      await waitFor(() => btc.data.length > 0, "the first principal's ticks");
      const eth = watch(target, 'dash-eth-secret', query('TICK_RECEIVED'));
      const btcAgain = watch(target, 'dash-btc-secret', query('STATS_UPDATE'));
      try {
        await waitFor(() => (eth.data.length > 0 || eth.errors.length > 0) && btcAgain.errors.length > 0, 'the second principal and the refusal');
        expect(eth.errors).toEqual([]);
        expect(JSON.stringify(btcAgain.errors)).toMatch(/TOO_MANY_SUBSCRIPTIONS|too many subscriptions for token/);
      } finally {
        for (const w of [btc, eth, btcAgain]) w.dispose();
      }
    },
  },
  {
    name: '8 open mode: stopRunner over HTTP with Host: evil.test, Origin: http://evil.test',
    expected: '403 FORBIDDEN naming ALLOWED_HOSTS; the runner keeps running',
    target: async () => ({ options: { open: true, runners: [sim('btc_ema', 'BTCUSDT')] } }),
    attack: async (target) => {
      const port = target.server.port;
      const body = JSON.stringify({ query: 'mutation { stopRunner(id: "btc_ema", reason: "rebound") { id state } }' });
      const res = await rawPost(port, { host: `evil.test:${port}`, origin: `http://evil.test:${port}` }, body);
      expect(res.status).toBe(403);
      const parsed = JSON.parse(res.body) as { errors: { message: string; extensions: { code: string } }[] };
      expect(parsed.errors[0]?.extensions.code).toBe('FORBIDDEN');
      expect(parsed.errors[0]?.message).toMatch(/ALLOWED_HOSTS/);
      expect(target.engine.getRunner('btc_ema')?.state).not.toBe('Stopped');
      // The server's own loopback name still works.
      const own = await rawPost(port, { host: `127.0.0.1:${port}` }, JSON.stringify({ query: '{ runners { id } }' }));
      expect(own.status).toBe(200);
    },
  },
  {
    name: '8 open mode: WebSocket upgrade with Host: evil.test, Origin: http://evil.test',
    expected: 'the upgrade is refused; no socket opens',
    target: async () => ({ options: { open: true, runners: [sim('btc_ema', 'BTCUSDT')] } }),
    attack: async (target) => {
      const port = target.server.port;
      const socket = new WebSocket(target.server.urls.ws, 'graphql-transport-ws', { headers: { host: `evil.test:${port}` }, origin: `http://evil.test:${port}` });
      const outcome = await new Promise<string>((resolve) => {
        socket.once('open', () => resolve('open'));
        socket.once('unexpected-response', (_req, res) => resolve(`refused ${res.statusCode}`));
        socket.once('error', (err) => resolve(`error ${err.message}`));
      });
      socket.terminate();
      expect(outcome).toMatch(/^(refused|error)/);
      expect(target.server.ws!.wss.clients.size).toBe(1); // the bystander's alone
    },
  },
  {
    name: '14 scoped viewer resumes with after: older than the history (historySize 50)',
    expected: 'a StreamGap with missed, fromId and toId null and a reason without numbers; an unscoped operator still gets the count',
    target: async () => ({ options: { bus: { historySize: 50 }, runners: [sim('btc_ema', 'BTCUSDT', 200), sim('eth_ema', 'ETHUSDT', 200)] } }),
    attack: async (target) => {
      await waitFor(() => target.bus.lastId > 400, 'events beyond the history');
      const viewer = watch(target, TOKENS.btcViewer, GAP_QUERY, { after: '1' });
      const operator = watch(target, TOKENS.operator, GAP_QUERY, { after: '1' });
      try {
        await waitFor(() => gapsOf(viewer).length > 0 && gapsOf(operator).length > 0, 'the gap notices');
        expectNoGlobalCount(gapsOf(viewer)[0]);
        expect(viewer.data.map((d) => d['events'] as { runnerId?: string }).filter((e) => e.runnerId !== undefined && !e.runnerId.startsWith('btc_'))).toEqual([]);
        expect(gapsOf(operator)[0]!.missed).toBeGreaterThan(300);
      } finally {
        viewer.dispose();
        operator.dispose();
      }
    },
  },
  {
    name: '14 scoped viewer on a shared log that skipped 999 ids (trimmed Redis stream)',
    expected: 'a StreamGap with missed, fromId and toId null and a reason without numbers',
    target: async () => ({ options: { runners: [sim('btc_ema', 'BTCUSDT')] } }),
    attack: async (target) => {
      const viewer = watch(target, TOKENS.btcViewer, GAP_QUERY);
      try {
        await waitFor(() => viewer.data.length > 0, "the viewer's first event");
        const event: RunnerEvent = { type: 'RunnerStarted', runnerId: 'eth_hidden', symbol: 'ETHUSDT', timestamp: Date.now() };
        target.bus.publishEntry({ id: target.bus.lastId + 1000, symbol: 'ETHUSDT', event });
        await waitFor(() => gapsOf(viewer).length > 0, 'the gap notice');
        expectNoGlobalCount(gapsOf(viewer)[0]);
      } finally {
        viewer.dispose();
      }
    },
  },
  (() => {
    // The store's writes start failing as a real driver's would, once the operator watches.
    let failStore: () => void = () => undefined;
    return {
      name: '14 event store writes fail with a driver error naming host, URL and path',
      expected: 'the RunnerError of runner tickwire says what failed in words: no host, URL, path or driver text',
      target: async () => {
        const persistence = await startPersistence({ databaseUrl: undefined, dataDir: 'memory://', types: DEFAULT_STORE_TYPES, buffer: 1000 }, () => undefined);
        const db = persistence.db!;
        const { query, exec } = db;
        failStore = () => Object.assign(db, { query: () => Promise.reject(driverError()), exec: () => Promise.reject(driverError()) });
        return {
          options: { bus: persistence.bus, server: { store: persistence.store }, runners: [sim('btc_ema', 'BTCUSDT')] },
          cleanup: async () => {
            Object.assign(db, { query, exec });
            await persistence.close(1000);
          },
        };
      },
      attack: async (target: Target) => {
        const operator = watch(target, TOKENS.operator, 'subscription { events(runnerIds: ["tickwire"], types: [ERROR]) { ... on RunnerError { runnerId error } } }');
        try {
          await waitFor(() => target.bus.subscriberCount >= 3, "the operator's subscription");
          failStore();
          await waitFor(() => operator.data.length > 0, 'the store outage event', 15_000);
          const error = (operator.data[0]!['events'] as { error: string }).error;
          expect(error).toMatch(/event store/);
          expect(error).not.toMatch(INTERNAL);
        } finally {
          operator.dispose();
        }
      },
    } satisfies Row;
  })(),
  {
    name: '14 resume beyond the history while the event store fails with a driver error',
    expected: 'the StreamGap says the store could not fill it, without host, URL, path or driver text',
    target: async () => {
      const store = {
        storedTypes: DEFAULT_STORE_TYPES,
        history: () => Promise.reject(driverError()),
        countRange: () => Promise.reject(driverError()),
      } as unknown as EventStore;
      return { options: { bus: { historySize: 50 }, server: { store }, runners: [sim('btc_ema', 'BTCUSDT', 200)] } };
    },
    attack: async (target) => {
      await waitFor(() => target.bus.lastId > 300, 'events beyond the history');
      const operator = watch(target, TOKENS.operator, GAP_QUERY, { after: '1' });
      const viewer = watch(target, TOKENS.btcViewer, GAP_QUERY, { after: '1' });
      try {
        await waitFor(() => gapsOf(operator).length > 0 && gapsOf(viewer).length > 0, 'the gap notices');
        expect(gapsOf(operator)[0]!.reason).not.toMatch(INTERNAL);
        expect(gapsOf(viewer)[0]!.reason).not.toMatch(INTERNAL);
        expect(gapsOf(operator)[0]!.reason).toMatch(/event store could not fill/);
        expectNoGlobalCount(gapsOf(viewer)[0]);
      } finally {
        operator.dispose();
        viewer.dispose();
      }
    },
  },
  {
    name: '10 Redis: startRunner times out with no engine, then an engine starts',
    expected: 'ENGINE_UNAVAILABLE, and the late engine never starts the runner: expired and deadline-less requests are dropped and logged',
    redis: true,
    target: async () => ({ options: {} }),
    attack: async () => {
      const { key: stream, drop } = privateStream();
      const redis = new Redis(REDIS_URL);
      const remote = new RemoteEngine(REDIS_URL, stream, { timeoutMs: 300 });
      const late = new TradingEngine(new EventBus());
      let host: EngineHost | null = null;
      const logged: string[] = [];
      try {
        await expect(remote.addRunner(sim('btc_late', 'BTCUSDT'))).rejects.toMatchObject({ code: 'ENGINE_UNAVAILABLE' });
        // Requests another API instance left behind: one past its deadline, one without.
        const starts = `${stream}:control:start`;
        await redis.lpush(starts, JSON.stringify({ requestId: 'stale', deadline: Date.now() - 1000, op: 'start', input: sim('btc_stale', 'BTCUSDT') }));
        await redis.lpush(starts, JSON.stringify({ requestId: 'old', op: 'start', input: sim('btc_old', 'BTCUSDT') }));
        host = new EngineHost(late, { url: REDIS_URL, stream, acceptStarts: true, log: (line) => logged.push(line) });
        // The engine takes what is queued within a second; give it two.
        await new Promise((r) => setTimeout(r, 2000));
        expect(late.listRunners().map((r) => r.id)).toEqual([]);
        expect(await redis.llen(starts)).toBe(0);
        expect(logged.join('\n')).toMatch(/dropped a start request: its deadline passed/);
        expect(logged.join('\n')).toMatch(/dropped a start request: it has no deadline/);
      } finally {
        await host?.close();
        await late.stopAll();
        remote.close();
        redis.disconnect();
        await drop();
      }
    },
  },
  {
    name: '10 Redis: startRunner while 5 requests already wait (maxQueued 5)',
    expected: 'refused at once with ENGINE_UNAVAILABLE saying the queue is full; the list does not grow',
    redis: true,
    target: async () => ({ options: {} }),
    attack: async () => {
      const { key: stream, drop } = privateStream();
      const redis = new Redis(REDIS_URL);
      const remote = new RemoteEngine(REDIS_URL, stream, { timeoutMs: 3000, maxQueued: 5 });
      try {
        const starts = `${stream}:control:start`;
        for (let i = 0; i < 5; i++) await redis.lpush(starts, JSON.stringify({ requestId: `w${i}`, deadline: Date.now() + 60_000, op: 'start', input: sim(`btc_w${i}`, 'BTCUSDT') }));
        const t0 = Date.now();
        await expect(remote.addRunner(sim('btc_more', 'BTCUSDT'))).rejects.toMatchObject({ code: 'ENGINE_UNAVAILABLE', message: expect.stringMatching(/5 requests are already waiting/) });
        expect(Date.now() - t0).toBeLessThan(2000);
        expect(await redis.llen(starts)).toBe(5);
      } finally {
        remote.close();
        redis.disconnect();
        await drop();
      }
    },
  },
];

describe('attack suite: access', () => {
  it.for(rows)('$name', { timeout: 90_000 }, async (row, { skip }) => {
    if (row.redis === true && !redisAvailable) skip(`Redis does not answer at ${REDIS_URL}`);
    const { options, cleanup } = await row.target();
    const target = await startTarget(options);
    try {
      const report = await underAttack(target, row.name, row.expected, () => row.attack(target));
      expect(report.bystanderMaxGapMs).toBeLessThan(BOUNDS.bystanderMaxGapMs);
      expect(report.peakRssGrowthMb).toBeLessThan(BOUNDS.peakRssGrowthMb);
    } finally {
      await target.close();
      await cleanup?.();
    }
  });
});
