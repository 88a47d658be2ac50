/**
 * Fan-out of one runner's ticks (1,000 ticks/s) to many subscribers, with the server in a
 * process of its own so that its CPU and memory are its own:
 * - `shared`: the compiled server (`node dist/main.js`, NODE_ENV=production, no tokens,
 *   STORE_TYPES=none, one simulated runner started by `startRunner` once the subscribers
 *   are in) and N graphql-ws subscribers of one document with the same variables,
 *   selecting the full TickReceived;
 * - `distinct`: the same, each subscriber with its own variables that still match every
 *   tick (`symbols: ["FAN", "own-<i>"]`);
 * - `limit`: N plain `ws` sockets sent the same frames, serialized once per tick
 *   (bench/fanout-limit.ts), from a feed with the same pacing, with `ws.send` per frame;
 * - `limitCorked`: the same sockets and bytes, the stricter limit: each tick's payload
 *   encoded once, the frames (header, per-subscriber `next` prefix, shared payload)
 *   appended to one buffer per socket and written with one write per socket per turn on
 *   the raw net.Socket (bench/fanout-limit.ts `corked`).
 * The subscribers live in two client processes (bench/fanout-client.ts) that only count
 * and sample ages; their CPU and the machine's idle time are reported with each run, so
 * it shows whether the clients, not the server, were the bottleneck.
 *
 * Server CPU per delivery (`serverCpuUsPerDelivery`) is read from outside, from
 * /proc/<pid>/stat of the server process and its children (socket workers), at the
 * window's bounds: a process's own `process.cpuUsage()` would have to be asked over its
 * event loop, which an overloaded server answers late, moving the window's bounds. It is
 * all of the server's CPU (engine, GraphQL, sockets, GC), divided by what the clients
 * received, so the limits' figures include their feeds too.
 *
 * BENCH_PROFILE_DIR=<dir>: each server (tickwire and the limits) runs with `--cpu-prof`
 * and writes its CPU profiles on exit, one per thread (tickwire's engine and store
 * threads too; not its socket worker processes), to <dir>/<kind>-<subscribers>[-workers<n>]/.
 * Open them in Chrome DevTools or speedscope. Profiling slows the servers: figures of
 * such a run are for reading the profile, not for comparing.
 *
 * `npx tsx bench/fanout.ts [--quick] [sizes…]` prints each run and then one JSON line;
 * without sizes it reads BENCH_FANOUT_SIZES (e.g. `100,1000`), as `npm run bench` does.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { build, buildIsStale, ROOT } from '../scripts/build-state.mjs';
import type { ClientCommand, ConnectCommand, Status, WindowReport } from './fanout-client.js';
import type { LimitStats } from './fanout-limit.js';

/** Which server and subscribers a run uses. */
export type FanoutKind = 'shared' | 'distinct' | 'limit' | 'limitCorked';

/** One run: one server, `subscribers` sockets, one measured window. */
export interface FanoutRun {
  readonly subscribers: number;
  /** Events received by all subscribers together, per second of the window (by arrival). */
  readonly deliveredPerSec: number;
  /**
   * deliveredPerSec / (1,000 ticks/s × subscribers): the share of what the subscribers
   * asked for that they got (enginePublishedPerSec says whether the engine kept its rate).
   * Above 1 while a backlog from before the window drains.
   */
  readonly deliveredShare: number;
  /**
   * Age of the events received in the window (receive time minus the event's timestamp,
   * 1 ms resolution), at every 10th subscriber; null when nothing arrived.
   */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** Peak RSS of the server process (with its socket workers) from the first connection to the end of the window, MB. */
  readonly serverRssMb: number;
  /**
   * RSS of the server once ready, before any subscriber, MB: the base the peak grew from.
   * tickwire's includes its embedded PGlite (opened even with STORE_TYPES=none).
   */
  readonly serverRssBaseMb: number;
  /**
   * TickReceived published per second by the server over the window (tickwire: its
   * /metrics; the limit: its own count); null when the server did not answer within 15 s.
   */
  readonly enginePublishedPerSec: number | null;
  /**
   * Peak RSS of the server process (with its socket workers) while ticks flow (warm-up and
   * window; sampled every 200 ms), MB: serverRssMb also covers the connections' arrival.
   */
  readonly peakRssMb: number;
  /** CPU of the server process (with its socket workers) over the window, % of one core. */
  readonly serverCpuPct: number;
  /**
   * CPU of the server process and its socket workers (user + system, /proc) per event the
   * clients received in the window, µs: the server's CPU rate over the window divided by
   * the delivery rate. Null when nothing was delivered.
   */
  readonly serverCpuUsPerDelivery: number | null;
  /** CPU of all client processes together over the window, % of one core. */
  readonly clientCpuPct: number;
  /** Idle time of the whole machine over the window, % (all cores). */
  readonly machineIdlePct: number;
  readonly bytesPerMessage: number;
  /** Sockets closed by the server, from the first connection to the end of the window. */
  readonly connectionsCut: number;
  /** How long the subscribers took to connect and be registered by the server (no ticks flowing yet), ms. */
  readonly connectMs: number;
  /** How long the server took to start (until /ready, or its port for the limit), ms. */
  readonly serverStartMs: number;
}

/** The four runs of one size. */
export interface FanoutSize {
  readonly shared: FanoutRun;
  readonly distinct: FanoutRun;
  readonly limit: FanoutRun;
  readonly limitCorked: FanoutRun;
  /**
   * Delivered per second: distinct / shared, distinct / limit ("ours"), distinct /
   * limitCorked, shared / limit.
   */
  readonly ratios: {
    readonly distinctVsShared: number;
    readonly oursVsLimit: number;
    readonly oursVsLimitCorked: number;
    readonly sharedVsLimit: number;
  };
}

/** The server under the largest `distinct` load. */
export interface OverloadResult {
  readonly subscribers: number;
  /** p99 age of what was delivered (the run's p99Ms; null when nothing was). */
  readonly deliveredP99AgeMs: number | null;
  readonly deliveredShare: number;
  /** /health polled every 100 ms through the window: p50, p99 and slowest answer, ms (a poll without answer in 5 s counts 5,000). */
  readonly healthP50Ms: number;
  readonly healthP99Ms: number;
  readonly healthMaxMs: number;
  readonly healthPolls: number;
  /** A new graphql-ws connection opened mid-window: from `new WebSocket` to `connection_ack`, ms (null: none within 10 s). */
  readonly newConnectionAckMs: number | null;
  /** …and from its subscribe to its first event, ms (null: none within those 10 s). */
  readonly newSubscriptionFirstEventMs: number | null;
  /** Subscriber connections the server closed, and their close codes. */
  readonly connectionsCut: number;
  readonly closeCodes: Readonly<Record<string, number>>;
}

/** Everything {@link benchFanout} measured. */
export interface FanoutResult {
  readonly sizes: Readonly<Record<string, FanoutSize>>;
  /** The `distinct` runs by number of socket workers (see {@link FanoutOptions.workers}), or null. */
  readonly workers: { readonly subscribers: number; readonly runs: Readonly<Record<string, FanoutRun>> } | null;
  readonly overload: OverloadResult | null;
  readonly seconds: number;
  readonly warmUpSeconds: number;
  readonly clientProcesses: number;
  /** Wall time of the whole fan-out benchmark, ms. */
  readonly tookMs: number;
}

/** Settings of {@link benchFanout}. */
export interface FanoutOptions {
  readonly sizes: readonly number[];
  /** Measured window of each run, after the warm-up. */
  readonly seconds: number;
  /** Ticks flowing before the window, not measured (default 1). */
  readonly warmUpSeconds?: number;
  /**
   * `distinct` runs of `subscribers` with each of `counts` socket workers (WORKERS; 0: the
   * server process serves the sockets itself); null: none.
   */
  readonly workers?: { readonly subscribers: number; readonly counts: readonly number[] } | null;
  /** Size whose `distinct` run also measures the overload figures; null: none. */
  readonly overloadAt: number | null;
  readonly clientProcesses?: number;
  /** Called with a line per run, as it finishes. */
  readonly log?: (line: string) => void;
}

const RATE = 1000;
const SYMBOL = 'FAN';
const SAMPLE_EVERY = 10;
const FULL = `... on Event { id } __typename ... on Event { runnerId timestamp type } ... on TickReceived { symbol data { symbol timestamp open high low close volume bid ask } }`;
const QUERY = `subscription ($symbols: [String!]) { events(symbols: $symbols, types: [TICK_RECEIVED]) { ${FULL} } }`;
const HEALTH_EVERY_MS = 100;
/** Time for every subscriber to connect and be registered by the server. */
const CONNECT_TIMEOUT_MS = 120_000;
/** How long a /metrics scrape may take before the figure it was for is given up. */
const METRICS_TIMEOUT_MS = 15_000;
/** How long the new connection of the overload figures may take, from mid-window. */
const PROBE_TIMEOUT_MS = 10_000;
const HEALTH_TIMEOUT_MS = 5000;
const CLK_TCK = 100; // Linux's USER_HZ, the unit of /proc/<pid>/stat's CPU times
/** How long a server may take to exit once asked; longer when it writes CPU profiles. */
const STOP_TIMEOUT_MS = process.env['BENCH_PROFILE_DIR'] ? 60_000 : 10_000;

/**
 * The flags that make a server write CPU profiles into BENCH_PROFILE_DIR/<label>/, or none
 * when BENCH_PROFILE_DIR is not set (or no label is given: a run that is not measured).
 */
function profileFlags(label: string | undefined): string[] {
  const root = process.env['BENCH_PROFILE_DIR'];
  if (!root || label === undefined) return [];
  const dir = join(resolve(root), label);
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const ratio = (a: number, b: number) => Number((a / b).toPrecision(3));

/** A forked process answering IPC messages by their `cmd`. */
class Peer {
  private readonly waiting = new Map<string, { resolve: (m: never) => void; reject: (e: Error) => void }>();
  private exitError: Error | null = null;

  constructor(readonly child: ChildProcess, name: string) {
    child.on('message', (m: { cmd: string; message?: string }) => {
      if (m.cmd === 'failed') {
        for (const w of this.waiting.values()) w.reject(new Error(`${name}: ${m.message}`));
        this.waiting.clear();
        return;
      }
      const w = this.waiting.get(m.cmd);
      this.waiting.delete(m.cmd);
      w?.resolve(m as never);
    });
    child.once('exit', (code) => {
      this.exitError = new Error(`${name} exited with ${code}`);
      for (const w of this.waiting.values()) w.reject(this.exitError);
      this.waiting.clear();
    });
  }

  /** Sends `message` (if any) and waits for the next message with `cmd` `reply`. */
  ask<T>(message: object | null, reply: string, timeoutMs = 60_000): Promise<T> {
    if (this.exitError !== null) return Promise.reject(this.exitError);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${reply} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.set(reply, {
        resolve: ((m: T) => (clearTimeout(timer), resolve(m))) as (m: never) => void,
        reject: (e: Error) => (clearTimeout(timer), reject(e)),
      });
      if (message !== null) this.child.send(message);
    });
  }

  send(message: object): void {
    if (this.child.connected) this.child.send(message);
  }

  async exit(timeoutMs = 5000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.send({ cmd: 'exit' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** RSS of a process now, bytes (0 once it is gone). */
function rssOf(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? 0 : Number(kb) * 1024;
  } catch {
    return 0;
  }
}

/** A process and its children (the server's socket workers), by /proc's parent ids. */
function treeOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

/** RSS of a process and its children, bytes. */
function treeRssOf(pid: number): number {
  return treeOf(pid).reduce((a, p) => a + rssOf(p), 0);
}

/** CPU a process and its children have used, ms. */
function treeCpuMsOf(pid: number): number {
  return treeOf(pid).reduce((a, p) => {
    try {
      return a + cpuMsOf(p);
    } catch {
      return a;
    }
  }, 0);
}

/** CPU a process has used, ms (user + system). */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces: fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** The machine's idle and total jiffies (all cores). */
function machineTimes(): { idle: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { idle: cpu[3]! + (cpu[4] ?? 0), total: cpu.reduce((a, b) => a + b, 0) };
}

/** Percentile of a histogram of whole-ms ages (null when it is empty). */
function percentileOf(histogram: ReadonlyMap<number, number>, p: number): number | null {
  const entries = [...histogram].sort((a, b) => a[0] - b[0]);
  const total = entries.reduce((a, [, n]) => a + n, 0);
  if (total === 0) return null;
  let seen = 0;
  for (const [age, n] of entries) {
    seen += n;
    if (seen >= (p / 100) * total) return age;
  }
  return entries[entries.length - 1]![0];
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** A server under test: where to connect and how to read its published count. */
interface Server {
  readonly pid: number;
  readonly url: string;
  readonly httpBase: string | null;
  /** TickReceived published so far, and when the count was read (performance.now()). */
  published(): Promise<{ count: number; at: number }>;
  /** Subscriptions (sockets, for the limit) the server has registered. */
  joined(): Promise<number>;
  /** Starts the one runner (feed) at 1,000 ticks/s. */
  startFeed(): Promise<void>;
  /** The end of what the server wrote on stderr ('' for the limit: it shares ours). */
  log(): string;
  stop(): Promise<void>;
}

/** A value of the server's /metrics (the first sample of `name`, labels included in it). */
async function metricOf(httpBase: string, name: string): Promise<{ value: number; at: number }> {
  let text = '';
  for (let attempt = 1; ; attempt++) {
    try {
      text = await (await fetch(`${httpBase}/metrics`, { signal: AbortSignal.timeout(METRICS_TIMEOUT_MS) })).text();
      break;
    } catch (err) {
      // A kept-alive connection the server closed as it was reused: ask again, once or
      // twice. A server that did not answer in time will not answer sooner when asked again.
      if (attempt === 3 || (err as Error).name === 'TimeoutError') throw err;
    }
  }
  // Read when the answer is in: the value is the server's at (about) that moment, however
  // long the request waited for a loaded event loop.
  const at = performance.now();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return { value: line === undefined ? 0 : Number(line.slice(name.length + 1)), at };
}

/**
 * The compiled tickwire server, started with no runner (an empty RUNNERS_FILE): the
 * simulated runner at 1,000 ticks/s is started by `startRunner` once every subscriber is
 * in. With ticks flowing, an overloaded server accepts new connections slowly (that is
 * what the overload figures measure), and connecting thousands would measure only that.
 */
async function startTickwire(dir: string, workers?: number, profileLabel?: string): Promise<Server> {
  const port = await freePort();
  const runners = join(dir, 'runners.json');
  writeFileSync(runners, JSON.stringify({ runners: [] }));
  const env: NodeJS.ProcessEnv = { ...process.env };
  // What would change the setup under test: no tokens (open mode), no Redis, no PostgreSQL.
  for (const name of ['TOKENS_FILE', 'REDIS_URL', 'DATABASE_URL']) delete env[name];
  Object.assign(env, {
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    RUNNERS_FILE: runners,
    STORE_TYPES: 'none',
    DATA_DIR: join(dir, 'data'),
    DASHBOARD: 'false',
    LOG_LEVEL: 'warn',
    // Open mode counts subscriptions per client address (default 1,000), and every bench
    // client is 127.0.0.1: lift the cap so the fan-out is measured, not the quota.
    MAX_SUBSCRIPTIONS_PER_TOKEN: '1000000',
  });
  // The default (WORKERS=auto: two fewer than the cores, none on two) unless a run names a count.
  if (workers === undefined) delete env['WORKERS'];
  else env['WORKERS'] = String(workers);
  // The workers serve every connection of the run, as they do once a server has many:
  // started with the server, not at the 100th connection (which would stay on the server).
  env['WORKERS_START_CONNECTIONS'] = '0';
  // Profiles the server process and its threads (engine, store). Socket worker processes
  // (WORKERS > 0) are not: they are forked with only the flags the server names, and
  // Node refuses --cpu-prof in NODE_OPTIONS.
  const child = spawn(process.execPath, [...profileFlags(profileLabel), join(ROOT, 'dist', 'main.js')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + String(d)).slice(-4000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const httpBase = `http://127.0.0.1:${port}`;
  // A first start creates the PGlite database, which takes long on a busy machine.
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`tickwire exited with ${child.exitCode}: ${stderr}`);
    // /ready does not wait for socket workers (the server serves graphql-ws until they run):
    // the runs measure them, so the wait is for every one of them.
    const ready = await fetch(`${httpBase}/ready`).then(
      async (r) => (r.ok ? ((await r.json()) as { workers?: { running: number; count: number } }) : null),
      () => null,
    );
    if (ready !== null && (ready.workers === undefined || ready.workers.running === ready.workers.count)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`tickwire not ready within 90 s: ${stderr}`);
    }
    await sleep(20);
  }
  return {
    pid: child.pid!,
    url: `ws://127.0.0.1:${port}/graphql`,
    httpBase,
    published: async () => {
      const { value, at } = await metricOf(httpBase, 'tickwire_events_published_total{type="TickReceived"}');
      return { count: value, at };
    },
    joined: async () => (await metricOf(httpBase, 'tickwire_shared_execution_members')).value,
    startFeed: async () => {
      const response = await fetch(`${httpBase}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query: `mutation { startRunner(input: { id: "fan", symbol: "${SYMBOL}", feed: { kind: SIMULATED, ticksPerSecond: ${RATE} } }) { id } }`,
        }),
      });
      const body = (await response.json()) as { errors?: unknown };
      if (!response.ok || body.errors !== undefined) throw new Error(`startRunner failed: ${JSON.stringify(body)}`);
    },
    log: () => stderr.trim(),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The limit: plain ws, one pre-serialized frame per tick (bench/fanout-limit.ts); `corked`:
 * pre-framed bytes appended per socket and written once per socket per turn.
 */
async function startLimit(corked: boolean, profileLabel?: string): Promise<Server> {
  const child = fork(fileURLToPath(new URL('./fanout-limit.ts', import.meta.url)), [String(RATE), corked ? 'corked' : 'send'], {
    execArgv: ['--import', 'tsx', ...profileFlags(profileLabel)],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const peer = new Peer(child, corked ? 'corked limit server' : 'limit server');
  const { port } = await peer.ask<{ port: number }>(null, 'ready');
  return {
    pid: child.pid!,
    url: `ws://127.0.0.1:${port}/`,
    httpBase: null,
    published: async () => {
      const stats = await peer.ask<LimitStats>({ cmd: 'stats' }, 'stats', METRICS_TIMEOUT_MS);
      return { count: stats.published, at: performance.now() };
    },
    joined: async () => (await peer.ask<LimitStats>({ cmd: 'stats' }, 'stats')).sockets,
    startFeed: async () => void (await peer.ask({ cmd: 'go' }, 'going')),
    log: () => '',
    stop: () => peer.exit(STOP_TIMEOUT_MS),
  };
}

/**
 * From `new WebSocket` to `connection_ack`, then from subscribe to the first event, ms;
 * null for what did not happen within {@link PROBE_TIMEOUT_MS}.
 */
function probeNewConnection(url: string): Promise<{ ackMs: number | null; firstEventMs: number | null }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let ackMs: number | null = null;
    let subscribedAt = 0;
    const socket = new WebSocket(url, ['graphql-transport-ws'], { perMessageDeflate: false });
    const timer = setTimeout(() => {
      socket.terminate();
      resolve({ ackMs, firstEventMs: null });
    }, PROBE_TIMEOUT_MS);
    // A refused or cut connection shows as what did not happen before the timer.
    socket.on('error', () => undefined);
    socket.on('open', () => socket.send('{"type":"connection_init"}'));
    socket.on('message', (data: Buffer) => {
      const text = data.toString();
      if (text.includes('"connection_ack"')) {
        ackMs = round(performance.now() - t0);
        subscribedAt = performance.now();
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: QUERY, variables: { symbols: [SYMBOL, 'own-probe'] } } }));
      } else if (text.includes('"next"')) {
        clearTimeout(timer);
        socket.terminate();
        resolve({ ackMs, firstEventMs: round(performance.now() - subscribedAt) });
      }
    });
  });
}

/** Figures of one run, plus the overload extras when asked. */
interface RunOutcome {
  readonly run: FanoutRun;
  readonly overload: OverloadResult | null;
}

async function runOnce(
  kind: FanoutKind,
  subscribers: number,
  clients: Peer[],
  dir: string,
  options: { seconds: number; warmUpSeconds: number; overload: boolean; workers?: number },
): Promise<RunOutcome> {
  const startedAt = performance.now();
  const isLimit = kind === 'limit' || kind === 'limitCorked';
  const profileLabel = `${kind}-${subscribers}${options.workers === undefined ? '' : `-workers${options.workers}`}`;
  const server = isLimit ? await startLimit(kind === 'limitCorked', profileLabel) : await startTickwire(dir, options.workers, profileLabel);
  const serverStartMs = Math.round(performance.now() - startedAt);
  const rssBase = treeRssOf(server.pid);
  let rssPeak = rssBase;
  // The peak while ticks flow, apart (0 until the feed starts).
  let flowPeak = 0;
  let flowing = false;
  const sampleRss = () => {
    const rss = treeRssOf(server.pid);
    rssPeak = Math.max(rssPeak, rss);
    if (flowing) flowPeak = Math.max(flowPeak, rss);
  };
  const rssTimer = setInterval(sampleRss, 200);
  try {
    const t0 = performance.now();
    let firstIndex = 0;
    await Promise.all(
      clients.map((client, i) => {
        const count = Math.floor(subscribers / clients.length) + (i < subscribers % clients.length ? 1 : 0);
        const command: ConnectCommand = {
          cmd: 'connect',
          url: server.url,
          protocol: isLimit ? 'plain' : 'graphql',
          count,
          firstIndex,
          query: QUERY,
          variables: { symbols: kind === 'distinct' ? [SYMBOL, '$own'] : [SYMBOL] },
          sampleEvery: SAMPLE_EVERY,
        };
        firstIndex += count;
        return client.ask(command, 'connected', CONNECT_TIMEOUT_MS);
      }),
    ).catch(async (err: Error) => {
      const status = await Promise.all(clients.map((c) => c.ask<Status>({ cmd: 'status' } satisfies ClientCommand, 'status', 5000).catch(() => null)));
      throw new Error(`${kind} ${subscribers}: ${err.message}; clients: ${JSON.stringify(status)}${server.log() === '' ? '' : `; server said: ${server.log()}`}`);
    });
    const deadline = Date.now() + CONNECT_TIMEOUT_MS;
    for (let joined = 0; (joined = await server.joined()) < subscribers; await sleep(50)) {
      if (Date.now() > deadline) {
        const status = await Promise.all(clients.map((c) => c.ask<Status>({ cmd: 'status' } satisfies ClientCommand, 'status', 5000).catch(() => null)));
        throw new Error(`${kind} ${subscribers}: the server has ${joined} subscribers; clients: ${JSON.stringify(status)}; server said: ${server.log()}`);
      }
    }
    const connectMs = Math.round(performance.now() - t0);
    await server.startFeed();
    flowing = true;
    sampleRss();
    // Warm-up, not measured: the first seconds of a JIT-compiled pipeline are slower.
    await sleep(options.warmUpSeconds * 1000);

    const health: number[] = [];
    const polls: Promise<void>[] = [];
    let healthTimer: NodeJS.Timeout | undefined;
    if (options.overload && server.httpBase !== null) {
      const base = server.httpBase;
      healthTimer = setInterval(() => {
        const started = performance.now();
        polls.push(
          fetch(`${base}/health`, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) }).then(
            async (r) => {
              await r.arrayBuffer();
              health.push(performance.now() - started);
            },
            () => void health.push(HEALTH_TIMEOUT_MS),
          ),
        );
      }, HEALTH_EVERY_MS);
    }

    // An overloaded server may not answer /metrics at all (it stops accepting): then the
    // engine's rate is unknown (null), and the window goes on without it.
    const published0 = await server.published().catch(() => null);
    const cpu0 = treeCpuMsOf(server.pid);
    const machine0 = machineTimes();
    const from = performance.now();
    for (const c of clients) c.send({ cmd: 'start' } satisfies ClientCommand);
    const probe = options.overload
      ? sleep((options.seconds * 1000) / 2).then(() => probeNewConnection(server.url))
      : Promise.resolve(null);
    await sleep(options.seconds * 1000);
    const stopped = Promise.all(clients.map((c) => c.ask<WindowReport>({ cmd: 'stop' } satisfies ClientCommand, 'window')));
    const to = performance.now();
    const cpu1 = treeCpuMsOf(server.pid);
    const machine1 = machineTimes();
    const published1 = published0 === null ? null : await server.published().catch(() => null);
    if (healthTimer !== undefined) clearInterval(healthTimer);
    const reports = await stopped;
    clearInterval(rssTimer);
    sampleRss();
    const probed = await probe;
    await Promise.all(polls);

    const windowMs = reports.reduce((a, r) => Math.max(a, r.elapsedMs), 0) || to - from;
    const delivered = reports.reduce((a, r) => a + r.delivered, 0);
    const bytes = reports.reduce((a, r) => a + r.bytes, 0);
    const ages = new Map<number, number>();
    for (const r of reports) for (const [age, n] of Object.entries(r.ages)) ages.set(Number(age), (ages.get(Number(age)) ?? 0) + n);
    const publishedPerSec =
      published0 === null || published1 === null ? null : (published1.count - published0.count) / ((published1.at - published0.at) / 1000);
    const cut = reports.reduce((a, r) => a + r.cut, 0);
    const closeCodes: Record<string, number> = {};
    for (const r of reports) for (const [code, n] of Object.entries(r.closeCodes)) closeCodes[code] = (closeCodes[code] ?? 0) + n;
    // Rates, not totals: the clients' window and the CPU readings' bounds differ by an IPC hop.
    const cpuUsPerMs = ((cpu1 - cpu0) * 1000) / (to - from);
    const deliveriesPerMs = delivered / windowMs;
    const run: FanoutRun = {
      subscribers,
      deliveredPerSec: Math.round(delivered / (windowMs / 1000)),
      deliveredShare: round(delivered / (windowMs / 1000) / (RATE * subscribers), 4),
      p50Ms: percentileOf(ages, 50),
      p99Ms: percentileOf(ages, 99),
      serverRssMb: round(rssPeak / 2 ** 20, 1),
      serverRssBaseMb: round(rssBase / 2 ** 20, 1),
      peakRssMb: round(flowPeak / 2 ** 20, 1),
      enginePublishedPerSec: publishedPerSec === null ? null : Math.round(publishedPerSec),
      serverCpuPct: Math.round(((cpu1 - cpu0) / (to - from)) * 100),
      serverCpuUsPerDelivery: delivered === 0 ? null : round(cpuUsPerMs / deliveriesPerMs),
      clientCpuPct: Math.round((reports.reduce((a, r) => a + r.cpuMs, 0) / windowMs) * 100),
      machineIdlePct: Math.round(((machine1.idle - machine0.idle) / Math.max(1, machine1.total - machine0.total)) * 100),
      bytesPerMessage: Math.round(bytes / Math.max(1, delivered)),
      connectionsCut: cut,
      connectMs,
      serverStartMs,
    };
    const overload: OverloadResult | null = options.overload
      ? {
          subscribers,
          deliveredP99AgeMs: run.p99Ms,
          deliveredShare: run.deliveredShare,
          healthP50Ms: round(percentile(health, 50)),
          healthP99Ms: round(percentile(health, 99)),
          healthMaxMs: round(Math.max(...health)),
          healthPolls: health.length,
          newConnectionAckMs: probed?.ackMs ?? null,
          newSubscriptionFirstEventMs: probed?.firstEventMs ?? null,
          connectionsCut: cut,
          closeCodes,
        }
      : null;
    return { run, overload };
  } finally {
    clearInterval(rssTimer);
    await Promise.all(clients.map((c) => c.ask({ cmd: 'close' } satisfies ClientCommand, 'closed').catch(() => undefined)));
    await server.stop();
  }
}

/**
 * Runs `shared`, `distinct`, `limit` and `limitCorked` at each size (in that order, each with a fresh
 * server), and the overload figures during the `distinct` run at `overloadAt`.
 */
export async function benchFanout(options: FanoutOptions): Promise<FanoutResult> {
  const started = performance.now();
  if (buildIsStale() && (await build()) !== 0) throw new Error('npm run build failed');
  const warmUpSeconds = options.warmUpSeconds ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'tickwire-fanout-'));
  const clientFile = fileURLToPath(new URL('./fanout-client.ts', import.meta.url));
  const clients = Array.from(
    { length: options.clientProcesses ?? 2 },
    (_, i) => new Peer(fork(clientFile, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }), `client ${i}`),
  );
  try {
    await Promise.all(clients.map((c) => c.ask(null, 'ready')));
    // Creates the data directory's PGlite database once: a first start (initdb) takes far
    // more memory than opening it, and would make the first run's RSS unlike the others'.
    await (await startTickwire(dir)).stop();
    const sizes: Record<string, FanoutSize> = {};
    let overload: OverloadResult | null = null;
    for (const n of options.sizes) {
      const runs = {} as Record<FanoutKind, FanoutRun>;
      for (const kind of ['shared', 'distinct', 'limit', 'limitCorked'] as const) {
        const outcome = await runOnce(kind, n, clients, dir, {
          seconds: options.seconds,
          warmUpSeconds,
          overload: kind === 'distinct' && n === options.overloadAt,
        });
        runs[kind] = outcome.run;
        overload = outcome.overload ?? overload;
        options.log?.(describeRun(kind, outcome.run));
        if (outcome.overload !== null) options.log?.(describeOverload(outcome.overload));
      }
      sizes[String(n)] = {
        ...runs,
        ratios: {
          distinctVsShared: ratio(runs.distinct.deliveredPerSec, runs.shared.deliveredPerSec),
          oursVsLimit: ratio(runs.distinct.deliveredPerSec, runs.limit.deliveredPerSec),
          oursVsLimitCorked: ratio(runs.distinct.deliveredPerSec, runs.limitCorked.deliveredPerSec),
          sharedVsLimit: ratio(runs.shared.deliveredPerSec, runs.limit.deliveredPerSec),
        },
      };
    }
    let workers: FanoutResult['workers'] = null;
    if (options.workers != null) {
      const runs: Record<string, FanoutRun> = {};
      for (const count of options.workers.counts) {
        const outcome = await runOnce('distinct', options.workers.subscribers, clients, dir, { seconds: options.seconds, warmUpSeconds, overload: false, workers: count });
        runs[String(count)] = outcome.run;
        options.log?.(`WORKERS=${count}: ${describeRun('distinct', outcome.run)}`);
      }
      workers = { subscribers: options.workers.subscribers, runs };
    }
    return { sizes, workers, overload, seconds: options.seconds, warmUpSeconds, clientProcesses: clients.length, tookMs: Math.round(performance.now() - started) };
  } finally {
    await Promise.all(clients.map((c) => c.exit()));
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      // Not worth hiding the error that got us here, if any.
      console.error(`fan-out: could not remove ${dir}: ${(err as Error).message}`);
    }
  }
}

/**
 * BENCH_FANOUT_SIZES (`100,1000`): the fan-out sizes to run instead of the default ones;
 * undefined when it is not set. Anything but positive integers is an error.
 */
export function fanoutSizesFromEnv(): number[] | undefined {
  const text = process.env['BENCH_FANOUT_SIZES']?.trim();
  if (!text) return undefined;
  const sizes = text.split(',').map((part) => Number(part.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`BENCH_FANOUT_SIZES must be positive integers separated by commas, not ${JSON.stringify(text)}`);
  return sizes;
}

/** One human-readable line for a run. */
export function describeRun(kind: FanoutKind, r: FanoutRun): string {
  return (
    `fan-out ${r.subscribers.toLocaleString().padStart(5)} ${kind.padEnd(11)} ${r.deliveredPerSec.toLocaleString().padStart(9)} deliveries/s ` +
    `(${(r.deliveredShare * 100).toFixed(1).padStart(5)} %)  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  server RSS ${r.serverRssBaseMb} → ${r.serverRssMb} MB (flowing ${r.peakRssMb} MB)  ` +
    `published ${r.enginePublishedPerSec?.toLocaleString() ?? '?'}/s  CPU server ${r.serverCpuPct} % (${r.serverCpuUsPerDelivery ?? '?'} µs/delivery) clients ${r.clientCpuPct} % machine idle ${r.machineIdlePct} %  ` +
    `${r.bytesPerMessage} B/msg  cut ${r.connectionsCut}  server up in ${r.serverStartMs} ms, subscribers in ${r.connectMs} ms`
  );
}

/** One human-readable line for the overload figures. */
export function describeOverload(o: OverloadResult): string {
  return (
    `overload at ${o.subscribers.toLocaleString()} distinct subscribers: delivered p99 age ${o.deliveredP99AgeMs} ms (${(o.deliveredShare * 100).toFixed(1)} % delivered), ` +
    `/health p50 ${o.healthP50Ms} ms p99 ${o.healthP99Ms} ms max ${o.healthMaxMs} ms (${o.healthPolls} polls), ` +
    `new connection ack ${o.newConnectionAckMs ?? '> 10,000'} ms, its first event ${o.newSubscriptionFirstEventMs ?? '> 10,000 (or none)'} ms after subscribe, ` +
    `connections cut ${o.connectionsCut}${o.connectionsCut > 0 ? ` ${JSON.stringify(o.closeCodes)}` : ''}`
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const given = args.filter((a) => /^\d+$/.test(a)).map(Number);
  const sizes = given.length > 0 ? given : (fanoutSizesFromEnv() ?? (quick ? [100] : [100, 1000, 5000]));
  const result = await benchFanout({
    sizes,
    seconds: quick ? 2 : 3,
    warmUpSeconds: quick ? 1 : 2,
    overloadAt: quick ? null : Math.max(...sizes),
    log: (line) => console.log(line),
  });
  console.log(JSON.stringify(result));
}
