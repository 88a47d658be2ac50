import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { take } from '../support/iterate.js';
import { EventBus } from '../../src/log/bus.js';
import { isGap, type LogEntry, type StreamGap, type StreamItem } from '../../src/log/types.js';
import { createEventsClient } from '../../src/client/index.js';
import { TradingEngine } from '../../src/engine/engine.js';
import type { RunnerEvent } from '../../src/events/types.js';
import { DEFAULT_STORE_TYPES } from '../../src/app/config.js';
import { startPersistence } from '../../src/app/persistence.js';
import { startServer, type TickwireServer } from '../../src/app/server.js';
import { Redis } from 'ioredis';
import { epochKeyOf } from '../../src/log/redis.js';
import { privateStream, REDIS_URL, redisAvailable } from '../support/redis.js';
import { tcpProxy } from '../support/proxy.js';
import { publishScript, until } from './harness.js';
import { post, TRANSPORTS, watch } from './transports.js';

const tick = (n: number): RunnerEvent => ({
  type: 'TickReceived',
  runnerId: 'e',
  symbol: 'E',
  data: { symbol: 'E', timestamp: n, open: 1, high: 1, low: 1, close: n, volume: 1, bid: 1, ask: 1 },
});


describe('the bus resumes only within its epoch', () => {
  it('resumes after an id of its own epoch, and starts with a reset notice, then live, for another', async () => {
    const bus = new EventBus({ epoch: 'one' });
    for (let i = 0; i < 10; i++) bus.publish(tick(i), 'E');
    const same = bus.subscribe({ after: 5, epoch: 'one' });
    const other = bus.subscribe({ after: 5, epoch: 'zero' });
    const unknown = bus.subscribe({ after: 5 });
    bus.publish(tick(10), 'E');
    expect((await take(same, 6)).map((i) => (i as LogEntry).id)).toEqual([6, 7, 8, 9, 10, 11]);
    expect((await take(unknown, 6)).map((i) => (i as LogEntry).id)).toEqual([6, 7, 8, 9, 10, 11]);
    bus.close();
    const reset = await take(other, 100);
    expect(isGap(reset[0]!)).toBe(true);
    expect(reset[0]).toMatchObject({ missed: 0, fromId: null, toId: null, epoch: 'one', counts: 'log' });
    expect((reset[0] as StreamGap).reason).toMatch(/the event log was reset: id 5 was read in log epoch zero, which is gone; this is epoch one/);
    // Live only: none of the ids after 5 of this log, which are not what the client read after 5.
    expect(reset.slice(1).map((i) => (i as LogEntry).id)).toEqual([11]);
  });
  it('restarts in a new epoch: the old one is dropped, every subscriber is told before the new ids, and resumes answer in the new one', async () => {
    const bus = new EventBus({ epoch: 'one' });
    for (let i = 0; i < 10; i++) bus.publish(tick(i), 'E');
    const live = bus.subscribe();
    // Still reading the old epoch's history when the log restarts: it reads it out first.
    const reading = bus.subscribe({ after: 7, epoch: 'one' });
    bus.restartEpoch('two', 2);
    expect({ epoch: bus.epoch, lastId: bus.lastId }).toEqual({ epoch: 'two', lastId: 2 });
    expect(bus.recent(undefined, 100)).toEqual([]);
    expect(bus.latestEntries()).toEqual([]);
    expect(bus.publish(tick(100), 'E').id).toBe(3);
    const show = (items: StreamItem[]) => items.map((i) => (isGap(i) ? `gap ${i.epoch ?? ''}` : i.id));
    expect(show(await take(live, 2))).toEqual(['gap two', 3]);
    expect(show(await take(reading, 5))).toEqual([8, 9, 10, 'gap two', 3]);
    // In the new epoch a resume replays its own ids; one from the old epoch is told of the reset.
    bus.publish(tick(101), 'E');
    expect(show(await take(bus.subscribe({ after: 3, epoch: 'two' }), 1))).toEqual([4]);
    expect(show(await take(bus.subscribe({ after: 9, epoch: 'one' }), 1))).toEqual(['gap two']);
    bus.close();
  });
});

describe('where the epoch comes from', () => {
  it('is the store\'s: the same after a restart on the same store, another on a new one', async () => {
    const config = (dataDir: string) => ({ databaseUrl: undefined, dataDir, types: DEFAULT_STORE_TYPES, buffer: 1000 });
    const dir = mkdtempSync(join(tmpdir(), 'tickwire-epoch-'));
    const first = await startPersistence(config(dir), () => undefined);
    const epoch = first.bus.epoch;
    await first.close();
    const again = await startPersistence(config(dir), () => undefined);
    expect(again.bus.epoch).toBe(epoch);
    await again.close();
    const fresh = await startPersistence(config(mkdtempSync(join(tmpdir(), 'tickwire-epoch-'))), () => undefined);
    expect(fresh.bus.epoch).not.toBe(epoch);
    await fresh.close();
  }, 90_000);

  it.runIf(redisAvailable)("is the shared log's with Redis: every instance serves the same one", async () => {
    const { key, drop } = privateStream();
    const open = () => startPersistence({ databaseUrl: undefined, dataDir: 'memory://', types: [], buffer: 1000 }, () => undefined, { url: REDIS_URL, stream: key, maxLen: 10_000 }, 'reader');
    const a = await open();
    const b = await open();
    const redis = new Redis(REDIS_URL);
    try {
      const shared = async (stream: string) => (await redis.get(epochKeyOf(stream))) ?? '';
      await until(() => a.bus.epoch === b.bus.epoch, 'both instances to read the epoch', 10_000);
      expect(a.bus.epoch).toBe(await shared(key));
      // Another stream is another log, with an epoch of its own.
      const other = privateStream();
      const c = await startPersistence({ databaseUrl: undefined, dataDir: 'memory://', types: [], buffer: 1000 }, () => undefined, { url: REDIS_URL, stream: other.key, maxLen: 10_000 }, 'reader');
      let otherEpoch = '';
      const end = Date.now() + 10_000;
      while ((otherEpoch = await shared(other.key)) === '' || c.bus.epoch !== otherEpoch) {
        if (Date.now() > end) throw new Error('the third instance never read its epoch');
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(otherEpoch).not.toBe(a.bus.epoch);
      await c.close();
      await other.drop();
    } finally {
      redis.disconnect();
      await a.close();
      await b.close();
      await drop();
    }
  });
});

describe('over GraphQL', () => {
  let server: TickwireServer;
  const bus = new EventBus({ epoch: 'current' });
  beforeAll(async () => {
    server = await startServer({ engine: new TradingEngine(bus), bus, port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await server.close();
    bus.close();
  });

  it('Query.log tells the epoch and the ids held', async () => {
    publishScript(bus);
    const { data } = await post(server, '{ log { epoch lastId oldestId } }');
    expect(data).toEqual({ log: { epoch: 'current', lastId: String(bus.lastId), oldestId: '1' } });
  });

  it.each(TRANSPORTS)('over %s, a resume from another epoch starts with a reset StreamGap, then live', async (transport) => {
    publishScript(bus);
    const w = watch(transport, server, 'subscription { events(after: "3", epoch: "gone") { __typename ... on StreamGap { missed epoch reason } ... on Event { id } } }');
    try {
      await until(() => bus.subscriberCount === 1, 'the subscriber');
      const live = publishScript(bus);
      const got = await w.take(1 + live.length);
      expect((got[0]?.data as { events: unknown }).events).toMatchObject({ __typename: 'StreamGap', missed: 0, epoch: 'current', reason: expect.stringMatching(/the event log was reset/) });
      expect(got.slice(1).map((r) => Number((r.data as { events: { id: string } }).events.id))).toEqual(live);
    } finally {
      await w.close();
    }
    await until(() => bus.subscriberCount === 0, 'the subscriber to go');
  });

  it('refuses an epoch without after, and one too long', async () => {
    for (const [args, message] of [
      ['epoch: "x"', 'epoch goes with after'],
      [`after: "1", epoch: "${'x'.repeat(65)}"`, 'epoch must be 1..64 characters, got 65'],
    ] as const) {
      const w = watch('graphql-ws', server, `subscription { events(${args}) { __typename } }`);
      await w.settled();
      expect(JSON.stringify(w.errors)).toContain(message);
      await w.close();
    }
  });
});

describe('the typed client', () => {
  it('sends the epoch when it resumes, and is told when the server it reaches has another log', async () => {
    const busA = new EventBus({ epoch: 'a' });
    const busB = new EventBus({ epoch: 'b' });
    const serverA = await startServer({ engine: new TradingEngine(busA), bus: busA, port: 0, host: '127.0.0.1' });
    const serverB = await startServer({ engine: new TradingEngine(busB), bus: busB, port: 0, host: '127.0.0.1' });
    const proxy = await tcpProxy(serverA.port);
    const client = createEventsClient({ url: `ws://127.0.0.1:${proxy.port}/graphql` });
    let n = 0;
    const timer = setInterval(() => {
      for (const b of [busA, busB]) b.publish(tick(n++), 'E');
    }, 5);
    try {
      // busA gets the even closes, busB the odd ones: each event says which log it came from.
      const seen: string[] = [];
      let received = 0;
      for await (const event of client.events({ runnerIds: ['e'] })) {
        if (event.__typename === 'StreamGap') {
          seen.push(`gap ${event.epoch}`);
        } else if (event.__typename === 'TickReceived') {
          seen.push(event.data.close % 2 === 0 ? 'a' : 'b');
          if (++received === 20) {
            // The server is replaced by one with another log (a new store): ids go on in both.
            proxy.retarget(serverB.port);
            proxy.cut();
          }
        }
        if (seen.filter((s) => s === 'b').length >= 10) break;
      }
      const gap = seen.indexOf('gap b');
      // Every event of log a, then the notice (with b's epoch, for the next resume), then b's.
      expect(gap, seen.join(',')).toBeGreaterThanOrEqual(20);
      expect(seen.slice(0, gap).every((s) => s === 'a')).toBe(true);
      expect(seen.slice(gap + 1).every((s) => s === 'b')).toBe(true);
    } finally {
      clearInterval(timer);
      await client.close();
      await proxy.close();
      await serverA.close();
      await serverB.close();
      busA.close();
      busB.close();
    }
  }, 30_000);

  it('resumes after the ids of a log recreated under its stream, which restarted below those seen', async () => {
    const bus = new EventBus({ epoch: 'a' });
    const server = await startServer({ engine: new TradingEngine(bus), bus, port: 0, host: '127.0.0.1' });
    const proxy = await tcpProxy(server.port);
    const client = createEventsClient({ url: `ws://127.0.0.1:${proxy.port}/graphql` });
    try {
      const seen: string[] = [];
      const events = client.events({ runnerIds: ['e'] });
      await until(() => bus.subscriberCount === 1, 'the subscriber');
      for (let n = 0; n < 20; n++) bus.publish(tick(n), 'E');
      for await (const event of events) {
        seen.push(event.__typename === 'StreamGap' ? `gap ${event.epoch ?? ''}` : 'id' in event ? event.id : '?');
        if (seen.length === 20) {
          // What a reader of a flushed Redis does: the new log's ids start at 1 again.
          bus.restartEpoch('b', 0);
          for (let n = 0; n < 5; n++) bus.publish(tick(n), 'E');
        }
        if (seen.length === 26) {
          // The connection drops; the client resumes after id 5 of epoch b, not after 20.
          proxy.cut();
          for (let n = 5; n < 10; n++) bus.publish(tick(n), 'E');
        }
        // A second notice (the resume point ahead of the log) is the failure this is about.
        if (seen.length >= 31 || seen.slice(26).some((s) => s.startsWith('gap'))) break;
      }
      const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
      expect(seen).toEqual([...ids(1, 20), 'gap b', ...ids(1, 10)]);
    } finally {
      await client.close();
      await proxy.close();
      await server.close();
      bus.close();
    }
  }, 30_000);
});
