/**
 * Issue 15's overload, measured (a script, not a test: figures depend on the machine).
 * A tickwire server in a child process serves N graphql-ws subscribers (another child
 * process, distinct variables each) of one runner publishing 1,000 ticks/s. This process
 * only probes: GET /health every 100 ms, and a new graphql-ws connection every second
 * timed to its `connection_ack`. Reports p50/p99/max of both, and the age of delivered
 * ticks (receive time − publish time) on a sample of the subscribers.
 *
 *   npx tsx bench/overload.ts [--subs 2000] [--seconds 20] [--root /path/to/other/checkout]
 *
 * OVERLOAD_PROF=<dir> writes the server's CPU profile into <dir> when it exits.
 *
 * `--root` runs another checkout's server (e.g. a worktree of main) with this harness: the
 * figures before and after a change, on the same machine, one after the other.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const subs = Number(arg('subs', '2000'));
const seconds = Number(arg('seconds', '20'));
const root = arg('root', '');

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
// OVERLOAD_PROF=<dir>: the server writes its CPU profiles there (`--cpu-prof`) when it exits.
const profileDir = process.env['OVERLOAD_PROF'];
const child = (file: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess =>
  fork(here(file), args, {
    execArgv: ['--import', 'tsx', ...(file.includes('server') && profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
const reply = <T>(p: ChildProcess, cmd: string): Promise<T> =>
  new Promise((resolve) => {
    const on = (m: { cmd: string }) => {
      if (m.cmd !== cmd) return;
      p.off('message', on);
      resolve(m as T);
    };
    p.on('message', on);
  });

const quantile = (xs: number[], q: number): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
/** Percentiles of what was answered; `unanswered` counts those that got no answer within 60 s. */
const summary = (all: number[]) => {
  const xs = all.filter(Number.isFinite);
  return { n: all.length, unanswered: all.length - xs.length, p50: Math.round(quantile(xs, 0.5)), p99: Math.round(quantile(xs, 0.99)), max: Math.round(Math.max(...xs)) };
};

function health(port: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/health', agent: false, timeout: 60_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - t0));
    });
    req.on('error', () => resolve(Number.POSITIVE_INFINITY));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function ack(port: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws');
    const timer = setTimeout(() => {
      socket.terminate();
      resolve(Number.POSITIVE_INFINITY);
    }, 60_000);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
    socket.on('message', (data) => {
      if (!String(data).includes('connection_ack')) return;
      clearTimeout(timer);
      resolve(performance.now() - t0);
      socket.close();
    });
    socket.on('error', () => undefined);
  });
}

const server = child('./overload-server.ts', [], root === '' ? {} : { OVERLOAD_ROOT: root });
const { port } = await reply<{ port: number }>(server, 'ready');
const clients = child('./overload-clients.ts', [`ws://127.0.0.1:${port}/graphql`, String(subs), '20']);
await reply(clients, 'ready');
server.send({ cmd: 'start' });
// Warm up: the queues fill and the server reaches its overloaded steady state.
await new Promise((r) => setTimeout(r, 5000));
clients.send({ cmd: 'measure' });

const healthTimes: number[] = [];
const ackTimes: number[] = [];
const pending: Promise<unknown>[] = [];
const end = performance.now() + seconds * 1000;
const healthTimer = setInterval(() => pending.push(health(port).then((ms) => healthTimes.push(ms))), 100);
const ackTimer = setInterval(() => pending.push(ack(port).then((ms) => ackTimes.push(ms))), 1000);
await new Promise((r) => setTimeout(r, end - performance.now()));
clearInterval(healthTimer);
clearInterval(ackTimer);
clients.send({ cmd: 'report' });
const report = await reply<{ messages: number; gaps: number; missed: number; ages: number[]; closedAbnormally: number; codes: Record<string, number> }>(clients, 'report');
server.send({ cmd: 'stop' });
const stopped = await reply<Record<string, unknown>>(server, 'stopped');
await Promise.all(pending);

console.log(
  JSON.stringify(
    {
      server: root === '' ? 'this checkout' : root,
      subscribers: subs,
      seconds,
      healthMs: summary(healthTimes),
      connectionAckMs: summary(ackTimes),
      deliveredAgeMs: summary(report.ages),
      deliveredPerSec: Math.round(report.messages / seconds),
      gaps: report.gaps,
      missed: report.missed,
      subscribersCut: report.closedAbnormally,
      closeCodes: report.codes,
      serverSide: stopped,
    },
    null,
    2,
  ),
);
server.send({ cmd: 'exit' });
clients.send({ cmd: 'exit' });
