/**
 * Stream options measured over real sockets against an in-process server:
 * - throttled: one runner at 1,000 ticks/s, watched with throttleMs 100 and without;
 * - batched: one subscriber of a fast stream, with eventBatches and with single events.
 */
import WebSocket from 'ws';
import { EventBus } from '../src/log/bus.js';
import { TradingEngine } from '../src/engine/engine.js';
import type { RunnerEvent } from '../src/events/types.js';
import { startServer } from '../src/app/server.js';

/** Bytes and messages a client received per second. */
export interface Traffic {
  readonly bytesPerSec: number;
  readonly messagesPerSec: number;
}

const tickOf = (runnerId: string, n: number): RunnerEvent => ({
  type: 'TickReceived',
  runnerId,
  symbol: 'SYM',
  data: { symbol: 'SYM', timestamp: 1_700_000_000_000 + n, open: 100, high: 101, low: 99, close: 100 + (n % 7), volume: 1, bid: 99.9, ask: 100.1 },
});

/** A graphql-transport-ws client that counts what it receives. */
async function counter(url: string, query: string): Promise<{ bytes: number; messages: number; events: number; close(): void }> {
  const socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
  const state = { bytes: 0, messages: 0, events: 0, close: () => socket.close() };
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
    socket.on('message', (data: Buffer) => {
      if (state.messages === 0 && data.includes('connection_ack')) {
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
        resolve();
        return;
      }
      state.bytes += data.length;
      state.messages++;
      // Events in a batch are counted by their ids; a single event has one.
      let at = data.indexOf('"id":"', 20);
      while (at >= 0) {
        state.events++;
        at = data.indexOf('"id":"', at + 6);
      }
    });
  });
  return state;
}

/** Publishes `perSecond` ticks of `runners` runners for `seconds`, paced by a 1 ms timer. */
async function publish(bus: EventBus, perSecond: number, seconds: number, runners = 1): Promise<number> {
  const start = performance.now();
  let sent = 0;
  const total = perSecond * seconds;
  await new Promise<void>((resolve) => {
    const step = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * perSecond));
      for (; sent < due; sent++) bus.publish(tickOf(`r${sent % runners}`, sent), 'SYM');
      if (sent < total) setTimeout(step, 1);
      else resolve();
    };
    step();
  });
  return sent;
}

async function withServer<T>(run: (bus: EventBus, url: string) => Promise<T>): Promise<T> {
  const bus = new EventBus();
  const server = await startServer({ engine: new TradingEngine(bus), bus, port: 0, host: '127.0.0.1' });
  try {
    return await run(bus, server.urls.ws);
  } finally {
    await server.close();
    bus.close();
  }
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SELECTION = '... on Event { id } ... on TickReceived { data { close bid ask } }';

/** throttleMs 100 against no throttle, one runner at 1,000 ticks/s. */
export async function benchThrottled(seconds = 3): Promise<{ throttled: Traffic; unthrottled: Traffic; bytesRatio: number }> {
  return withServer(async (bus, url) => {
    const plain = await counter(url, `subscription { events(runnerIds: ["r0"]) { ${SELECTION} } }`);
    const slow = await counter(url, `subscription { events(runnerIds: ["r0"], throttleMs: 100) { ${SELECTION} } }`);
    await settle(200);
    await publish(bus, 1000, seconds);
    await settle(300);
    plain.close();
    slow.close();
    const traffic = (c: { bytes: number; messages: number }): Traffic => ({
      bytesPerSec: Math.round(c.bytes / seconds),
      messagesPerSec: Math.round(c.messages / seconds),
    });
    return { throttled: traffic(slow), unthrottled: traffic(plain), bytesRatio: Math.round((slow.bytes / plain.bytes) * 10_000) / 10_000 };
  });
}

/** eventBatches against single events: one subscriber, 100 runners, `perSecond` ticks/s. */
export async function benchBatched(perSecond = 50_000, seconds = 3): Promise<{ batched: { eventsPerSec: number; messagesPerSec: number }; single: { eventsPerSec: number; messagesPerSec: number }; published: number }> {
  return withServer(async (bus, url) => {
    const run = async (query: string) => {
      const c = await counter(url, query);
      await settle(200);
      const published = await publish(bus, perSecond, seconds, 100);
      await settle(500);
      c.close();
      await settle(100);
      return { eventsPerSec: Math.round(c.events / seconds), messagesPerSec: Math.round(c.messages / seconds), published };
    };
    const single = await run(`subscription { events { ${SELECTION} } }`);
    const batched = await run(`subscription { eventBatches(intervalMs: 50, maxSize: 1000) { events { ${SELECTION} } } }`);
    return { batched: { eventsPerSec: batched.eventsPerSec, messagesPerSec: batched.messagesPerSec }, single: { eventsPerSec: single.eventsPerSec, messagesPerSec: single.messagesPerSec }, published: single.published };
  });
}
