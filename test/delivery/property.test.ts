import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventBus, type SubscribeOptions } from '../../src/log/bus.js';
import { isGap, type StreamItem } from '../../src/log/types.js';
import { Hub } from '../../src/delivery/hub.js';
import type { Member } from '../../src/delivery/member.js';
import { FrameWriter, WS_TEXT_FRAMING, type ByteSink } from '../../src/delivery/writer.js';
import type { EventVariant, RunnerEvent } from '../../src/events/types.js';
import { parseFrames } from '../support/ws-frames.js';

/**
 * The delivery core against a reference model: random interleavings of publishes,
 * subscriptions with random arguments, stalled and slow connections, resumes,
 * unsubscribes, age and event-loop turns. Every subscriber must get, in log order and
 * once, what the model says it asked for; what it did not get must be inside a gap it
 * was told of. No GraphQL: a bus, a hub whose encoders write `{id}` or the gap, one
 * frame writer per simulated connection over a socket the test drives.
 *
 * How losses are accounted: a notice with an id range (history no longer kept) covers
 * those ids, and nothing inside it is sent; a notice with a count only (the queue's drop
 * policy, the age bound) covers that many of the subscriber's own entries, all newer than
 * what it was sent before the notice. A subscriber read to its end must be sent or told
 * of every entry it asked for, exactly; one cut short (unsubscribed, overflowed, its
 * execution failed) must have been told of every entry missing before its last one.
 */

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

const RUNNERS = ['a', 'b', 'c'] as const;
const TYPES = ['TickReceived', 'PositionUpdated', 'PositionOpened', 'PositionClosed', 'StateTransition', 'StatsUpdate', 'RunnerStopped', 'Error'] as const satisfies readonly EventVariant[];
type Type = (typeof TYPES)[number];
/** Ticks and marks most of the time, critical events rarely: like the engine. */
const TYPE_WEIGHTS: Record<Type, number> = { TickReceived: 8, PositionUpdated: 4, PositionOpened: 2, PositionClosed: 1, StateTransition: 2, StatsUpdate: 2, RunnerStopped: 1, Error: 1 };

function eventOf(runnerId: string, type: Type, n: number): RunnerEvent {
  const timestamp = 1_700_000_000_000 + n;
  switch (type) {
    case 'TickReceived':
      return { type, runnerId, symbol: 'X', data: { symbol: 'X', timestamp, open: n, high: n, low: n, close: n, volume: 1, bid: n, ask: n } };
    case 'PositionUpdated':
      return { type, runnerId, currentPrice: n, unrealizedPnl: 0, timestamp };
    case 'PositionOpened':
      return { type, runnerId, position: { symbol: 'X', side: 'LONG', quantity: 1, entryPrice: n, entryTime: timestamp }, timestamp };
    case 'PositionClosed':
      return { type, runnerId, exitPrice: n, realizedPnl: 0, reason: 'exit', timestamp };
    case 'StateTransition':
      return { type, runnerId, from: 'Idle', to: 'Analyzing', reason: 'start', timestamp };
    case 'StatsUpdate':
      return { type, runnerId, ticksProcessed: n, actionsExecuted: 0, errorRate: 0, realizedPnl: 0, lastPrice: n, ticksPerSecond: 1, openPosition: null, timestamp };
    case 'RunnerStopped':
      return { type, runnerId, reason: 'done', timestamp };
    case 'Error':
      return { type, runnerId, error: 'boom', severity: 'Critical', timestamp };
  }
}

/**
 * A socket as a {@link FrameWriter} sees one, with Node's Writable rules: `write` says
 * whether it is under its high-water mark, and 'drain' comes once it is empty again
 * after a write that said no. Stalled, the peer reads nothing; `read` lets it read some.
 * A written chunk is held as it is (not copied) until the peer reads it, and copied only
 * then, as the kernel would: a writer that reused a buffer the socket still holds would
 * show up as garbled frames. `chunks` is what the peer has read.
 */
class FakeSocket extends EventEmitter implements ByteSink {
  readonly chunks: Buffer[] = [];
  written = 0;
  stalled = false;
  readonly destroyed = false;
  private readonly held: Buffer[] = [];
  private pending = 0;
  private needDrain = false;

  constructor(private readonly highWaterMark: number) {
    super();
  }

  get writableLength(): number {
    return this.pending;
  }

  write(chunk: Buffer): boolean {
    this.held.push(chunk);
    this.written += chunk.length;
    this.pending += chunk.length;
    const room = this.pending < this.highWaterMark;
    if (!room) this.needDrain = true;
    if (!this.stalled) this.read(this.pending);
    return room;
  }

  /** The peer reads up to `bytes`. */
  read(bytes: number): void {
    let left = Math.min(bytes, this.pending);
    this.pending -= left;
    while (left > 0) {
      const head = this.held[0]!;
      const taken = Math.min(left, head.length);
      this.chunks.push(Buffer.from(head.subarray(0, taken)));
      if (taken === head.length) this.held.shift();
      else this.held[0] = head.subarray(taken);
      left -= taken;
    }
    if (this.pending === 0 && this.needDrain) {
      this.needDrain = false;
      process.nextTick(() => this.emit('drain'));
    }
  }
}

type Start = { kind: 'live' } | { kind: 'replay'; count: number } | { kind: 'after'; back: number } | { kind: 'snapshot' };

type Command =
  | { k: 'pub'; runner: number; type: Type }
  | { k: 'sub'; conn: number; group: number; runners: number[] | null; types: Type[] | null; start: Start; index: boolean }
  | { k: 'stall'; conn: number }
  | { k: 'resume'; conn: number }
  | { k: 'read'; conn: number; bytes: number }
  | { k: 'unsub'; pick: number }
  | { k: 'turn' }
  | { k: 'age'; ms: number };

interface Config {
  readonly capacity: number;
  readonly historySize: number;
  /** Writer's high-water mark; the socket's is at most it (as for a real socket under ws). */
  readonly writerHighWater: number;
  readonly socketHighWater: number;
  readonly maxEventAgeMs: number;
  readonly connections: number;
  /**
   * How group 1 encodes: at once, on a later turn (an async execution), on a later turn
   * failing for every seventh entry (an execution that rejects), or at once throwing for
   * every seventh entry.
   */
  readonly asyncGroup: 'no' | 'async' | 'rejects' | 'throws';
  /** Critical events often (queues overflow). */
  readonly critical: boolean;
  /** The bus closes after the commands: every subscription is read out, then ends. */
  readonly closeBus: boolean;
}

/** Event types by weight; with `critical`, critical events are common enough to overflow a stalled reader. */
const typeArb = (critical: boolean) =>
  fc.oneof(...TYPES.map((type) => ({ arbitrary: fc.constant(type), weight: critical && (type === 'RunnerStopped' || type === 'Error') ? 6 : TYPE_WEIGHTS[type] })));

function commandArb(config: Config, allowStalls: boolean, maxLength: number): fc.Arbitrary<Command[]> {
  const conn = fc.nat({ max: config.connections - 1 });
  const start: fc.Arbitrary<Start> = fc.oneof(
    { arbitrary: fc.constant({ kind: 'live' as const }), weight: 3 },
    { arbitrary: fc.integer({ min: 1, max: 8 }).map((count) => ({ kind: 'replay' as const, count })), weight: 2 },
    { arbitrary: fc.integer({ min: -2, max: 40 }).map((back) => ({ kind: 'after' as const, back })), weight: 2 },
    { arbitrary: fc.constant({ kind: 'snapshot' as const }), weight: 1 },
  );
  const sub = fc.record({
    k: fc.constant('sub' as const),
    conn,
    group: fc.nat({ max: 1 }),
    runners: fc.option(fc.subarray([0, 1, 2], { minLength: 1 }), { nil: null }),
    types: fc.option(fc.subarray([...TYPES], { minLength: 1 }), { nil: null }),
    start,
    index: fc.boolean(),
  });
  const weighted: fc.WeightedArbitrary<Command>[] = [
    { arbitrary: fc.record({ k: fc.constant('pub' as const), runner: fc.nat({ max: RUNNERS.length - 1 }), type: typeArb(config.critical) }), weight: 12 },
    { arbitrary: sub, weight: 3 },
    { arbitrary: fc.record({ k: fc.constant('unsub' as const), pick: fc.nat() }), weight: 1 },
    { arbitrary: fc.constant({ k: 'turn' as const }), weight: 3 },
  ];
  if (allowStalls) {
    weighted.push(
      { arbitrary: fc.record({ k: fc.constant('stall' as const), conn }), weight: 2 },
      { arbitrary: fc.record({ k: fc.constant('resume' as const), conn }), weight: 1 },
      { arbitrary: fc.record({ k: fc.constant('read' as const), conn, bytes: fc.integer({ min: 1, max: 400 }) }), weight: 2 },
    );
  }
  if (config.maxEventAgeMs > 0) weighted.push({ arbitrary: fc.record({ k: fc.constant('age' as const), ms: fc.integer({ min: 0, max: 2 * config.maxEventAgeMs }) }), weight: 2 });
  return fc.array(fc.oneof(...weighted), { minLength: 4, maxLength, size: 'max' });
}

/** What the model knows of one subscription. */
interface Subscriber {
  readonly n: number;
  readonly conn: number;
  readonly accepts: (runner: string, type: Type) => boolean;
  /** First id delivered live. */
  readonly liveFrom: number;
  /** Ids it asked for from before it subscribed (replay, after, snapshot), oldest first. */
  readonly history: readonly number[];
  /** Where history reading starts, for checking range notices (replay and after). */
  readonly historyFrom: number;
  member: Member<StreamItem>;
  /** Last id published before it was closed; null while open. */
  closedAt: number | null;
  failed: boolean;
}

/** What one subscriber was sent, read back from its connection's frames. */
type Received = { id: number } | { gap: number; fromId: number | null; toId: number | null } | { complete: true };

function encode(item: StreamItem): Buffer {
  return Buffer.from(JSON.stringify(isGap(item) ? { gap: item.missed, fromId: item.fromId, toId: item.toId } : { id: item.id }));
}

/** Runs `commands`, reads every connection back and checks each subscriber against the model. */
async function run(config: Config, commands: readonly Command[]): Promise<{ gaps: number; failed: number; subscribers: number }> {
  let now = 0;
  const bus = new EventBus({
    queueCapacity: config.capacity,
    historySize: config.historySize,
    clock: () => 0,
    ...(config.maxEventAgeMs > 0 ? { maxEventAgeMs: config.maxEventAgeMs, ageClock: () => now } : {}),
  });
  const hub = new Hub<StreamItem>((item) => !isGap(item));
  const encoders = [
    () => encode,
    () =>
      config.asyncGroup === 'no'
        ? encode
        : config.asyncGroup === 'throws'
          ? (item: StreamItem) => {
              if (!isGap(item) && item.id % 7 === 0) throw new Error(`execution of ${item.id} failed`);
              return encode(item);
            }
          : (item: StreamItem) =>
            new Promise<Buffer>((resolve, reject) =>
              setImmediate(() => (config.asyncGroup === 'rejects' && !isGap(item) && item.id % 7 === 0 ? reject(new Error(`execution of ${item.id} failed`)) : resolve(encode(item)))),
            ),
  ];
  const sockets = Array.from({ length: config.connections }, () => new FakeSocket(config.socketHighWater));
  const writers = sockets.map((socket) => new FrameWriter(socket, WS_TEXT_FRAMING, config.writerHighWater));

  // The model: every entry published, and each runner's state as a snapshot sees it.
  const published: { runner: string; type: Type }[] = [];
  const state = new Map<string, { state?: number; position?: number; tick?: number; stats?: number }>();
  const subscribers: Subscriber[] = [];

  for (const command of commands) {
    switch (command.k) {
      case 'pub': {
        const runner = RUNNERS[command.runner]!;
        const entry = bus.publish(eventOf(runner, command.type, published.length + 1), 'X');
        published.push({ runner, type: command.type });
        expect(entry.id).toBe(published.length);
        const s = state.get(runner) ?? {};
        state.set(runner, s);
        if (command.type === 'StateTransition') s.state = entry.id;
        else if (command.type === 'PositionOpened' || command.type === 'PositionUpdated') s.position = entry.id;
        else if (command.type === 'PositionClosed') delete s.position;
        else if (command.type === 'TickReceived') s.tick = entry.id;
        else if (command.type === 'StatsUpdate') s.stats = entry.id;
        break;
      }
      case 'sub': {
        const runners = command.runners === null ? null : new Set<string>(command.runners.map((i) => RUNNERS[i]!));
        const types = command.types === null ? null : new Set<string>(command.types);
        const accepts = (runner: string, type: Type) => (runners === null || runners.has(runner)) && (types === null || types.has(type));
        const last = published.length;
        const liveFrom = last + 1;
        const oldest = Math.max(1, last - config.historySize + 1);
        expect(bus.historyRange.oldestId).toBe(oldest);
        const matching = (from: number, to: number) => {
          const ids: number[] = [];
          for (let id = Math.max(1, from); id <= to; id++) if (accepts(published[id - 1]!.runner, published[id - 1]!.type)) ids.push(id);
          return ids;
        };
        let history: number[] = [];
        let historyFrom = liveFrom;
        const options: { -readonly [K in keyof SubscribeOptions]: SubscribeOptions[K] } = {
          filter: (event) => accepts(event.runnerId, event.type as Type),
        };
        if (command.index) options.index = { runnerIds: runners === null ? null : [...runners], types: command.types };
        switch (command.start.kind) {
          case 'live':
            break;
          case 'replay':
            options.replay = command.start.count;
            history = matching(oldest, last).slice(-command.start.count);
            historyFrom = history[0] ?? liveFrom;
            break;
          case 'after': {
            const after = Math.max(0, last - command.start.back);
            options.after = after;
            historyFrom = after + 1;
            history = matching(after + 1, last);
            break;
          }
          case 'snapshot':
            options.snapshot = true;
            for (const [runner, s] of state) {
              for (const id of [s.state, s.position, s.tick, s.stats]) {
                if (id !== undefined && accepts(runner, published[id - 1]!.type)) history.push(id);
              }
            }
            history.sort((x, y) => x - y);
            break;
        }
        const n = subscribers.length;
        const subscription = bus.subscribe(options);
        const writer = writers[command.conn]!;
        const member = hub.open(`g${command.group}`, encoders[command.group]!, subscription, {
          writer,
          prefix: Buffer.from(`{"s":${n},"p":`),
          suffix: Buffer.from('}'),
        });
        const subscriber: Subscriber = { n, conn: command.conn, accepts, liveFrom, history, historyFrom, member, closedAt: null, failed: false };
        member.done.catch(() => {
          subscriber.failed = true;
        });
        subscribers.push(subscriber);
        break;
      }
      case 'stall':
        sockets[command.conn]!.stalled = true;
        break;
      case 'resume': {
        const socket = sockets[command.conn]!;
        socket.stalled = false;
        socket.read(socket.writableLength);
        break;
      }
      case 'read':
        sockets[command.conn]!.read(command.bytes);
        break;
      case 'unsub': {
        const open = subscribers.filter((s) => s.closedAt === null);
        if (open.length === 0) break;
        const subscriber = open[command.pick % open.length]!;
        subscriber.closedAt = published.length;
        subscriber.member.close();
        // Like graphql-ws's `complete`: through the same writer, so nothing of it may follow.
        writers[subscriber.conn]!.text(JSON.stringify({ s: subscriber.n, complete: true }));
        break;
      }
      case 'turn':
        await turn();
        break;
      case 'age':
        now += command.ms;
        break;
    }
  }

  if (config.closeBus) bus.close();
  // Every reader catches up: resume everything and let turns run until nothing moves.
  for (const socket of sockets) {
    socket.stalled = false;
    socket.read(socket.writableLength);
  }
  let quiet = 0;
  let written = -1;
  for (let i = 0; i < 10_000 && quiet < 5; i++) {
    await turn();
    const total = sockets.reduce((sum, socket) => sum + socket.written, 0);
    quiet = total === written && bus.stats().queued === 0 ? quiet + 1 : 0;
    written = total;
  }
  expect(quiet, 'delivery settles once every socket reads').toBe(5);

  // What each subscriber was sent, in order.
  const received = subscribers.map((): Received[] => []);
  for (const socket of sockets) {
    for (const frame of parseFrames(Buffer.concat(socket.chunks))) {
      const message = JSON.parse(frame) as { s: number; p?: Received; complete?: true };
      received[message.s]!.push(message.complete === true ? { complete: true } : message.p!);
    }
  }

  let gaps = 0;
  for (const subscriber of subscribers) {
    const items = received[subscriber.n]!;
    const label = `subscriber ${subscriber.n}`;
    const end = subscriber.closedAt ?? published.length;
    const complete = items.findIndex((item) => 'complete' in item);
    if (subscriber.closedAt !== null) expect(complete, `${label}: nothing after its complete`).toBe(items.length - 1);
    else expect(complete, `${label} is open`).toBe(-1);

    const expected = new Set(subscriber.history);
    for (let id = subscriber.liveFrom; id <= end; id++) {
      const entry = published[id - 1]!;
      if (subscriber.accepts(entry.runner, entry.type)) expected.add(id);
    }
    const ids: number[] = [];
    const ranges: [number, number][] = [];
    let announced = 0;
    // Dropped entries announced by a notice are newer than anything sent before it.
    const countNotices: { before: number; missed: number }[] = [];
    for (const item of items) {
      if ('id' in item) {
        expect(ids.length === 0 || item.id > ids.at(-1)!, `${label}: ids strictly increase (${ids.at(-1)} then ${item.id})`).toBe(true);
        expect(expected.has(item.id), `${label}: ${item.id} is one it asked for`).toBe(true);
        ids.push(item.id);
      } else if ('gap' in item) {
        if (item.gap > 0 || item.fromId !== null) gaps++;
        if (item.fromId !== null && item.toId !== null) {
          // The history no longer held these: a range of log positions before it went live.
          expect(item.gap, `${label}: a range notice counts its range`).toBe(item.toId - item.fromId + 1);
          expect(item.fromId, `${label}: range starts where history reading did or later`).toBeGreaterThanOrEqual(subscriber.historyFrom);
          expect(item.toId, `${label}: range ends before live`).toBeLessThan(subscriber.liveFrom);
          expect(ids.at(-1) ?? 0, `${label}: range notice after older ids only`).toBeLessThan(item.fromId);
          ranges.push([item.fromId, item.toId]);
        } else {
          announced += item.gap;
          countNotices.push({ before: ids.at(-1) ?? 0, missed: item.gap });
        }
      }
    }
    for (const [fromId, toId] of ranges) {
      expect(ids.some((id) => id >= fromId && id <= toId), `${label}: nothing inside ${fromId}..${toId}`).toBe(false);
    }
    const inRange = (id: number) => ranges.some(([fromId, toId]) => id >= fromId && id <= toId);
    const missing = [...expected].filter((id) => !ids.includes(id) && !inRange(id)).sort((x, y) => x - y);
    // Never more announced than lost.
    expect(announced, `${label}: announced ≤ missing (${missing.join(',')})`).toBeLessThanOrEqual(missing.length);
    let after = 0;
    for (let i = countNotices.length - 1; i >= 0; i--) {
      after += countNotices[i]!.missed;
      const before = countNotices[i]!.before;
      expect(missing.filter((id) => id > before).length, `${label}: dropped after ${before} ≥ announced from there`).toBeGreaterThanOrEqual(after);
    }
    if (subscriber.closedAt === null && !subscriber.failed) {
      // Read to the end: every entry it asked for was sent or announced, exactly.
      expect(announced, `${label}: missing ${missing.join(',')} vs announced ${announced}`).toBe(missing.length);
      // Told of no loss: it got exactly the model's list.
      if (items.length === ids.length) expect(ids, `${label}: no notice, every entry`).toEqual([...expected].sort((x, y) => x - y));
    } else {
      // Cut short: what is missing before its last entry was announced.
      const last = ids.at(-1) ?? 0;
      expect(missing.filter((id) => id < last).length, `${label}: missing before ${last} is announced`).toBeLessThanOrEqual(announced);
    }
  }
  // Nothing left behind: every member still open is attached, every other one gone.
  const open = config.closeBus ? 0 : subscribers.filter((s) => s.closedAt === null && !s.failed).length;
  expect(hub.stats().members, 'members left in the hub').toBe(open);
  expect(bus.subscriberCount, 'subscriptions left on the log').toBe(open);
  for (const subscriber of subscribers) if (subscriber.closedAt === null) subscriber.member.close();
  bus.close();
  const failed = subscribers.filter((s) => s.failed).length;
  return { gaps, failed, subscribers: subscribers.length };
}

describe('delivery core against a reference model', () => {
  it('sends every subscriber what it asked for, in order, once, with gaps only where announced', async () => {
    const config = fc.record<Config>({
      capacity: fc.integer({ min: 2, max: 12 }),
      historySize: fc.integer({ min: 2, max: 24 }),
      writerHighWater: fc.integer({ min: 40, max: 600 }),
      socketHighWater: fc.integer({ min: 1, max: 40 }),
      maxEventAgeMs: fc.constantFrom(0, 0, 100),
      connections: fc.integer({ min: 1, max: 3 }),
      asyncGroup: fc.constantFrom('no', 'async', 'async', 'rejects', 'throws'),
      critical: fc.boolean(),
      closeBus: fc.boolean(),
    });
    let gaps = 0;
    let failed = 0;
    await fc.assert(
      fc.asyncProperty(
        config.chain((c) => fc.tuple(fc.constant(c), commandArb(c, true, 120))),
        async ([c, commands]) => {
          const result = await run(c, commands);
          gaps += result.gaps;
          failed += result.failed;
        },
      ),
      { numRuns: 400 },
    );
    // The runs did lose events and cut readers off (else they prove little about either).
    expect(gaps).toBeGreaterThan(0);
    expect(failed).toBeGreaterThan(0);
  });

  it('loses nothing and announces nothing when every reader keeps up and queues hold a burst', async () => {
    const config = fc.record<Config>({
      capacity: fc.constant(1000),
      historySize: fc.constant(1000),
      writerHighWater: fc.integer({ min: 40, max: 600 }),
      socketHighWater: fc.integer({ min: 1, max: 40 }),
      maxEventAgeMs: fc.constant(0),
      connections: fc.integer({ min: 1, max: 3 }),
      asyncGroup: fc.constantFrom('no', 'async'),
      critical: fc.constant(false),
      closeBus: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        config.chain((c) => fc.tuple(fc.constant(c), commandArb(c, false, 60))),
        async ([c, commands]) => {
          expect((await run(c, commands)).gaps).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });
});
