import { isHighFrequency } from '../../events/helpers.js';
import type { RunnerEvent } from '../../events/types.js';
import type { EventSink } from '../engine.js';
import { BatchEncoder } from './codec.js';
import type { EngineThreadBatch, EngineThreadReply, RunnerUpdate } from './protocol.js';

/**
 * Events an engine thread may have handed to the main thread and not yet seen published
 * (default of {@link HandOffOptions.bound}). At 100,000 ticks/s that is about a second
 * of the main thread falling behind, some 100 MB at most, before ticks are dropped.
 */
export const DEFAULT_HAND_OFF_BOUND = 100_000;

/** Events per message at most: a busy thread still hands off in pieces the main thread can interleave with sockets. */
const MAX_BATCH = 4096;

/** A loss that lasts is reported at least this often, not only once it ends. */
const LOSS_REPORT_MS = 1000;

/** Options of a {@link HandOff}. */
export interface HandOffOptions {
  /**
   * Unacknowledged events (handed off, or waiting to be, and not yet published by the
   * main thread) above which new high-frequency events (TickReceived, PositionUpdated)
   * are dropped instead of queued, and reported. Other events always pass: they are
   * few, and critical ones must never be lost. Default {@link DEFAULT_HAND_OFF_BOUND}.
   */
  readonly bound?: number;
  /** Runs `flush` soon (default: `setImmediate`, once per turn of the thread's loop). */
  readonly schedule?: (flush: () => void) => void;
  /** Milliseconds since the epoch, for loss reports (default Date.now). */
  readonly clock?: () => number;
}

/** Milliseconds since the epoch at sub-millisecond resolution, comparable across threads. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

interface Loss {
  readonly symbol: string;
  ticks: number;
  marks: number;
  readonly since: number;
}

/**
 * The sink of an engine thread's runners: it gathers their events and hands them to the
 * main thread in batches, one per turn of the thread's event loop (so an event waits
 * well under a millisecond when the thread is idle), with the view of each runner that
 * changed. It never blocks a runner: when the main thread falls `bound` events behind,
 * ticks and marks are dropped, counted per runner, and reported as a RunnerError
 * (severity Error) of that runner once the backlog is under the bound again, before the
 * runner's next standard or critical event, and every second while it lasts.
 */
export class HandOff implements EventSink {
  private readonly encoder = new BatchEncoder();
  private replies: EngineThreadReply[] = [];
  private readonly dirty = new Set<string>();
  private readonly losses = new Map<string, Loss>();
  private unacked = 0;
  private since = 0;
  private scheduled = false;
  private readonly bound: number;
  private readonly schedule: (flush: () => void) => void;
  private readonly clock: () => number;
  private readonly flushNow = () => {
    this.scheduled = false;
    this.flush();
  };

  /**
   * `post` sends a batch to the main thread; `view` reads a runner's current view
   * (undefined once the engine forgot it).
   */
  constructor(
    private readonly post: (batch: EngineThreadBatch, transfer: ArrayBuffer[]) => void,
    private readonly view: (id: string) => RunnerUpdate | undefined,
    options: HandOffOptions = {},
  ) {
    this.bound = options.bound ?? DEFAULT_HAND_OFF_BOUND;
    if (!Number.isInteger(this.bound) || this.bound < 1) throw new RangeError(`the hand-off bound must be a whole number ≥ 1, got ${this.bound}`);
    this.schedule = options.schedule ?? setImmediate;
    this.clock = options.clock ?? Date.now;
  }

  /** Events handed off (or waiting to be) that the main thread has not yet published. */
  get backlog(): number {
    return this.unacked + this.encoder.count;
  }

  /** Queues an event for the next batch, or drops it (a tick or mark over the bound) and counts it. */
  publish(event: RunnerEvent, symbol: string): void {
    const id = event.runnerId;
    if (isHighFrequency(event)) {
      if (this.backlog >= this.bound) {
        this.drop(event, symbol);
        return;
      }
    } else if (this.losses.has(id)) {
      // Said before what comes next: a watcher sees the loss before, say, the RunnerStopped.
      this.reportLoss(id);
    }
    this.push(event, symbol);
  }

  /** Answers a request in the next batch, after every event published so far. */
  reply(reply: EngineThreadReply): void {
    this.replies.push(reply);
    this.wake();
  }

  /** The main thread published `count` more events. */
  acknowledge(count: number): void {
    this.unacked = Math.max(0, this.unacked - count);
    if (this.losses.size > 0 && this.backlog < this.bound) for (const id of [...this.losses.keys()]) this.reportLoss(id);
  }

  /** Marks a runner's view as changed (a change no event shows, such as a forgotten runner). */
  touch(id: string): void {
    this.dirty.add(id);
    this.wake();
  }

  /** Hands off what is gathered now, with the views of the runners that changed. */
  flush(): void {
    if (this.losses.size > 0) {
      const now = this.clock();
      for (const [id, loss] of [...this.losses]) if (now - loss.since >= LOSS_REPORT_MS) this.reportLoss(id);
    }
    if (this.encoder.count === 0 && this.replies.length === 0 && this.dirty.size === 0) return;
    for (const id of this.dirty) {
      const update = this.view(id);
      if (update !== undefined) this.encoder.update(update, update.symbol);
    }
    this.dirty.clear();
    this.unacked += this.encoder.count;
    const since = this.encoder.count > 0 ? this.since : now();
    const { batch, transfer } = this.encoder.take(since, this.replies);
    this.replies = [];
    this.post(batch, transfer);
  }

  private push(event: RunnerEvent, symbol: string): void {
    if (this.encoder.count === 0) this.since = now();
    this.encoder.event(event, symbol);
    this.dirty.add(event.runnerId);
    if (this.encoder.count >= MAX_BATCH) this.flush();
    else this.wake();
  }

  private drop(event: RunnerEvent, symbol: string): void {
    const id = event.runnerId;
    let loss = this.losses.get(id);
    if (loss === undefined) {
      loss = { symbol, ticks: 0, marks: 0, since: this.clock() };
      this.losses.set(id, loss);
    }
    if (event.type === 'TickReceived') loss.ticks++;
    else loss.marks++;
    // The runner's view still moves (its stats count the tick): the main thread sees it.
    this.dirty.add(id);
    this.wake();
  }

  private reportLoss(id: string): void {
    const loss = this.losses.get(id);
    if (loss === undefined) return;
    this.losses.delete(id);
    const total = loss.ticks + loss.marks;
    const error =
      `${total} high-frequency events of this runner (${loss.ticks} TickReceived, ${loss.marks} PositionUpdated) were dropped before publication: ` +
      `the server's main thread was more than ${this.bound} events behind the engine thread (the engine's hand-off bound); the runner kept trading`;
    this.push({ type: 'Error', runnerId: id, error, severity: 'Error', timestamp: this.clock() }, loss.symbol);
  }

  private wake(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(this.flushNow);
  }
}
