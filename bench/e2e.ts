/**
 * End-to-end benchmark over loopback: a server process (bench/e2e-server.ts) publishes
 * ticks of N runners at a fixed rate; this process holds M WebSocket subscribers, half
 * unfiltered and half filtered to one runner each, and measures what arrives.
 */
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import type { Mode, RunCommand, RunReport } from './e2e-server.js';
import { ensureBuilt } from './dist.js';

/** Load of one end-to-end run. */
export interface E2eOptions {
  readonly runners: number;
  readonly subscribers: number;
  readonly eventsPerSec: number;
  readonly seconds: number;
}

/** Figures of one run. */
export interface E2eResult {
  readonly eventsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly delivered: number;
  readonly expected: number;
  readonly deliveredRatio: number;
  readonly bytesPerEvent: number;
  readonly serverCpuMs: number;
  readonly serverCpuPerEventUs: number;
  readonly serverRssPeakMb: number;
  /** Events the server lost to a subscriber buffer overflow (the peer's pub/sub). */
  readonly serverOverflows: number;
  /** Executions and shared results on the server (ours). */
  readonly serverExecution: unknown;
  /** CPU of the benchmark's client process (all subscribers) during the run. */
  readonly clientCpuMs: number;
}

const SAMPLE_EVERY = 20;
const WARM_UP_SECONDS = 1;
const ID_MARK = Buffer.from('"events":{"id":"');

/** The selections compared: every field of a tick, or the id alone. */
export const SELECTIONS = {
  full: `... on Event { id } __typename ... on Event { runnerId timestamp type } ... on TickReceived { symbol data { symbol timestamp open high low close volume bid ask } }`,
  minimal: `... on Event { id }`,
} as const;

const now = () => performance.timeOrigin + performance.now();

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Reads the event id right after `"events":{"id":"` without parsing the JSON. */
function idIn(data: Buffer): number {
  const at = data.indexOf(ID_MARK);
  if (at < 0) return -1;
  let id = 0;
  for (let i = at + ID_MARK.length; i < data.length; i++) {
    const c = data[i]!;
    if (c < 48 || c > 57) break;
    id = id * 10 + (c - 48);
  }
  return id;
}

/** Runs one mode with one selection and returns its figures. */
export async function runE2e(mode: Mode, selection: keyof typeof SELECTIONS, options: E2eOptions): Promise<E2eResult> {
  await ensureBuilt();
  const child = fork(fileURLToPath(new URL('./e2e-server.ts', import.meta.url)), [mode], {
    execArgv: ['--import', 'tsx', ...(process.env['BENCH_CPU_PROF'] === mode ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: { cmd: string; port: number }) => resolve(m.port));
      child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
    });
    const received = new Map<number, number>();
    let delivered = 0;
    let bytes = 0;
    let lastReceive = 0;
    const sockets: WebSocket[] = [];
    const filteredTo: (string | null)[] = [];
    for (let i = 0; i < options.subscribers; i++) {
      filteredTo.push(i % 2 === 0 ? null : `r${i % options.runners}`);
    }
    await Promise.all(
      filteredTo.map(
        (runner) =>
          new Promise<void>((resolve, reject) => {
            const url =
              mode === 'limit'
                ? `ws://127.0.0.1:${port}/${runner === null ? '' : `?runner=${runner}`}`
                : `ws://127.0.0.1:${port}/graphql`;
            const socket = new WebSocket(url, mode === 'limit' ? [] : ['graphql-transport-ws'], { perMessageDeflate: false });
            sockets.push(socket);
            socket.on('error', reject);
            socket.on('open', () => {
              if (mode === 'limit') return resolve();
              socket.send(JSON.stringify({ type: 'connection_init' }));
            });
            socket.on('message', (data: Buffer) => {
              if (mode !== 'limit' && delivered === 0 && data.includes('connection_ack')) {
                socket.send(
                  JSON.stringify({
                    id: '1',
                    type: 'subscribe',
                    payload: {
                      query: `subscription ($runnerIds: [ID!]) { events(runnerIds: $runnerIds) { ${SELECTIONS[selection]} } }`,
                      variables: { runnerIds: runner === null ? null : [runner] },
                    },
                  }),
                );
                resolve();
                return;
              }
              delivered++;
              bytes += data.length;
              lastReceive = now();
              const id = idIn(data);
              if (id % SAMPLE_EVERY === 0 && !received.has(id)) received.set(id, lastReceive);
            });
          }),
      ),
    );
    // Give the server a moment to register every subscription before the clock starts.
    await new Promise((r) => setTimeout(r, 500));
    const publish = async (seconds: number): Promise<RunReport> => {
      const command: RunCommand = {
        cmd: 'run',
        runners: options.runners,
        eventsPerSec: options.eventsPerSec,
        seconds,
        sampleEvery: SAMPLE_EVERY,
      };
      child.send(command);
      const report = await new Promise<RunReport>((resolve) => child.once('message', (m: RunReport) => resolve(m)));
      // Drain: wait until nothing has arrived for 300 ms.
      for (;;) {
        const seen = delivered;
        await new Promise((r) => setTimeout(r, 300));
        if (delivered === seen) break;
      }
      return report;
    };
    // A warm-up at the same rate, not measured: the first seconds of any JIT-compiled
    // pipeline are slower and would otherwise decide the p99 of a short run.
    await publish(WARM_UP_SECONDS);
    delivered = 0;
    bytes = 0;
    received.clear();
    const start = now();
    const clientCpu0 = process.cpuUsage();
    const report = await publish(options.seconds);
    const clientCpu = process.cpuUsage(clientCpu0);
    for (const s of sockets) s.terminate();
    const latencies = report.publishTimes
      .map(([id, at]) => (received.has(id) ? received.get(id)! - at : Number.NaN))
      .filter((l) => !Number.isNaN(l))
      .sort((a, b) => a - b);
    const unfiltered = filteredTo.filter((r) => r === null).length;
    const expected = report.published * unfiltered + Math.round(report.published / options.runners) * (options.subscribers - unfiltered);
    const elapsedSec = Math.max(options.seconds, (lastReceive - start) / 1000);
    const serverCpuMs = report.cpuUserMs + report.cpuSystemMs;
    return {
      eventsPerSec: Math.round(delivered / elapsedSec),
      p50Ms: round(percentile(latencies, 50)),
      p99Ms: round(percentile(latencies, 99)),
      delivered,
      expected,
      deliveredRatio: round(delivered / expected, 4),
      bytesPerEvent: round(bytes / Math.max(1, delivered), 1),
      serverCpuMs: Math.round(serverCpuMs),
      serverCpuPerEventUs: round((serverCpuMs * 1000) / Math.max(1, delivered), 3),
      serverRssPeakMb: round(report.rssPeakMb, 1),
      serverOverflows: report.overflows,
      serverExecution: report.execution,
      clientCpuMs: Math.round((clientCpu.user + clientCpu.system) / 1000),
    };
  } finally {
    // A clean exit lets --cpu-prof write its profile; kill only what does not go.
    const exited = new Promise((r) => child.once('exit', r));
    if (child.connected) child.send({ cmd: 'exit' });
    const timer = setTimeout(() => child.kill(), 3000);
    await exited;
    clearTimeout(timer);
  }
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
