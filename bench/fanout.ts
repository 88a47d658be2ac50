/**
 * Fan-out of one runner's ticks to many graphql-ws subscribers with the same document,
 * sharing variables or each with its own: what execution sharing across variables buys.
 * Server and clients run in one process (`npx tsx bench/fanout.ts [subscribers]` prints
 * both cases), so the figures compare the two cases, not absolute capacity.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { EventBus } from '../src/bus/bus.js';
import { TradingEngine } from '../src/engine/engine.js';
import { startServer } from '../src/server/server.js';
import type { SharedExecutionStats } from '../src/server/shared-execution.js';

/** What {@link benchFanout} measured. */
export interface FanoutResult {
  readonly subscribers: number;
  readonly distinct: boolean;
  readonly published: number;
  /** Results received by all subscribers, per second of the run. */
  readonly deliveredPerSec: number;
  /** Share of `subscribers × published` received. */
  readonly deliveredShare: number;
  /** 99th percentile from publish to receive, of every 10th event, in ms. */
  readonly p99Ms: number;
  readonly execution: SharedExecutionStats;
  /**
   * Peak RSS of this process during the run, in MB, sampled every 100 ms. Server and
   * clients share the process, so this is both together: an upper bound for the server.
   * In `npm run bench` it also holds whatever the benchmarks before it left behind.
   */
  readonly serverRssMb: number;
  /**
   * Events the bus's subscriber queues dropped during the run (slow consumers), and those
   * still queued at its end: whether what was not delivered was lost or only late.
   */
  readonly busDropped: number;
  readonly busQueued: number;
  /** RSS of this process when the run started, in MB: the base the peak grew from. */
  readonly rssAtStartMb: number;
}

const RUNNER = 'fan';
const RATE = 1000;
const SECONDS = 3;
const SAMPLE_EVERY = 10;
/** How long deliveries still count after the last publish: a queue that drains is delivering. */
const DRAIN_MS = 1000;
const FULL = `... on Event { id } __typename ... on Event { runnerId timestamp type } ... on TickReceived { symbol data { symbol timestamp open high low close volume bid ask } }`;
const QUERY = `subscription ($runnerIds: [ID!]) { events(runnerIds: $runnerIds) { ${FULL} } }`;

const now = () => performance.timeOrigin + performance.now();

/** The counters' growth over the run; gauges (cohorts, members) as they are at its end. */
function countedSince(before: SharedExecutionStats, after: SharedExecutionStats): SharedExecutionStats {
  const grown: Record<string, number> = { ...after };
  for (const key of ['executions', 'deliveries', 'executionsSaved'] as const) {
    const a = (after as unknown as Record<string, number | undefined>)[key];
    const b = (before as unknown as Record<string, number | undefined>)[key];
    if (a !== undefined && b !== undefined) grown[key] = a - b;
  }
  return grown as unknown as SharedExecutionStats;
}

/**
 * Runs one runner at 1,000 ticks/s for 3 s to `subscribers` graphql-ws clients with the
 * full TickReceived selection. With `distinct`, each subscriber's `runnerIds` also names
 * a runner of its own that never publishes, so every subscriber has its own variables
 * yet receives every tick.
 */
export async function benchFanout(subscribers: number, distinct: boolean): Promise<FanoutResult> {
  const bus = new EventBus();
  const engine = new TradingEngine(bus);
  const server = await startServer({ engine, bus, port: 0, host: '127.0.0.1' });
  const clients: Client[] = [];
  const publishedAt = new Map<number, number>();
  const latencies: number[] = [];
  let delivered = 0;
  let lastDeliveryAt = 0;
  let counting = true;
  const rssAtStart = process.memoryUsage().rss;
  let rssPeak = rssAtStart;
  // Sampled from before the clients connect: their connections are part of the cost.
  const rssTimer = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 100);
  try {
    const url = `ws://127.0.0.1:${server.port}/graphql`;
    for (let i = 0; i < subscribers; i++) {
      const client = createClient({ url, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0 });
      clients.push(client);
      client.subscribe<{ events: { id: string } }>(
        { query: QUERY, variables: { runnerIds: distinct ? [RUNNER, `own-${i}`] : [RUNNER] } },
        {
          next: (value) => {
            if (!counting) return;
            delivered++;
            lastDeliveryAt = now();
            const sent = publishedAt.get(Number(value.data?.events.id));
            if (sent !== undefined) latencies.push(now() - sent);
          },
          error: () => undefined,
          complete: () => undefined,
        },
      );
    }
    const stats = () => server.tickwire.sharedExecution.stats();
    const deadline = Date.now() + 10_000;
    while (stats().members < subscribers) {
      if (Date.now() > deadline) throw new Error(`only ${stats().members} of ${subscribers} subscribers joined`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const before = stats();
    const total = RATE * SECONDS;
    const start = now();
    let published = 0;
    await new Promise<void>((resolve) => {
      const step = () => {
        const due = Math.min(total, Math.floor(((now() - start) / 1000) * RATE));
        for (; published < due; published++) {
          const price = 100 + (published % 100) / 100;
          const entry = bus.publish(
            {
              type: 'TickReceived',
              runnerId: RUNNER,
              symbol: 'FAN',
              data: { symbol: 'FAN', timestamp: Date.now(), open: price, high: price, low: price, close: price, volume: 1, bid: price, ask: price },
            },
            'FAN',
          );
          if (entry.id % SAMPLE_EVERY === 0) publishedAt.set(entry.id, now());
        }
        // A timer, not setImmediate: spinning would take the CPU the fan-out needs.
        if (published < total) setTimeout(step, 1);
        else resolve();
      };
      step();
    });
    const end = Date.now() + DRAIN_MS;
    while (delivered < total * subscribers && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    counting = false;
    clearInterval(rssTimer);
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    const elapsedSec = Math.max(SECONDS, (lastDeliveryAt - start) / 1000);
    const after = stats();
    const busStats = bus.stats();
    latencies.sort((a, b) => a - b);
    return {
      subscribers,
      distinct,
      published,
      deliveredPerSec: Math.round(delivered / elapsedSec),
      deliveredShare: delivered / (total * subscribers),
      p99Ms: latencies.length === 0 ? Number.NaN : Math.round(latencies[Math.min(latencies.length - 1, Math.floor(0.99 * latencies.length))]! * 100) / 100,
      execution: countedSince(before, after),
      serverRssMb: Math.round((rssPeak / 2 ** 20) * 10) / 10,
      busDropped: [...busStats.droppedByType.values()].reduce((a, b) => a + b, 0),
      busQueued: busStats.queued,
      rssAtStartMb: Math.round((rssAtStart / 2 ** 20) * 10) / 10,
    };
  } finally {
    counting = false;
    clearInterval(rssTimer);
    await Promise.all(clients.map((c) => c.dispose()));
    await engine.stopAll('bench over');
    await server.close();
    bus.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const subscribers = Number(process.argv[2] ?? 100);
  for (const distinct of [false, true]) console.log(JSON.stringify(await benchFanout(subscribers, distinct)));
}
