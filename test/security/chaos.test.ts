import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { chaos, chaosRun, type ChaosTarget } from '../support/chaos.js';
import { alive, childrenOf, entry } from '../support/processes.js';

/**
 * Issue 21, item 1: a fault on one socket costs that socket, never the process. The
 * compiled server (`node dist/main.js`, as `npm start` runs it) with and without socket
 * workers gets hundreds of connections broken at every stage — a reset of an upgrade to
 * any path (what killed the server with workers on), a reset during the hand-off to a
 * worker, half a WebSocket frame, a reset in the middle of an SSE event or a request body,
 * half-closes and stalls — while a bystander watches a runner. Afterwards the same server
 * process and the same workers are there, and the bystander's stream never stopped.
 */

const SUBSCRIPTION = 'subscription { events(runnerIds: ["btc_ema"], types: [TICK_RECEIVED]) { ... on TickReceived { id } } }';

/** Broken connections per run: every stage × way of breaking, several times over. */
const CONNECTIONS = 330;

async function until(cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Running {
  readonly child: ChildProcess;
  readonly port: number;
  readonly output: () => string;
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function startServer(workers: number): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'tickwire-chaos-'));
  dirs.push(dir);
  const child = spawn(process.execPath, entry('main'), {
    env: { ...process.env, WORKERS: String(workers), WORKERS_START_CONNECTIONS: '0', PORT: '0', HOST: '127.0.0.1', STORE_TYPES: 'none', DATA_DIR: join(dir, 'data'), DASHBOARD: 'false', LOG_LEVEL: 'warn', TOKENS_FILE: '', REDIS_URL: '', DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += String(d)));
  child.stderr!.on('data', (d: Buffer) => (out += String(d)));
  let port = 0;
  await until(() => {
    if (child.exitCode !== null) throw new Error(`the server exited while starting: ${out}`);
    port = Number(/graphql-ws\s+ws:\/\/127\.0\.0\.1:(\d+)\/graphql/.exec(out)?.[1] ?? 0);
    return port > 0;
  }, `the banner (${out})`, 90_000);
  if (workers > 0) await until(() => childrenOf(child.pid!).length === workers, `${workers} worker processes`, 30_000);
  // /ready does not wait for them (the server serves graphql-ws meanwhile): the chaos is meant for them.
  for (let running = -1; running !== workers; ) {
    const body = (await (await fetch(`http://127.0.0.1:${port}/ready`)).json()) as { workers?: { running: number } };
    running = body.workers?.running ?? 0;
    if (running !== workers) await new Promise((r) => setTimeout(r, 20));
  }
  return { child, port, output: () => out };
}

/** A graphql-ws client watching ticks; it never reconnects, so any cut shows. */
function bystander(port: number): { client: Client; arrivals: number[]; failures: unknown[] } {
  const arrivals: number[] = [];
  const failures: unknown[] = [];
  const client = createClient({ url: `ws://127.0.0.1:${port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
  client.subscribe({ query: SUBSCRIPTION }, { next: () => arrivals.push(Date.now()), error: (err) => failures.push(err), complete: () => failures.push('completed') });
  return { client, arrivals, failures };
}

describe.each([0, 2])('chaos with WORKERS=%i', (workers) => {
  it(`${CONNECTIONS} connections broken at every stage cost only themselves`, async () => {
    const server = await startServer(workers);
    const { child, port } = server;
    const pid = child.pid!;
    const workerPids = childrenOf(pid).sort();
    const watcher = bystander(port);
    try {
      await until(() => watcher.arrivals.length > 0, 'the bystander’s first event', 30_000);
      const target: ChaosTarget = { host: '127.0.0.1', port, subscription: SUBSCRIPTION };
      // The first case of the review, alone: one reset of an upgrade to another path.
      await chaos(target, 'upgrade-other-path', 'reset');
      await chaosRun(target, CONNECTIONS, 16);
      const after = watcher.arrivals.length;
      await until(() => {
        // A server that died fails here at once, with what it said.
        if (child.exitCode !== null) throw new Error(`the server exited during the chaos: ${server.output().slice(-3000)}`);
        return watcher.arrivals.length > after + 10;
      }, 'the bystander’s events after the chaos', 30_000);
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(200);
      expect(watcher.failures).toEqual([]);
      expect(child.exitCode).toBeNull();
      expect(alive(pid)).toBe(true);
      // No worker died and was restarted: the same processes serve.
      expect(childrenOf(pid).sort()).toEqual(workerPids);
      expect(server.output()).not.toMatch(/Unhandled 'error' event|uncaught/i);
    } finally {
      await watcher.client.dispose();
      child.kill('SIGKILL');
    }
  }, 240_000);
});

