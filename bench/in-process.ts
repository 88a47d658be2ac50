/**
 * The bus alone: 100 runners publish into one EventBus, 10 subscribers with different
 * filters read with `for await`. Measures deliveries per second and the latency from
 * publish to the subscriber's loop body.
 */
import { EventBus } from '../src/log/bus.js';
import { isGap } from '../src/log/types.js';
import { compileFilter, type EventFilter } from '../src/events/filter.js';
import type { RunnerEvent } from '../src/events/types.js';

/** Figures of the in-process run. */
export interface InProcessResult {
  readonly eventsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly published: number;
  readonly delivered: number;
  readonly dropped: number;
  readonly subscribers: number;
}

const FILTERS: readonly EventFilter[] = [
  {},
  {},
  { runnerIds: ['r1'] },
  { runnerIds: ['r2', 'r3', 'r4'] },
  { symbols: ['SYM5'] },
  { types: ['TickReceived'] },
  { types: ['Error'], minSeverity: 'Error' },
  { types: ['PositionUpdated', 'StateTransition'] },
  { runnerIds: ['r7'], types: ['TickReceived'] },
  { minSeverity: 'Critical' },
];

function eventOf(i: number, runners: number): { event: RunnerEvent; symbol: string } {
  const r = i % runners;
  const runnerId = `r${r}`;
  const symbol = `SYM${r}`;
  if (i % 50 === 0) {
    return { symbol, event: { type: 'Error', runnerId, error: 'x', severity: i % 100 === 0 ? 'Critical' : 'Warning', timestamp: i } };
  }
  if (i % 5 === 0) return { symbol, event: { type: 'PositionUpdated', runnerId, currentPrice: 100, unrealizedPnl: 1, timestamp: i } };
  const price = 100 + (i % 100) / 100;
  return {
    symbol,
    event: {
      type: 'TickReceived',
      runnerId,
      symbol,
      data: { symbol, timestamp: i, open: price, high: price, low: price, close: price, volume: 1, bid: price, ask: price },
    },
  };
}

/** Runs the in-process benchmark. */
export async function benchInProcess(options: { events?: number; runners?: number } = {}): Promise<InProcessResult> {
  const total = options.events ?? 500_000;
  const runners = options.runners ?? 100;
  const bus = new EventBus();
  const publishedAt = new Map<number, bigint>();
  const latencies: number[] = [];
  let delivered = 0;
  const subscriptions = FILTERS.map((f) => bus.subscribe({ filter: compileFilter(f) }));
  const readers = subscriptions.map(async (sub) => {
    for await (const entry of sub) {
      delivered++;
      if (isGap(entry)) continue;
      const at = publishedAt.get(entry.id);
      if (at !== undefined) latencies.push(Number(process.hrtime.bigint() - at) / 1e6);
    }
  });
  // Build the events first so that the timing covers the bus, not the fixtures.
  const events = Array.from({ length: total }, (_, i) => eventOf(i, runners));
  const CHUNK = 1000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < total; i += CHUNK) {
    const end = Math.min(total, i + CHUNK);
    for (let j = i; j < end; j++) {
      const { event, symbol } = events[j]!;
      if (j % 97 === 0) publishedAt.set(bus.lastId + 1, process.hrtime.bigint());
      bus.publish(event, symbol);
    }
    // Let the readers run, as the engine's feeds do between ticks.
    await new Promise((r) => setImmediate(r));
  }
  bus.close();
  await Promise.all(readers);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN) * 1000) / 1000;
  return {
    eventsPerSec: Math.round(delivered / seconds),
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    published: total,
    delivered,
    dropped: subscriptions.reduce((a, s) => a + s.dropped, 0),
    subscribers: subscriptions.length,
  };
}
