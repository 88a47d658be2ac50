import { EventBus } from '../../src/log/bus.js';
import { TradingEngine } from '../../src/engine/engine.js';
import type { RunnerEvent } from '../../src/events/types.js';
import { startServer, type ServerOptions, type TickwireServer } from '../../src/app/server.js';

/** A server on a random port with an engine that has no runners until a test adds some. */
export interface TestServer {
  readonly server: TickwireServer;
  readonly bus: EventBus;
  readonly engine: TradingEngine;
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1 and a free port; `options` adds server options (e.g. replayDir). */
export async function startTestServer(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const bus = new EventBus();
  const engine = new TradingEngine(bus);
  const server = await startServer({ engine, bus, port: 0, host: '127.0.0.1', ...options });
  return {
    server,
    bus,
    engine,
    close: async () => {
      await engine.stopAll('test over');
      await server.close();
      bus.close();
    },
  };
}

/** Polls until `cond` holds; fails with `what` after `timeoutMs`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const T0 = 1_700_000_000_000;

/**
 * A scripted set of events of three runners: r1 and r3 trade AAA, r2 trades BBB.
 * Index i + 1 is the event's id when published first into a fresh bus.
 */
export const SCRIPT: readonly { readonly event: RunnerEvent; readonly symbol: string }[] = [
  { symbol: 'AAA', event: { type: 'RunnerStarted', runnerId: 'r1', symbol: 'AAA', timestamp: T0 + 1 } },
  {
    symbol: 'AAA',
    event: {
      type: 'TickReceived',
      runnerId: 'r1',
      symbol: 'AAA',
      data: { symbol: 'AAA', timestamp: T0 + 2, open: 10, high: 11, low: 9, close: 10.5, volume: 3, bid: 10.4, ask: 10.6 },
    },
  },
  { symbol: 'BBB', event: { type: 'Error', runnerId: 'r2', error: 'slow feed', severity: 'Warning', timestamp: T0 + 3 } },
  { symbol: 'AAA', event: { type: 'Error', runnerId: 'r1', error: 'strategy exploded', severity: 'Critical', timestamp: T0 + 4 } },
  {
    symbol: 'BBB',
    event: {
      type: 'TickReceived',
      runnerId: 'r2',
      symbol: 'BBB',
      data: { symbol: 'BBB', timestamp: T0 + 5, open: 20, high: 21, low: 19, close: 20.5, volume: 1, bid: 20.4, ask: 20.6 },
    },
  },
  { symbol: 'AAA', event: { type: 'StateTransition', runnerId: 'r3', from: 'Idle', to: 'Analyzing', reason: 'runner started', timestamp: T0 + 6 } },
  { symbol: 'AAA', event: { type: 'Error', runnerId: 'r3', error: 'bad tick', severity: 'Error', timestamp: T0 + 7 } },
  { symbol: 'BBB', event: { type: 'PositionClosed', runnerId: 'r2', exitPrice: 20.4, realizedPnl: -0.2, reason: 'exit', timestamp: T0 + 8 } },
  {
    symbol: 'AAA',
    event: {
      type: 'StatsUpdate',
      runnerId: 'r1',
      ticksProcessed: 1,
      actionsExecuted: 0,
      errorRate: 0.5,
      realizedPnl: 0,
      lastPrice: 10.5,
      ticksPerSecond: 1,
      openPosition: null,
      timestamp: T0 + 9,
    },
  },
  { symbol: 'AAA', event: { type: 'RunnerStopped', runnerId: 'r3', reason: 'done', timestamp: T0 + 10 } },
];

/** Publishes the script into the bus; returns the ids it got, in order. */
export function publishScript(bus: EventBus): number[] {
  return SCRIPT.map(({ event, symbol }) => bus.publish(event, symbol).id);
}
