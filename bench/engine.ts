/**
 * The engine alone at its default capacity: 100 simulated runners at 100 ticks/s each
 * (10,000 ticks/s offered), no subscriber, in this process (TradingEngine + EventBus, no
 * server). What it shows is whether the runners' pacing keeps the offered rate and what
 * that costs the event loop. `npx tsx bench/engine.ts [seconds]` prints it.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { EventBus } from '../src/bus/bus.js';
import { TradingEngine } from '../src/engine/engine.js';

/** What {@link benchEngine} measured. */
export interface EngineResult {
  /** Where it ran: in this process, engine and bus only. */
  readonly setup: 'in-process TradingEngine + EventBus';
  readonly runners: number;
  readonly offeredPerSec: number;
  /** TickReceived events published per second (the bus's counters) over the window. */
  readonly publishedPerSec: number;
  /** Every event published per second (ticks, state transitions, stats, trades). */
  readonly allEventsPerSec: number;
  /** 99th percentile of the event loop's delay over the window, in ms (beyond the monitor's own interval). */
  readonly loopLagP99Ms: number;
  readonly loopLagMaxMs: number;
  /** From the first addRunner until every runner has published a tick, in ms. */
  readonly readyMs: number;
  /** The addRunner calls alone, in ms. */
  readonly addRunnersMs: number;
  readonly seconds: number;
}

const RUNNERS = 100;
const RATE = 100;
/** Fine enough for a p99 in ms, coarse enough not to be load itself. */
const RESOLUTION_MS = 5;

const ticksOf = (bus: EventBus) => bus.stats().publishedByType.get('TickReceived') ?? 0;
const allOf = (bus: EventBus) => [...bus.stats().publishedByType.values()].reduce((a, b) => a + b, 0);

/**
 * Starts 100 runners × 100 ticks/s, waits until each has ticked, warms up for `warmUpMs`
 * (not counted: the first ticks run unoptimised code), then counts what the bus published
 * over `seconds` while sampling event-loop delay.
 */
export async function benchEngine(seconds = 3, warmUpMs = 1000): Promise<EngineResult> {
  const bus = new EventBus();
  const ticked = new Set<string>();
  // A bus subscriber would be a subscriber: count first ticks with a sink in front instead.
  const sink = {
    publish: (event: Parameters<EventBus['publish']>[0], symbol: string) => {
      if (event.type === 'TickReceived' && ticked.size < RUNNERS) ticked.add(event.runnerId);
      return bus.publish(event, symbol);
    },
  };
  const engine = new TradingEngine(sink);
  try {
    const t0 = performance.now();
    for (let i = 0; i < RUNNERS; i++) {
      engine.addRunner({ id: `r${i}`, symbol: `SYM${i}`, feed: { kind: 'simulated', ticksPerSecond: RATE } });
    }
    const addRunnersMs = performance.now() - t0;
    while (ticked.size < RUNNERS) {
      if (performance.now() - t0 > 10_000) throw new Error(`only ${ticked.size} of ${RUNNERS} runners ticked`);
      await new Promise((r) => setTimeout(r, 1));
    }
    const readyMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, warmUpMs));
    const lag = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    const ticks0 = ticksOf(bus);
    const all0 = allOf(bus);
    const w0 = performance.now();
    lag.enable();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    lag.disable();
    const elapsed = (performance.now() - w0) / 1000;
    // The histogram holds the whole time between the monitor's timer callbacks, the
    // resolution included (an idle process reads about 5 ms): the lag is what is over it.
    const ms = (ns: number) => Math.max(0, Math.round(ns / 1e4 - RESOLUTION_MS * 100) / 100);
    return {
      setup: 'in-process TradingEngine + EventBus',
      runners: RUNNERS,
      offeredPerSec: RUNNERS * RATE,
      publishedPerSec: Math.round((ticksOf(bus) - ticks0) / elapsed),
      allEventsPerSec: Math.round((allOf(bus) - all0) / elapsed),
      loopLagP99Ms: ms(lag.percentile(99)),
      loopLagMaxMs: ms(lag.max),
      readyMs: Math.round(readyMs),
      addRunnersMs: Math.round(addRunnersMs * 10) / 10,
      seconds,
    };
  } finally {
    await engine.stopAll('bench over');
    bus.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await benchEngine(Number(process.argv[2] ?? 3))));
}
