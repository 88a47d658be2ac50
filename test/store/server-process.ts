import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** How a spawned server ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** `npm start` as a child process: `node --import tsx src/main.ts`, as tsx runs it. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Date.now() just before the spawn: every event of this process is stamped at or after it. */
  readonly spawnedAt: number;
  /**
   * Resolves once the banner is printed and GET /ready answers 200; rejects when the
   * process exits first (with its output).
   */
  readonly ready: Promise<{ readonly url: string; readonly continuesAfter: number; readonly banner: string }>;
  readonly exited: Promise<Exit>;
  /** stdout and stderr so far. */
  output(): string;
}

/**
 * Three simulated runners at `ticksPerSecond` each, fast enough with STORE_TYPES=all to
 * keep the store writing all the time. Returns the file's path.
 */
export function writeRunnersFile(dir: string, ticksPerSecond = 500): string {
  const runner = (id: string, symbol: string, seed: number) => ({
    id, symbol, strategy: 'ema_crossover', params: { fastPeriod: 3, slowPeriod: 8, barSeconds: 0 }, quantity: 1, statsIntervalMs: 100,
    feed: { kind: 'simulated', ticksPerSecond, seed },
  });
  const path = join(dir, 'runners.json');
  writeFileSync(path, JSON.stringify({ runners: [runner('a', 'AAA', 1), runner('b', 'BBB', 2), runner('c', 'CCC', 3)] }));
  return path;
}

const running = new Set<ChildProcess>();

/** SIGKILLs every spawned server still running: for afterAll, after a failed or timed-out test. */
export function killSpawned(): void {
  for (const child of running) child.kill('SIGKILL');
}

/**
 * Spawns the server with the given environment on top of a neutral one (a free port, no
 * dashboard, warn logs, no socket workers, no DATABASE_URL / REDIS_URL / TOKENS_FILE from
 * the caller's).
 */
export function spawnServer(env: Record<string, string>): ServerProcess {
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    // No socket workers unless asked: they hold nothing on disk (these are the store's
    // tests), and each would load the sources through tsx again, seconds per start.
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', DASHBOARD: 'false', DATABASE_URL: '', REDIS_URL: '', TOKENS_FILE: '', WORKERS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  running.add(child);
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  let gone: Exit | null = null;
  void exited.then((e) => (gone = e));
  const ready = (async () => {
    for (;;) {
      if (gone !== null) throw new Error(`the server exited (${JSON.stringify(gone)}) before it was ready:\n${out}`);
      const continues = /the next event id is (\d+)/.exec(out);
      const ws = /graphql-ws\s+ws:\/\/(\S+?)\/graphql/.exec(out);
      if (continues !== null && ws !== null) {
        const url = `http://${ws[1]}`;
        const res = await fetch(`${url}/ready`).catch(() => null);
        await res?.body?.cancel();
        if (res?.status === 200) return { url, continuesAfter: Number(continues[1]) - 1, banner: out };
      }
      await Promise.race([new Promise((r) => setTimeout(r, 25)), exited]);
    }
  })();
  // A caller that kills the process before it is ready does not await this.
  ready.catch(() => undefined);
  return { child, pid: child.pid!, spawnedAt, ready, exited, output: () => out };
}

/** One event of `eventHistory` as the crash test fingerprints it. */
export interface SeenEvent {
  readonly id: number;
  readonly type: string;
  readonly runnerId: string;
  readonly timestamp: number;
}

const HISTORY = `query ($after: ID) { eventHistory(after: $after, first: 1000) {
  edges { node { __typename ... on Event { id runnerId timestamp } } }
  pageInfo { hasNextPage } } }`;

/** One page (up to 1000) of stored events after `after`, through GraphQL over HTTP. */
export async function historyPage(url: string, after: number): Promise<{ events: SeenEvent[]; hasNextPage: boolean }> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query: HISTORY, variables: { after: String(after) } }),
  });
  const body = (await res.json()) as {
    data?: { eventHistory: { edges: { node: { __typename: string; id: string; runnerId: string; timestamp: number } }[]; pageInfo: { hasNextPage: boolean } } };
    errors?: unknown;
  };
  if (body.data === undefined) throw new Error(`eventHistory failed: ${JSON.stringify(body.errors)}`);
  return {
    events: body.data.eventHistory.edges.map(({ node }) => ({
      id: Number(node.id),
      // The store keeps the variant name; GraphQL calls the Error variant RunnerError.
      type: node.__typename === 'RunnerError' ? 'Error' : node.__typename,
      runnerId: node.runnerId,
      timestamp: node.timestamp,
    })),
    hasNextPage: body.data.eventHistory.pageInfo.hasNextPage,
  };
}

/**
 * Follows every event live (Yoga SSE) and keeps the largest id delivered: what clients
 * saw of the ids a process gave out, stored or not.
 */
export function followLiveIds(url: string): { max(): number; close(): void } {
  let max = 0;
  const abort = new AbortController();
  void (async () => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { events { ... on Event { id } } }' }),
      signal: abort.signal,
    });
    const decoder = new TextDecoder();
    let partial = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      const lines = (partial + decoder.decode(chunk, { stream: true })).split('\n');
      partial = lines.pop()!;
      for (const line of lines) for (const m of line.matchAll(/"id":"(\d+)"/g)) max = Math.max(max, Number(m[1]));
    }
  })().catch(() => undefined);
  return { max: () => max, close: () => abort.abort() };
}
