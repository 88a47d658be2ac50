import type { RunnerConfigInput } from './config.js';

/** The runners `npm start` runs with no configuration (the README's Quick start). */
export const DEFAULT_RUNNERS: readonly RunnerConfigInput[] = [
  { id: 'btc_ema', symbol: 'BTCUSDT', strategy: 'ema_crossover', feed: { kind: 'simulated', ticksPerSecond: 100 } },
  { id: 'eth_ema', symbol: 'ETHUSDT', strategy: 'ema_crossover', feed: { kind: 'simulated', ticksPerSecond: 100 } },
  { id: 'sol_meanrev', symbol: 'SOLUSDT', strategy: 'mean_reversion', feed: { kind: 'simulated', ticksPerSecond: 100 } },
];
