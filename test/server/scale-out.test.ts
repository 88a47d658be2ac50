import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/log/bus.js';
import { RedisReader } from '../../src/log/redis.js';
import { TradingEngine } from '../../src/engine/engine.js';
import { startServer } from '../../src/app/server.js';
import { privateStream, REDIS_URL, redisAvailable } from '../support/redis.js';
import { post, watch } from './transports.js';
import { EngineHost, RemoteEngine } from '../../src/engine/remote.js';
import { entry } from '../support/processes.js';


async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const cleanups: (() => Promise<unknown> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const QUERY = 'subscription ($after: ID) { events(types: [TICK_RECEIVED], after: $after) { ... on Event { id } } }';
const idsOf = (results: { data?: unknown }[]) => results.map((r) => Number((r.data as { events: { id: string } }).events.id));

describe.runIf(redisAvailable)('one engine process, two API instances over Redis', () => {
  it('serves the same ids on both instances, and a client resumes on the other one', async () => {
    const { key: stream, drop } = privateStream();
    cleanups.push(drop);
    const dir = mkdtempSync(join(tmpdir(), 'tickwire-scale-'));
    const runners = join(dir, 'runners.json');
    writeFileSync(
      runners,
      JSON.stringify({
        runners: [
          { id: 'x1', symbol: 'AAA', feed: { kind: 'simulated', ticksPerSecond: 500, seed: 1 } },
          { id: 'x2', symbol: 'BBB', strategy: 'mean_reversion', feed: { kind: 'simulated', ticksPerSecond: 500, seed: 2 } },
        ],
      }),
    );
    const engine = spawn(process.execPath, entry('engine-main'), {
      env: { ...process.env, REDIS_URL, REDIS_STREAM: stream, RUNNERS_FILE: runners, DATA_DIR: join(dir, 'data') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    engine.stdout.on('data', (d) => (output += String(d)));
    engine.stderr.on('data', (d) => (output += String(d)));
    const exited = new Promise<number | null>((resolve) => engine.once('exit', resolve));
    cleanups.push(() => {
      engine.kill('SIGKILL');
    });

    const instance = async () => {
      const bus = new EventBus();
      const reader = new RedisReader(bus, { url: REDIS_URL, stream, log: () => undefined });
      const server = await startServer({ engine: new TradingEngine(bus), bus, port: 0, host: '127.0.0.1' });
      cleanups.push(() => reader.close(), () => server.close());
      return server;
    };
    const a = await instance();
    const b = await instance();
    const onA = watch('graphql-ws', a, QUERY);
    const onB = watch('graphql-ws', b, QUERY);
    const fromA = idsOf(await onA.take(400, 30_000));
    const fromB = idsOf(await onB.take(400, 30_000));
    // Both started at slightly different moments: where they overlap, they are the same.
    const from = Math.max(fromA[0]!, fromB[0]!);
    const to = Math.min(fromA.at(-1)!, fromB.at(-1)!);
    const slice = (ids: number[]) => ids.filter((id) => id >= from && id <= to);
    expect(slice(fromA).length).toBeGreaterThan(100);
    expect(slice(fromB)).toEqual(slice(fromA));

    // A client that read A up to its 200th tick resumes on B.
    const cursor = fromA[199]!;
    const resumed = watch('graphql-ws', b, QUERY, { after: String(cursor) });
    const fromResume = idsOf(await resumed.take(150, 30_000));
    // A had 200 more ticks after the cursor; B's first 150 after it are the same ones.
    expect(fromResume).toEqual(fromA.slice(200, 350));
    for (const w of [onA, onB, resumed]) await w.close();

    engine.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toMatch(/publishing to tickwire:test:/);
  }, 90_000);

  it('drives the engine process from an API instance: runners, startRunner, stopRunner', async () => {
    const { key: stream, drop } = privateStream();
    cleanups.push(drop);
    const dir = mkdtempSync(join(tmpdir(), 'tickwire-ctl-'));
    const runners = join(dir, 'runners.json');
    writeFileSync(runners, JSON.stringify({ runners: [] }));
    const engine = spawn(process.execPath, entry('engine-main'), {
      env: { ...process.env, REDIS_URL, REDIS_STREAM: stream, RUNNERS_FILE: runners, DATA_DIR: join(dir, 'data') },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => engine.once('exit', resolve));
    cleanups.push(() => {
      engine.kill('SIGKILL');
    });
    const bus = new EventBus();
    const reader = new RedisReader(bus, { url: REDIS_URL, stream, log: () => undefined });
    const remote = new RemoteEngine(REDIS_URL, stream);
    const server = await startServer({ engine: remote, bus, port: 0, host: '127.0.0.1' });
    cleanups.push(() => reader.close(), () => server.close(), () => remote.close());

    const lifecycle = watch(
      'graphql-ws',
      server,
      'subscription { events(runnerIds: ["remote1"], types: [RUNNER_STARTED, RUNNER_STOPPED]) { __typename ... on RunnerStopped { reason } } }',
    );
    await until(() => bus.subscriberCount === 1, 'the subscriber');
    // The engine process may still be starting: the first request waits for it.
    let started = await post(server, 'mutation { startRunner(input: { id: "remote1", symbol: "SOLUSDT" }) { id state } }');
    for (let i = 0; i < 10 && started.errors?.[0]?.extensions?.['code'] === 'ENGINE_UNAVAILABLE'; i++) {
      started = await post(server, 'mutation { startRunner(input: { id: "remote1", symbol: "SOLUSDT" }) { id state } }');
    }
    expect(started.errors).toBeUndefined();
    expect(started.data).toEqual({ startRunner: { id: 'remote1', state: 'ANALYZING' } });
    await until(async () => {
      const res = await post(server, '{ runners { id symbol } }');
      return JSON.stringify(res.data) === JSON.stringify({ runners: [{ id: 'remote1', symbol: 'SOLUSDT' }] });
    }, 'the runner in the registry');
    const duplicate = await post(server, 'mutation { startRunner(input: { id: "remote1", symbol: "SOLUSDT" }) { id } }');
    expect(duplicate.errors?.[0]?.extensions?.['code']).toBe('DUPLICATE_RUNNER');
    const invalid = await post(server, 'mutation { startRunner(input: { id: "bad id", symbol: "X" }) { id } }');
    expect(invalid.errors?.[0]?.extensions?.['code']).toBe('INVALID_CONFIG');
    const stopped = await post(server, 'mutation { stopRunner(id: "remote1", reason: "from the API") { id state stopReason } }');
    expect(stopped.data).toEqual({ stopRunner: { id: 'remote1', state: 'STOPPED', stopReason: 'from the API' } });
    const unknown = await post(server, 'mutation { stopRunner(id: "ghost") { id } }');
    expect(unknown.errors?.[0]?.extensions?.['code']).toBe('UNKNOWN_RUNNER');
    const seen = (await lifecycle.take(2, 15_000)).map((r) => (r.data as { events: unknown }).events);
    expect(seen).toEqual([{ __typename: 'RunnerStarted' }, { __typename: 'RunnerStopped', reason: 'from the API' }]);
    await lifecycle.close();
    engine.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 90_000);

  it('stops a runner whose start finished after the requester was told ENGINE_UNAVAILABLE', async () => {
    const { key: stream, drop } = privateStream();
    cleanups.push(drop);
    // An engine whose starts take longer than the requester waits (a thread still loading on a busy machine).
    const inner = new TradingEngine(new EventBus());
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const engine = Object.assign(Object.create(inner) as TradingEngine, {
      addRunner: async (input: unknown) => {
        await slow;
        return inner.addRunner(input);
      },
    });
    const logged: string[] = [];
    const host = new EngineHost(engine, { url: REDIS_URL, stream, acceptStarts: true, log: (line) => logged.push(line) });
    const remote = new RemoteEngine(REDIS_URL, stream, { timeoutMs: 500 });
    cleanups.push(() => host.close(), () => remote.close(), () => inner.stopAll());
    const asked = remote.addRunner({ id: 'late1', symbol: 'AAA', feed: { kind: 'simulated', ticksPerSecond: 10, seed: 1 } });
    await expect(asked).rejects.toMatchObject({ code: 'ENGINE_UNAVAILABLE' });
    release();
    await until(() => inner.getRunner('late1')?.state === 'Stopped', 'the late runner stopped');
    expect(inner.getRunner('late1')?.stopReason).toMatch(/answered ENGINE_UNAVAILABLE: it started \d+ ms after the requester's deadline/);
    expect(logged.join('\n')).toMatch(/stopped runner "late1"/);
    // The requester may retry: the id is free again, and this start is answered.
    const retried = await remote.addRunner({ id: 'late1', symbol: 'AAA', feed: { kind: 'simulated', ticksPerSecond: 10, seed: 1 } });
    expect(retried.state).not.toBe('Stopped');
  }, 30_000);

  it('npm run engine refuses to start without REDIS_URL', async () => {
    const child = spawn(process.execPath, entry('engine-main'), { env: { ...process.env, REDIS_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(/npm run engine needs REDIS_URL/);
  }, 30_000);
});
