/**
 * The server side of the end-to-end benchmark, run in its own process so its CPU and RSS
 * are its own. Modes:
 * - `ours`:  tickwire's server (bus filter, shared execution, graphql-ws).
 * - `peer`:  the same schema the way the stack does it out of the box: Yoga's
 *            createPubSub, filtering after delivery, execution per subscriber.
 * - `limit`: no GraphQL: each event serialized once and written with plain `ws`.
 * The parent sends `{ cmd: 'run', ... }` over IPC and gets publish times back.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createPubSub, createYoga, filter, pipe } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { LogEntry } from '../src/log/types.js';
import type { EventPredicate } from '../src/events/filter.js';
import type { RunnerEvent } from '../src/events/types.js';
import type { SchemaContext } from '../src/graphql/schema/index.js';
import { fromDist } from './dist.js';

// The servers' modules as `npm start` runs them (see bench/dist.ts); the parent builds first.
const [{ EventBus }, { TradingEngine }, { schema }, { executePrepared, prepareOperation, subscribePrepared }, { startServer }, { OPEN_PRINCIPAL }] = await Promise.all([
  fromDist<typeof import('../src/log/bus.js')>('log/bus.js'),
  fromDist<typeof import('../src/engine/engine.js')>('engine/engine.js'),
  fromDist<typeof import('../src/graphql/schema/index.js')>('graphql/schema/index.js'),
  fromDist<typeof import('../src/graphql/operation.js')>('graphql/operation.js'),
  fromDist<typeof import('../src/app/server.js')>('app/server.js'),
  fromDist<typeof import('../src/graphql/auth.js')>('graphql/auth.js'),
]);

export type Mode = 'ours' | 'peer' | 'limit';

/** What the parent asks for. */
export interface RunCommand {
  readonly cmd: 'run';
  readonly runners: number;
  readonly eventsPerSec: number;
  readonly seconds: number;
  /** Every n-th id has its publish time recorded for latency. */
  readonly sampleEvery: number;
}

/** What the child reports after a run. */
export interface RunReport {
  readonly cmd: 'done';
  readonly published: number;
  readonly publishTimes: [number, number][];
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
  readonly rssPeakMb: number;
  /** Peer only: publishes that overflowed a subscriber's pub/sub buffer (events lost). */
  readonly overflows: number;
  /** Ours only: executions performed and results shared between subscribers. */
  readonly execution: unknown;
}

const now = () => performance.timeOrigin + performance.now();
let overflows = 0;
let executionStats: () => unknown = () => null;

function tickOf(i: number, runners: number): { event: RunnerEvent; symbol: string } {
  const r = i % runners;
  const price = 100 + (i % 1000) / 100;
  const symbol = `SYM${r}`;
  return {
    symbol,
    event: {
      type: 'TickReceived',
      runnerId: `r${r}`,
      symbol,
      data: {
        symbol,
        timestamp: 1_700_000_000_000 + i,
        open: price,
        high: price + 0.5,
        low: price - 0.5,
        close: price,
        volume: 1,
        bid: price - 0.01,
        ask: price + 0.01,
      },
    },
  };
}

async function main(): Promise<void> {
  const mode = process.argv[2] as Mode;
  let publish: (event: RunnerEvent, symbol: string) => number;
  let port: number;

  if (mode === 'ours') {
    const bus = new EventBus();
    const engine = new TradingEngine(bus);
    const server = await startServer({ engine, bus, port: 0, host: '127.0.0.1' });
    port = server.port;
    publish = (event, symbol) => bus.publish(event, symbol).id;
    executionStats = () => server.tickwire.sharedExecution.stats();
  } else if (mode === 'peer') {
    const pubSub = createPubSub<{ events: [LogEntry] }>();
    let lastId = 0;
    // The schema's resolver asks the context's bus for a filtered stream; here that is
    // a pub/sub topic with the filter applied after delivery, as Yoga's docs show.
    const bus = {
      subscribe: ({ filter: predicate }: { filter?: EventPredicate }) =>
        pipe(
          pubSub.subscribe('events'),
          filter((entry: LogEntry) => predicate === undefined || predicate(entry.event, entry.symbol)),
        ),
    };
    const engine = new TradingEngine({ publish: () => undefined });
    const yoga = createYoga<Record<string, unknown>, SchemaContext>({
      schema,
      context: () => ({ engine, bus: bus as unknown as SchemaContext['bus'], store: null, principal: OPEN_PRINCIPAL }),
      logging: false,
    });
    const http = createServer(yoga);
    const wss = new WebSocketServer({ server: http, path: '/graphql' });
    useServer(
      {
        execute: executePrepared,
        subscribe: subscribePrepared,
        onSubscribe: async (ctx, _id, params) => {
          const prepared = await prepareOperation(yoga, { req: ctx.extra.request, socket: ctx.extra.socket }, params);
          return Array.isArray(prepared) ? [...prepared] : (prepared as Exclude<typeof prepared, readonly unknown[]>);
        },
      },
      wss,
    );
    // Out of the box, a pub/sub subscriber that falls 1024 events behind makes the publish
    // throw asynchronously; count those losses instead of letting the process die.
    process.on('uncaughtException', (err) => {
      if (err.name !== 'RepeaterOverflowError') throw err;
      overflows++;
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    port = (http.address() as AddressInfo).port;
    publish = (event, symbol) => {
      const entry: LogEntry = { id: ++lastId, symbol, event };
      pubSub.publish('events', entry);
      return entry.id;
    };
  } else {
    // The limit: subscribers say which runner they want in the URL (?runner=r3 or none).
    const http = createServer();
    const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
    const all: WebSocket[] = [];
    const byRunner = new Map<string, WebSocket[]>();
    wss.on('connection', (socket, req) => {
      const runner = new URL(req.url ?? '/', 'http://x').searchParams.get('runner');
      const list = runner === null ? all : (byRunner.get(runner) ?? byRunner.set(runner, []).get(runner)!);
      list.push(socket);
      socket.on('close', () => list.splice(list.indexOf(socket), 1));
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    port = (http.address() as AddressInfo).port;
    let lastId = 0;
    publish = (event) => {
      const id = ++lastId;
      const tick = event as Extract<RunnerEvent, { type: 'TickReceived' }>;
      // The same shape and fields as the full selection over graphql-ws, serialized once.
      const json = `{"id":"1","type":"next","payload":{"data":{"events":{"id":"${id}","__typename":"TickReceived","runnerId":${JSON.stringify(tick.runnerId)},"timestamp":${tick.data.timestamp},"type":"TICK_RECEIVED","symbol":${JSON.stringify(tick.symbol)},"data":${JSON.stringify(tick.data)}}}}}`;
      for (const s of all) s.send(json);
      const some = byRunner.get(event.runnerId);
      if (some !== undefined) for (const s of some) s.send(json);
      return id;
    };
  }

  process.on('message', (message: RunCommand | { cmd: 'exit' }) => {
    if (message.cmd === 'exit') process.exit(0);
    if (message.cmd !== 'run') return;
    const times: [number, number][] = [];
    let rssPeak = process.memoryUsage().rss;
    const rssTimer = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 100);
    const cpu0 = process.cpuUsage();
    const start = now();
    const total = Math.round(message.eventsPerSec * message.seconds);
    let published = 0;
    const step = () => {
      const due = Math.min(total, Math.floor(((now() - start) / 1000) * message.eventsPerSec));
      while (published < due) {
        const { event, symbol } = tickOf(published, message.runners);
        const id = publish(event, symbol);
        if (id % message.sampleEvery === 0) times.push([id, now()]);
        published++;
      }
      if (published < total) {
        // A timer, not setImmediate: spinning would burn the CPU this run measures.
        // The rate holds anyway, since each step publishes whatever has come due.
        setTimeout(step, 1);
        return;
      }
      // Let the sockets drain before reading the CPU used.
      setTimeout(() => {
        clearInterval(rssTimer);
        const cpu = process.cpuUsage(cpu0);
        const report: RunReport = {
          cmd: 'done',
          published,
          publishTimes: times,
          cpuUserMs: cpu.user / 1000,
          cpuSystemMs: cpu.system / 1000,
          rssPeakMb: rssPeak / 2 ** 20,
          overflows,
          execution: executionStats(),
        };
        process.send?.(report);
      }, 1500);
    };
    step();
  });
  process.send?.({ cmd: 'ready', port });
}

await main();
