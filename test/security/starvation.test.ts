import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { openDb } from '../../src/store/db.js';
import { DATABASE_URL, postgresAvailable } from '../store/databases.js';
import { entry } from '../support/processes.js';
import type { AttackReport } from './harness.js';

/**
 * Issue 21, item 4: a server storing every event (STORE_TYPES=all) of a runner at 19,000
 * ticks/s, on a machine too busy to give it the CPU that takes. Here the starvation is
 * made, not hoped for: the test stops the process (SIGSTOP) for 80 ms of every 100 ms,
 * so the store falls behind and its buffer overflows on any machine, however idle.
 *
 * Seen before the fix: the writer's report of what its full buffer dropped was an Error
 * event that took a place in that same buffer, dropping one more, reported at once in
 * turn: the server's thread never came back to its event loop (no HTTP, no event, no
 * SIGTERM), and the log lines and the socket workers' batches it queued meanwhile grew
 * without end (3.5 GB).
 */

const FLOOD = { id: 'flood', symbol: 'BTCUSDT', feed: { kind: 'simulated', ticksPerSecond: 19_000 } };
/** Standard events (its StatsUpdate every second) reach the bystander even while ticks are dropped. */
const BYSTANDER = { id: 'bystander_sol', symbol: 'SOLUSDT', feed: { kind: 'simulated', ticksPerSecond: 50 }, statsIntervalMs: 250 };

/** Of every 100 ms, the server is stopped for this many. */
const STOPPED_MS = 80;

/** Generous: the server's own RSS is ~0.5-1 GB here (PGlite); the loop grew it by gigabytes. */
const MAX_RSS_GROWTH_MB = 600;

/** The shutdown's own deadline is 10 s; a starved event loop may start it late. */
const MAX_SIGTERM_MS = 15_000;

const spawned = new Set<ChildProcess>();
const dirs: string[] = [];
afterAll(() => {
  for (const child of spawned) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function until(cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resident memory of a process, in MB (Linux: /proc). */
function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? Number.NaN : Number(match[1]) / 1024;
}

/** Stops `pid` for STOPPED_MS of every 100 ms until stopped; leaves it running. */
function starve(pid: number): () => void {
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // It exited: nothing left to starve.
    }
  };
  let resume: NodeJS.Timeout | undefined;
  const cycle = setInterval(() => {
    signal('SIGSTOP');
    resume = setTimeout(() => signal('SIGCONT'), STOPPED_MS);
  }, 100);
  return () => {
    clearInterval(cycle);
    clearTimeout(resume);
    signal('SIGCONT');
  };
}


/** A server process (`node dist/main.js`) on a free port, with `env` and these runners. */
async function startServer(env: Record<string, string>, runners: readonly unknown[]) {
  const dir = mkdtempSync(join(tmpdir(), 'tickwire-starved-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'runners.json'), JSON.stringify({ runners }));
  const child = spawn(process.execPath, entry('main'), {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: join(dir, 'data'),
      RUNNERS_FILE: join(dir, 'runners.json'),
      WORKERS: '0',
      DASHBOARD: 'false',
      LOG_LEVEL: 'warn',
      REDIS_URL: '',
      DATABASE_URL: '',
      TOKENS_FILE: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.add(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (out += String(d)));
  let exitedAt: number | null = null;
  const exited = new Promise<number>((resolve) =>
    child.once('exit', () => {
      exitedAt = performance.now();
      spawned.delete(child);
      resolve(exitedAt);
    }),
  );
  await until(() => /graphql-ws\s+ws:\/\/\S+\/graphql/.test(out) || exitedAt !== null, 'the banner', 60_000);
  if (exitedAt !== null) throw new Error(`the server exited before it started:\n${out}`);
  const ws = /graphql-ws\s+(ws:\/\/\S+\/graphql)/.exec(out)![1]!;
  return { child, pid: child.pid!, ws, http: ws.replace(/^ws/, 'http').replace(/\/graphql$/, ''), exited, output: () => out };
}

/**
 * A TCP proxy to PostgreSQL that can stop passing anything on, both ways, while keeping
 * the connections open: a database that stopped answering (no reset, no error).
 */
async function stallingProxy(target: URL): Promise<{ port: number; stall(): void; close(): void }> {
  const pairs: [Socket, Socket][] = [];
  const server = createServer((client) => {
    const upstream = new Socket();
    for (const s of [client, upstream]) s.on('error', () => undefined);
    upstream.connect(Number(target.port || 5432), target.hostname);
    client.pipe(upstream).pipe(client);
    pairs.push([client, upstream]);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    stall: () => {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
      server.close();
    },
    close: () => {
      server.close();
      for (const pair of pairs) for (const s of pair) s.destroy();
    },
  };
}

describe('a starved server storing every event of a 19,000 ticks/s runner', () => {
  it('keeps its memory bounded, answers, announces what it did not store, and ends promptly on SIGTERM', async () => {
    const { child, pid, ws, http, exited, output } = await startServer({ STORE_TYPES: 'all' }, [FLOOD, BYSTANDER]);
    let exitedAt: number | null = null;
    void exited.then((at) => (exitedAt = at));

    const rssStart = rssMb(pid);
    let rssPeak = rssStart;
    const sampler = setInterval(() => {
      if (exitedAt === null) rssPeak = Math.max(rssPeak, rssMb(pid) || 0);
    }, 100);

    const client: Client = createClient({ url: ws, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
    const arrivals: number[] = [];
    const announcements: { at: number; error: string }[] = [];
    let streamFailed: unknown = null;
    const sink = (onNext: (data: Record<string, unknown>) => void) => ({
      next: (result: { data?: Record<string, unknown> | null }) => onNext(result.data ?? {}),
      error: (err: unknown) => (streamFailed ??= err),
      complete: () => undefined,
    });
    client.subscribe({ query: `subscription { events(runnerIds: ["${BYSTANDER.id}"]) { __typename } }` }, sink(() => arrivals.push(performance.now())));
    client.subscribe(
      { query: 'subscription { events(runnerIds: ["tickwire"], types: [ERROR]) { ... on RunnerError { error } } }' },
      sink((data) => announcements.push({ at: performance.now(), error: (data.events as { error: string }).error })),
    );
    await until(() => arrivals.length > 0, "the bystander's first event", 30_000);

    const stopStarving = starve(pid);
    const t0 = performance.now();
    try {
      // The store falls behind and its buffer (100,000 events) overflows: said over the API.
      await until(() => announcements.some((a) => /were not stored/.test(a.error)), 'the announcement that events were not stored', 40_000);
      const announced = announcements.find((a) => /were not stored/.test(a.error))!.at;
      // Past the overflow, the server still serves: the bystander's events and /health.
      await until(() => arrivals.filter((t) => t > announced).length >= 3, "the bystander's events after the overflow", 20_000);
      const health = await fetch(`${http}/health`, { signal: AbortSignal.timeout(15_000) });
      expect(health.status).toBe(200);
      await health.body?.cancel();
      const t1 = performance.now();

      // Still starved, as the machine of the report was: SIGTERM ends it promptly.
      client.dispose();
      const termAt = performance.now();
      child.kill('SIGTERM');
      await until(() => exitedAt !== null, 'the exit after SIGTERM', MAX_SIGTERM_MS + 5000);
      const termMs = exitedAt! - termAt;
      clearInterval(sampler);

      const during = arrivals.filter((t) => t >= t0 && t <= t1);
      const times = [t0, ...during, t1];
      let maxGap = 0;
      for (let i = 1; i < times.length; i++) maxGap = Math.max(maxGap, times[i]! - times[i - 1]!);
      const report: AttackReport = {
        name: `4 starved (stopped ${STOPPED_MS} ms of 100) with STORE_TYPES=all and 19,000 ticks/s; SIGTERM took ${Math.round(termMs)} ms`,
        expected: 'losses announced, bounded memory, exit within the shutdown deadline',
        bystanderPerSec: Math.round((during.length / Math.max(1, t1 - t0)) * 1000),
        bystanderMaxGapMs: Math.round(maxGap),
        peakRssGrowthMb: Math.round((rssPeak - rssStart) * 10) / 10,
        peakRssMb: Math.round(rssPeak * 10) / 10,
        durationMs: Math.round(t1 - t0),
      };
      mkdirSync('test-results', { recursive: true });
      appendFileSync('test-results/attack-suite.jsonl', `${JSON.stringify(report)}\n`);

      expect(streamFailed).toBeNull();
      expect(termMs, `SIGTERM to exit; the server said:\n${output().slice(-3000)}`).toBeLessThan(MAX_SIGTERM_MS);
      expect(rssPeak - rssStart, `RSS from ${Math.round(rssStart)} MB at start to a peak of ${Math.round(rssPeak)} MB`).toBeLessThan(MAX_RSS_GROWTH_MB);
      // The log says it too, with the setting to change.
      expect(output()).toMatch(/events were not stored \(\d+ since start\): the store fell behind and its buffer \(STORE_BUFFER/);
    } finally {
      clearInterval(sampler);
      stopStarving();
      client.dispose();
    }
  }, 120_000);
});

describe('a shutdown whose store stopped answering', () => {
  it.runIf(postgresAvailable)('ends at the shutdown deadline, saying what it waited for', async () => {
    const schema = `tw_stall_${process.pid}_${Date.now() % 1_000_000}`;
    const admin = await openDb({ databaseUrl: DATABASE_URL });
    await admin.exec(`CREATE SCHEMA ${schema}`);
    const proxy = await stallingProxy(new URL(DATABASE_URL));
    try {
      const url = new URL(DATABASE_URL);
      url.host = `127.0.0.1:${proxy.port}`;
      url.searchParams.set('options', `-c search_path=${schema}`);
      const { child, exited, output } = await startServer({ STORE_TYPES: 'all', DATABASE_URL: url.toString() }, [
        { id: 'steady', symbol: 'BTCUSDT', feed: { kind: 'simulated', ticksPerSecond: 1000 } },
      ]);
      // Writes are under way; then the database answers nothing more, and never says so.
      proxy.stall();
      const termAt = performance.now();
      child.kill('SIGTERM');
      const exitedAt = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), MAX_SIGTERM_MS + 5000))]);
      expect(exitedAt, `no exit ${MAX_SIGTERM_MS + 5000} ms after SIGTERM; the server said:\n${output().slice(-2000)}`).not.toBeNull();
      expect(exitedAt! - termAt).toBeLessThan(MAX_SIGTERM_MS);
      expect(child.exitCode).toBe(1);
      expect(output()).toMatch(/shutdown did not finish within 10 s \(still writing the store\); exiting now/);
    } finally {
      proxy.close();
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
      await admin.close();
    }
  }, 120_000);
});

