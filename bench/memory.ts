/**
 * The server's memory as an operator sees it: `node dist/main.js` in a process of its own
 * with a fresh DATA_DIR, and the resident memory (RSS) and open file descriptors of it
 * and of every process under it (the socket workers), read from /proc. Threads (engine,
 * store) are in the server process and count there. Used by `npm run bench`
 * (`memory`), `npm run soak` (bench/soak.ts) and the footprint tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** One process of the server at one moment. */
export interface ProcessSample {
  readonly pid: number;
  /** `server` (node dist/main.js) or `worker` (a socket worker process under it). */
  readonly role: 'server' | 'worker';
  readonly rssMb: number;
  /** Open file descriptors (entries of /proc/<pid>/fd). */
  readonly fds: number;
}

/** Every process of the server at one moment. */
export interface TreeSample {
  readonly at: number;
  readonly totalRssMb: number;
  readonly totalFds: number;
  readonly processes: readonly ProcessSample[];
}

const mb = (kb: number) => Math.round((kb / 1024) * 10) / 10;

/** Child processes of `pid`, by /proc's parent ids. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** RSS in KB and open fds of one process, or null once it is gone. */
function readProcess(pid: number): { rssKb: number; fds: number } | null {
  try {
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
    const fds = readdirSync(`/proc/${pid}/fd`).length;
    return Number.isFinite(rssKb) ? { rssKb, fds } : null;
  } catch {
    return null;
  }
}

/** RSS and fds of `pid` and of every process under it (socket workers, and theirs). */
export function sampleTree(pid: number): TreeSample {
  const processes: ProcessSample[] = [];
  const visit = (p: number, role: ProcessSample['role']) => {
    const read = readProcess(p);
    if (read === null) return;
    processes.push({ pid: p, role, rssMb: mb(read.rssKb), fds: read.fds });
    for (const child of childrenOf(p)) visit(child, 'worker');
  };
  visit(pid, 'server');
  const totalRssMb = Math.round(processes.reduce((sum, p) => sum + p.rssMb, 0) * 10) / 10;
  return { at: Date.now(), totalRssMb, totalFds: processes.reduce((sum, p) => sum + p.fds, 0), processes };
}

/** A compiled server running in a child process. */
export interface DistServer {
  readonly child: ChildProcess;
  readonly pid: number;
  /** http://127.0.0.1:<port> */
  readonly http: string;
  /** ws://127.0.0.1:<port>/graphql */
  readonly ws: string;
  /** ms from spawn to /ready answering 200. */
  readonly readyMs: number;
  /** Its DATA_DIR (fresh, removed by stop). */
  readonly dataDir: string;
  output(): string;
  /** SIGTERM, wait for the exit (SIGKILL after `graceMs`), remove the data directory. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `node dist/main.js` (build it first: `npm run build`) on a free port with a
 * fresh DATA_DIR and `env` over the caller's environment (without the caller's
 * DATABASE_URL, REDIS_URL, TOKENS_FILE and RUNNERS_FILE unless `env` names them), and
 * waits until /ready answers 200.
 */
export async function startDistServer(env: Record<string, string> = {}, timeoutMs = 90_000): Promise<DistServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tickwire-memory-'));
  const dataDir = join(dir, 'data');
  const started = performance.now();
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'main.js')], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: '',
      REDIS_URL: '',
      TOKENS_FILE: '',
      RUNNERS_FILE: '',
      NODE_ENV: 'production',
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out = (out + String(d)).slice(-100_000)));
  child.stderr!.on('data', (d) => (out = (out + String(d)).slice(-100_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const stop = async (graceMs = 20_000) => {
    if (!gone) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ws = await waitFor(() => /graphql-ws\s+(ws:\/\/\S+\/graphql)/.exec(out)?.[1] ?? (gone ? Error(`the server exited:\n${out}`) : null), timeoutMs, 'the banner');
    const http = ws.replace(/^ws/, 'http').replace(/\/graphql$/, '');
    await waitFor(async () => ((await fetch(`${http}/ready`).then((r) => r.status === 200, () => false)) ? true : gone ? Error(`the server exited:\n${out}`) : null), timeoutMs, '/ready');
    return { child, pid: child.pid!, http, ws, readyMs: Math.round(performance.now() - started), dataDir, output: () => out, stop };
  } catch (err) {
    await stop(2000);
    throw err;
  }
}

/** Polls `check` every 50 ms until it gives a value (an Error rejects), for `timeoutMs`. */
async function waitFor<T>(check: () => T | Error | null | Promise<T | Error | null>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value instanceof Error) throw value;
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What {@link measureStartRss} measured. */
export interface StartRss {
  /** The environment on top of the defaults. */
  readonly env: Readonly<Record<string, string>>;
  readonly readyMs: number;
  /** ms after /ready the sample was taken. */
  readonly afterReadyMs: number;
  readonly sample: TreeSample;
}

/**
 * The server's RSS (all its processes) `settleMs` after /ready, started with `env` over
 * the defaults and a fresh DATA_DIR: what an operator's `npm start` holds once started.
 */
export async function measureStartRss(env: Record<string, string> = {}, settleMs = 30_000): Promise<StartRss> {
  const server = await startDistServer(env);
  try {
    const ready = performance.now();
    await new Promise((r) => setTimeout(r, settleMs));
    const sample = sampleTree(server.pid);
    return { env, readyMs: server.readyMs, afterReadyMs: Math.round(performance.now() - ready), sample };
  } finally {
    await server.stop();
  }
}

/** One GraphQL request over HTTP to a server; throws on errors. */
export async function graphqlRequest<T = Record<string, unknown>>(http: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${http}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors !== undefined && body.errors.length > 0) throw new Error(`GraphQL: ${body.errors.map((e) => e.message).join('; ')}`);
  return body.data as T;
}

/** What `npm run bench` reports as `memory`. */
export interface MemoryBench {
  /** All processes of the default server, `settleMs` after /ready, fresh DATA_DIR, MB. */
  readonly startRssMb: number;
  /** Each process of it then. */
  readonly startProcesses: readonly ProcessSample[];
  readonly settleMs: number;
  /** RSS growth per runner started beyond the first few, KB (`runners` runners at 1 tick/s). */
  readonly perRunnerKb: number;
  readonly runners: number;
  /** RSS of all processes before and after those `runners` started, MB. */
  readonly beforeRunnersMb: number;
  readonly afterRunnersMb: number;
}

/** Runners started before the measured ones (the defaults' 3 and these leave room for 90 under MAX_RUNNERS, 100). */
const WARM_UP_RUNNERS = 7;

const START_RUNNER = 'mutation($input: StartRunnerInput!) { startRunner(input: $input) { id } }';

/**
 * `memory.startRssMb`: the default server's RSS (all processes) `settleMs` after /ready
 * with a fresh DATA_DIR. `memory.perRunnerKb`: on the same server, a few runners started
 * (what the first start compiles and caches is no runner's), then `runners` more (at 1
 * tick/s, so that what their events add to the history stays small beside what a runner
 * holds): the RSS growth from before to `settleMs / 2` after them, per runner.
 */
export async function benchMemory(options: { readonly settleMs?: number; readonly runners?: number } = {}): Promise<MemoryBench> {
  const settleMs = options.settleMs ?? 30_000;
  const runners = options.runners ?? 90;
  const server = await startDistServer();
  try {
    await new Promise((r) => setTimeout(r, settleMs));
    const start = sampleTree(server.pid);
    const startRunners = async (from: number, count: number) => {
      for (let i = from; i < from + count; i++) {
        const input = { id: `bench_mem_${i}`, symbol: `MEM${i}`, feed: { ticksPerSecond: 1 } };
        await graphqlRequest(server.http, START_RUNNER, { input });
      }
    };
    // A few first: what the first start costs once (code compiled, caches filled) is no runner's.
    await startRunners(0, WARM_UP_RUNNERS);
    await new Promise((r) => setTimeout(r, settleMs / 2));
    const before = sampleTree(server.pid);
    await startRunners(WARM_UP_RUNNERS, runners);
    await new Promise((r) => setTimeout(r, settleMs / 2));
    const after = sampleTree(server.pid);
    return {
      startRssMb: start.totalRssMb,
      startProcesses: start.processes,
      settleMs,
      perRunnerKb: Math.round(((after.totalRssMb - before.totalRssMb) * 1024) / runners),
      runners,
      beforeRunnersMb: before.totalRssMb,
      afterRunnersMb: after.totalRssMb,
    };
  } finally {
    await server.stop();
  }
}
