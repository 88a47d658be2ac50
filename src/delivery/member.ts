import type { FrameWriter } from './writer.js';
import type { Group } from './group.js';

/** Where a member writes: its connection's writer, and its frames' prefix and suffix. */
export interface MemberTarget {
  readonly writer: FrameWriter;
  readonly prefix: Buffer;
  readonly suffix: Buffer;
}

/**
 * What a {@link Member} reads from: a log subscription that hands items to a sink while
 * one is set, and otherwise queues them by its drop policy (see `EventSubscription` in
 * src/log/bus.ts).
 */
export interface DirectSource<T> {
  /** Set while the member keeps up: the log calls it with each item as it is published. */
  sink: ((item: T) => boolean) | null;
  /** The next item that can be read now (history, queue, drop notice), or undefined. */
  take(): T | undefined;
  /** True once nothing more will be pushed. */
  readonly closed: boolean;
  /** Why it ended, once it is read out (overflow), or null. */
  takeFailure(): Error | null;
  /** Called once when it ends (finish, overflow, close). */
  onEnded(listener: () => void): void;
  /** Called when it queued an item although a sink was set (the item was stale), and cleared the sink. */
  onQueued(listener: () => void): void;
  /** Ends it now and detaches it from the log. */
  close(): void;
}

/** Items a member reads out of its queue or history in one turn before it lets others run. */
export const PUMP_SLICE = 512;

/**
 * One subscription on one connection. While its connection keeps up it is a sink of the
 * log: each item is filtered by the log, executed once by its group, and appended here
 * as a frame: prefix, the group's shared payload, suffix. When the connection is behind
 * (or the subscription starts with history) it reads its source out in slices as the
 * connection drains, then becomes a sink again. No promise, iterator or timer on the live
 * path.
 */
export class Member<T extends object> {
  private finished = false;
  private scheduled = false;
  // An item's payload is being executed: nothing else may be appended before it.
  private awaiting = false;
  private settle!: { resolve: () => void; reject: (error: Error) => void };
  /** Settles when the subscription ends: resolved for a plain end, rejected when it failed. */
  readonly done: Promise<void>;

  private readonly writer: FrameWriter;
  private readonly prefix: Buffer;
  private readonly suffix: Buffer;

  constructor(
    private readonly group: Group<T>,
    private readonly source: DirectSource<T>,
    target: MemberTarget,
    private readonly onLeave: (member: Member<T>) => void,
  ) {
    this.writer = target.writer;
    this.prefix = target.prefix;
    this.suffix = target.suffix;
    this.done = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // Nobody awaits a member closed by its client.
    this.done.catch(() => {});
    source.onQueued(() => this.schedule());
    source.onEnded(() => {
      // Read out what is left, then end.
      source.sink = null;
      this.schedule();
    });
  }

  /** Starts delivery: history and anything queued first, then live. */
  start(): void {
    this.pump();
  }

  /** Ends the subscription now (the client completed it, or its connection closed). */
  close(): void {
    if (this.finished) return;
    this.finished = true;
    this.source.sink = null;
    this.source.close();
    this.onLeave(this);
    this.settle.resolve();
  }

  /** The live path: the log calls this with each accepted item. */
  readonly direct = (item: T): boolean => {
    if (this.writer.behind) return this.fallBack();
    const payload = this.group.payloadOf(item);
    if (payload instanceof Promise) return this.fallBack();
    this.append(payload);
    return true;
  };

  /** The log queues the item: read the queue out when there is room. */
  private fallBack(): false {
    this.source.sink = null;
    this.writer.onRoom(this.pump);
    return false;
  }

  private readonly pump = (): void => {
    this.scheduled = false;
    // A second pump (the end of the source, a second wake-up) while an item's payload is
    // awaited would append the items after it first; the awaited one pumps on when done.
    if (this.finished || this.awaiting) return;
    const source = this.source;
    for (let n = 0; n < PUMP_SLICE; n++) {
      if (this.writer.behind) {
        this.writer.onRoom(this.pump);
        return;
      }
      const item = source.take();
      if (item === undefined) {
        if (source.closed) this.end(source.takeFailure());
        else source.sink = this.direct;
        return;
      }
      const payload = this.group.payloadOf(item);
      if (payload instanceof Promise) {
        this.awaiting = true;
        payload.then(
          (bytes) => {
            this.awaiting = false;
            if (this.finished) return;
            this.append(bytes);
            this.pump();
          },
          (error: unknown) => {
            this.awaiting = false;
            this.end(error instanceof Error ? error : new Error(String(error)));
          },
        );
        return;
      }
      this.append(payload);
    }
    this.schedule();
  };

  private schedule(): void {
    if (this.scheduled || this.finished) return;
    this.scheduled = true;
    setImmediate(this.pump);
  }

  private append(payload: Buffer): void {
    this.group.counters.deliveries++;
    this.writer.frame(this.prefix, payload, this.suffix);
  }

  private end(failure: Error | null): void {
    if (this.finished) return;
    this.finished = true;
    this.source.sink = null;
    // Detach it from the log: a member that failed (its execution rejected) left a source
    // that would otherwise stay subscribed, filtering and queueing every entry for nobody.
    this.source.close();
    this.onLeave(this);
    if (failure === null) this.settle.resolve();
    else this.settle.reject(failure);
  }
}
