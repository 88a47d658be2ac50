import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionResult, FormattedExecutionResult } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { EventBus } from '../../src/log/bus.js';
import { TradingEngine } from '../../src/engine/engine.js';
import type { RunnerEvent } from '../../src/events/types.js';
import { Admission } from '../../src/graphql/admission.js';
import { DEFAULT_LIMITS } from '../../src/graphql/limits.js';
import { SocketWorkers } from '../../src/app/socket-workers/primary.js';
import { publishScript, startTestServer, until, type TestServer } from './harness.js';
import { watch, type Watch } from './transports.js';
import { alive, childrenOf, entry } from '../support/processes.js';

/**
 * WORKERS: graphql-ws connections are served by worker processes that mirror the server's
 * log; the engine, the quota ledger and HTTP stay in the server process.
 */

let t: TestServer;
beforeAll(async () => {
  // A quota of 3 streams per client address (open mode), counted across both workers.
  t = await startTestServer({ workers: 2, limits: { ...DEFAULT_LIMITS, maxSubscriptionsPerToken: 3 } });
  // They start after the server listens: these tests are about connections they serve.
  await t.server.workers!.ready();
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const workers = () => t.server.workers!;

/** Subscribers on every worker, as of their last report (once a second). */
async function subscribersReach(n: number): Promise<void> {
  await until(() => workers().totals().subscribers === n, `${n} subscribers on the workers`, 15_000);
}

/** One operation over a graphql-ws connection of its own: its first result. */
async function overWs(query: string): Promise<FormattedExecutionResult> {
  const client = createClient({ url: t.server.urls.ws, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
  try {
    return await new Promise<FormattedExecutionResult>((resolve, reject) => {
      client.subscribe({ query }, { next: resolve, error: reject, complete: () => undefined });
    });
  } finally {
    await client.dispose();
  }
}

const ids = (results: ExecutionResult[], first: number) => results.map((r) => Number((r.data as { events: { id: string } }).events.id) - first + 1);

describe('socket workers (WORKERS=2)', () => {
  it('hands connections to both workers, and each subscriber gets exactly what its filter accepts, in order', async () => {
    // Ids are 1-based positions in SCRIPT (test/server/harness.ts): r1/r3 trade AAA, r2 BBB.
    const cases: [string, number[]][] = [
      ['(runnerIds: ["r1"])', [1, 2, 4, 9]],
      ['(symbols: ["AAA"])', [1, 2, 4, 6, 7, 9, 10]],
      ['(types: [TICK_RECEIVED, ERROR])', [2, 3, 4, 5, 7]],
    ];
    const watches = cases.map(([args]) => watch('graphql-ws', t.server, `subscription { events${args} { ... on Event { id } } }`));
    try {
      await subscribersReach(cases.length);
      expect(workers().totals().connections).toBe(cases.length);
      expect(workers().pids).toHaveLength(2);
      const first = publishScript(t.bus)[0]!;
      for (const [i, [, expected]] of cases.entries()) {
        const w = watches[i]!;
        expect(ids(await w.take(expected.length, 15_000), first)).toEqual(expected);
      }
      // Nothing from before they joined, nothing their filter rejects: no result beyond those.
      const after = publishScript(t.bus)[0]!;
      const last = await watches[0]!.take(8, 15_000);
      expect(ids(last.slice(4), after)).toEqual([1, 2, 4, 9]);
    } finally {
      await Promise.all(watches.map((w) => w.close()));
    }
    await subscribersReach(0);
  }, 60_000);

  // Each test ends with no subscriber left (as the workers last reported), so that the
  // next one's wait for its own subscribers cannot be met by a report from before.
  it('resumes after an id from the history a worker mirrors, with no gap and no duplicate', async () => {
    const published = publishScript(t.bus);
    const w = watch('graphql-ws', t.server, `subscription { events(after: "${published[4]}", runnerIds: ["r1", "r2", "r3"]) { ... on Event { id } } }`);
    try {
      const got = await w.take(5, 15_000);
      expect(got.map((r) => Number((r.data as { events: { id: string } }).events.id))).toEqual(published.slice(5));
    } finally {
      await w.close();
    }
    await subscribersReach(0);
  }, 60_000);

  it("runs a worker connection's queries and mutations on the server's engine, with its error codes", async () => {
    const started = await overWs('mutation { startRunner(input: { id: "wk1", symbol: "AAA", feed: { kind: SIMULATED, ticksPerSecond: 5, seed: 3 } }) { id state } }');
    expect(started.errors).toBeUndefined();
    expect(t.engine.getRunner('wk1')?.state).not.toBe('Stopped');
    const listed = await overWs('{ runners { id } }');
    expect((listed.data as { runners: { id: string }[] }).runners.map((r) => r.id)).toContain('wk1');
    const duplicate = await overWs('mutation { startRunner(input: { id: "wk1", symbol: "AAA" }) { id } }');
    expect(duplicate.errors?.[0]?.extensions?.['code']).toBe('DUPLICATE_RUNNER');
    const stopped = await overWs('mutation { stopRunner(id: "wk1", reason: "from a worker") { state stopReason } }');
    expect(stopped.data).toEqual({ stopRunner: { state: 'STOPPED', stopReason: 'from a worker' } });
  }, 60_000);

  it("keeps one subscription quota across the workers' connections", async () => {
    // Four connections, two per worker, from one client address: a quota of 3 in all.
    const watches: Watch[] = [];
    for (let i = 0; i < 4; i++) watches.push(watch('graphql-ws', t.server, 'subscription { events(runnerIds: ["quota"]) { ... on Event { id } } }'));
    try {
      await until(() => watches.filter((w) => w.errors.length > 0).length === 1, 'one refusal', 15_000);
      await until(() => t.server.tickwire.admission.open['graphql-ws'] === 3, 'three places taken', 15_000);
      const refusal = JSON.stringify(watches.find((w) => w.errors.length > 0)!.errors);
      expect(refusal).toMatch(/too many subscriptions for client address 127\.0\.0\.1 \(at most 3/);
      expect(t.server.tickwire.admission.open['graphql-ws']).toBe(3);
      // A place given back on one worker can be taken on the other.
      await watches.find((w) => w.errors.length === 0)!.close();
      await until(() => t.server.tickwire.admission.open['graphql-ws'] === 2, 'the place given back', 15_000);
      const again = watch('graphql-ws', t.server, 'subscription { events(runnerIds: ["quota"]) { ... on Event { id } } }');
      watches.push(again);
      await until(() => t.server.tickwire.admission.open['graphql-ws'] === 3, 'the place taken again', 15_000);
      expect(again.errors).toEqual([]);
    } finally {
      await Promise.all(watches.map((w) => w.close()));
    }
    await until(() => t.server.tickwire.admission.open['graphql-ws'] === 0, 'every place given back', 15_000);
    await subscribersReach(0);
  }, 60_000);

  it('restarts a worker that dies, gives its places back, and the new one serves the history', async () => {
    const w = watch('graphql-ws', t.server, 'subscription { events(runnerIds: ["r1"]) { ... on Event { id } } }');
    const other = watch('graphql-ws', t.server, 'subscription { events(runnerIds: ["r2"]) { ... on Event { id } } }');
    await subscribersReach(2);
    await until(() => t.server.tickwire.admission.open['graphql-ws'] === 2, 'two places taken', 15_000);
    // A connection goes to the worker with the fewest as last reported: usually one each,
    // both on one after a report that came late. The victim serves at least one of them.
    await until(() => [...workers().connectionsByPid.values()].reduce((a, b) => a + b, 0) === 2, 'both connections reported', 15_000);
    const [victim, served] = [...workers().connectionsByPid].find(([, n]) => n > 0)!;
    // Entries keep flowing while it dies: a send into its broken channel must not take the server down.
    await t.engine.addRunner({ id: 'pump', symbol: 'PMP', feed: { kind: 'simulated', ticksPerSecond: 2000, seed: 5 } });
    process.kill(victim, 'SIGKILL');
    // Its clients are cut; the other worker's go on; the dead worker's places are free again.
    await until(() => workers().running === 1, 'the dead worker noticed', 15_000);
    await until(() => t.server.tickwire.admission.open['graphql-ws'] === 2 - served, "the dead worker's places given back", 15_000);
    await until(() => workers().running === 2, 'the worker restarted', 60_000);
    await t.engine.stopRunner('pump');
    expect(workers().pids).not.toContain(victim);
    const published = publishScript(t.bus);
    // The client of the other worker, when it served one, goes on.
    const alive = [w, other].filter((x) => x.errors.length === 0 && !x.completed);
    expect(alive).toHaveLength(2 - served);
    for (const x of alive) await x.take(x.results.length + 1, 15_000);
    await Promise.all([w.close(), other.close()]);
    // Both workers (the new one too) serve a resume from before the restart.
    for (let i = 0; i < 2; i++) {
      const resumed = watch('graphql-ws', t.server, `subscription { events(after: "${published[0]! - 1}", runnerIds: ["r1", "r2", "r3"]) { ... on Event { id } } }`);
      const got = await resumed.take(10, 15_000);
      expect(got.map((r) => Number((r.data as { events: { id: string } }).events.id))).toEqual(published);
      await resumed.close();
    }
    await subscribersReach(0);
  }, 120_000);

  it("counts the workers' connections and deliveries in /metrics", async () => {
    const w = watch('graphql-ws', t.server, 'subscription { events(runnerIds: ["r3"]) { ... on Event { id } } }');
    try {
      await subscribersReach(1);
      publishScript(t.bus);
      await w.take(3, 15_000);
      const metricsUrl = t.server.urls.http.replace(/\/graphql$/, '/metrics');
      await until(() => workers().totals().delivered.size > 0, 'a report with deliveries', 15_000);
      const text = await (await fetch(metricsUrl)).text();
      expect(text).toMatch(/tickwire_connections\{transport="graphql-ws"\} 1/);
      expect(text).toMatch(/tickwire_bus_subscribers 1/);
    } finally {
      await w.close();
    }
  }, 60_000);

  it('follows the log into a new epoch whose ids start again (a recreated shared log): each subscriber is told, then gets the new ids', async () => {
    await subscribersReach(0);
    const w = watch('graphql-ws', t.server, 'subscription { events(runnerIds: ["r1"]) { __typename ... on Event { id } ... on StreamGap { epoch } } }');
    try {
      await subscribersReach(1);
      // Twice: the ids the new epoch hands out again were delivered here, whatever ran before.
      publishScript(t.bus);
      const before = publishScript(t.bus);
      await w.take(8, 15_000);
      // What a reader of a flushed Redis does when the new log's first entry comes: ids go back.
      t.bus.restartEpoch('recreated', 0);
      const again = publishScript(t.bus);
      expect(again[0]).toBeLessThan(before[0]!);
      const got = (await w.take(13, 15_000)).map((r) => (r.data as { events: { __typename: string; id?: string; epoch?: string | null } }).events);
      expect(got[8]).toEqual({ __typename: 'StreamGap', epoch: 'recreated' });
      expect(got.slice(9).map((e) => Number(e.id))).toEqual([1, 2, 4, 9]);
    } finally {
      await w.close();
    }
    await subscribersReach(0);
  }, 60_000);
});

/** Polls /ready (which does not wait for the workers) until its body says `n` serve. */
async function workersServe(readyUrl: string, n: number): Promise<void> {
  let running = -1;
  const end = Date.now() + 60_000;
  while (running !== n) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${n} workers to serve (${running})`);
    const body = (await (await fetch(readyUrl)).json()) as { workers?: { running: number } };
    running = body.workers?.running ?? -1;
    if (running !== n) await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the compiled server with WORKERS=2', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  async function start(): Promise<{ child: ChildProcess; url: string; workers: number[]; exited: Promise<number | null> }> {
    const dir = mkdtempSync(join(tmpdir(), 'tickwire-workers-'));
    dirs.push(dir);
    const child = spawn(process.execPath, entry('main'), {
      env: { ...process.env, WORKERS: '2', WORKERS_START_CONNECTIONS: '0', PORT: '0', HOST: '127.0.0.1', STORE_TYPES: 'none', DATA_DIR: join(dir, 'data'), DASHBOARD: 'false', LOG_LEVEL: 'warn', TOKENS_FILE: '', REDIS_URL: '', DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += String(d)));
    child.stderr!.on('data', (d: Buffer) => (out += String(d)));
    let url: string | null = null;
    await until(() => (url = /graphql-ws\s+(ws:\/\/\S+) \(served by 2 worker processes\)/.exec(out)?.[1] ?? null) !== null, `the banner (${out})`, 60_000);
    await until(() => childrenOf(child.pid!).length === 2, 'two worker processes', 15_000);
    await workersServe(url!.replace(/^ws:/, 'http:').replace(/\/graphql$/, '/ready'), 2);
    return { child, url: url!, workers: childrenOf(child.pid!), exited };
  }

  it('SIGTERM: each subscriber gets the final RunnerStopped and a complete; the workers exit with the server', async () => {
    const { child, url, workers: pids, exited } = await start();
    const client = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0 });
    const seen: string[] = [];
    let completed = false;
    client.subscribe(
      { query: 'subscription { events(types: [TICK_RECEIVED, RUNNER_STOPPED]) { __typename } }' },
      { next: (r) => seen.push((r.data as { events: { __typename: string } }).events.__typename), error: () => undefined, complete: () => (completed = true) },
    );
    await until(() => seen.length > 0, 'a first event', 15_000);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await until(() => completed, 'complete', 15_000);
    expect(seen.filter((t) => t === 'RunnerStopped')).toHaveLength(3);
    await until(() => pids.every((pid) => !alive(pid)), 'the workers gone', 15_000);
    await client.dispose();
  }, 90_000);

  it('SIGKILL of the server: the workers do not outlive it, and their clients are cut', async () => {
    const { child, url, workers: pids, exited } = await start();
    const socket = new WebSocket(url, 'graphql-transport-ws');
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    await new Promise((resolve) => socket.once('open', resolve));
    child.kill('SIGKILL');
    await exited;
    await until(() => pids.every((pid) => !alive(pid)), 'the workers gone', 15_000);
    expect(await closed).toBe(1006);
  }, 90_000);
});

describe('a socket worker that stops reading', () => {
  const tick = (n: number): RunnerEvent => ({
    type: 'TickReceived',
    runnerId: 'w',
    symbol: 'W',
    data: { symbol: 'W', timestamp: 1_700_000_000_000 + n, open: n, high: n, low: n, close: n, volume: 1, bid: n, ask: n },
  });
  const transition = (n: number): RunnerEvent => ({ type: 'StateTransition', runnerId: 'w', from: 'Idle', to: 'Analyzing', reason: `step ${n}`, timestamp: 1_700_000_000_000 + n });

  /**
   * One bare worker behind an HTTP server that hands it every upgrade, a subscriber of
   * runner w on it, and the worker stopped (SIGSTOP) while 20 turns of 500 ticks and one
   * standard event each (about 2 MB of entries) are published; then it goes on.
   */
  async function stallWorker(options: { backlogBytes?: number; maxEventAgeMs: number }, whileStopped: (workers: SocketWorkers) => void = () => undefined) {
    const bus = new EventBus();
    const workers = new SocketWorkers({
      count: 1,
      bus,
      engine: new TradingEngine(bus),
      db: null,
      admission: new Admission(100),
      settings: { limits: DEFAULT_LIMITS, tokens: null, replayDir: null, maxEventAgeMs: options.maxEventAgeMs, keepAliveMs: undefined, storedTypes: [] },
      log: () => undefined,
      ...(options.backlogBytes === undefined ? {} : { backlogBytes: options.backlogBytes }),
    });
    workers.start();
    await workers.ready();
    const http = createServer();
    http.on('upgrade', (req, socket, head) => workers.handOff(req, socket as Socket, head));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/graphql`;
    const received: { __typename: string; missed?: number; reason?: string; data?: { close: number } }[] = [];
    const client = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0 });
    client.subscribe(
      { query: 'subscription { events(runnerIds: ["w"]) { __typename ... on StreamGap { missed reason } ... on TickReceived { data { close } } } }' },
      { next: (r) => received.push((r.data as { events: { __typename: string } }).events), error: () => undefined, complete: () => undefined },
    );
    try {
      await until(() => workers.totals().subscribers === 1, 'the subscriber', 15_000);
      const [pid] = workers.pids;
      process.kill(pid!, 'SIGSTOP');
      for (let turn = 0; turn < 20; turn++) {
        for (let i = 0; i < 500; i++) bus.publish(tick(turn * 500 + i), 'W');
        bus.publish(transition(turn), 'W');
        await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setImmediate(r));
      whileStopped(workers);
      // Stopped long enough for the last batch sent to be older than the age bound when read.
      await new Promise((r) => setTimeout(r, options.maxEventAgeMs + 200));
      process.kill(pid!, 'SIGCONT');
      await until(() => received.filter((r) => r.__typename === 'StateTransition').length === 20, 'every standard event', 30_000);
      // In order through one queue: the last tick, published before the last standard event, is in by now if it comes at all.
      const ticks = received.filter((r) => r.__typename === 'TickReceived');
      const gaps = received.filter((r) => r.__typename === 'StreamGap');
      return { ticks: ticks.length, gaps, last: ticks.at(-1)?.data?.close };
    } finally {
      await client.dispose();
      await workers.close();
      http.close();
      bus.close();
    }
  }

  it('costs the server bounded memory: past the bound it is sent only standard and critical events, and its subscribers see a gap for the rest', async () => {
    const BOUND = 256 * 1024;
    let unread = 0;
    const { ticks, gaps } = await stallWorker({ backlogBytes: BOUND, maxEventAgeMs: 0 }, (workers) => (unread = workers.unreadBytes[0]!));
    // Past the bound, a turn adds only its standard event.
    expect(unread).toBeLessThan(BOUND + 200 * 1024);
    expect(ticks).toBeLessThan(10_000);
    expect(gaps.length).toBeGreaterThan(0);
    expect(gaps[0]!.reason).toMatch(/this socket worker fell behind the log, and its high-frequency events were skipped/);
    // Every tick is either delivered or counted in a gap.
    expect(ticks + gaps.reduce((a, g) => a + (g.missed ?? 0), 0)).toBe(10_000);
  }, 90_000);

  it('read later than MAX_EVENT_AGE_MS, still delivers the latest tick of the runner and every standard event: each subscriber conflates by its own age bound', async () => {
    const { ticks, gaps, last } = await stallWorker({ maxEventAgeMs: 300 });
    // Everything was sent while it was stopped, and read over 300 ms late: the subscriber's
    // queue keeps the latest tick per runner, not none of them.
    expect(ticks).toBeGreaterThan(0);
    expect(last).toBe(9999);
    // Far fewer than were published (they were stale), and every one missed is counted in a gap.
    expect(ticks).toBeLessThan(10_000);
    expect(gaps.length).toBeGreaterThan(0);
    expect(gaps[0]!.reason).toMatch(/subscriber too slow: its next event was older than 300 ms; \d+ high-frequency events skipped \(the latest per runner and type kept\)/);
    expect(ticks + gaps.reduce((a, g) => a + (g.missed ?? 0), 0)).toBe(10_000);
  }, 90_000);
});

describe('workers never hold the server back', () => {
  const subscription = 'subscription { events(runnerIds: ["r1"]) { ... on Event { id } } }';
  const readyOf = (server: TestServer['server']) => fetch(server.urls.http.replace(/\/graphql$/, '/ready'));

  it('with WORKERS=2 still starting: /ready answers and graphql-ws is served by the server; the workers take the connections that come once they run', async () => {
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    const before = childrenOf(process.pid);
    const s = await startTestServer({ workers: 2, holdWorkers: hold });
    const early = watch('graphql-ws', s.server, subscription);
    let late: Watch | null = null;
    try {
      const ready = await readyOf(s.server);
      expect(ready.status).toBe(200);
      // No worker process even exists yet: the server serves this connection itself.
      expect(childrenOf(process.pid).filter((pid) => !before.includes(pid))).toEqual([]);
      expect(await ready.json()).toEqual({ status: 'ready', workers: { running: 0, count: 2 } });
      await until(() => s.server.ws.wss.clients.size === 1, 'the early connection, on the server', 15_000);
      await until(() => s.bus.subscriberCount > 0, 'its subscriber', 15_000);
      const first = publishScript(s.bus)[0]!;
      expect(ids(await early.take(4, 15_000), first)).toEqual([1, 2, 4, 9]);
      release();
      await s.server.workers!.ready();
      expect((await (await readyOf(s.server)).json()).workers).toEqual({ running: 2, count: 2 });
      late = watch('graphql-ws', s.server, subscription);
      await until(() => s.server.workers!.totals().subscribers === 1, 'the late subscriber, on a worker', 15_000);
      expect(s.server.ws.wss.clients.size).toBe(1);
      // Both are served: the early one still by the server, the late one by a worker.
      const again = publishScript(s.bus)[0]!;
      expect(ids((await late.take(4, 15_000)), again)).toEqual([1, 2, 4, 9]);
      expect(ids((await early.take(8, 15_000)).slice(4), again)).toEqual([1, 2, 4, 9]);
    } finally {
      release();
      await early.close();
      await late?.close();
      await s.close();
    }
  }, 120_000);

  it('with WORKERS_START_CONNECTIONS=3: no worker process until the third connection; then they start, take the new connections, and the first three keep their streams', async () => {
    const before = childrenOf(process.pid);
    const ours = () => childrenOf(process.pid).filter((pid) => !before.includes(pid));
    const s = await startTestServer({ workers: 2, workersStartConnections: 3 });
    const early: Watch[] = [];
    let late: Watch | null = null;
    try {
      expect((await readyOf(s.server)).status).toBe(200);
      for (let i = 0; i < 2; i++) early.push(watch('graphql-ws', s.server, subscription));
      await until(() => s.bus.subscriberCount === 2, 'two subscribers, on the server', 15_000);
      const first = publishScript(s.bus)[0]!;
      for (const w of early) expect(ids(await w.take(4, 15_000), first)).toEqual([1, 2, 4, 9]);
      // Two connections open, both streaming: no worker process, none starting.
      expect(ours()).toEqual([]);
      expect(s.server.workers!.running).toBe(0);
      early.push(watch('graphql-ws', s.server, subscription));
      await until(() => s.bus.subscriberCount === 3, 'the third subscriber, on the server', 15_000);
      await s.server.workers!.ready();
      expect(ours()).toHaveLength(2);
      late = watch('graphql-ws', s.server, subscription);
      await until(() => s.server.workers!.totals().subscribers === 1, 'the fourth subscriber, on a worker', 15_000);
      expect(s.server.ws.wss.clients.size).toBe(3);
      const again = publishScript(s.bus)[0]!;
      expect(ids(await late.take(4, 15_000), again)).toEqual([1, 2, 4, 9]);
      expect(ids(await early[2]!.take(4, 15_000), again)).toEqual([1, 2, 4, 9]);
      for (const w of early.slice(0, 2)) expect(ids((await w.take(8, 15_000)).slice(4), again)).toEqual([1, 2, 4, 9]);
      for (const w of early) expect(w.errors).toEqual([]);
    } finally {
      for (const w of early) await w.close();
      await late?.close();
      await s.close();
    }
  }, 120_000);

  it('with the only worker restarting: /ready stays 200 and new graphql-ws connections are served by the server', async () => {
    const one = await startTestServer({ workers: 1 });
    let during: Watch | null = null;
    try {
      await until(() => one.server.workers!.running === 1, 'the worker up', 60_000);
      process.kill(one.server.workers!.pids[0]!, 'SIGKILL');
      await until(() => one.server.workers!.running === 0, 'the worker gone', 15_000);
      const ready = await readyOf(one.server);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', workers: { running: 0, count: 1 } });
      during = watch('graphql-ws', one.server, subscription);
      await until(() => one.bus.subscriberCount > 0, 'its subscriber, on the server', 15_000);
      const first = publishScript(one.bus)[0]!;
      expect(ids(await during.take(4, 15_000), first)).toEqual([1, 2, 4, 9]);
      expect(one.server.ws.wss.clients.size).toBe(1);
      await until(() => one.server.workers!.running === 1, 'the worker back', 60_000);
      expect((await readyOf(one.server)).status).toBe(200);
    } finally {
      await during?.close();
      await one.close();
    }
  }, 90_000);
});

describe('a server with workers that cannot listen', () => {
  it('fails with the listen error and leaves no worker behind', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const before = childrenOf(process.pid);
    try {
      await expect(startTestServer({ workers: 2, port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
      await until(() => childrenOf(process.pid).filter((pid) => !before.includes(pid)).length === 0, 'no worker left', 15_000);
    } finally {
      taken.close();
    }
  }, 90_000);
});
