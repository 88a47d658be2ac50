import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import type { Position } from '../../domain/position.js';
import type { RunnerState } from '../../domain/state.js';
import type { RunnerEvent } from '../../events/types.js';
import { EngineError, engineErrorFromWire, type RunnerConfig } from '../config.js';
import {
  engineLimits,
  feedRate,
  forgetOldStopped,
  TradingEngine,
  vetRunner,
  type EngineLimits,
  type EngineOptions,
  type EventSink,
  type LocalEngine,
  type RunnerInfo,
} from '../engine.js';
import { DEFAULT_HAND_OFF_BOUND } from './hand-off.js';
import { PublishQueue } from './publish-queue.js';
import type { RunnerStats } from '../runner.js';
import { startEngineWorker } from './start.js';
import { BatchDecoder } from './codec.js';
import type { EngineThreadBatch, EngineThreadReply, EngineThreadSettings, RunnerUpdate, ToEngineThread } from './protocol.js';
import { Channel, type Waiting } from '../../runtime/channel.js';

// ENGINE_THREADS's default and bound are settings (src/runtime/settings.ts).
import { DEFAULT_ENGINE_THREADS, MAX_ENGINE_THREADS } from '../../runtime/settings.js';
export { DEFAULT_ENGINE_THREADS, MAX_ENGINE_THREADS };

/** Options of a {@link ThreadedEngine}. */
export interface ThreadedEngineOptions extends EngineOptions {
  /** Engine threads the runners are spread over, 1 to {@link MAX_ENGINE_THREADS} (default {@link DEFAULT_ENGINE_THREADS}). */
  readonly threads?: number;
  /**
   * Events an engine thread may hand off before the main thread has published them; above
   * it the thread drops new ticks and marks and reports the loss (default
   * {@link DEFAULT_HAND_OFF_BOUND}; see `HandOffOptions.bound`).
   */
  readonly handOffBound?: number;
  /**
   * Called once each batch's events are all published (or shed) with its event count and
   * how long its oldest event waited between the runner emitting it and then, in ms
   * (benches, metrics).
   */
  readonly onBatch?: (events: number, oldestWaitMs: number) => void;
  /**
   * The server's age bound of high-frequency events (MAX_EVENT_AGE_MS; 0 or absent: off):
   * a main thread whose backlog of engine events waited more than a quarter of it sheds
   * ticks and marks but each runner's latest, and reports it (see `PublishQueue`).
   */
  readonly maxEventAgeMs?: number;
}

const EMPTY_STATS: RunnerStats = { ticksProcessed: 0, ticksRejected: 0, actionsExecuted: 0, errors: 0, errorRate: 0, realizedPnl: 0, lastPrice: null };

/** The main thread's view of a runner on an engine thread, kept current by its batches. */
class RunnerView implements RunnerInfo {
  symbol: string;
  strategy: string;
  params: Readonly<Record<string, number>>;
  config: RunnerConfig;
  feed = '';
  state: RunnerState = 'Idle';
  position: Position | null = null;
  unrealizedPnl = 0;
  stats: RunnerStats = EMPTY_STATS;
  startedAt: number;
  stoppedAt: number | null = null;
  stopReason: string | null = null;
  /**
   * True once a batch brought its state: batches are applied as they arrive, before their
   * events are published, so the start's answer (published later) may be older.
   */
  current = false;

  constructor(
    readonly id: string,
    /** The engine thread it runs on. */
    readonly shard: number,
    opening: { readonly config: RunnerConfig; readonly params: Readonly<Record<string, number>>; readonly startedAt: number },
  ) {
    const { config, params, startedAt } = opening;
    this.symbol = config.symbol;
    this.strategy = config.strategy;
    this.config = config;
    this.params = params;
    this.startedAt = startedAt;
  }

  started(info: RunnerInfo): void {
    this.feed = info.feed;
    this.params = info.params;
    this.startedAt = info.startedAt;
    if (!this.current) this.apply(info);
  }

  apply(update: RunnerUpdate | RunnerInfo): void {
    this.state = update.state;
    this.position = update.position;
    this.unrealizedPnl = update.unrealizedPnl;
    this.stats = update.stats;
    this.stoppedAt = update.stoppedAt;
    this.stopReason = update.stopReason;
  }
}

/**
 * What the main thread asks of an engine thread. A start also holds the view it replaced
 * (kept here, never sent): put back if the thread dies before it answers.
 */
type ShardCall =
  | { readonly op: 'start'; readonly config: RunnerConfig; readonly reason: string | undefined; readonly previous: RunnerView | undefined }
  | { readonly op: 'stop'; readonly id: string; readonly reason: string }
  | { readonly op: 'stopAll'; readonly reason: string }
  | { readonly op: 'ready' };

/** What each {@link ShardCall} answers: the runner started or stopped (null when the thread died), or nothing. */
interface ShardAnswers {
  readonly start: RunnerInfo | null;
  readonly stop: RunnerInfo | null;
  readonly stopAll: null;
  readonly ready: null;
}

/** An engine thread's error answer, as it crosses. */
type ThreadError = Pick<Extract<EngineThreadReply, { ok: false }>, 'code' | 'message'>;

/** The engine thread's errors, rebuilt: one it did not expect (ENGINE_FAILED) leaves the engine unavailable to the caller. */
/** A call in the thread's framing: the channel's id is the request id. */
function toThread(requestId: number, call: ShardCall): ToEngineThread {
  return call.op === 'start' ? { op: 'start', requestId, config: call.config, ...(call.reason === undefined ? {} : { reason: call.reason }) } : { ...call, requestId };
}

/**
 * Published events are acknowledged to their thread together, at most this often (ms):
 * one message per batch, a few hundred a second, would cost the engine thread more than
 * its hand-off bound needs. Until acknowledged they count against that bound, so a late
 * acknowledgement only makes the thread drop sooner, never hold more.
 */
const ACK_EVERY_MS = 5;

/** One engine thread and what is waiting on it. */
class Shard {
  /**
   * Requests not yet answered. An answer is taken from it as its batch arrives, and given
   * once the events before it are published: a caller sees its answer after them.
   */
  readonly channel: Channel<ShardCall, ShardAnswers, ThreadError>;
  readonly decoder = new BatchDecoder();
  /** Events of its batches published (or shed) and not yet acknowledged to it. */
  published = 0;
  failure: string | null = null;

  constructor(
    readonly index: number,
    readonly worker: Worker,
    readonly port: MessagePort,
  ) {
    this.channel = new Channel({ name: `engine thread ${index}`, post: (requestId, call) => this.send(toThread(requestId, call)), fromWire: engineErrorFromWire });
  }

  send(message: ToEngineThread): void {
    this.port.postMessage(message);
  }
}

/**
 * An engine whose runners run on worker threads, so that no strategy work runs on the
 * thread that serves sockets and the engine keeps its rate however busy that thread is.
 * Runners are spread over `threads` threads (each new runner goes to the thread with the
 * least configured tick rate), each running a {@link TradingEngine} whose events come
 * back in batches and are published into `sink` here, in order: ids are still given by
 * the bus on this thread, and one runner's events keep their order.
 *
 * Starts are checked here, before any thread sees them, with the same errors as
 * {@link TradingEngine} (configuration, duplicate id, strategy, MAX_RUNNERS and
 * MAX_TOTAL_TICKS_PER_SECOND over every thread's runners, replay file). `getRunner` and
 * `listRunners` answer from a view of every runner kept here: each batch updates the
 * views of its runners before its events are published, so a view is never behind an
 * event a subscriber has seen.
 *
 * A thread that dies (a bug, memory) takes only its runners: each is reported stopped
 * with a RunnerStopped saying why, the others keep going, and the next runner placed on
 * that shard starts a new thread.
 */
export class ThreadedEngine implements LocalEngine {
  /** The limits in effect, over all threads. */
  readonly limits: EngineLimits;
  /** How many engine threads the runners are spread over. */
  readonly threads: number;
  private readonly views = new Map<string, RunnerView>();
  private readonly shards: (Shard | null)[];
  private readonly clock: () => number;
  private readonly handOffBound: number;
  private readonly onBatch: ThreadedEngineOptions['onBatch'];
  /**
   * The threads' events between arrival and publication: decoded and published in slices
   * of at most 2 ms per callback (`PUBLISH_SLICE_MS`), in the order the batches arrived.
   * Not acknowledged until published, so each thread's hand-off bound bounds it.
   */
  private readonly queue: PublishQueue;
  private ackTimer: NodeJS.Timeout | null = null;
  private closed = false;

  /** Creates an engine with no runners (and no threads until the first start) that publishes into `sink`. */
  constructor(
    private readonly sink: EventSink,
    options: ThreadedEngineOptions = {},
  ) {
    this.limits = engineLimits(options);
    const threads = options.threads ?? DEFAULT_ENGINE_THREADS;
    if (!Number.isInteger(threads) || threads < 1 || threads > MAX_ENGINE_THREADS) {
      throw new RangeError(`threads must be a whole number from 1 to ${MAX_ENGINE_THREADS}, got ${threads}`);
    }
    this.threads = threads;
    this.handOffBound = options.handOffBound ?? DEFAULT_HAND_OFF_BOUND;
    if (!Number.isInteger(this.handOffBound) || this.handOffBound < 1) throw new RangeError(`handOffBound must be a whole number ≥ 1, got ${this.handOffBound}`);
    this.clock = options.clock ?? Date.now;
    this.onBatch = options.onBatch;
    this.queue = new PublishQueue(sink, options.maxEventAgeMs === undefined ? {} : { maxEventAgeMs: options.maxEventAgeMs });
    this.shards = Array.from({ length: threads }, () => null);
  }

  /**
   * Checks the configuration here (throwing the same {@link EngineError}s as
   * {@link TradingEngine.addRunner}, as a rejected promise), starts the runner on an
   * engine thread and resolves once its RunnerStarted is published.
   */
  async addRunner(input: unknown, reason?: string): Promise<RunnerInfo> {
    if (this.closed) throw new EngineError('ENGINE_UNAVAILABLE', 'the engine is shut down');
    const { config, strategy } = vetRunner(input, this.views, this.limits);
    const index = this.placement();
    const previous = this.views.get(config.id);
    // In the map before the thread answers: a second start of this id, or one over the
    // limits, is refused meanwhile.
    const view = new RunnerView(config.id, index, { config, params: strategy.params, startedAt: this.clock() });
    this.views.set(config.id, view);
    forgetOldStopped(this.views, this.limits.maxRunners);
    let shard: Shard;
    try {
      shard = this.shard(index);
    } catch (err) {
      this.restore(config.id, view, previous);
      throw new EngineError('ENGINE_UNAVAILABLE', `runner "${config.id}": cannot start engine thread ${index}: ${(err as Error).message}`);
    }
    let runner: RunnerInfo | null;
    try {
      runner = await this.request(shard, { op: 'start', config, reason, previous });
    } catch (err) {
      this.restore(config.id, view, previous);
      throw err;
    }
    if (runner !== null) view.started(runner);
    this.refresh(shard);
    return view;
  }

  /**
   * Stops a runner (closing its open position) and resolves once its RunnerStopped is
   * published. Rejects with UNKNOWN_RUNNER for an id the engine does not know; a stopped
   * runner is returned unchanged.
   */
  async stopRunner(id: string, reason = 'stopped by request'): Promise<RunnerInfo> {
    const view = this.views.get(id);
    if (view === undefined) throw new EngineError('UNKNOWN_RUNNER', `no runner with id "${id}"`);
    const shard = this.shards[view.shard];
    if (view.state === 'Stopped' || shard == null) return view;
    await this.request(shard, { op: 'stop', id, reason });
    this.refresh(shard);
    return view;
  }

  /** The runner with this id (running or stopped), if any, as of the last batch published. */
  getRunner(id: string): RunnerInfo | undefined {
    return this.views.get(id);
  }

  /** The engine thread (0 to `threads` − 1) a runner runs or ran on, if the engine knows it. */
  threadOf(id: string): number | undefined {
    return this.views.get(id)?.shard;
  }

  /** Every runner the engine knows, in the order they were added. */
  listRunners(): RunnerInfo[] {
    return [...this.views.values()];
  }

  /**
   * Starts every engine thread now and resolves once each runs, so that the first runner
   * of a thread does not wait for the thread to load (seconds on a busy machine; a remote
   * startRunner has a deadline). Rejects with ENGINE_UNAVAILABLE when a thread cannot start.
   */
  async ready(): Promise<void> {
    await Promise.all(
      this.shards.map(async (_, index) => {
        let shard: Shard;
        try {
          shard = this.shard(index);
        } catch (err) {
          throw new EngineError('ENGINE_UNAVAILABLE', `cannot start engine thread ${index}: ${(err as Error).message}`);
        }
        await this.request(shard, { op: 'ready' });
      }),
    );
  }

  /** Stops every runner on every thread; resolves once each RunnerStopped is published. */
  async stopAll(reason = 'engine shutting down'): Promise<void> {
    await Promise.all(
      this.shards.map(async (shard) => {
        if (shard === null) return;
        await this.request(shard, { op: 'stopAll', reason });
        this.refresh(shard);
      }),
    );
  }

  /** Stops every runner, then ends the threads; what they handed off is published first, and no timer stays behind. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.stopAll();
    this.closed = true;
    await Promise.all(
      this.shards.map(async (shard, i) => {
        if (shard === null) return;
        this.shards[i] = null;
        shard.port.close();
        await shard.worker.terminate();
      }),
    );
    this.queue.close();
    if (this.ackTimer !== null) clearTimeout(this.ackTimer);
    this.ackTimer = null;
  }

  /**
   * Tests and drills: makes engine thread `index` throw an uncaught error, as a bug in
   * it would, to show that its runners are reported stopped and the others go on.
   */
  crashThread(index: number, message = 'simulated crash'): void {
    this.shards[index]?.send({ op: 'crash', message });
  }

  /** The thread a new runner goes to: the one with the least configured tick rate, then the fewest runners. */
  private placement(): number {
    const rate = new Array<number>(this.threads).fill(0);
    const count = new Array<number>(this.threads).fill(0);
    for (const view of this.views.values()) {
      if (view.state === 'Stopped') continue;
      rate[view.shard]! += feedRate(view.config.feed);
      count[view.shard]!++;
    }
    let best = 0;
    for (let i = 1; i < this.threads; i++) {
      if (rate[i]! < rate[best]! || (rate[i] === rate[best] && count[i]! < count[best]!)) best = i;
    }
    return best;
  }

  private shard(index: number): Shard {
    const existing = this.shards[index];
    if (existing != null) return existing;
    const { port1, port2 } = new MessageChannel();
    const settings: EngineThreadSettings = {
      shard: index,
      maxRunners: this.limits.maxRunners,
      maxTotalTicksPerSecond: this.limits.maxTotalTicksPerSecond,
      handOffBound: this.handOffBound,
    };
    const worker = startEngineWorker({ workerData: { port: port2, settings }, transferList: [port2], name: `tickwire engine ${index}` });
    const shard = new Shard(index, worker, port1);
    port1.on('message', (batch: EngineThreadBatch) => this.arrive(shard, batch));
    worker.on('error', (err) => {
      shard.failure ??= `engine thread ${index} failed: ${err.message}`;
    });
    worker.on('exit', (code) => this.lost(shard, code));
    this.shards[index] = shard;
    this.refresh(shard);
    return shard;
  }

  /** Asks an engine thread; the thread is referenced while the answer is awaited (see {@link refresh}). */
  private request<C extends ShardCall>(shard: Shard, call: C): Promise<ShardAnswers[C['op']]> {
    const answer = shard.channel.call(call);
    this.refresh(shard);
    return answer;
  }

  /**
   * A batch arrived: the views of its runners are brought up to date now (so a query is
   * never behind what subscribers see, and soon after a stall is current again), its
   * events are queued for publication in slices, and its answers given once they are out.
   */
  private arrive(shard: Shard, batch: EngineThreadBatch): void {
    let stopped = false;
    shard.decoder.names(batch);
    shard.decoder.updates(batch, (update) => {
      const view = this.views.get(update.id);
      // A runner restarted on another thread has a new view; the old thread's last word about it is stale.
      if (view === undefined || view.shard !== shard.index) return;
      stopped ||= update.state === 'Stopped' && view.state !== 'Stopped';
      view.apply(update);
      view.current = true;
    });
    // Answered, even if not yet published: a thread that dies meanwhile did not leave them unanswered.
    const answers: [Waiting<ShardCall, ThreadError>, EngineThreadReply][] = [];
    for (const reply of batch.replies) {
      const waiting = shard.channel.take(reply.requestId);
      if (waiting !== undefined) answers.push([waiting, reply]);
    }
    this.queue.addBatch(shard.decoder, batch, (waitedMs) => {
      const events = batch.count;
      if (events > 0) {
        this.acknowledge(shard, events);
        this.onBatch?.(events, waitedMs);
      }
      for (const [waiting, reply] of answers) waiting.settle(reply.ok ? { ok: true, value: reply.runner } : { ok: false, error: reply });
      if (answers.length > 0 || stopped) this.refresh(shard);
    });
  }

  /** Counts published events of a thread, acknowledged within {@link ACK_EVERY_MS}. */
  private acknowledge(shard: Shard, events: number): void {
    shard.published += events;
    if (this.ackTimer !== null) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null;
      for (const s of this.shards) {
        if (s === null || s.published === 0) continue;
        s.send({ op: 'ack', count: s.published });
        s.published = 0;
      }
    }, ACK_EVERY_MS);
    // A pending acknowledgement is no reason to stay alive.
    this.ackTimer.unref();
  }

  /**
   * An engine thread ended without being asked to (an uncaught error, out of memory):
   * what it handed off before is published, then each of its runners still running is
   * reported stopped, and what waited on it is answered.
   */
  private lost(shard: Shard, code: number): void {
    if (this.shards[shard.index] !== shard) return;
    this.shards[shard.index] = null;
    // What it handed off is queued before what is said of its end.
    for (let message = receiveMessageOnPort(shard.port); message !== undefined; message = receiveMessageOnPort(shard.port)) {
      this.arrive(shard, message.message as EngineThreadBatch);
    }
    shard.port.close();
    const reason = shard.failure ?? `engine thread ${shard.index} exited (code ${code})`;
    // Starts it never answered never happened: their runners were not started.
    const waiting: Waiting<ShardCall, ThreadError>[] = [];
    for (const call of shard.channel.takeAll()) {
      if (call.call.op !== 'start') {
        waiting.push(call);
        continue;
      }
      const { config, previous } = call.call;
      const view = this.views.get(config.id);
      if (view !== undefined) this.restore(config.id, view, previous);
      call.settle({ ok: false, error: { code: 'ENGINE_UNAVAILABLE', message: `runner "${config.id}": ${reason}` } });
    }
    // Nothing is asked of it any more (the next runner placed on its shard starts a new thread).
    shard.channel.close(new EngineError('ENGINE_UNAVAILABLE', reason));
    const now = this.clock();
    const stops: { event: RunnerEvent; symbol: string }[] = [];
    for (const view of this.views.values()) {
      if (view.shard !== shard.index || view.state === 'Stopped') continue;
      // The position died with the thread, unpriced: the view must not show exposure that no runner manages.
      view.apply({ ...view, state: 'Stopped', position: null, unrealizedPnl: 0, stoppedAt: now, stopReason: reason });
      stops.push({ event: { type: 'RunnerStopped', runnerId: view.id, reason, timestamp: now }, symbol: view.symbol });
    }
    // Stops, stopAll and ready asked of it are done once its runners are reported stopped.
    this.queue.addEvents(stops, () => {
      for (const call of waiting) call.settle({ ok: true, value: null });
    });
  }

  /** Puts back the view a failed start replaced. */
  private restore(id: string, view: RunnerView, previous: RunnerView | undefined): void {
    if (this.views.get(id) !== view) return;
    if (previous === undefined) this.views.delete(id);
    else this.views.set(id, previous);
  }

  /**
   * A thread keeps the process alive while it has running runners or answers to give,
   * as the in-thread engine's feed timers do; an idle one does not.
   */
  private refresh(shard: Shard): void {
    if (this.shards[shard.index] !== shard) return;
    let busy = shard.channel.size > 0;
    if (!busy) {
      for (const view of this.views.values()) {
        if (view.shard === shard.index && view.state !== 'Stopped') {
          busy = true;
          break;
        }
      }
    }
    if (busy) {
      shard.worker.ref();
      shard.port.ref();
    } else {
      shard.worker.unref();
      shard.port.unref();
    }
  }
}

/**
 * The engine the server runs: with `threads` 0, a {@link TradingEngine} on the calling
 * thread (the engine of old); otherwise a {@link ThreadedEngine} over that many threads.
 */
export function createEngine(sink: EventSink, options: ThreadedEngineOptions): LocalEngine {
  return options.threads === 0 ? new TradingEngine(sink, options) : new ThreadedEngine(sink, options);
}
