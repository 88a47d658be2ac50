import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EventBus } from '../../src/log/bus.js';
import { TradingEngine } from '../../src/engine/engine.js';
import type { RunnerEvent } from '../../src/events/types.js';
import { hashToken, loadTokensFile } from '../../src/graphql/auth.js';
import { ConfigError, loadServerConfig } from '../../src/app/config.js';
import { DEFAULT_LIMITS, hostAllowed } from '../../src/graphql/limits.js';
import { startServer, type TickwireServer } from '../../src/app/server.js';
import { until } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'tickwire-auth-'));
const tokensFile = join(dir, 'tokens.yaml');
writeFileSync(
  tokensFile,
  `tokens:
  - name: btc-viewer
    sha256: ${hashToken('viewer-secret')}
    role: viewer
    runners: ["btc_*"]
  - name: ops
    sha256: ${hashToken('ops-secret')}
    role: operator
`,
);

let server: TickwireServer;
let bus: EventBus;
beforeAll(async () => {
  bus = new EventBus();
  server = await startServer({ engine: new TradingEngine(bus), bus, port: 0, host: '127.0.0.1', tokens: loadTokensFile(tokensFile) });
});
afterAll(async () => {
  await server.close();
});

const started = (runnerId: string): RunnerEvent => ({ type: 'RunnerStarted', runnerId, symbol: 'X', timestamp: 1 });

async function gql(query: string, token?: string): Promise<{ status: number; body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] } }> {
  const res = await fetch(server.urls.http, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as never };
}

/** What the tests read of a result. */
type Result = { readonly data?: unknown };

function wsEvents(token: string | undefined, query: string): { results: Result[]; closed: Promise<number>; dispose(): void } {
  let closedWith: (code: number) => void = () => undefined;
  const closed = new Promise<number>((r) => (closedWith = r));
  const client = createClient({
    url: server.urls.ws,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    ...(token ? { connectionParams: { token } } : {}),
    on: { closed: (e) => closedWith((e as { code: number }).code) },
  });
  const results: Result[] = [];
  client.subscribe({ query }, { next: (r) => void results.push(r), error: () => undefined, complete: () => undefined });
  return { results, closed, dispose: () => void client.dispose() };
}

describe('API tokens', () => {
  it('refuses HTTP requests without a valid token (401), but serves the GraphiQL page', async () => {
    expect((await gql('{ runners { id } }')).status).toBe(401);
    const bad = await gql('{ runners { id } }', 'guess');
    expect(bad.status).toBe(401);
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await fetch(server.urls.http, { headers: { accept: 'text/html' } })).status).toBe(200);
    // The first page request waits for the page's build in a thread (see test/security/pages).
  }, 60_000);

  it('closes a graphql-ws connection without a valid token with 4403', async () => {
    const none = wsEvents(undefined, 'subscription { events { __typename } }');
    expect(await none.closed).toBe(4403);
    const wrong = wsEvents('guess', 'subscription { events { __typename } }');
    expect(await wrong.closed).toBe(4403);
  });

  it('lets a viewer see only its runners, whatever it asks, and refuses it mutations', async () => {
    const ops = await gql('mutation { a: startRunner(input: { id: "btc_1", symbol: "BTCUSDT" }) { id } b: startRunner(input: { id: "eth_1", symbol: "ETHUSDT" }) { id } }', 'ops-secret');
    expect(ops.body.errors).toBeUndefined();
    const listed = await gql('{ runners { id } eth: runner(id: "eth_1") { id } btc: runner(id: "btc_1") { id } }', 'viewer-secret');
    expect(listed.body.data).toEqual({ runners: [{ id: 'btc_1' }], eth: null, btc: { id: 'btc_1' } });
    const mutation = await gql('mutation { stopRunner(id: "btc_1") { id } }', 'viewer-secret');
    expect(mutation.body.errors?.[0]).toMatchObject({ message: expect.stringMatching(/viewer/), extensions: { code: 'FORBIDDEN' } });
    await gql('mutation { a: stopRunner(id: "btc_1") { id } b: stopRunner(id: "eth_1") { id } }', 'ops-secret');
  });

  it('tells each token who it is and which runners it may manage', async () => {
    expect((await gql('{ me { name role runners } }', 'viewer-secret')).body.data).toEqual({ me: { name: 'btc-viewer', role: 'VIEWER', runners: ['btc_*'] } });
    expect((await gql('{ me { name role runners } }', 'ops-secret')).body.data).toEqual({ me: { name: 'ops', role: 'OPERATOR', runners: ['*'] } });
    await gql('mutation { startRunner(input: { id: "btc_me", symbol: "BTCUSDT" }) { id } }', 'ops-secret');
    const query = '{ runners { id canManage } }';
    const seen = (await gql(query, 'viewer-secret')).body.data?.['runners'] as { id: string; canManage: boolean }[];
    expect(seen).toContainEqual({ id: 'btc_me', canManage: false });
    expect(seen.every((r) => !r.canManage)).toBe(true);
    expect((await gql(query, 'ops-secret')).body.data?.['runners']).toContainEqual({ id: 'btc_me', canManage: true });
    await gql('mutation { stopRunner(id: "btc_me") { id } }', 'ops-secret');
  });

  it('restarts a stopped runner with its configuration, for operators only', async () => {
    await gql('mutation { startRunner(input: { id: "btc_again", symbol: "BTCUSDT", strategy: "mean_reversion", quantity: 3, params: [{ name: "window", value: 7 }] }) { id } }', 'ops-secret');
    const running = await gql('mutation { restartRunner(id: "btc_again") { id } }', 'ops-secret');
    expect(running.body.errors?.[0]?.extensions?.code).toBe('DUPLICATE_RUNNER');
    await gql('mutation { stopRunner(id: "btc_again") { id } }', 'ops-secret');
    const viewer = await gql('mutation { restartRunner(id: "btc_again") { id } }', 'viewer-secret');
    expect(viewer.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const unknown = await gql('mutation { restartRunner(id: "nobody") { id } }', 'ops-secret');
    expect(unknown.body.errors?.[0]).toMatchObject({ message: 'no runner with id "nobody"', extensions: { code: 'UNKNOWN_RUNNER' } });
    const again = await gql('mutation { restartRunner(id: "btc_again") { id state strategy quantity params { name value } } }', 'ops-secret');
    expect(again.body.errors).toBeUndefined();
    expect(again.body.data?.['restartRunner']).toMatchObject({ id: 'btc_again', strategy: 'mean_reversion', quantity: 3, params: expect.arrayContaining([{ name: 'window', value: 7 }]) });
    expect((again.body.data?.['restartRunner'] as { state: string }).state).not.toBe('STOPPED');
    await gql('mutation { stopRunner(id: "btc_again") { id } }', 'ops-secret');
  });

  it('never streams another runner to a scoped token, and keeps principals in separate cohorts', async () => {
    const query = 'subscription { events(runnerIds: ["btc_x", "eth_x"], types: [RUNNER_STARTED]) { ... on Event { runnerId } } }';
    const viewer = wsEvents('viewer-secret', query);
    const ops = wsEvents('ops-secret', query);
    await until(() => server.tickwire.sharedExecution.stats().members === 2, 'both subscribers');
    expect(server.tickwire.sharedExecution.stats().cohorts).toBe(2);
    bus.publish(started('eth_x'), 'X');
    bus.publish(started('btc_x'), 'X');
    await until(() => ops.results.length === 2 && viewer.results.length === 1, 'the events');
    // A marker both may see: anything of eth_x on the viewer's stream would have come before it.
    bus.publish(started('btc_x'), 'X');
    await until(() => ops.results.length === 3 && viewer.results.length === 2, 'the marker');
    viewer.results.pop();
    ops.results.pop();
    expect(viewer.results.map((r) => (r.data as { events: { runnerId: string } }).events.runnerId)).toEqual(['btc_x']);
    expect(ops.results.map((r) => (r.data as { events: { runnerId: string } }).events.runnerId)).toEqual(['eth_x', 'btc_x']);
    viewer.dispose();
    ops.dispose();
  });

  it('takes the token from the Authorization header on graphql-sse', async () => {
    const client = createSseClient({ url: server.urls.sse, headers: { authorization: 'Bearer viewer-secret' }, retryAttempts: 0 });
    const results: Result[] = [];
    const stop = client.subscribe({ query: 'subscription { events(types: [RUNNER_STARTED]) { ... on Event { runnerId } } }' }, { next: (r) => void results.push(r), error: () => undefined, complete: () => undefined });
    await until(() => bus.subscriberCount === 1, 'the SSE subscriber');
    bus.publish(started('eth_y'), 'X');
    bus.publish(started('btc_y'), 'X');
    await until(() => results.length === 1, 'the btc event');
    expect(results[0]?.data).toEqual({ events: { runnerId: 'btc_y' } });
    stop();
    client.dispose();
  });

  it('refuses an open server off loopback, and a tokens file with a plain token', () => {
    expect(() => loadServerConfig({ HOST: '0.0.0.0' })).toThrow(/refusing to listen on 0.0.0.0 without TOKENS_FILE/);
    expect(loadServerConfig({ HOST: '0.0.0.0', TOKENS_FILE: tokensFile }).host).toBe('0.0.0.0');
    const plain = join(dir, 'plain.yaml');
    writeFileSync(plain, 'tokens:\n  - name: x\n    sha256: hunter2\n    role: viewer\n');
    expect(() => loadTokensFile(plain)).toThrow(/tokens\.0\.sha256: must be the hex SHA-256/);
  });

  it('refuses a tokens file where two entries share a name or a token, naming both', () => {
    const twins = join(dir, 'twins.yaml');
    writeFileSync(
      twins,
      `tokens:
  - { name: dash, sha256: ${hashToken('a')}, role: viewer, runners: ["btc_*"] }
  - { name: ops, sha256: ${hashToken('b')}, role: operator }
  - { name: dash, sha256: ${hashToken('c')}, role: viewer, runners: ["eth_*"] }
`,
    );
    expect(() => loadTokensFile(twins)).toThrow(ConfigError);
    expect(() => loadTokensFile(twins)).toThrow(`tokens file ${twins}: tokens.2.name: duplicate token name "dash" (also tokens.0.name)`);
    const sameToken = join(dir, 'same-token.yaml');
    writeFileSync(
      sameToken,
      `tokens:
  - { name: a, sha256: ${hashToken('a')}, role: viewer }
  - { name: b, sha256: ${hashToken('a')}, role: operator }
`,
    );
    expect(() => loadTokensFile(sameToken)).toThrow(/tokens\.1\.sha256: the same token as tokens\.0 \("a"\)/);
  });

  it('gives each token an identity of its own, apart from its display name', () => {
    const store = loadTokensFile(tokensFile);
    const viewer = store.authenticate('viewer-secret')!;
    const ops = store.authenticate('ops-secret')!;
    expect(viewer.name).toBe('btc-viewer');
    expect(viewer.id).not.toBe(ops.id);
    expect(viewer.id).not.toBe(viewer.name);
    expect(store.authenticate('viewer-secret')!.id).toBe(viewer.id);
  });

  it('reads ALLOWED_HOSTS, and an open server answers only to loopback names unless it lists others', () => {
    expect(loadServerConfig({}).limits.allowedHosts).toBeUndefined();
    expect(loadServerConfig({ ALLOWED_HOSTS: 'Tickwire.internal, ::1,10.0.0.5' }).limits.allowedHosts).toEqual(['tickwire.internal', '[::1]', '10.0.0.5']);
    expect(() => loadServerConfig({ ALLOWED_HOSTS: 'http://evil.test' })).toThrow(/ALLOWED_HOSTS: "http:\/\/evil.test" is not a host name/);
    expect(() => loadServerConfig({ ALLOWED_HOSTS: 'evil.test:80' })).toThrow(/ALLOWED_HOSTS: "evil.test:80" is not a host name/);
    const open = { ...DEFAULT_LIMITS };
    for (const host of ['127.0.0.1:4000', 'localhost', 'LOCALHOST:1', '[::1]:4000', '[::1]']) expect(hostAllowed(host, true, open)).toBe(true);
    for (const host of ['evil.test', 'evil.test:4000', '127.0.0.1.evil.test', 'localhost.evil.test:4000', '[::2]:4000', '', undefined]) expect(hostAllowed(host, true, open)).toBe(false);
    expect(hostAllowed('evil.test', false, open)).toBe(true);
    expect(hostAllowed('tickwire.internal:4000', true, { ...open, allowedHosts: ['tickwire.internal'] })).toBe(true);
    expect(hostAllowed('localhost:4000', true, { ...open, allowedHosts: ['tickwire.internal'] })).toBe(false);
  });
});
