/**
 * The server side of `bench/overload.ts`: a tickwire server in its own process, fed by
 * one runner publishing TickReceived at a fixed rate, each stamped with the wall clock at
 * publish (the probe runs on the same machine, so receive time − timestamp is the age).
 * `OVERLOAD_ROOT` points at the checkout whose server runs (a baseline worktree, say);
 * default: this one.
 */
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RunnerEvent } from '../src/events/types.js';

const root = resolve(process.env['OVERLOAD_ROOT'] ?? fileURLToPath(new URL('..', import.meta.url)));
const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(resolve(root, path)).href)) as T;

const { EventBus } = await load<typeof import('../src/log/bus.js')>('src/log/bus.ts');
const { TradingEngine } = await load<typeof import('../src/engine/engine.js')>('src/engine/engine.ts');
const { startServer } = await load<typeof import('../src/app/server.js')>('src/app/server.ts');
const { DEFAULT_LIMITS } = await load<typeof import('../src/graphql/limits.js')>('src/graphql/limits.ts');
const { DEFAULT_MAX_EVENT_AGE_MS } = await load<typeof import('../src/log/bus.js')>('src/log/bus.ts');

const rate = Number(process.env['OVERLOAD_RATE'] ?? 1000);
const bus = new EventBus();
// Every subscriber comes from one address: lift the per-address quota of open mode.
const limits = { ...DEFAULT_LIMITS, maxSubscriptionsPerToken: 1_000_000 };
// OVERLOAD_MAX_AGE_MS: this checkout's MAX_EVENT_AGE_MS (a baseline ignores it).
const maxAge = process.env['OVERLOAD_MAX_AGE_MS'];
const server = await startServer({ engine: new TradingEngine(bus), bus, port: 0, host: '127.0.0.1', limits, ...(maxAge !== undefined ? { maxEventAgeMs: Number(maxAge) } : {}) });

let published = 0;
let shed = 0;
let running = false;
let start = 0;
// Publishes like the engine's hand-off (src/engine/thread/publish-queue.ts): at most 2 ms
// per callback, nothing while the bus still hands out an earlier event in later turns
// (`handingOut`; a checkout without it never says so), and ticks that waited more than a
// quarter of the age bound are shed but the latest. A loop that published the whole
// backlog in one callback held the loop for seconds once the server fell behind, which
// measured this feed rather than the server.
const SLICE_MS = 2;
const shedAfterMs = (maxAge !== undefined ? Number(maxAge) : DEFAULT_MAX_EVENT_AGE_MS) / 4;
const publishOne = (): void => {
  const now = Date.now();
  const price = 100 + (published % 1000) / 100;
  const event: RunnerEvent = {
    type: 'TickReceived',
    runnerId: 'r0',
    symbol: 'SYM0',
    data: { symbol: 'SYM0', timestamp: now, open: price, high: price, low: price, close: price, volume: 1, bid: price, ask: price },
  };
  bus.publish(event, 'SYM0');
  published++;
};
const step = (): void => {
  if (!running) return;
  const sliceStart = performance.now();
  const dueAt = (n: number): number => start + (n / rate) * 1000;
  while (published + shed < Math.floor(((performance.now() - start) / 1000) * rate)) {
    if ((bus as { handingOut?: boolean }).handingOut === true || performance.now() - sliceStart >= SLICE_MS) {
      setImmediate(step);
      return;
    }
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    // Shed what waited too long, but the latest due tick.
    if (shedAfterMs > 0 && performance.now() - dueAt(published + shed) > shedAfterMs && published + shed < due - 1) {
      shed = due - 1 - published;
    }
    publishOne();
  }
  setTimeout(step, 1);
};

process.on('message', (message: { cmd: 'start' | 'stop' | 'exit' }) => {
  if (message.cmd === 'start') {
    running = true;
    start = performance.now();
    published = 0;
    shed = 0;
    step();
  } else if (message.cmd === 'stop') {
    running = false;
    const stats = bus.stats();
    process.send?.({
      cmd: 'stopped',
      published,
      shed,
      dropped: stats.dropped,
      queued: stats.queued,
      expired: [...(stats as { expiredByType?: ReadonlyMap<string, number> }).expiredByType?.values() ?? []].reduce((a, b) => a + b, 0),
      cpu: process.cpuUsage(),
      rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
    });
  } else {
    process.exit(0);
  }
});
process.send?.({ cmd: 'ready', port: server.port });
