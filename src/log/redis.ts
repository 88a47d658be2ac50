import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { decodeEvent, encodeEvent, EventDecodeError, fromWire, type WireEvent } from '../events/codec.js';
import { isCritical, isHighFrequency } from '../events/helpers.js';
import type { RunnerEvent } from '../events/types.js';
import { MAX_EPOCH_LENGTH, newEpoch, type EventBus } from './bus.js';
import { BoundedQueue, PushResult, Retention } from './queue.js';
import type { LogEntry } from './types.js';

/** Where the shared log lives in Redis. */
export interface RedisLogOptions {
  readonly url: string;
  /** Stream key (default tickwire:events); the id counter is `<stream>:id`. */
  readonly stream?: string;
  /**
   * Events the stream keeps, approximately (default 1,000,000). An entry holds a batch of
   * events, so each append trims to `maxLen / its batch size` entries (XADD MAXLEN, `~`
   * from 1,000 entries on): at a steady rate about `maxLen` events stay; when batch sizes
   * change the stream may hold a few times that until the next appends trim it.
   */
  readonly maxLen?: number;
  /** Called with a line to log (default: a process warning); the server passes its logger. */
  readonly log?: (line: string) => void;
}

/** Options of a {@link RedisAppender}. */
export interface AppenderOptions extends RedisLogOptions {
  /**
   * Events held while Redis is slow or away (default 100,000), besides the batches already
   * on their way (at most 8 of 500 events; one while appends fail).
   */
  readonly buffer?: number;
  /**
   * The largest id this process has stored or seen: ids appended are always above it,
   * whatever happened to the counter in Redis (default: only what this appender appended).
   */
  readonly floor?: () => number;
  /**
   * Told, once they are accounted for in the log, how many events the buffer dropped
   * (Redis away for longer than the buffer lasts) and which ids stand for them.
   */
  readonly onLost?: (count: number, ids: { readonly fromId: number; readonly toId: number } | null) => void;
  /**
   * The fencing token of the engine lease this appender's process holds: every append
   * carries it, and the log refuses it once a newer lease was taken (another engine took
   * over). Then nothing more is appended and `onRefused` is told the newer token.
   * Without it (API instances) appends are not fenced.
   */
  readonly fence?: { readonly token: number; readonly onRefused: (current: number) => void };
}

const DEFAULT_STREAM = 'tickwire:events';

/** The key holding the token of the newest engine lease of a stream (a counter raised on every acquisition). */
export function fenceKeyOf(stream: string): string {
  return `${stream}:engine:fence`;
}

/** The key holding a stream's epoch. */
export function epochKeyOf(stream: string): string {
  return `${stream}:epoch`;
}

/** The key of a stream's id counter: the last id the shared log handed out. */
export function idKeyOf(stream: string): string {
  return `${stream}:id`;
}
const DEFAULT_MAX_LEN = 1_000_000;
/** How long one XREAD waits for new entries. */
const BLOCK_MS = 1000;
/**
 * Events one append (one script call, one stream entry) carries at most. One entry per
 * batch, its events pre-encoded as one JSON text, is what lets a reader keep up with
 * 100,000 events/s: with an entry per event, parsing the XREAD reply (ten strings per
 * event) and JSON per event cost the reader about 13 µs of CPU an event.
 */
const MAX_BATCH = 500;
/**
 * Batches an appender has in flight at most. One at a time, an event published while a
 * batch is on its way waits for that batch's round trip, and a round trip under CPU
 * contention (the appender and Redis each waiting to be scheduled) caps the rate at
 * MAX_BATCH per round trip; in flight together, batches are limited by the appender's own
 * CPU. Redis runs a connection's commands in order, so they land in order.
 */
const PIPELINE = 8;
/**
 * Events one XREAD brings at most, about, so that a catch-up read stays well within a
 * subscriber's queue (10,000 by default) and a few MB (they go into the bus in slices of
 * SLICE_EVENTS, a turn each). The reader asks for as many entries as hold that many at
 * the size of the last ones.
 */
const READ_EVENTS = 2000;
/**
 * Events the reader takes into the bus in one event-loop turn, about (whole entries): a
 * read of READ_EVENTS is taken in a few turns, so that what is decoded first is delivered
 * without waiting for the rest.
 */
const SLICE_EVENTS = 500;

/** Resolves after this turn's I/O. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** What XREAD answers: per stream, its entries as [stream id, fields]; null when none came within the block time. */
type XReadReply = [key: string, entries: [id: string, fields: string[]][]][] | null;
/** Entries one XREAD or XREVRANGE page returns at most (entries of one event each, as before batches). */
const READ_COUNT = 1000;
/**
 * How long an append may wait for its reply. A command written just as the connection
 * dropped can stay unanswered forever (nothing resends it); the batch is then retried
 * under the same batch id, which the script recognises if the first attempt landed.
 */
const APPEND_TIMEOUT_MS = 5000;

/** Settles with `promise`, or rejects with `what` after `ms`; a late failure of `promise` is not left unhandled. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  promise.catch(() => undefined);
  return Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(what)), ms).unref())]);
}

/**
 * Appends a batch atomically, as one stream entry: the events get the next `n` ids of the
 * counter (INCRBY), and the entry holds its first id (`id`), `n` and the events in id
 * order (`events`, see {@link encodeBatch}), so stream order and id order are the same on
 * every reader. KEYS[3] holds the sequence number of this appender's last batch (ARGV[2]:
 * 1, 2, …), so that batches land once and in order although several are in flight at a
 * time: a retry of a batch that had landed (its reply was lost) appends nothing (-1), and
 * a batch whose predecessor has not landed is refused (-3: it went out on a new
 * connection after the old one lost the earlier ones; the appender sends them again in
 * order). ARGV[9] is the last batch the appender knows landed, what KEYS[3] would hold
 * had it not expired or been lost with the log. A caller that appends once passes the
 * text `once` in ARGV[2] instead, and KEYS[3] is its key of that single append.
 *
 * ARGV[3] is a floor the counter never stays below (the largest id the appender's process
 * has stored or seen): a counter lost with a flushed Redis comes back past every id a
 * client may hold. ARGV[4] ids are first reserved for events the appender had to drop,
 * with an entry saying so, so that every reader sees the hole as a gap and knows its cause.
 *
 * Every entry carries the log's epoch (KEYS[4], set to ARGV[5] when the log has none):
 * a reader knows from the entry itself that the log was recreated and its ids start
 * again, whoever appended first after the loss.
 *
 * ARGV[6] is the appender's fencing token (0: not fenced): below the newest lease's token
 * (KEYS[5]) the batch is refused with {-2, newest}. Each entry records the token it was
 * appended under (`fence`), so that an audit can tell which engine appended what. Checked in the same step as the
 * append, so an engine that lost its lease cannot slip one batch in after a takeover.
 *
 * ARGV[1] is the events the stream keeps ({@link RedisLogOptions.maxLen}): as an entry
 * holds `n` of them, it keeps `maxLen / n` entries, trimmed exactly below 1,000 (`~` trims
 * only whole nodes of about 100 entries, which would keep far too many of large ones).
 */
const APPEND_SCRIPT = `
local token = tonumber(ARGV[6])
if token > 0 then
  local newest = tonumber(redis.call('GET', KEYS[5]) or '0')
  if token < newest then return {-2, newest} end
end
local prev = redis.call('GET', KEYS[3])
local seq = tonumber(ARGV[2])
if seq == nil then
  if prev == ARGV[2] then return -1 end
else
  local landed = tonumber(prev or ARGV[9]) or 0
  if seq <= landed then return -1 end
  if seq > landed + 1 then return -3 end
end
redis.call('SET', KEYS[3], ARGV[2], 'EX', 86400)
local epoch = redis.call('GET', KEYS[4])
if not epoch then
  epoch = ARGV[5]
  redis.call('SET', KEYS[4], epoch)
end
local n = tonumber(ARGV[7])
local keep = math.ceil(tonumber(ARGV[1]) / math.max(n, 1))
local function add(...)
  if keep < 1000 then return redis.call('XADD', KEYS[1], 'MAXLEN', keep, '*', ...) end
  return redis.call('XADD', KEYS[1], 'MAXLEN', '~', keep, '*', ...)
end
local floor = tonumber(ARGV[3])
if tonumber(redis.call('GET', KEYS[2]) or '0') < floor then redis.call('SET', KEYS[2], floor) end
local reserve = tonumber(ARGV[4])
if reserve > 0 then
  local upTo = redis.call('INCRBY', KEYS[2], reserve)
  add('lost', upTo - reserve + 1, 'to', upTo, 'epoch', epoch)
end
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
if n > 0 then
  last = redis.call('INCRBY', KEYS[2], n)
  add('id', last - n + 1, 'n', n, 'events', ARGV[8], 'epoch', epoch, 'fence', ARGV[6])
end
return last`;

/**
 * The `events` field of a batch entry: a JSON array of `[symbol, wire event]` pairs in id
 * order, built from each event's wire text, so that a reader decodes a batch with one
 * JSON.parse.
 */
function encodeBatch(items: readonly (readonly [symbol: string, event: RunnerEvent])[]): string {
  // One JSON.stringify of the whole batch (the same text as each event's toWire joined):
  // a flat string made in one native call, not a rope of 500 joined on the socket write.
  const pairs = new Array<readonly [string, WireEvent]>(items.length);
  for (let i = 0; i < items.length; i++) {
    const [symbol, event] = items[i]!;
    pairs[i] = [symbol, encodeEvent(event)];
  }
  return JSON.stringify(pairs);
}

/** The value of a stream entry's field, undefined when it has none. */
function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** How many events a stream entry holds, without decoding them (0 for a note of lost ids). */
function eventCountOf(fields: readonly string[]): number {
  if (fieldOf(fields, 'events') !== undefined) return Number(fieldOf(fields, 'n')) || 0;
  return fieldOf(fields, 'event') !== undefined ? 1 : 0;
}

/**
 * The events of a stream entry (its fields as XREAD and XRANGE return them), in id order:
 * a batch (`id` the first id, `n`, `events`), or a single event (`id`, `symbol`, `event`)
 * as every entry was before batches; none for an appender's note of lost ids. An event of
 * a batch that does not decode is passed to `onBad` and left out (its id is then a hole);
 * without `onBad`, and for an entry that cannot be read at all, an
 * {@link EventDecodeError} is thrown.
 */
export function entryEvents(fields: readonly string[], onBad?: (id: number, err: EventDecodeError) => void): LogEntry[] {
  if (fieldOf(fields, 'lost') !== undefined) return [];
  const first = Number(fieldOf(fields, 'id'));
  const batch = fieldOf(fields, 'events');
  if (batch === undefined) {
    const symbol = fieldOf(fields, 'symbol');
    const text = fieldOf(fields, 'event');
    if (!Number.isSafeInteger(first) || symbol === undefined || text === undefined) throw new EventDecodeError('entry lacks id, symbol or event', '', fields);
    return [{ id: first, symbol, event: fromWire(text) }];
  }
  let pairs: unknown;
  try {
    pairs = JSON.parse(batch);
  } catch (err) {
    throw new EventDecodeError(`batch entry: events is not JSON (${(err as Error).message})`, 'events', batch.slice(0, 200), { cause: err });
  }
  const n = Number(fieldOf(fields, 'n'));
  if (!Number.isSafeInteger(first) || !Array.isArray(pairs) || pairs.length !== n) {
    throw new EventDecodeError(`batch entry: id ${fieldOf(fields, 'id')} and n ${fieldOf(fields, 'n')} do not describe an array of n events`, 'events', batch.slice(0, 200));
  }
  const out: LogEntry[] = [];
  for (let i = 0; i < n; i++) {
    const pair: unknown = pairs[i];
    try {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') throw new EventDecodeError('batch item is not [symbol, event]', `events.${i}`, pair);
      out.push({ id: first + i, symbol: pair[0], event: decodeEvent(pair[1]) });
    } catch (err) {
      const bad = err instanceof EventDecodeError ? err : new EventDecodeError(String(err), `events.${i}`, pair);
      if (onBad === undefined) throw bad;
      onBad(first + i, bad);
    }
  }
  return out;
}

function connect(url: string): Redis {
  // Reconnects by itself with backoff; commands fail fast while it is away, so the
  // callers' own buffers (not Redis's offline queue) hold what waits.
  return new Redis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    // A blocked XREAD must fail when the connection drops, so that the reader notices and
    // resumes after its own last id, instead of hanging until Redis is back.
    autoResendUnfulfilledCommands: false,
    retryStrategy: (times) => Math.min(5000, 100 * 2 ** Math.min(times, 6)),
  });
}

/** Waits until the connection is ready, at most `ms`: a connection still being made is not an outage. */
export function ready(redis: Redis, ms = 2000): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    redis.once('ready', done);
  });
}

type Pending = readonly [symbol: string, event: RunnerEvent];

function retentionOfPending([, event]: Pending): Retention {
  if (isHighFrequency(event)) return Retention.HighFrequency;
  return isCritical(event) ? Retention.Critical : Retention.Standard;
}

/** Counters of a {@link RedisAppender}. */
export interface AppenderStats {
  readonly appended: number;
  readonly backlog: number;
  readonly lost: number;
  readonly healthy: boolean;
  /** The last id the log gave this appender (0 before the first append). */
  readonly lastId: number;
}

/**
 * A batch of the appender, one stream entry once it lands. Batches are formed and sent in
 * order (several may be in flight at once) and acknowledged in order.
 */
interface Batch {
  /** Its place in this appender's sequence (1, 2, …): the script appends each once, in order. */
  readonly seq: number;
  readonly items: readonly Pending[];
  /** Dropped events it reserves ids for: fixed with the batch, so a retry reserves the same. */
  readonly reserve: number;
  /** The reply to its append in the current attempt; null until sent (again). */
  sent: Promise<AppendReply> | null;
}

/** What an append answers: the last id given (-1: it had landed before), or that the log refused the fencing token. */
type AppendReply = number | { readonly refusedBy: number };

/**
 * The engine's side of the shared log: `publish` (the engine's sink) never waits; events
 * queue in a bounded buffer (high-frequency ones dropped first when it is full, critical
 * ones never) and are appended in batches, in order. A batch goes out as soon as it holds
 * {@link MAX_BATCH} events, or at the end of the event-loop turn the events were published
 * in, and up to {@link PIPELINE} batches are in flight at once: an event waits for neither
 * a timer nor the round trip of the batch before it. While Redis is away the buffer holds
 * them and appends are retried with backoff.
 */
export class RedisAppender {
  private readonly redis: Redis;
  private readonly queue: BoundedQueue<Pending>;
  private readonly stream: string;
  private readonly maxLen: number;
  private readonly log: (line: string) => void;
  /** Batches formed and not yet acknowledged, oldest first. */
  private batches: Batch[] = [];
  private nextSeq = 1;
  /** The last batch acknowledged. */
  private acked = 0;
  /** Dropped events given to a batch (their ids are reserved when it lands). */
  private reserved = 0;
  private lastId = 0;
  private readonly floor: () => number;
  private readonly onLost: AppenderOptions['onLost'];
  private readonly appenderId = randomBytes(8).toString('hex');
  /** True while the loop that waits for replies runs. */
  private running = false;
  private flushQueued = false;
  /** While a failed append waits to be retried: nothing is sent before it goes again, to keep the order. */
  private retrying = false;
  private appended = 0;
  private healthy = true;
  private closed = false;
  private refused = false;
  private readonly fence: AppenderOptions['fence'];
  /** Told once nothing more waits to be appended (a close, {@link RedisAppender.whenIdle}). */
  private idlers: (() => void)[] = [];

  constructor(options: AppenderOptions) {
    this.floor = options.floor ?? (() => 0);
    this.onLost = options.onLost;
    this.fence = options.fence;
    this.redis = connect(options.url);
    this.redis.on('error', () => undefined);
    this.stream = options.stream ?? DEFAULT_STREAM;
    this.maxLen = options.maxLen ?? DEFAULT_MAX_LEN;
    this.log = options.log ?? ((line) => process.emitWarning(line));
    this.queue = new BoundedQueue(options.buffer ?? 100_000, retentionOfPending);
  }

  /** Counters for metrics and tests. */
  get stats(): AppenderStats {
    let batched = 0;
    for (const batch of this.batches) batched += batch.items.length;
    return { appended: this.appended, backlog: this.queue.size + batched, lost: this.queue.dropped, healthy: this.healthy, lastId: this.lastId };
  }

  /** The engine's sink: queues the event for the shared log. */
  publish(event: RunnerEvent, symbol: string): void {
    if (this.closed) return;
    if (this.queue.push([symbol, event]) === PushResult.Overflow) {
      this.log(`tickwire: the Redis append buffer is full of critical events; one was not appended`);
    }
    // A full batch goes now, within this turn; what remains goes when the turn ends. Not
    // while Redis is away: events wait in the bounded queue, where the drop policy applies.
    if (this.queue.size >= MAX_BATCH && this.healthy && this.redis.status === 'ready') this.flush(MAX_BATCH);
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(() => {
        this.flushQueued = false;
        this.flush(1);
      });
    }
  }

  /** Appends what is buffered (within `timeoutMs`) and disconnects. */
  async close(timeoutMs = 5000): Promise<void> {
    this.closed = true;
    if (this.running || this.queue.size > 0) {
      await Promise.race([new Promise<void>((r) => this.idlers.push(r)), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    }
    this.redis.disconnect();
  }

  /** Resolves once nothing waits to be appended (or appends were refused), or after `timeoutMs`. */
  async whenIdle(timeoutMs: number): Promise<void> {
    if (!this.running && this.queue.size === 0) return;
    await Promise.race([new Promise<void>((r) => this.idlers.push(r)), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  /** True once the log refused this appender's fencing token: it appends nothing more. */
  get fenced(): boolean {
    return this.refused;
  }

  /**
   * Forms batches of what is queued while fewer than {@link PIPELINE} are in flight (only
   * full ones while at least `least` events wait), and sends every batch not sent yet.
   */
  private flush(least: number): void {
    if (this.refused) return;
    // While appends fail, one batch is retried at a time, as before pipelining: what waits
    // beyond it waits in the queue, which holds at most `buffer` events.
    const slots = this.healthy ? PIPELINE : 1;
    while (this.batches.length < slots && this.queue.size >= least && this.queue.size > 0) {
      const items: Pending[] = [];
      for (let item = this.queue.shift(); item !== undefined; item = this.queue.shift()) {
        items.push(item);
        if (items.length >= MAX_BATCH) break;
      }
      const reserve = this.queue.dropped - this.reserved;
      this.reserved += reserve;
      this.batches.push({ seq: this.nextSeq++, items, reserve, sent: null });
    }
    // In order: the script refuses a batch whose predecessor has not landed.
    if (!this.retrying) for (const batch of this.batches) batch.sent ??= this.send(batch);
    if (!this.running && this.batches.length > 0) {
      this.running = true;
      void this.acknowledge();
    }
  }

  /** Sends one batch's append: {@link RedisAppender.append}, whose failure is handled even when a retry has replaced it. */
  private send(batch: Batch): Promise<AppendReply> {
    const reply = this.append(batch);
    reply.catch(() => undefined);
    return reply;
  }

  /** Appends one batch; rejects when that fails or its predecessor has not landed. */
  private async append(batch: Batch): Promise<AppendReply> {
    await ready(this.redis);
    const floor = Math.max(this.lastId, this.floor());
    const args = [String(this.maxLen), String(batch.seq), String(floor), String(batch.reserve), newEpoch(), String(this.fence?.token ?? 0), String(batch.items.length), encodeBatch(batch.items), String(this.acked)];
    const keys = [this.stream, idKeyOf(this.stream), `${this.stream}:appender:${this.appenderId}`, epochKeyOf(this.stream), fenceKeyOf(this.stream)];
    const reply = this.redis.eval(APPEND_SCRIPT, keys.length, ...keys, ...args);
    const answer = await within(reply, APPEND_TIMEOUT_MS, `no answer to an append within ${APPEND_TIMEOUT_MS} ms`);
    if (Array.isArray(answer)) return { refusedBy: Number(answer[1]) };
    if (answer === -3) throw new Error('an earlier batch had not landed (a new connection); sending again from it');
    return Number(answer);
  }

  /**
   * Takes the replies in order: counts each landed batch, and after a failure sends every
   * batch not acknowledged again, in order and under the same sequence numbers, after a
   * backoff: appends stay in order, and one that landed before its reply was lost is not
   * repeated. Ends when nothing is in flight (or on a refusal, or a close that keeps failing).
   */
  private async acknowledge(): Promise<void> {
    let attempt = 0;
    while (this.batches.length > 0) {
      const batch = this.batches[0]!;
      try {
        const reply = await (batch.sent ??= this.send(batch));
        if (typeof reply !== 'number') {
          this.refuse(reply.refusedBy);
          break;
        }
        this.batches.shift();
        this.landed(batch, reply);
        if (!this.healthy) {
          this.healthy = true;
          this.log(`tickwire: Redis appends work again after ${attempt} failed attempts`);
        }
        attempt = 0;
        // A slot is free: events that found none wait no longer.
        this.flush(1);
      } catch (err) {
        for (const waiting of this.batches) waiting.sent = null;
        if (this.healthy) this.log(`tickwire: Redis append failed, retrying: ${(err as Error).message}`);
        this.healthy = false;
        attempt++;
        if (this.closed && attempt >= 3) break;
        this.retrying = true;
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** Math.min(attempt - 1, 6))));
        this.retrying = false;
        this.flush(1);
      }
    }
    this.running = false;
    for (const told of this.idlers.splice(0)) told();
  }

  /** Accounts for a batch that landed, given the last id its append returned (-1: it had landed before). */
  private landed(batch: Batch, last: number): void {
    if (last > 0) this.lastId = last;
    this.acked = batch.seq;
    if (batch.reserve > 0) {
      // A retried batch that had already landed (-1) does not say where its ids went.
      const toId = last - batch.items.length;
      this.onLost?.(batch.reserve, last > 0 ? { fromId: toId - batch.reserve + 1, toId } : null);
    }
    this.appended += batch.items.length;
  }

  /** The log refused this appender's fencing token (a newer engine lease): what waits here is never appended. */
  private refuse(newest: number): void {
    let dropped = this.queue.size;
    for (const batch of this.batches) dropped += batch.items.length;
    this.refused = true;
    this.closed = true;
    this.batches = [];
    while (this.queue.shift() !== undefined);
    this.log(`tickwire: the shared log refused this engine's appends: its lease's fencing token ${this.fence?.token} is stale (the newest is ${newest}, another engine took over); ${dropped} events were not appended`);
    this.fence?.onRefused(newest);
  }
}

/**
 * The last id the shared log handed out (its counter, which every append raises in the
 * same step as it adds entries), or null when Redis holds none: a log never appended to,
 * or one Redis lost. Rejects when Redis does not answer within `timeoutMs`.
 */
export async function readIdCounter(options: Pick<RedisLogOptions, 'url' | 'stream'>, timeoutMs = APPEND_TIMEOUT_MS): Promise<number | null> {
  const redis = connect(options.url);
  redis.on('error', () => undefined);
  try {
    await ready(redis, timeoutMs);
    const key = idKeyOf(options.stream ?? DEFAULT_STREAM);
    const value = await within(redis.get(key), timeoutMs, `no answer to GET ${key} within ${timeoutMs} ms`);
    const counter = value === null ? Number.NaN : Number(value);
    return Number.isSafeInteger(counter) ? counter : null;
  } finally {
    redis.disconnect();
  }
}

/** Where {@link appendOnce} appends, and the key that makes it once. */
export interface AppendOnceTarget {
  /** The shared log's stream. */
  readonly stream: string;
  /** Set by the first append with it (kept a day): any later one with it appends nothing. */
  readonly onceKey: string;
  /** As {@link RedisLogOptions.maxLen}. */
  readonly maxLen?: number;
  /** As {@link AppenderOptions.floor}: the largest id the caller has seen. */
  readonly floor?: number;
}

/**
 * Appends `events` to the shared log, in order and in one step, unless an append with the
 * same `onceKey` was made before, by this process or any other: several API instances that
 * notice the same lost engine report it once. Resolves true for the call that appended.
 */
export async function appendOnce(redis: Redis, target: AppendOnceTarget, events: readonly (readonly [symbol: string, event: RunnerEvent])[]): Promise<boolean> {
  const { stream, onceKey } = target;
  const keys = [stream, idKeyOf(stream), onceKey, epochKeyOf(stream), fenceKeyOf(stream)];
  const args = [String(target.maxLen ?? DEFAULT_MAX_LEN), 'once', String(target.floor ?? 0), '0', newEpoch(), '0', String(events.length), encodeBatch(events)];
  const reply = await within(redis.eval(APPEND_SCRIPT, keys.length, ...keys, ...args), APPEND_TIMEOUT_MS, `no answer to an append within ${APPEND_TIMEOUT_MS} ms`);
  return reply !== -1;
}

/** True for a value that can be an epoch (what a client may send back). */
function isEpoch(value: string | null | undefined): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_EPOCH_LENGTH;
}

/** Options of a {@link RedisReader}. */
export interface ReaderOptions extends RedisLogOptions {
  /** The newest events loaded into the bus's history on start (default 10,000; whole entries, so up to one batch more). */
  readonly backfill?: number;
  /**
   * Told of ids this reader never received that no appender accounted for (the stream
   * was trimmed past them, or cut): the bus already sent its subscribers a StreamGap.
   */
  readonly onMissed?: (missed: number, fromId: number, toId: number) => void;
}

/**
 * An API instance's side of the shared log: reads the stream in order and publishes
 * each entry into the local bus with its shared id, so every instance serves the same
 * ids. On start it first loads the most recent entries into the bus's history; after a
 * lost connection it resumes after the last entry it read (no gap within the stream's cap).
 */
export class RedisReader {
  private readonly redis: Redis;
  private readonly stream: string;
  private readonly log: (line: string) => void;
  private readonly onMissed: ReaderOptions['onMissed'];
  private lastStreamId = '0-0';
  /** Ids an appender reserved for events it dropped: a hole it already reported. */
  private reservedUpTo = 0;
  private missedCount = 0;
  private started = false;
  private joined = false;
  private epochRead = false;
  /** Entries skipped in a row as duplicates (ids not after the last one, in the same epoch). */
  private skipped = 0;
  /** Entries the next XREAD asks for (see READ_EVENTS). */
  private readCount = 1;
  private stopped = false;
  private healthy = true;
  private readonly done: Promise<void>;

  constructor(
    private readonly bus: EventBus,
    options: ReaderOptions,
  ) {
    this.onMissed = options.onMissed;
    this.redis = connect(options.url);
    this.redis.on('error', () => undefined);
    this.stream = options.stream ?? DEFAULT_STREAM;
    this.log = options.log ?? ((line) => process.emitWarning(line));
    this.done = this.run(options.backfill ?? 10_000);
  }

  /** False while reading fails and is being retried. */
  get isHealthy(): boolean {
    return this.healthy;
  }

  /** Ids of the log this reader never received since it started (dropped upstream, or trimmed before it read them). */
  get missed(): number {
    return this.missedCount;
  }

  /** Stops reading and disconnects. */
  async close(): Promise<void> {
    this.stopped = true;
    this.redis.disconnect();
    await this.done;
  }

  private async run(backfill: number): Promise<void> {
    let attempt = 0;
    // The read of what follows the entries being taken, asked for before they are decoded.
    let next: Promise<XReadReply> | null = null;
    while (!this.stopped) {
      try {
        if (next === null) {
          await ready(this.redis);
          // Read at start and after every outage: a Redis that lost its data while away
          // comes back with a new log, and so a new epoch.
          if (!this.epochRead) await this.readEpoch();
          if (!this.started) {
            // The newest `backfill` events, oldest first: history for replay and resume.
            for (const [streamId, fields] of await this.newest(backfill)) this.accept(streamId, fields);
            // Before this point ids are missing because this reader was not there, not lost.
            this.started = true;
          }
          next = this.read(this.lastStreamId);
        }
        const result = await next;
        next = null;
        if (!this.healthy) {
          this.healthy = true;
          this.log(`tickwire: reading the Redis stream again after ${attempt} failed attempts`);
        }
        attempt = 0;
        const entries = result?.[0]?.[1] ?? [];
        if (entries.length === 0) continue;
        // Entries as large as these: as many as hold about READ_EVENTS events next time.
        let events = 0;
        for (const [, fields] of entries) events += eventCountOf(fields);
        this.readCount = Math.max(1, Math.min(READ_COUNT, Math.floor((READ_EVENTS * entries.length) / Math.max(1, events))));
        // Redis answers the next read (or waits for new entries) while this thread decodes
        // these: no round trip between the last event of a read and the first of the next.
        next = this.read(entries.at(-1)![0]);
        await this.acceptAll(entries);
      } catch (err) {
        next = null;
        if (this.stopped) break;
        if (this.healthy) this.log(`tickwire: reading the Redis stream failed, retrying: ${(err as Error).message}`);
        this.healthy = false;
        this.epochRead = false;
        attempt++;
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** Math.min(attempt - 1, 6))));
      }
    }
  }

  /**
   * Reads the entries after `after`, waiting up to BLOCK_MS for one. A read blocked on a
   * connection that silently died may never settle: it is given up a little after the
   * block time, and the reader reads again after its own last id. A failure is handled
   * even when nobody awaits the read any more (the reader stopped, or an earlier read failed).
   */
  private read(after: string): Promise<XReadReply> {
    const read = this.redis.xread('COUNT', this.readCount, 'BLOCK', BLOCK_MS, 'STREAMS', this.stream, after);
    const result = within(read, BLOCK_MS + 2000, `no answer to XREAD within ${BLOCK_MS + 2000} ms`);
    result.catch(() => undefined);
    return result;
  }

  /**
   * Takes a read's entries into the bus, in order, letting the event loop turn after every
   * SLICE_EVENTS events or so: the first events of a large read reach subscribers (and
   * their sockets) while the rest are decoded, not after the whole read.
   */
  private async acceptAll(entries: readonly [string, string[]][]): Promise<void> {
    let events = 0;
    for (const [streamId, fields] of entries) {
      if (this.stopped) return;
      events += this.accept(streamId, fields);
      if (events >= SLICE_EVENTS) {
        events = 0;
        await nextTurn();
      }
      // While the bus still hands earlier events to many subscribers (FANOUT_SLICE per
      // turn), the next ones wait in Redis, as the engine's hand-off waits: taken now they
      // would wait in the bus's own list, without bound under a load it cannot serve.
      while (this.bus.handingOut && !this.stopped) await nextTurn();
    }
  }

  /**
   * The newest entries holding at least `events` events (or all there are), oldest first:
   * read back in pages, since an entry holds a batch of events of any size.
   */
  private async newest(events: number): Promise<[string, string[]][]> {
    const found: [string, string[]][] = [];
    let count = 0;
    let end = '+';
    while (count < events) {
      const page = await this.redis.xrevrange(this.stream, end, '-', 'COUNT', Math.min(READ_COUNT, events));
      for (const entry of page) {
        found.push(entry);
        count += eventCountOf(entry[1]);
        if (count >= events) break;
      }
      if (page.length < Math.min(READ_COUNT, events)) break;
      end = `(${page.at(-1)![0]}`;
    }
    return found.reverse();
  }

  /**
   * Adopts the shared log's epoch, creating it when the log has none (the first process
   * to come, or Redis lost it): every instance then serves the same one.
   */
  private async readEpoch(): Promise<void> {
    const key = epochKeyOf(this.stream);
    await within(this.redis.set(key, newEpoch(), 'NX'), APPEND_TIMEOUT_MS, `no answer to SET ${key} within ${APPEND_TIMEOUT_MS} ms`);
    const epoch = await within(this.redis.get(key), APPEND_TIMEOUT_MS, `no answer to GET ${key} within ${APPEND_TIMEOUT_MS} ms`);
    if (isEpoch(epoch) && epoch !== this.bus.epoch) {
      if (!this.joined) {
        this.log(`tickwire: the shared log's epoch is ${epoch}`);
        this.bus.setEpoch(epoch);
      } else {
        // Entries were read: each says which epoch it belongs to, and the bus follows the
        // new one from its first entry (where its ids start again), not before it.
        this.log(`tickwire: the shared log's epoch is now ${epoch} (this instance is in ${this.bus.epoch}): it follows from the new epoch's first entry`);
      }
    }
    this.epochRead = true;
  }

  /**
   * Follows the log into the epoch an entry carries, when it is not the bus's: the log
   * was recreated (Redis lost it), and its ids start again at `first`, possibly below ids
   * this instance delivered. They stand for other events, so they are not duplicates: the
   * bus restarts its ids just below `first`, in the new epoch, and tells its subscribers.
   */
  private follow(epoch: string | undefined, first: number): void {
    if (!isEpoch(epoch) || epoch === this.bus.epoch || !Number.isSafeInteger(first) || first < 1) return;
    if (!this.joined) {
      // Nothing read yet: the log's ids are this bus's from its first entry on anyway.
      this.bus.setEpoch(epoch);
      return;
    }
    this.log(`tickwire: the shared log was recreated: epoch ${epoch} follows ${this.bus.epoch}, its ids continue after ${first - 1} (this instance was at ${this.bus.lastId})`);
    this.bus.restartEpoch(epoch, first - 1);
    // Holes reported in the old epoch say nothing of the new one's ids.
    this.reservedUpTo = 0;
    this.endSkipping();
  }

  /** Counts an entry not after the last one in the same epoch (a duplicate); logs the first of a run. */
  private skip(id: number): void {
    if (this.skipped++ === 0) {
      this.log(`tickwire: shared log entry ${id} is not after the last one read (${this.bus.lastId}) in epoch ${this.bus.epoch}: skipped as a duplicate, as are those that follow until the ids move on`);
    }
  }

  private endSkipping(): void {
    if (this.skipped > 1) this.log(`tickwire: ${this.skipped} shared log entries were skipped as duplicates`);
    this.skipped = 0;
  }

  /** Takes a stream entry: a note of lost ids, or its events into the bus, in id order; returns how many events it held. */
  private accept(streamId: string, fields: string[]): number {
    this.lastStreamId = streamId;
    const lostFrom = fieldOf(fields, 'lost');
    const lostTo = Number(fieldOf(fields, 'to'));
    const isLostNote = lostFrom !== undefined && Number.isSafeInteger(lostTo);
    // The entry's first id: where the ids of a recreated log start again.
    this.follow(fieldOf(fields, 'epoch'), Number(isLostNote ? lostFrom : fieldOf(fields, 'id')));
    if (isLostNote) {
      // An appender's note that the ids up to `lostTo` stand for events it dropped.
      this.reservedUpTo = Math.max(this.reservedUpTo, lostTo);
      return 0;
    }
    let entries: LogEntry[];
    try {
      entries = entryEvents(fields, (id, err) => this.log(`tickwire: skipped event ${id} of Redis stream entry ${streamId}: ${err.message}`));
    } catch (err) {
      // One bad entry (another writer, another version) is skipped, never fatal.
      this.log(`tickwire: skipped Redis stream entry ${streamId}: ${(err as Error).message}`);
      return 1;
    }
    for (const entry of entries) {
      try {
        this.take(entry);
      } catch (err) {
        this.log(`tickwire: skipped event ${entry.id} of Redis stream entry ${streamId}: ${(err as Error).message}`);
      }
    }
    return entries.length;
  }

  /** Publishes one event of the log into the bus: skipped as a duplicate, or after a gap it reports. */
  private take(entry: LogEntry): void {
    const { id } = entry;
    // The first event this reader takes is where its part of the log begins: the ids
    // before it were appended before this process joined, not lost on the way.
    if (!this.joined) {
      this.joined = true;
      this.bus.advanceTo(id - 1);
    }
    const before = this.bus.lastId;
    if (!this.bus.publishEntry(entry)) {
      this.skip(id);
      return;
    }
    this.endSkipping();
    if (this.started && id > before + 1) {
      const missed = id - before - 1;
      this.missedCount += missed;
      // A hole an appender reserved was reported where it happened; any other is this reader's to report.
      const unexplained = id - 1 > this.reservedUpTo;
      this.log(`tickwire: ids ${before + 1}..${id - 1} of the shared log never reached this instance${unexplained ? ' (the stream was trimmed or cut before they were read)' : ' (dropped before they reached Redis)'}`);
      if (unexplained) this.onMissed?.(missed, before + 1, id - 1);
    }
  }
}
