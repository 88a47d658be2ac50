import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/log/bus.js';
import { entryEvents, RedisAppender, RedisReader } from '../../src/log/redis.js';
import { isGap, type StreamItem } from '../../src/log/types.js';
import { toWire } from '../../src/events/codec.js';
import type { RunnerEvent } from '../../src/events/types.js';
import { privateStream, REDIS_URL, redisAvailable } from '../support/redis.js';
import { tcpProxy } from '../support/proxy.js';


const transition = (n: number): RunnerEvent => ({
  type: 'StateTransition', runnerId: `r${n % 3}`, from: 'Analyzing', to: 'Entering', reason: `n${n}`, timestamp: 1_700_000_000_000 + n,
});

async function until(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Collects what a subscription yields, as ids and `gap` markers. */
function collect(bus: EventBus, after?: number): { items: (number | string)[]; stop(): void } {
  const sub = bus.subscribe(after === undefined ? {} : { after });
  const items: (number | string)[] = [];
  void (async () => {
    for await (const item of sub as AsyncIterable<StreamItem>) items.push(isGap(item) ? `gap:${item.missed}` : item.id);
  })();
  return { items, stop: () => sub.close() };
}

const cleanups: (() => Promise<unknown> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function streamKey(): string {
  const { key, drop } = privateStream();
  cleanups.push(drop);
  return key;
}

describe.runIf(redisAvailable)('the shared log in a Redis Stream', () => {
  it('gives two API instances the same events with the same ids; a client resumes on the other', async () => {
    const stream = streamKey();
    const log = () => undefined;
    const engine = new RedisAppender({ url: REDIS_URL, stream, log });
    const busA = new EventBus();
    const busB = new EventBus();
    const readerA = new RedisReader(busA, { url: REDIS_URL, stream, log });
    const readerB = new RedisReader(busB, { url: REDIS_URL, stream, log });
    cleanups.push(() => engine.close(), () => readerA.close(), () => readerB.close());
    const onA = collect(busA);
    const onB = collect(busB);
    for (let n = 0; n < 3000; n++) engine.publish(transition(n), 'X');
    await until(() => onA.items.length === 3000 && onB.items.length === 3000, 'both instances');
    expect(onA.items).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
    expect(onB.items).toEqual(onA.items);
    // A client that read up to id 1234 on A resumes on B: no gap, no duplicate.
    const resumed = collect(busB, 1234);
    for (let n = 3000; n < 3100; n++) engine.publish(transition(n), 'X');
    await until(() => resumed.items.length === 3100 - 1234, 'the resumed client');
    expect(resumed.items).toEqual(Array.from({ length: 3100 - 1234 }, (_, i) => 1235 + i));
    onA.stop();
    onB.stop();
    resumed.stop();
  }, 60_000);

  it('survives Redis going away: the engine buffers, the reader resumes, nothing is lost', async () => {
    const stream = streamKey();
    const { hostname, port } = new URL(REDIS_URL);
    const toEngine = await tcpProxy(Number(port || 6379), hostname);
    const toReader = await tcpProxy(Number(port || 6379), hostname);
    cleanups.push(() => toEngine.close(), () => toReader.close());
    const lines: string[] = [];
    const log = (line: string) => lines.push(line);
    const engine = new RedisAppender({ url: `redis://127.0.0.1:${toEngine.port}`, stream, log });
    const bus = new EventBus();
    const reader = new RedisReader(bus, { url: `redis://127.0.0.1:${toReader.port}`, stream, log });
    cleanups.push(() => engine.close(1000), () => reader.close());
    const got = collect(bus);
    for (let n = 0; n < 500; n++) engine.publish(transition(n), 'X');
    await until(() => got.items.length === 500, 'events before the cut');

    toEngine.cut(true);
    toReader.cut(true);
    for (let n = 500; n < 1500; n++) engine.publish(transition(n), 'X');
    await until(() => !engine.stats.healthy && !reader.isHealthy, 'both sides to notice');
    expect(engine.stats.backlog).toBeGreaterThan(0);

    toEngine.restore();
    toReader.restore();
    await until(() => got.items.length === 1500 && engine.stats.appended === 1500, 'everything after the restore', 30_000);
    // Nothing arrives twice, even when a reply was lost in the cut and the batch was retried.
    await new Promise((r) => setTimeout(r, 300));
    expect(got.items).toEqual(Array.from({ length: 1500 }, (_, i) => i + 1));
    expect(engine.stats).toMatchObject({ appended: 1500, lost: 0, healthy: true });
    expect(lines.some((l) => /Redis append failed/.test(l))).toBe(true);
    expect(lines.some((l) => /reading the Redis stream failed/.test(l))).toBe(true);
    got.stop();
  }, 60_000);

  it('gives events it had to drop ids of their own: every reader sees a StreamGap, the appender reports them once', async () => {
    const stream = streamKey();
    const lost: { count: number; ids: { fromId: number; toId: number } | null }[] = [];
    const missedByReader: number[] = [];
    const engine = new RedisAppender({ url: REDIS_URL, stream, log: () => undefined, buffer: 100, onLost: (count, ids) => lost.push({ count, ids }) });
    const bus = new EventBus();
    const reader = new RedisReader(bus, { url: REDIS_URL, stream, log: () => undefined, onMissed: (missed) => missedByReader.push(missed) });
    cleanups.push(() => engine.close(1000), () => reader.close());
    const got = collect(bus);
    for (let n = 0; n < 50; n++) engine.publish(transition(n), 'X');
    await until(() => got.items.length === 50, 'the first events');
    // Ten times what the buffer holds, in one turn: the buffer drops as they come, as it
    // does while Redis is away (the outage itself is covered in test/server/losses.test.ts).
    for (let n = 50; n < 1050; n++) engine.publish(transition(n), 'X');
    expect(engine.stats.lost).toBeGreaterThan(800);
    await until(() => lost.length === 1 && engine.stats.backlog === 0, 'the loss to be accounted for', 30_000);
    const { count, ids } = lost[0]!;
    expect(count).toBe(engine.stats.lost);
    expect(count).toBeGreaterThan(800);
    await until(() => got.items.includes(`gap:${count}`) && got.items.length === 50 + 1 + (1000 - count), 'the gap and the events kept');
    // The gap stands exactly where the reserved ids are, and the reader knows it was reported upstream.
    expect(ids).toEqual({ fromId: 51, toId: 50 + count });
    expect(reader.missed).toBe(count);
    expect(missedByReader).toEqual([]);
    const numbers = got.items.filter((i): i is number => typeof i === 'number');
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    got.stop();
  }, 60_000);

  it('reports ids a reader never received that nobody accounted for (the stream was trimmed past it)', async () => {
    const stream = streamKey();
    const { hostname, port } = new URL(REDIS_URL);
    const toReader = await tcpProxy(Number(port || 6379), hostname);
    cleanups.push(() => toReader.close());
    const missedByReader: { missed: number; fromId: number; toId: number }[] = [];
    const engine = new RedisAppender({ url: REDIS_URL, stream, maxLen: 100, log: () => undefined });
    const bus = new EventBus();
    const reader = new RedisReader(bus, { url: `redis://127.0.0.1:${toReader.port}`, stream, log: () => undefined, onMissed: (missed, fromId, toId) => missedByReader.push({ missed, fromId, toId }) });
    cleanups.push(() => engine.close(1000), () => reader.close());
    const got = collect(bus);
    for (let n = 0; n < 10; n++) engine.publish(transition(n), 'X');
    await until(() => got.items.length === 10, 'events before the cut');
    toReader.cut(true);
    await until(() => !reader.isHealthy, 'the reader to notice');
    // Far more than the stream keeps, while the reader is away.
    for (let n = 10; n < 5010; n++) engine.publish(transition(n), 'X');
    await until(() => engine.stats.appended === 5010, 'the appends');
    toReader.restore();
    await until(() => missedByReader.length === 1, 'the reader to report its loss', 30_000);
    const [{ missed, fromId, toId }] = missedByReader as [{ missed: number; fromId: number; toId: number }];
    expect(fromId).toBe(11);
    expect(toId - fromId + 1).toBe(missed);
    expect(reader.missed).toBe(missed);
    await until(() => got.items.includes(`gap:${missed}`), 'the StreamGap');
    got.stop();
  }, 60_000);

  it('appends more than one script call and one XREAD hold, above the floor, in order and without holes', async () => {
    const stream = streamKey();
    const log = () => undefined;
    // The floor stands for ids the process already handed out: the counter starts past it.
    const engine = new RedisAppender({ url: REDIS_URL, stream, log, floor: () => 40_000 });
    const busA = new EventBus();
    const busB = new EventBus();
    const readerA = new RedisReader(busA, { url: REDIS_URL, stream, log });
    const readerB = new RedisReader(busB, { url: REDIS_URL, stream, log });
    cleanups.push(() => engine.close(), () => readerA.close(), () => readerB.close());
    const onA = collect(busA);
    const onB = collect(busB);
    // The first event alone, so that both readers read live before the rest: with batches
    // in flight together, the appender can have more appended than a reader backfills
    // (10,000) before that reader's first read.
    engine.publish(transition(0), 'X');
    await until(() => onA.items.length === 1 && onB.items.length === 1, 'both instances reading');
    // At once, so that batches are as large as they get (several script calls, several reads).
    const total = 23_456;
    for (let n = 1; n < total; n++) engine.publish(transition(n), 'X');
    await until(() => onA.items.length === total && onB.items.length === total, 'both instances', 30_000);
    const expected = Array.from({ length: total }, (_, i) => 40_001 + i);
    expect(onA.items).toEqual(expected);
    expect(onB.items).toEqual(expected);
    expect(engine.stats.lastId).toBe(40_000 + total);
    // Each event is in the stream once, and stream order is id order.
    const redis = new Redis(REDIS_URL);
    const entries = await redis.xrange(stream, '-', '+');
    redis.disconnect();
    expect(entries.flatMap(([, fields]) => entryEvents(fields).map((e) => e.id))).toEqual(expected);
    onA.stop();
    onB.stop();
  }, 60_000);

  it('sends a batch once it holds 500 events, and the next ones before the first is answered (counted by entries, not by time); after lost replies, none twice', async () => {
    const stream = streamKey();
    const { hostname, port } = new URL(REDIS_URL);
    const proxy = await tcpProxy(Number(port || 6379), hostname);
    cleanups.push(() => proxy.close());
    const engine = new RedisAppender({ url: `redis://127.0.0.1:${proxy.port}`, stream, log: () => undefined });
    cleanups.push(() => engine.close(1000));
    const redis = new Redis(REDIS_URL);
    cleanups.push(() => redis.disconnect());
    engine.publish(transition(0), 'X');
    await until(() => engine.stats.appended === 1, 'the first append');
    // Redis runs every command; none of its replies reaches the appender.
    proxy.holdReplies();
    for (let n = 1; n <= 1500; n++) engine.publish(transition(n), 'X');
    let entries = 0;
    const end = Date.now() + 15_000;
    while (entries < 4 && Date.now() < end) {
      entries = await redis.xlen(stream);
      await new Promise((r) => setTimeout(r, 10));
    }
    // One batch at a time would leave the second, third and fourth waiting for the first's reply.
    expect(entries).toBe(4);
    expect(engine.stats).toMatchObject({ appended: 1, backlog: 1500 });
    // The replies are lost with the connection: the three batches go again, in order, and
    // the script knows each by its sequence number as one that landed.
    proxy.cut();
    await until(() => engine.stats.appended === 1501, 'the batches sent again');
    for (let n = 1501; n <= 1600; n++) engine.publish(transition(n), 'X');
    await until(() => engine.stats.appended === 1601, 'the next batch');
    const stored = await redis.xrange(stream, '-', '+');
    expect(stored.map(([, fields]) => entryEvents(fields).length)).toEqual([1, 500, 500, 500, 100]);
    expect(stored.flatMap(([, fields]) => entryEvents(fields).map((e) => e.id))).toEqual(Array.from({ length: 1601 }, (_, i) => i + 1));
    expect(engine.stats).toMatchObject({ appended: 1601, backlog: 0, lastId: 1601 });
  }, 60_000);

  it('hands a large read to subscribers an entry at a time, not once the whole read is decoded', async () => {
    const stream = streamKey();
    const engine = new RedisAppender({ url: REDIS_URL, stream, log: () => undefined });
    cleanups.push(() => engine.close());
    // In one turn: twelve entries of 500 events, there before the reader starts.
    for (let n = 0; n < 6000; n++) engine.publish(transition(n), 'X');
    await until(() => engine.stats.appended === 6000, 'the appends');
    const bus = new EventBus();
    const sub = bus.subscribe();
    let received = 0;
    // How far the bus was ahead of the subscriber, at most: the events put into the bus
    // in one turn before the subscriber got a chance to take the first of them.
    let ahead = 0;
    const consumed = (async () => {
      for await (const item of sub) {
        if (isGap(item)) continue;
        received++;
        ahead = Math.max(ahead, bus.lastId - item.id);
      }
    })();
    const reader = new RedisReader(bus, { url: REDIS_URL, stream, log: () => undefined, backfill: 0 });
    cleanups.push(() => reader.close());
    await until(() => received === 6000, 'every event');
    sub.close();
    await consumed;
    // A read brings about 2,000 events (four entries); the subscriber sees each entry's before the next is decoded.
    expect(ahead).toBeLessThan(500);
  }, 60_000);

  it('waits while the bus is still handing events out to many subscribers: its backlog stays in Redis, not in the bus', async () => {
    const stream = streamKey();
    const engine = new RedisAppender({ url: REDIS_URL, stream, log: () => undefined });
    cleanups.push(() => engine.close());
    for (let n = 0; n < 3000; n++) engine.publish(transition(n), 'X');
    await until(() => engine.stats.appended === 3000, 'the appends');
    const bus = new EventBus();
    // More subscribers than one slice of a fan-out (FANOUT_SLICE): each publish is handed out over two turns.
    let handed = 0;
    for (let i = 0; i < 5000; i++) {
      bus.subscribe().sink = { accept: () => (handed++, true), queued: () => undefined, ended: () => undefined };
    }
    // The longest run of events the reader put into the bus while it was still handing
    // earlier ones out: the rest of one stream entry (at most 500 events) at most, never
    // the next entries of a read.
    let run = 0;
    let longest = 0;
    const publishEntry = bus.publishEntry.bind(bus);
    bus.publishEntry = (entry) => {
      run = bus.handingOut ? run + 1 : 0;
      longest = Math.max(longest, run);
      return publishEntry(entry);
    };
    const reader = new RedisReader(bus, { url: REDIS_URL, stream, log: () => undefined, backfill: 0 });
    cleanups.push(() => reader.close());
    await until(() => handed === 3000 * 5000, 'every event to every subscriber', 60_000);
    expect(longest).toBeGreaterThan(0);
    expect(longest).toBeLessThan(500);
  }, 120_000);

  it('appends a batch as one stream entry; readers decode it into the right ids and order, across a reconnect, beside old single-event entries and a bad event', async () => {
    const stream = streamKey();
    const { hostname, port } = new URL(REDIS_URL);
    const toReader = await tcpProxy(Number(port || 6379), hostname);
    cleanups.push(() => toReader.close());
    const lines: string[] = [];
    const engine = new RedisAppender({ url: REDIS_URL, stream, log: () => undefined });
    const bus = new EventBus();
    const reader = new RedisReader(bus, { url: `redis://127.0.0.1:${toReader.port}`, stream, log: (line) => lines.push(line) });
    const redis = new Redis(REDIS_URL);
    cleanups.push(() => engine.close(1000), () => reader.close(), () => redis.disconnect());
    const got = collect(bus);
    for (let n = 0; n < 2000; n++) engine.publish(transition(n), 'X');
    await until(() => got.items.length === 2000, 'the first batches');
    // Whole batches per entry: far fewer entries than events.
    expect(await redis.xlen(stream)).toBeLessThanOrEqual(2000 / 100);

    toReader.cut(true);
    await until(() => !reader.isHealthy, 'the reader to notice');
    for (let n = 2000; n < 3000; n++) engine.publish(transition(n), 'X');
    await until(() => engine.stats.appended === 3000, 'the appends while the reader is away');
    // An entry of one event as appended before batches, then a batch with a bad event in it.
    const epoch = (await redis.get(`${stream}:epoch`))!;
    const single = await redis.incrby(`${stream}:id`, 1);
    await redis.xadd(stream, '*', 'id', String(single), 'symbol', 'Y', 'event', toWire(transition(single)), 'epoch', epoch);
    const last = await redis.incrby(`${stream}:id`, 3);
    const batch = `[["Z",${toWire(transition(last - 2))}],["Z",{"type":"StateTransition","data":{}}],["Z",${toWire(transition(last))}]]`;
    await redis.xadd(stream, '*', 'id', String(last - 2), 'n', '3', 'events', batch, 'epoch', epoch, 'fence', '0');
    for (let n = 3000; n < 3100; n++) engine.publish(transition(n), 'X');
    await until(() => engine.stats.appended === 3100, 'the appends after them');

    toReader.restore();
    await until(() => got.items.length === 3100 + 1 + 2 + 1, 'everything after the reconnect', 30_000);
    const expected = [...Array.from({ length: 3001 }, (_, i) => i + 1), 3002, 'gap:1', 3004, ...Array.from({ length: 100 }, (_, i) => 3005 + i)];
    expect(got.items).toEqual(expected);
    // The bus's history holds the entries on both sides of the bad event (a gap in ids no
    // longer clears it), each with its symbol, and nothing for the bad one.
    const kept = bus.recent(undefined, 200).filter((e) => e.id >= 3001 && e.id <= 3005).map((e) => [e.id, e.symbol]);
    expect(kept).toEqual([[3001, 'Y'], [3002, 'Z'], [3004, 'Z'], [3005, 'X']]);
    expect(lines.some((l) => /skipped event 3003 of Redis stream entry .*: /.test(l))).toBe(true);
    got.stop();

    // A reader that comes later loads the newest events as history, across entries of any size.
    const late = new EventBus();
    const lateReader = new RedisReader(late, { url: REDIS_URL, stream, log: () => undefined, backfill: 1500 });
    cleanups.push(() => lateReader.close());
    const lateGot = collect(late);
    await until(() => late.lastId === 3104 && lateGot.items.at(-1) === 3104, 'the late reader');
    const ids = lateGot.items.filter((i): i is number => typeof i === 'number');
    expect(ids.length).toBeGreaterThanOrEqual(1500 - 1);
    expect(ids).toEqual(Array.from({ length: ids.length + 1 }, (_, i) => 3104 - ids.length + i).filter((id) => id !== 3003));
    expect(lateGot.items).toContain('gap:1');
    lateGot.stop();
  }, 60_000);

  it('follows a shared log that was recreated (flushed): ids restart in the new epoch, subscribers are told, resumes get the right answer', async () => {
    const stream = streamKey();
    const log = () => undefined;
    const bus = new EventBus();
    const reader = new RedisReader(bus, { url: REDIS_URL, stream, log });
    const before = new RedisAppender({ url: REDIS_URL, stream, log });
    cleanups.push(() => reader.close(), () => before.close(1000));
    const sub = bus.subscribe();
    const items: (number | string)[] = [];
    void (async () => {
      for await (const item of sub as AsyncIterable<StreamItem>) items.push(isGap(item) ? `gap:${item.missed}:${item.epoch ?? ''}` : item.id);
    })();
    for (let n = 0; n < 3; n++) before.publish(transition(n), 'X');
    await until(() => items.length === 3, 'the first epoch');
    const oldEpoch = bus.epoch;
    await before.close(1000);
    // Redis loses the stream, its counter and its epoch; a fresh process appends again from 1.
    const redis = new Redis(REDIS_URL);
    cleanups.push(() => redis.disconnect());
    const keys = await redis.keys(`${stream}*`);
    await redis.del(...keys);
    const after = new RedisAppender({ url: REDIS_URL, stream, log });
    cleanups.push(() => after.close(1000));
    for (let n = 10; n < 12; n++) after.publish(transition(n), 'X');
    await until(() => items.length === 6, 'the new epoch');
    const newEpoch = bus.epoch;
    expect(newEpoch).not.toBe(oldEpoch);
    expect(await redis.get(`${stream}:epoch`)).toBe(newEpoch);
    expect(items).toEqual([1, 2, 3, `gap:0:${newEpoch}`, 1, 2]);
    // What the bus keeps is the new epoch's only: a resume in it replays its own ids,
    // a resume from the old one is told the log was reset.
    const resumed = collect(bus, 0);
    const stale = bus.subscribe({ after: 3, epoch: oldEpoch });
    await until(() => resumed.items.length === 2, 'the resume in the new epoch');
    expect(resumed.items).toEqual([1, 2]);
    const notice = await stale.next();
    expect(notice.done).toBe(false);
    expect(isGap(notice.value as StreamItem) && (notice.value as { epoch?: string }).epoch).toBe(newEpoch);
    expect(bus.recent(undefined, 10).map((e) => e.event.type === 'StateTransition' && e.event.reason)).toEqual(['n10', 'n11']);
    resumed.stop();
    stale.close();
    sub.close();
  }, 30_000);

  it('skips entries whose ids are not after the last one in the same epoch (duplicates), and says so once', async () => {
    const stream = streamKey();
    const lines: string[] = [];
    const bus = new EventBus();
    const reader = new RedisReader(bus, { url: REDIS_URL, stream, log: (line) => lines.push(line) });
    const engine = new RedisAppender({ url: REDIS_URL, stream, log: () => undefined });
    cleanups.push(() => reader.close(), () => engine.close(1000));
    const got = collect(bus);
    for (let n = 0; n < 3; n++) engine.publish(transition(n), 'X');
    await until(() => got.items.length === 3, 'the events');
    const redis = new Redis(REDIS_URL);
    cleanups.push(() => redis.disconnect());
    const epoch = (await redis.get(`${stream}:epoch`))!;
    // Ids already read, in the same epoch: not a recreated log, so not followed.
    for (const id of [2, 3]) await redis.xadd(stream, '*', 'id', String(id), 'symbol', 'X', 'event', toWire(transition(50 + id)), 'epoch', epoch);
    engine.publish(transition(9), 'X');
    await until(() => got.items.length === 4, 'the next event');
    expect(got.items).toEqual([1, 2, 3, 4]);
    expect(bus.epoch).toBe(epoch);
    expect(lines.filter((l) => /skipped as a duplicate/.test(l))).toHaveLength(1);
    expect(lines).toContain('tickwire: 2 shared log entries were skipped as duplicates');
    got.stop();
  }, 30_000);

  it('tells subscribers when ids never reached this instance', async () => {
    const bus = new EventBus();
    const got = collect(bus);
    bus.publishEntry({ id: 5, symbol: 'X', event: transition(5) });
    bus.publishEntry({ id: 9, symbol: 'X', event: transition(9) });
    expect(bus.publishEntry({ id: 9, symbol: 'X', event: transition(9) })).toBe(false);
    await until(() => got.items.length === 4, 'the events and the gap');
    expect(got.items).toEqual(['gap:4', 5, 'gap:3', 9]);
    got.stop();
  });
});
