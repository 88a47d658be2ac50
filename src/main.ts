import { EventBus } from './bus/bus.js';
import { DEFAULT_RUNNERS } from './engine/defaults.js';
import { TradingEngine } from './engine/engine.js';

/**
 * `npm start` for now: the engine with the default simulated runners, and a one-line
 * summary per second read from a bus subscriber (so the summary sees what clients see).
 */
const bus = new EventBus();
const engine = new TradingEngine(bus);
for (const config of DEFAULT_RUNNERS) engine.addRunner(config);

const counts = new Map<string, number>();
const subscription = bus.subscribe();
void (async () => {
  for await (const entry of subscription) {
    counts.set(entry.event.type, (counts.get(entry.event.type) ?? 0) + 1);
  }
})();

const timer = setInterval(() => {
  const runners = engine
    .listRunners()
    .map((r) => `${r.id} ${r.state} last=${r.stats.lastPrice?.toFixed(2) ?? '-'} pnl=${(r.stats.realizedPnl + r.unrealizedPnl).toFixed(2)}`)
    .join(' | ');
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  console.log(`${new Date().toISOString()} events/s=${total} ${runners}`);
  counts.clear();
}, 1000);

async function shutdown(signal: string): Promise<void> {
  clearInterval(timer);
  await engine.stopAll(`received ${signal}`);
  bus.close();
  process.exit(0);
}
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));
