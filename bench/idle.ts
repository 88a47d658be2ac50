/**
 * Memory of idle subscribers: a tickwire server in a child process (so its RSS is the
 * server's alone) takes N graphql-ws connections, each with one subscription that never
 * receives anything (`events(runnerIds: ["none"])`). The figure is the server's RSS after
 * the N joined minus its RSS before, per connection. `npx tsx bench/idle.ts [N]` prints it.
 *
 * The same file is the child: forked with `server` as its argument it starts the server
 * and answers the parent's `measure` requests over IPC.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { ensureBuilt, fromDist } from './dist.js';

/** What {@link benchIdle} measured. */
export interface IdleResult {
  /** Connections opened, each holding one subscription. */
  readonly connections: number;
  /** Server RSS (with its socket workers) after the connections joined minus before, per connection, in KB. */
  readonly idleMemoryPerSubscriberKb: number;
  /** The same for the V8 heap in use (after a GC): the part that is JavaScript objects (of the server process alone: with socket workers, not theirs). */
  readonly heapPerSubscriberKb: number;
  readonly rssBeforeMb: number;
  readonly rssAfterMb: number;
}

interface Measure {
  readonly cmd: 'measured';
  readonly rss: number;
  readonly heapUsed: number;
  /** Subscribers the shared execution knows of: how the parent knows all have joined. */
  readonly members: number;
}

const QUERY = 'subscription { events(runnerIds: ["none"]) { ... on Event { id } } }';

/** RSS of other processes (the socket workers), from /proc. */
function rssOfPids(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      total += kb === undefined ? 0 : Number(kb) * 1024;
    } catch {
      // Gone meanwhile.
    }
  }
  return total;
}

async function serve(workers: number): Promise<void> {
  const [{ EventBus }, { TradingEngine }, { DEFAULT_LIMITS }, { startServer }] = await Promise.all([
    fromDist<typeof import('../src/log/bus.js')>('log/bus.js'),
    fromDist<typeof import('../src/engine/engine.js')>('engine/engine.js'),
    fromDist<typeof import('../src/graphql/limits.js')>('graphql/limits.js'),
    fromDist<typeof import('../src/app/server.js')>('app/server.js'),
  ]);
  const bus = new EventBus();
  const engine = new TradingEngine(bus);
  // In open mode subscriptions are counted per client address, and every bench client
  // is 127.0.0.1: lift that cap so it is the memory that is measured, not the quota.
  const server = await startServer({
    engine,
    bus,
    port: 0,
    host: '127.0.0.1',
    limits: { ...DEFAULT_LIMITS, maxSubscriptionsPerToken: 1_000_000 },
    workers,
  });
  // Workers start after the server listens: the connections measured are theirs.
  await server.workers?.ready();
  process.on('message', (message: { cmd: 'measure' | 'exit' }) => {
    if (message.cmd === 'exit') process.exit(0);
    // Collect first (the child runs with --expose-gc) so garbage left by start-up or by
    // the handshakes does not count as the subscribers' memory.
    globalThis.gc?.();
    globalThis.gc?.();
    const { rss, heapUsed } = process.memoryUsage();
    // With socket workers the connections live there: their RSS counts (their heap is
    // not collected first, so that figure is the noisier), and they report joins once a second.
    const reply: Measure =
      server.workers === null
        ? { cmd: 'measured', rss, heapUsed, members: server.tickwire.sharedExecution.stats().members }
        : { cmd: 'measured', rss: rss + rssOfPids(server.workers.pids), heapUsed, members: server.workers.totals().sharedExecution.members };
    process.send?.(reply);
  });
  process.send?.({ cmd: 'ready', port: server.port });
}

/**
 * Opens `connections` graphql-ws connections to a server in a child process, each
 * subscribing once to a runner that does not exist, and returns the server's memory
 * growth per connection. Clients are raw `ws` sockets speaking the protocol, so the
 * parent stays light; the child's figures are the server's own either way.
 */
export async function benchIdle(connections: number, workers = 0): Promise<IdleResult> {
  await ensureBuilt();
  const child = fork(fileURLToPath(import.meta.url), ['server', String(workers)], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const sockets: WebSocket[] = [];
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: { port: number }) => resolve(m.port));
      child.once('exit', (code) => reject(new Error(`idle bench server exited with ${code}`)));
    });
    const measure = () =>
      new Promise<Measure>((resolve) => {
        child.once('message', (m: Measure) => resolve(m));
        child.send({ cmd: 'measure' });
      });
    // One connection and subscription first, then closed: the code paths a subscriber
    // uses are loaded and compiled before the baseline, so they do not count per subscriber.
    await connect(port, sockets);
    await waitForMembers(measure, 1);
    sockets.pop()!.close();
    await waitForMembers(measure, 0, true);
    const before = await measure();
    // In batches: a thousand handshakes at once only measures the accept queue.
    for (let i = 0; i < connections; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, connections - i) }, () => connect(port, sockets)));
    }
    await waitForMembers(measure, connections);
    // Let the handshakes' buffers go before reading the figure.
    await new Promise((r) => setTimeout(r, 500));
    const after = await measure();
    const kb = (bytes: number) => Math.round((bytes / 1024 / connections) * 10) / 10;
    return {
      connections,
      idleMemoryPerSubscriberKb: kb(after.rss - before.rss),
      heapPerSubscriberKb: kb(after.heapUsed - before.heapUsed),
      rssBeforeMb: Math.round((before.rss / 2 ** 20) * 10) / 10,
      rssAfterMb: Math.round((after.rss / 2 ** 20) * 10) / 10,
    };
  } finally {
    for (const s of sockets) s.terminate();
    const exited = new Promise((r) => child.once('exit', r));
    if (child.connected) child.send({ cmd: 'exit' });
    const timer = setTimeout(() => child.kill(), 3000);
    await exited;
    clearTimeout(timer);
  }
}

/** Polls the child until `count` subscribers have joined (or, with `atMost`, left). */
async function waitForMembers(measure: () => Promise<Measure>, count: number, atMost = false): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { members } = await measure();
    if (atMost ? members <= count : members >= count) return;
    if (Date.now() > deadline) throw new Error(`idle bench: ${members} subscribers, waiting for ${count}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One graphql-ws connection that subscribes once, resolved when the subscribe is sent. */
function connect(port: number, sockets: WebSocket[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/graphql`, ['graphql-transport-ws'], { perMessageDeflate: false });
    sockets.push(socket);
    socket.on('error', reject);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { type: string };
      // Keep-alive pings must be answered or the server would close an idle connection.
      if (message.type === 'ping') socket.send(JSON.stringify({ type: 'pong' }));
      if (message.type !== 'connection_ack') return;
      socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: QUERY } }));
      resolve();
    });
  });
}

if (process.argv[2] === 'server') {
  await serve(Number(process.argv[3] ?? 0));
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await benchIdle(Number(process.argv[2] ?? 1000))));
}
