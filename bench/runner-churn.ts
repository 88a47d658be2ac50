/**
 * Runner turns alone: the server's engine (`createEngine`, as the server makes it) publishing
 * into an EventBus, with runners started and stopped as fast as they tick (each a new id,
 * `--parallel` at a time, each stopped once it has published a tick), and the process's
 * resident memory and main-thread heap read after a forced collection every `--every`
 * turns. What it tells is whether a runner turn leaves anything behind (issue 27: the soak's
 * RSS slope), in KB per turn after `--warmup` turns, on engine threads (`--threads 1`, the
 * server's default) or on this thread (`--threads 0`: then the main heap holds the runners).
 *
 *   node --expose-gc --import tsx bench/runner-churn.ts [--turns 12000] [--warmup 4000] [--every 2000] [--threads 1] [--parallel 4]
 *
 * Add `--max-semi-space-size=1` (a V8 flag: every isolate of the process, the engine
 * thread's too) to tell the young generations' growth from anything else: see
 * docs/performance.md ("Runner turns and the engine thread").
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { EventBus } from '../src/log/bus.js';
import type { EventSink } from '../src/engine/engine.js';
import { createEngine } from '../src/engine/thread/threaded.js';

/** Options of {@link benchRunnerChurn}. */
export interface RunnerChurnOptions {
  readonly turns?: number;
  /** Turns before the slope is measured: the young generations grow over the first few thousand. */
  readonly warmup?: number;
  readonly every?: number;
  readonly threads?: number;
  readonly parallel?: number;
}

/** One reading after a forced collection. */
export interface ChurnSample {
  readonly turns: number;
  readonly rssMb: number;
  readonly heapUsedMb: number;
  readonly heapTotalMb: number;
}

/** What {@link benchRunnerChurn} measured. */
export interface RunnerChurnResult {
  readonly threads: number;
  readonly samples: readonly ChurnSample[];
  /** Least-squares slope of RSS per runner turn after the warm-up, in KB. */
  readonly rssKbPerTurn: number;
  readonly heapUsedKbPerTurn: number;
  readonly seconds: number;
}

const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

/** Least-squares slope of y over x. */
function slope(points: readonly (readonly [number, number])[]): number {
  const mx = points.reduce((s, [x]) => s + x, 0) / points.length;
  const my = points.reduce((s, [, y]) => s + y, 0) / points.length;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx;
}

/** Collects garbage (when `--expose-gc` gave `gc`) and reads the process's memory. */
async function sample(turns: number): Promise<ChurnSample> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
  }
  const m = process.memoryUsage();
  return { turns, rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed), heapTotalMb: mb(m.heapTotal) };
}

/** Starts and stops runners `turns` times, sampling memory every `every` turns. */
export async function benchRunnerChurn(options: RunnerChurnOptions = {}): Promise<RunnerChurnResult> {
  const { turns = 12_000, warmup = 4000, every = 2000, threads = 1, parallel = 4 } = options;
  const bus = new EventBus({ historySize: 1000 });
  const ticked = new Map<string, () => void>();
  const sink: EventSink = {
    publish: (event, symbol) => {
      if (event.type === 'TickReceived') ticked.get(event.runnerId)?.();
      return bus.publish(event, symbol);
    },
  };
  const engine = createEngine(sink, { threads, maxRunners: 100, maxTotalTicksPerSecond: 100_000 });
  await engine.ready();
  const turn = async (n: number): Promise<void> => {
    const id = `churn_${n}`;
    const tick = new Promise<void>((resolve) => ticked.set(id, resolve));
    await engine.addRunner({ id, symbol: `S${n % 7}`, feed: { kind: 'simulated', ticksPerSecond: 200 }, statsIntervalMs: 100 });
    await tick;
    ticked.delete(id);
    await engine.stopRunner(id, 'churn');
  };
  const started = performance.now();
  const samples = [await sample(0)];
  let next = 0;
  for (let mark = every; mark <= turns; mark += every) {
    await Promise.all(Array.from({ length: parallel }, async () => { while (next < mark) await turn(next++); }));
    samples.push(await sample(mark));
  }
  await engine.close();
  bus.close();
  const after = samples.filter((s) => s.turns >= warmup);
  const perTurn = (of: (s: ChurnSample) => number) => Math.round(slope(after.map((s) => [s.turns, of(s) * 1024])) * 100) / 100;
  return { threads, samples, rssKbPerTurn: perTurn((s) => s.rssMb), heapUsedKbPerTurn: perTurn((s) => s.heapUsedMb), seconds: Math.round((performance.now() - started) / 1000) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const option = (name: string): number | undefined => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  const result = await benchRunnerChurn({ turns: option('turns'), warmup: option('warmup'), every: option('every'), threads: option('threads'), parallel: option('parallel') });
  for (const s of result.samples) console.log(`${s.turns} turns: rss ${s.rssMb} MB, main heap ${s.heapUsedMb} MB in use of ${s.heapTotalMb} MB`);
  console.log(`threads ${result.threads}: ${result.rssKbPerTurn} KB RSS and ${result.heapUsedKbPerTurn} KB main heap per runner turn after the warm-up (${result.seconds} s)`);
}
