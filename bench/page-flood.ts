/**
 * The GraphiQL page flood of issue 21 (item 2): the compiled server (`node dist/main.js`,
 * its defaults: open on loopback, three runners, GRAPHIQL on) in a child process; 20
 * clients re-fetch the page as fast as they can (`Accept: text/html`, `Accept-Encoding:
 * gzip, br`, no If-None-Match) while a bystander polls `/health` every 100 ms. The figure
 * is the bystander's latency (p50, p99, max) and the polls it got in, beside the same
 * polls with no flood.
 *
 * `npx tsx bench/page-flood.ts [--server path/to/main.js] [--seconds 7] [--addresses one|many] [--target page|health]`
 * prints one JSON line. `--server` measures another build (the code before a change);
 * `--addresses many` gives each flooding client an address of its own (127.0.0.2…),
 * past the per-address token bucket, to measure what serving the page itself costs;
 * `--target health` floods `/health` instead: what any flood of cheap requests costs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** What {@link benchPageFlood} takes. */
export interface PageFloodOptions {
  /** The server's entry point (default: this checkout's dist/main.js). */
  readonly server?: string;
  /** Flooding clients (default 20). */
  readonly clients?: number;
  /** Length of the flood and of the quiet baseline before it (default 7 s). */
  readonly seconds?: number;
  /** `one`: every client from 127.0.0.1 (one attacker); `many`: one address each. */
  readonly addresses?: 'one' | 'many';
  /** What the clients re-fetch: the GraphiQL page (default), or `/health` (any request flood, for scale). */
  readonly target?: 'page' | 'health';
}

/** Latency of the bystander's `/health` polls over one window. */
export interface HealthPolls {
  readonly polls: number;
  /** Polls without an answer within 5 s. */
  readonly timeouts: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** What {@link benchPageFlood} measured. */
export interface PageFloodResult {
  readonly clients: number;
  readonly seconds: number;
  readonly addresses: 'one' | 'many';
  readonly target: 'page' | 'health';
  /** `/health` with no flood, then during it. */
  readonly quiet: HealthPolls;
  readonly flood: HealthPolls;
  /** Answers the flooding clients got, by status. */
  readonly statuses: Record<string, number>;
  /** Page bytes the flood received (as sent: compressed when the server compressed). */
  readonly bytesReceived: number;
  /** Content-Encoding of the 200s, counted. */
  readonly encodings: Record<string, number>;
  /** Server CPU during the flood (user + system), in ms per second of flood. */
  readonly serverCpuMsPerSec: number;
  /** p99 during the flood / p99 without it. */
  readonly p99Ratio: number;
  /** The keys every bench part has: `/health`'s p99 during the flood (ms)… */
  readonly p99Ms: number;
  /** …and the `/health` polls answered per second during it (10 when nothing waits). */
  readonly eventsPerSec: number;
}

function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/** One GET; resolves with the status, the body's size and its encoding, or null on a timeout or error. */
function get(port: number, path: string, headers: Record<string, string>, timeoutMs: number, localAddress?: string): Promise<{ status: number; bytes: number; encoding: string } | null> {
  return new Promise((done) => {
    const req = request({ host: '127.0.0.1', port, path, headers, localAddress, agent: false }, (res: IncomingMessage) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.once('end', () => done({ status: res.statusCode ?? 0, bytes, encoding: String(res.headers['content-encoding'] ?? 'identity') }));
      res.once('error', () => done(null));
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      done(null);
    });
    req.once('error', () => done(null));
    req.end();
  });
}

const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);

/** Polls /health every 100 ms (a poll waits for the previous one) until `until`. */
async function pollHealth(port: number, until: number): Promise<HealthPolls> {
  const times: number[] = [];
  let timeouts = 0;
  while (performance.now() < until) {
    const started = performance.now();
    const answer = await get(port, '/health', {}, 5000);
    const took = performance.now() - started;
    if (answer === null || answer.status !== 200) timeouts++;
    else times.push(took);
    await new Promise((r) => setTimeout(r, Math.max(0, 100 - took)));
  }
  const sorted = [...times].sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return { polls: times.length + timeouts, timeouts, p50Ms: round(percentile(sorted, 50)), p99Ms: round(percentile(sorted, 99)), maxMs: round(sorted.at(-1) ?? 0) };
}

async function serverCpuMs(pid: number): Promise<number> {
  const { readFileSync } = await import('node:fs');
  // utime + stime of /proc/<pid>/stat, in clock ticks (100 per second on Linux).
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Runs the flood once against a fresh server and returns the bystander's figures. */
export async function benchPageFlood(options: PageFloodOptions = {}): Promise<PageFloodResult> {
  const clients = options.clients ?? 20;
  const seconds = options.seconds ?? 7;
  const addresses = options.addresses ?? 'one';
  const target = options.target ?? 'page';
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'tickwire-page-flood-'));
  const server = resolve(options.server ?? join(ROOT, 'dist/main.js'));
  const child = spawn(process.execPath, [server], { cwd: ROOT, env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'error' }, stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    const deadline = Date.now() + 60_000;
    while ((await get(port, '/ready', {}, 1000))?.status !== 200) {
      if (Date.now() > deadline) throw new Error(`${server} did not answer /ready`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const quiet = await pollHealth(port, performance.now() + seconds * 1000);
    const statuses: Record<string, number> = {};
    const encodings: Record<string, number> = {};
    let bytesReceived = 0;
    const cpuBefore = await serverCpuMs(child.pid!);
    const started = performance.now();
    const end = started + seconds * 1000;
    const flooder = async (i: number) => {
      const localAddress = addresses === 'many' ? `127.0.0.${2 + i}` : undefined;
      while (performance.now() < end) {
        const answer = await get(port, target === 'page' ? '/graphql' : '/health', { accept: 'text/html', 'accept-encoding': 'gzip, br' }, 10_000, localAddress);
        const key = answer === null ? 'timeout' : String(answer.status);
        statuses[key] = (statuses[key] ?? 0) + 1;
        if (answer?.status === 200) encodings[answer.encoding] = (encodings[answer.encoding] ?? 0) + 1;
        bytesReceived += answer?.bytes ?? 0;
      }
    };
    const [flood] = await Promise.all([pollHealth(port, end), ...Array.from({ length: clients }, (_, i) => flooder(i))]);
    const cpu = (await serverCpuMs(child.pid!)) - cpuBefore;
    const tookS = (performance.now() - started) / 1000;
    return {
      clients,
      seconds,
      addresses,
      target,
      quiet,
      flood,
      statuses,
      bytesReceived,
      encodings,
      serverCpuMsPerSec: Math.round(cpu / tookS),
      p99Ratio: Number((flood.p99Ms / Math.max(0.1, quiet.p99Ms)).toPrecision(3)),
      p99Ms: flood.p99Ms,
      eventsPerSec: Math.round(((flood.polls - flood.timeouts) / tookS) * 10) / 10,
    };
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const argv = process.argv.slice(2);
  const flag = (name: string) => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const addresses = flag('addresses');
  const target = flag('target');
  const result = await benchPageFlood({
    ...(flag('server') !== undefined ? { server: flag('server') } : {}),
    ...(flag('seconds') !== undefined ? { seconds: Number(flag('seconds')) } : {}),
    ...(flag('clients') !== undefined ? { clients: Number(flag('clients')) } : {}),
    ...(addresses === 'one' || addresses === 'many' ? { addresses } : {}),
    ...(target === 'page' || target === 'health' ? { target } : {}),
  });
  console.log(JSON.stringify(result));
}
