import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/log/bus.js';
import { RedisReader } from '../../src/log/redis.js';
import { startServer, type TickwireServer } from '../../src/app/server.js';
import { RemoteEngine } from '../../src/engine/remote.js';
import { CRASH_ID_MARGIN } from '../../src/app/persistence.js';
import { EventStore } from '../../src/store/store.js';
import { postgresAvailable, privatePostgres, schemaUrl } from '../store/databases.js';
import { entry } from '../support/processes.js';
import { tcpProxy } from '../support/proxy.js';
import { privateStream, REDIS_URL, redisAvailable } from '../support/redis.js';
import { post, watch } from './transports.js';

/**
 * Engines in Redis mode lose their process or their link to Redis: the runners they ran
 * are reported stopped ("engine lost"), the next engine resumes the runners the API
 * started, a standby takes over, and a stale engine's appends are refused (fencing).
 */

/** Short, so that the tests wait little; the bounds below are the lease's plus slack for a busy machine. */
const LEASE_MS = 1500;

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface EngineProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  /** Resolves once the output matches `pattern`. */
  readonly printed: (pattern: RegExp) => Promise<void>;
  readonly exited: Promise<number | null>;
  /** The exit code, or a failure with what it printed when it does not exit within 40 s. */
  readonly exitCode: () => Promise<number | null>;
}

/**
 * `npm run engine` on `stream`, through `redisUrl`, with the test's short lease and no runners of its own;
 * `settings` add to its environment (a DATABASE_URL, say; by default its store is PGlite in memory).
 */
function engineProcess(stream: string, redisUrl = REDIS_URL, settings: Record<string, string> = {}): EngineProcess {
  const dir = mkdtempSync(join(tmpdir(), 'tickwire-failover-'));
  const runners = join(dir, 'runners.json');
  writeFileSync(runners, JSON.stringify({ runners: [] }));
  const env = { ...process.env, REDIS_URL: redisUrl, REDIS_STREAM: stream, RUNNERS_FILE: runners, DATA_DIR: 'memory://', ENGINE_LEASE_MS: String(LEASE_MS), LOG_LEVEL: 'warn', ...settings };
  const child = spawn(process.execPath, entry('engine-main'), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const waiting = new Set<() => void>();
  const look = (chunk: Buffer) => {
    output += String(chunk);
    for (const w of waiting) w();
  };
  child.stdout!.on('data', look);
  child.stderr!.on('data', look);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  cleanups.push(() => child.kill('SIGKILL'));
  const printed = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(output)) {
          waiting.delete(check);
          resolve();
        }
      };
      waiting.add(check);
      check();
      void exited.then((code) => {
        if (!pattern.test(output)) reject(new Error(`the engine exited (${code}) before printing ${pattern}:\n${output}`));
      });
      setTimeout(() => reject(new Error(`the engine did not print ${pattern} within 60 s:\n${output}`)), 40_000).unref();
    });
  const exitCode = () =>
    Promise.race([exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the engine did not exit within 60 s:\n${output}`)), 40_000).unref())]);
  return { child, output: () => output, printed, exited, exitCode };
}

/** An API instance over the stream: its server, driving the engines through Redis (reading `store` for eventHistory, when given). */
async function apiInstance(stream: string, store: EventStore | null = null): Promise<{ server: TickwireServer; bus: EventBus }> {
  const bus = new EventBus();
  const reader = new RedisReader(bus, { url: REDIS_URL, stream, log: () => undefined });
  const remote = new RemoteEngine(REDIS_URL, stream, { leaseMs: LEASE_MS, log: () => undefined });
  const server = await startServer({ engine: remote, bus, port: 0, host: '127.0.0.1', store });
  cleanups.push(() => reader.close(), () => server.close(), () => remote.close());
  return { server, bus };
}

/** startRunner through the API, asked again while no engine has taken the request yet. */
async function startRunner(server: TickwireServer, id: string): Promise<void> {
  const mutation = `mutation { startRunner(input: { id: "${id}", symbol: "AAA", feed: { kind: SIMULATED, ticksPerSecond: 50, seed: 3 } }) { id } }`;
  let res = await post(server, mutation);
  for (let i = 0; i < 10 && res.errors?.[0]?.extensions?.['code'] === 'ENGINE_UNAVAILABLE'; i++) res = await post(server, mutation);
  expect(res.errors).toBeUndefined();
}

async function runners(server: TickwireServer): Promise<unknown> {
  return (await post(server, '{ runners { id state stopReason } }')).data?.['runners'];
}

const LIFECYCLE = (id: string) =>
  `subscription { events(runnerIds: ["${id}"], types: [RUNNER_STARTED, RUNNER_STOPPED]) { __typename ... on RunnerStarted { startReason: reason } ... on RunnerStopped { reason } } }`;
const lifecycleOf = (results: { data?: unknown }[]) => results.map((r) => (r.data as { events: unknown }).events);

describe.runIf(redisAvailable)('failover in Redis mode (real engine processes, real Redis)', () => {
  it('a SIGKILLed engine\'s runners are reported stopped within the lease plus a second; a new engine resumes them', async () => {
    const { key: stream, drop } = privateStream();
    cleanups.push(drop);
    const first = engineProcess(stream);
    await first.printed(/publishing to/);
    const { server, bus } = await apiInstance(stream);
    const lifecycle = watch('graphql-ws', server, LIFECYCLE('d1'));
    await until(() => bus.subscriberCount === 1, 'the subscriber');
    await startRunner(server, 'd1');
    expect(lifecycleOf(await lifecycle.take(1, 15_000))).toEqual([{ __typename: 'RunnerStarted', startReason: null }]);
    await until(async () => JSON.stringify(await runners(server)) === JSON.stringify([{ id: 'd1', state: 'ANALYZING', stopReason: null }]), 'd1 in the registry');

    const killedAt = Date.now();
    first.child.kill('SIGKILL');
    await first.exited;
    const stopped = await lifecycle.take(2, 15_000);
    const reportedAfter = Date.now() - killedAt;
    console.log(`failover test: RunnerStopped "engine lost" reached the subscriber ${reportedAfter} ms after the SIGKILL (lease ${LEASE_MS} ms)`);
    expect(lifecycleOf(stopped)[1]).toEqual({ __typename: 'RunnerStopped', reason: 'engine lost' });
    // Within the lease plus a second, with slack for a busy machine.
    expect(reportedAfter).toBeLessThan(LEASE_MS + 1000 + 2000);
    expect(await runners(server)).toEqual([{ id: 'd1', state: 'STOPPED', stopReason: 'engine lost' }]);

    // No standby: a new engine resumes what the API started, saying so.
    const second = engineProcess(stream);
    await second.printed(/and 1 resumed/);
    const resumed = lifecycleOf(await lifecycle.take(3, 15_000))[2];
    expect(resumed).toEqual({ __typename: 'RunnerStarted', startReason: expect.stringMatching(/^resumed by engine \S+, which took over from engine \S+$/) });
    await until(async () => JSON.stringify(await runners(server)) === JSON.stringify([{ id: 'd1', state: 'ANALYZING', stopReason: null }]), 'd1 running again');

    // Stopped through the API, it stays stopped across the next restart.
    expect((await post(server, 'mutation { stopRunner(id: "d1") { state } }')).data).toEqual({ stopRunner: { state: 'STOPPED' } });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    const third = engineProcess(stream);
    await third.printed(/and 0 resumed/);
    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);
    await lifecycle.close();
  }, 120_000);
  it.runIf(postgresAvailable)("an engine SIGKILLed and restarted: the API instance's history still holds what came before, and ids go on without a skip", async () => {
    const { key: stream, drop } = privateStream();
    cleanups.push(drop);
    const pg = await privatePostgres();
    cleanups.push(() => pg.drop());
    // A durable store: the restarted engine reads the position the killed one saved, and that it did not stop cleanly.
    const settings = { DATABASE_URL: schemaUrl(pg.schema) };
    const first = engineProcess(stream, REDIS_URL, settings);
    await first.printed(/publishing to/);
    const { server, bus } = await apiInstance(stream, new EventStore(pg.db));
    const live = watch('graphql-ws', server, LIFECYCLE('h1'));
    await until(() => bus.subscriberCount === 1, 'the subscriber');
    await startRunner(server, 'h1');
    type Lifecycle = { id: string; __typename: string; startReason?: string | null; reason?: string };
    const recent = async (types: string) => {
      const res = await post(server, `{ recentEvents(runnerIds: ["h1"], types: [${types}], last: 2000) { __typename ... on Event { id } ... on RunnerStarted { startReason: reason } ... on RunnerStopped { reason } } }`);
      expect(res.errors).toBeUndefined();
      return res.data!['recentEvents'] as Lifecycle[];
    };
    const stored = async () => {
      const res = await post(server, '{ eventHistory(runnerIds: ["h1"], types: [RUNNER_STARTED, RUNNER_STOPPED], first: 100) { edges { cursor } } }');
      expect(res.errors).toBeUndefined();
      return (res.data!['eventHistory'] as { edges: { cursor: string }[] }).edges.map((e) => Number(e.cursor));
    };
    await until(async () => (await recent('TICK_RECEIVED')).length >= 10 && (await stored()).length === 1, "h1's RunnerStarted stored and ten of its ticks");
    const [started] = await recent('RUNNER_STARTED');
    const ticksBefore = (await recent('TICK_RECEIVED')).map((e) => Number(e.id));

    first.child.kill('SIGKILL');
    await first.exited;
    const lastBefore = bus.lastId;
    const second = engineProcess(stream, REDIS_URL, settings);
    await second.printed(/and 1 resumed/);
    await live.take(3, 20_000);

    // What the API instance held before the restart is still there (50 ticks a second: 2000 reach back 40 s), the restart's own events after it.
    const lifecycle = await recent('RUNNER_STARTED, RUNNER_STOPPED');
    expect(lifecycle).toEqual([
      { __typename: 'RunnerStarted', id: started!.id, startReason: null },
      { __typename: 'RunnerStopped', id: expect.any(String), reason: 'engine lost' },
      { __typename: 'RunnerStarted', id: expect.any(String), startReason: expect.stringMatching(/^resumed by engine/) },
    ]);
    const ticks = (await recent('TICK_RECEIVED')).map((e) => Number(e.id));
    expect(ticks.slice(0, ticksBefore.length)).toEqual(ticksBefore);
    const log = (await post(server, '{ log { oldestId lastId } }')).data?.['log'] as { oldestId: string; lastId: string };
    expect(Number(log.oldestId)).toBeLessThanOrEqual(Number(started!.id));
    // The shared log's counter was still there: the restart skipped no ids, and reused none.
    const resumedId = Number(lifecycle[2]!.id);
    expect(resumedId).toBeGreaterThan(lastBefore);
    expect(resumedId).toBeLessThan(lastBefore + CRASH_ID_MARGIN);
    expect(second.output()).toMatch(/did not stop cleanly; the shared log's id counter \(\d+\) is past every id it handed out/);
    // And the store (eventHistory) has the RunnerStarted from before too.
    await until(async () => (await stored()).length === 3, 'the lifecycle stored');
    expect((await stored())[0]).toBe(Number(started!.id));
    await live.close();
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 120_000);

  it('a standby takes over a SIGKILLed engine within the lease plus two seconds, resuming its runners; ids go on', async () => {
    const { key: stream, drop } = privateStream();
    cleanups.push(drop);
    const active = engineProcess(stream);
    await active.printed(/publishing to/);
    const standby = engineProcess(stream);
    await standby.printed(/standby: engine \S+ holds the lease/);
    const { server, bus } = await apiInstance(stream);
    const lifecycle = watch('graphql-ws', server, LIFECYCLE('s1'));
    const ticks = watch('graphql-ws', server, 'subscription { events(runnerIds: ["s1"], types: [TICK_RECEIVED]) { ... on Event { id } } }');
    await until(() => bus.subscriberCount === 2, 'the subscribers');
    await startRunner(server, 's1');
    await lifecycle.take(1, 15_000);
    await ticks.take(5, 15_000);

    const killedAt = Date.now();
    active.child.kill('SIGKILL');
    const seen = lifecycleOf(await lifecycle.take(3, 20_000));
    const takeoverMs = Date.now() - killedAt;
    expect(seen.slice(1)).toEqual([
      { __typename: 'RunnerStopped', reason: 'engine lost' },
      { __typename: 'RunnerStarted', startReason: expect.stringMatching(/^resumed by engine \S+, which took over from engine \S+$/) },
    ]);
    const before = ticks.results.length;
    await until(() => ticks.results.length > before, 'a tick from the standby');
    const firstTickMs = Date.now() - killedAt;
    console.log(`failover test: the standby resumed s1 ${takeoverMs} ms after the SIGKILL, first tick after ${firstTickMs} ms (lease ${LEASE_MS} ms)`);
    // Within the lease plus two seconds, with slack for a busy machine.
    expect(takeoverMs).toBeLessThan(LEASE_MS + 2000 + 2000);
    const ids = ticks.results.map((r) => Number((r.data as { events: { id: string } }).events.id));
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
    await until(async () => JSON.stringify(await runners(server)) === JSON.stringify([{ id: 's1', state: 'ANALYZING', stopReason: null }]), 's1 running on the standby');
    await lifecycle.close();
    await ticks.close();
    standby.child.kill('SIGTERM');
    expect(await standby.exited).toBe(0);
  }, 120_000);

  it('a partition between the active engine and Redis longer than the lease: the standby takes over, and the old engine, healed, is refused and stops', async () => {
    const { key: stream, drop } = privateStream();
    cleanups.push(drop);
    const proxy = await tcpProxy(Number(new URL(REDIS_URL).port || 6379), new URL(REDIS_URL).hostname);
    cleanups.push(() => proxy.close());
    const old = engineProcess(stream, `redis://127.0.0.1:${proxy.port}`);
    await old.printed(/publishing to/);
    const oldToken = Number(/lease token (\d+)/.exec(old.output())![1]);
    const standby = engineProcess(stream);
    await standby.printed(/standby: engine \S+ holds the lease/);
    const { server, bus } = await apiInstance(stream);
    const lifecycle = watch('graphql-ws', server, LIFECYCLE('q1'));
    await until(() => bus.subscriberCount === 1, 'the subscriber');
    await startRunner(server, 'q1');
    await lifecycle.take(1, 15_000);

    const cutAt = Date.now();
    proxy.cut(true);
    await standby.printed(/took over the lease from \S+ \(fencing token \d+\)/);
    const newToken = Number(/fencing token (\d+)/.exec(standby.output())![1]);
    expect(newToken).toBeGreaterThan(oldToken);
    const seen = lifecycleOf(await lifecycle.take(3, 20_000));
    console.log(`failover test: partitioned, the standby resumed q1 ${Date.now() - cutAt} ms after the cut (lease ${LEASE_MS} ms)`);
    expect(seen.slice(1)).toEqual([
      { __typename: 'RunnerStopped', reason: 'engine lost' },
      { __typename: 'RunnerStarted', startReason: expect.stringMatching(/^resumed by engine/) },
    ]);
    // The old engine stopped its runners on its own when its lease lapsed.
    await old.printed(/lost the engine lease/);

    // Healed: what the old engine still holds (ticks and its RunnerStopped) is refused, and it exits.
    proxy.restore();
    await old.printed(/refused this engine's appends: its lease's fencing token \d+ is stale/);
    expect(await old.exitCode()).toBe(3);
    expect(old.output()).toMatch(/stopped its runners after losing the lease/);

    // In the log: nothing under the old token after the new one's first entry, and ids only go up.
    const redis = new Redis(REDIS_URL);
    cleanups.push(() => redis.disconnect());
    const fences: number[] = [];
    const ids: number[] = [];
    for (const [, fields] of await redis.xrange(stream, '-', '+')) {
      if (!fields.includes('fence')) continue;
      fences.push(Number(fields[fields.indexOf('fence') + 1]));
      ids.push(Number(fields[fields.indexOf('id') + 1]));
    }
    const firstNew = fences.indexOf(newToken);
    expect(firstNew).toBeGreaterThan(0);
    expect(fences.slice(firstNew).filter((f) => f === oldToken)).toEqual([]);
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
    expect(await runners(server)).toEqual([{ id: 'q1', state: 'ANALYZING', stopReason: null }]);
    await lifecycle.close();
    standby.child.kill('SIGTERM');
    expect(await standby.exited).toBe(0);
  }, 120_000);
  it('crash rounds: the active engine SIGKILLed under load, during its start-up and while it resumes runners, with a standby each time', async () => {
    const { key: stream, drop } = privateStream();
    cleanups.push(drop);
    const first = engineProcess(stream);
    await first.printed(/publishing to/);
    const { server, bus } = await apiInstance(stream);
    const ids = ['c1', 'c2', 'c3'];
    const lifecycle = watch('graphql-ws', server, `subscription { events(runnerIds: ${JSON.stringify(ids)}, types: [RUNNER_STARTED, RUNNER_STOPPED]) { __typename ... on Event { runnerId } ... on RunnerStarted { startReason: reason } ... on RunnerStopped { reason } } }`);
    await until(() => bus.subscriberCount === 1, 'the subscriber');
    for (const id of ids) await startRunner(server, id);
    await lifecycle.take(3, 15_000);
    const resumedSince = (from: number) => lifecycleOf(lifecycle.results.slice(from)).some((e) => /^resumed/.test(String((e as { startReason?: unknown }).startReason)));
    // Whichever candidate takes the lease (the standby, or a new engine that found it lapsed).
    const tookOver = (candidates: EngineProcess[]) => {
      const each = candidates.map(async (c) => (await c.printed(/took (over )?the lease/), c));
      for (const p of each) p.catch(() => undefined);
      return Promise.race(each);
    };

    // Round 1, under load: the first engine runs all three; a standby waits.
    let standby = engineProcess(stream);
    await standby.printed(/standby: engine/);
    first.child.kill('SIGKILL');
    // Round 2, during start-up: the engine that takes over is killed the moment it says so; a new standby is already starting.
    let spare = engineProcess(stream);
    let active = await tookOver([standby, spare]);
    active.child.kill('SIGKILL');
    standby = active === standby ? spare : standby;
    // Round 3, while it resumes runners: killed at its first RunnerStarted.
    spare = engineProcess(stream);
    active = await tookOver([standby, spare]);
    const from = lifecycle.results.length;
    await until(() => resumedSince(from), 'a resumed runner', 30_000);
    active.child.kill('SIGKILL');
    standby = active === standby ? spare : standby;
    spare = engineProcess(stream);
    const last = await tookOver([standby, spare]);
    const sorted = async () => ((await runners(server)) as { id: string }[]).sort((a, b) => a.id.localeCompare(b.id));
    await until(async () => JSON.stringify(await sorted()) === JSON.stringify(ids.map((id) => ({ id, state: 'ANALYZING', stopReason: null }))), 'every runner running again', 30_000).catch(async (err: Error) => {
      throw new Error(`${err.message}: runners ${JSON.stringify(await runners(server))}, lifecycle ${JSON.stringify(lifecycleOf(lifecycle.results))}, last engine:\n${last.output()}`);
    });
    await last.printed(/and 3 resumed/);

    // Each runner's subscriber was told at every turn: its last word is a RunnerStarted that says it was resumed.
    for (const id of ids) {
      const own = lifecycleOf(lifecycle.results).filter((e) => (e as { runnerId: string }).runnerId === id) as { __typename: string; startReason?: string | null }[];
      expect(own.at(-1)).toMatchObject({ __typename: 'RunnerStarted', startReason: expect.stringMatching(/^resumed by engine/) });
      expect(own.filter((e) => e.__typename === 'RunnerStopped').length).toBeGreaterThanOrEqual(1);
      // Never two RunnerStarted in a row: each engine that ran it and died was reported.
      for (let i = 1; i < own.length; i++) expect([own[i - 1]!.__typename, own[i]!.__typename]).not.toEqual(['RunnerStarted', 'RunnerStarted']);
    }
    // No id was handed out twice, nor out of order.
    const redis = new Redis(REDIS_URL);
    cleanups.push(() => redis.disconnect());
    const logIds = (await redis.xrange(stream, '-', '+')).filter(([, f]) => f.includes('id')).map(([, f]) => Number(f[f.indexOf('id') + 1]));
    for (let i = 1; i < logIds.length; i++) expect(logIds[i]).toBeGreaterThan(logIds[i - 1]!);
    await lifecycle.close();
  }, 180_000);
});
