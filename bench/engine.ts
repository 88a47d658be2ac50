/**
 * The engine alone: simulated runners (by default 100 at 100 ticks/s each, 10,000 ticks/s
 * offered), no subscriber, publishing into an EventBus in this process, with the runners
 * on this thread (`threads: 0`, TradingEngine) or on engine threads (ThreadedEngine).
 * What it shows is whether the runners keep the offered rate and what that costs the
 * main thread's event loop (the one that serves sockets in the server).
 *
 *   npx tsx bench/engine.ts [seconds] [--runners N] [--rate N] [--threads N] [--store none|default|all] [--history N]
 *   npx tsx bench/engine.ts [seconds] --matrix    # the issue-15 table, each case in its own process
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { EventBus } from '../src/log/bus.js';
import type { EventSink, LocalEngine } from '../src/engine/engine.js';
import { createEngine } from '../src/engine/thread/threaded.js';
import { DEFAULT_STORE_TYPES } from '../src/app/config.js';
import { startPersistence, type Persistence } from '../src/app/persistence.js';
import { EVENT_VARIANTS } from '../src/events/types.js';

/** Options of {@link benchEngine}; every one has the default of the original bench. */
export interface EngineBenchOptions {
  /** Runners (default 100). */
  readonly runners?: number;
  /** Ticks per second of each (default 100). */
  readonly rate?: number;
  /** Engine threads (ENGINE_THREADS); 0 runs the runners on this thread (default 0). */
  readonly threads?: number;
  /** What an event store (PGlite in a temporary folder) writes: nothing (default), the default types, or all. */
  readonly store?: 'none' | 'default' | 'all';
  /**
   * Entries the bus's history keeps (default the server's, 100,000; only with `store:
   * 'none'`): at 100,000 events/s the history holds each event for a second, so every one
   * outlives the young generation, and the collector's copying of them is much of the
   * main thread's cost (see docs/performance.md).
   */
  readonly historySize?: number;
}

/** What {@link benchEngine} measured. */
export interface EngineResult {
  /** Where it ran, in words. */
  readonly setup: string;
  readonly runners: number;
  readonly threads: number;
  readonly store: 'none' | 'default' | 'all';
  readonly offeredPerSec: number;
  /** TickReceived events published per second (the bus's counters) over the window. */
  readonly publishedPerSec: number;
  /** publishedPerSec / offeredPerSec. */
  readonly publishedShare: number;
  /** Every event published per second (ticks, state transitions, stats, trades). */
  readonly allEventsPerSec: number;
  /**
   * 99th percentile of the main thread's event-loop delay over the window, in ms (beyond the
   * monitor's own interval); the whole window when the loop never ran the monitor in it.
   */
  readonly loopLagP99Ms: number;
  readonly loopLagMaxMs: number;
  /** From the first addRunner until every runner has published a tick, in ms. */
  readonly readyMs: number;
  /** The addRunner calls alone (until each resolved), in ms. */
  readonly addRunnersMs: number;
  /**
   * Engine threads only: how long the oldest event of a batch waited between its runner
   * emitting it and its publication on the main thread, p50 / p99 / max over the window's
   * batches, in ms. Null with threads 0 (published as emitted).
   */
  readonly handOffWaitMs: { readonly p50: number; readonly p99: number; readonly max: number; readonly batches: number; readonly eventsPerBatch: number } | null;
  /** Main-thread CPU over the window, in % of one core (user + system of the whole process with threads 0). */
  readonly processCpuPercent: number;
  readonly seconds: number;
}

/** Fine enough for a p99 in ms, coarse enough not to be load itself. */
const RESOLUTION_MS = 5;

const ticksOf = (bus: EventBus) => bus.stats().publishedByType.get('TickReceived') ?? 0;
const allOf = (bus: EventBus) => [...bus.stats().publishedByType.values()].reduce((a, b) => a + b, 0);
const round2 = (x: number) => Math.round(x * 100) / 100;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Starts the runners, waits until each has ticked, warms up for `warmUpMs` (not counted:
 * the first ticks run unoptimised code), then counts what the bus published over
 * `seconds` while sampling the main thread's event-loop delay.
 */
export async function benchEngine(seconds = 3, warmUpMs = 1000, options: EngineBenchOptions = {}): Promise<EngineResult> {
  const runners = options.runners ?? 100;
  const rate = options.rate ?? 100;
  const threads = options.threads ?? 0;
  const storeTypes = options.store ?? 'none';
  let persistence: Persistence | null = null;
  let dataDir: string | null = null;
  let bus: EventBus;
  if (storeTypes === 'none') {
    bus = new EventBus(options.historySize === undefined ? {} : { historySize: options.historySize });
  } else {
    dataDir = mkdtempSync(join(tmpdir(), 'tickwire-bench-engine-'));
    persistence = await startPersistence(
      { databaseUrl: undefined, dataDir, types: storeTypes === 'all' ? EVENT_VARIANTS : DEFAULT_STORE_TYPES, buffer: 100_000 },
      () => undefined,
    );
    bus = persistence.bus;
  }
  const ticked = new Set<string>();
  // A bus subscriber would be a subscriber: count first ticks with a sink in front instead.
  const sink: EventSink = {
    publish: (event, symbol) => {
      if (event.type === 'TickReceived' && ticked.size < runners) ticked.add(event.runnerId);
      return bus.publish(event, symbol);
    },
  };
  let waits: number[] = [];
  let batchEvents = 0;
  let measuring = false;
  const engine: LocalEngine = createEngine(sink, {
    threads,
    maxRunners: Math.max(runners, 100),
    maxTotalTicksPerSecond: Math.max(runners * rate, 20_000),
    onBatch: (events, wait) => {
      if (!measuring) return;
      waits.push(wait);
      batchEvents += events;
    },
  });
  try {
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: runners }, async (_, i) => engine.addRunner({ id: `r${i}`, symbol: `SYM${i}`, feed: { kind: 'simulated', ticksPerSecond: rate } })),
    );
    const addRunnersMs = performance.now() - t0;
    while (ticked.size < runners) {
      if (performance.now() - t0 > 300_000) throw new Error(`only ${ticked.size} of ${runners} runners ticked`);
      await new Promise((r) => setTimeout(r, 1));
    }
    const readyMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, warmUpMs));
    const lag = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    const ticks0 = ticksOf(bus);
    const all0 = allOf(bus);
    waits = [];
    batchEvents = 0;
    measuring = true;
    const cpu0 = threads === 0 ? process.cpuUsage() : null;
    const elu0 = performance.eventLoopUtilization();
    const w0 = performance.now();
    lag.enable();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    lag.disable();
    measuring = false;
    const elapsed = (performance.now() - w0) / 1000;
    const elu = performance.eventLoopUtilization(elu0);
    const cpu = cpu0 === null ? null : process.cpuUsage(cpu0);
    // The histogram holds the whole time between the monitor's timer callbacks, the
    // resolution included (an idle process reads about 5 ms): the lag is what is over it.
    const ms = (ns: number) => Math.max(0, Math.round(ns / 1e4 - RESOLUTION_MS * 100) / 100);
    const published = Math.round((ticksOf(bus) - ticks0) / elapsed);
    waits.sort((a, b) => a - b);
    return {
      setup: threads === 0 ? 'in-process TradingEngine + EventBus' : `ThreadedEngine (${threads} engine thread${threads === 1 ? '' : 's'}) + EventBus`,
      runners,
      threads,
      store: storeTypes,
      offeredPerSec: runners * rate,
      publishedPerSec: published,
      publishedShare: round2(published / (runners * rate)),
      allEventsPerSec: Math.round((allOf(bus) - all0) / elapsed),
      // No sample at all: the loop never got to the monitor's timer, it was blocked throughout.
      loopLagP99Ms: lag.count === 0 ? Math.round(elapsed * 1000) : ms(lag.percentile(99)),
      loopLagMaxMs: lag.count === 0 ? Math.round(elapsed * 1000) : ms(lag.max),
      readyMs: Math.round(readyMs),
      addRunnersMs: Math.round(addRunnersMs * 10) / 10,
      handOffWaitMs:
        threads === 0
          ? null
          : {
              p50: round2(percentile(waits, 50)),
              p99: round2(percentile(waits, 99)),
              max: round2(waits.at(-1) ?? 0),
              batches: waits.length,
              eventsPerBatch: waits.length === 0 ? 0 : Math.round(batchEvents / waits.length),
            },
      // With threads the process's CPU includes them: the main thread's share is its event-loop utilization.
      processCpuPercent: cpu === null ? Math.round(elu.utilization * 100) : Math.round(((cpu.user + cpu.system) / 1e6 / elapsed) * 100),
      seconds,
    };
  } finally {
    await engine.close();
    if (persistence !== null) {
      persistence.bus.close();
      await persistence.close();
    } else {
      bus.close();
    }
    if (dataDir !== null) rmSync(dataDir, { recursive: true, force: true });
  }
}

function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const seconds = Number(args[0] !== undefined && !args[0].startsWith('--') ? args[0] : 3);
  if (args.includes('--matrix')) {
    // Each case in a process of its own: no JIT, heap or thread left over from the last.
    const cases: EngineBenchOptions[] = [];
    for (const store of ['none', 'default'] as const) {
      for (const runners of [100, 1000]) for (const threads of [0, 1, 2]) cases.push({ runners, rate: 100, threads, store });
    }
    for (const c of cases) {
      const out = spawnSync(
        process.execPath,
        [...process.execArgv, fileURLToPath(import.meta.url), String(seconds), '--runners', String(c.runners), '--rate', String(c.rate), '--threads', String(c.threads), '--store', c.store!],
        { encoding: 'utf8', timeout: 900_000 },
      );
      const line = out.stdout.trim().split('\n').at(-1) ?? '';
      console.log(line === '' ? JSON.stringify({ ...c, failed: out.stderr.slice(-500) }) : line);
    }
  } else {
    const store = (flag(args, '--store') ?? 'none') as EngineBenchOptions['store'];
    const result = await benchEngine(seconds, 1000, {
      runners: Number(flag(args, '--runners') ?? 100),
      rate: Number(flag(args, '--rate') ?? 100),
      threads: Number(flag(args, '--threads') ?? 0),
      store,
      ...(flag(args, '--history') === undefined ? {} : { historySize: Number(flag(args, '--history')) }),
    });
    console.log(JSON.stringify(result));
  }
}
