import type { FrameWriter } from './writer.js';
import type { Group } from './group.js';

/** Where a member writes: its connection's writer, and its frames' prefix and suffix. */
export interface MemberTarget {
  readonly writer: FrameWriter;
  readonly prefix: Buffer;
  readonly suffix: Buffer;
}

/**
 * What reads a {@link DirectSource}: told synchronously of each item while it is the
 * source's sink, and of the source's changes of state. An object, not callbacks: one
 * member holds no closure per listener (each is about 100 bytes for every idle subscriber).
 */
export interface DirectReader<T> {
  /** The live path: the log calls this with each accepted item while the reader is its sink; false: queue it. */
  accept(item: T): boolean;
  /** The log queued an item although the reader was its sink (the item was stale), and cleared the sink. */
  queued(): void;
  /** The source ended (finish, overflow, close): what it holds is to be read out. */
  ended(): void;
}

/**
 * What a {@link Member} reads from: a log subscription that hands items to its sink while
 * one is set, and otherwise queues them by its drop policy (see `EventSubscription` in
 * src/log/bus.ts).
 */
export interface DirectSource<T> {
  /** Set while the reader keeps up: the log hands it each item as it is published. */
  sink: DirectReader<T> | null;
  /** The next item that can be read now (history, queue, drop notice), or undefined. */
  take(): T | undefined;
  /** True once nothing more will be pushed. */
  readonly closed: boolean;
  /** Why it ended, once it is read out (overflow), or null. */
  takeFailure(): Error | null;
  /** Tells `reader` of the source's changes ({@link DirectReader.queued}, {@link DirectReader.ended}) from now on. */
  attach(reader: DirectReader<T>): void;
  /** Ends it now and detaches it from the log. */
  close(): void;
}

/** Told once when a member ends: `failure` is null for a plain end. */
export interface MemberWatcher {
  ended(failure: Error | null): void;
}

/** Where a member belongs: told once when it leaves (its hub, which counts members per group). */
export interface MemberHost<T extends object> {
  left(member: Member<T>): void;
}

/** Items a member reads out of its queue or history in one turn before it lets others run. */
export const PUMP_SLICE = 512;

const ignore = (): void => {};

/** How a member ended, once it has: null for a plain end. */
type Outcome = { readonly failure: Error | null };

/**
 * One subscription on one connection. While its connection keeps up it is the sink of the
 * log: each item is filtered by the log, executed once by its group, and appended here
 * as a frame: prefix, the group's shared payload, suffix. When the connection is behind
 * (or the subscription starts with history) it reads its source out in slices as the
 * connection drains, then becomes the sink again. No promise, iterator or timer on the
 * live path, and none held while idle: what it needs only when behind (the pump's
 * callback) or only for a caller that waits on it ({@link done}) is made then.
 */
export class Member<T extends object> implements DirectReader<T> {
  private finished = false;
  private scheduled = false;
  // An item's payload is being executed: nothing else may be appended before it.
  private awaiting = false;
  private outcome: Outcome | null = null;
  private donePromise: Promise<void> | null = null;
  private settle: { resolve: () => void; reject: (error: Error) => void } | null = null;
  // The pump as a callback (for setImmediate and the writer's onRoom): made the first time
  // the member has to wait, which most never do.
  private pumpCallback: (() => void) | null = null;
  /** Told once when the member ends (the transport's view of the subscription). */
  watcher: MemberWatcher | null = null;

  private readonly writer: FrameWriter;
  private readonly prefix: Buffer;
  private readonly suffix: Buffer;

  constructor(
    /** Its execution group. */
    readonly group: Group<T>,
    private readonly source: DirectSource<T>,
    target: MemberTarget,
    private readonly host: MemberHost<T>,
  ) {
    this.writer = target.writer;
    this.prefix = target.prefix;
    this.suffix = target.suffix;
    source.attach(this);
  }

  /** Settles when the subscription ends: resolved for a plain end, rejected when it failed. */
  get done(): Promise<void> {
    if (this.donePromise === null) {
      const outcome = this.outcome;
      if (outcome !== null) {
        this.donePromise = outcome.failure === null ? Promise.resolve() : Promise.reject(outcome.failure);
      } else {
        this.donePromise = new Promise((resolve, reject) => {
          this.settle = { resolve, reject };
        });
      }
      // Nobody awaits a member closed by its client.
      this.donePromise.catch(ignore);
    }
    return this.donePromise;
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
    this.settled(null);
  }

  /** The live path: the log calls this with each accepted item. */
  accept(item: T): boolean {
    if (this.writer.behind) return this.fallBack();
    const payload = this.group.payloadOf(item);
    if (payload instanceof Promise) return this.fallBack();
    this.append(payload);
    return true;
  }

  /** @internal The log queued an item while this member was its sink: read the queue out. */
  queued(): void {
    this.schedule();
  }

  /** @internal The source ended: read out what is left, then end. */
  ended(): void {
    this.source.sink = null;
    this.schedule();
  }

  /** The log queues the item: read the queue out when there is room. */
  private fallBack(): false {
    this.source.sink = null;
    this.writer.onRoom(this.pumper());
    return false;
  }

  private pumper(): () => void {
    return (this.pumpCallback ??= () => this.pump());
  }

  private pump(): void {
    this.scheduled = false;
    // A second pump (the end of the source, a second wake-up) while an item's payload is
    // awaited would append the items after it first; the awaited one pumps on when done.
    if (this.finished || this.awaiting) return;
    const source = this.source;
    for (let n = 0; n < PUMP_SLICE; n++) {
      if (this.writer.behind) {
        this.writer.onRoom(this.pumper());
        return;
      }
      const item = source.take();
      if (item === undefined) {
        if (source.closed) this.end(source.takeFailure());
        else source.sink = this;
        return;
      }
      const payload = this.group.payloadOf(item);
      if (payload instanceof Promise) {
        this.await(payload);
        return;
      }
      this.append(payload);
    }
    this.schedule();
  }

  /** Appends an item's payload once its execution is done, then pumps on. */
  private await(payload: Promise<Buffer>): void {
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
  }

  private schedule(): void {
    if (this.scheduled || this.finished) return;
    this.scheduled = true;
    setImmediate(this.pumper());
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
    this.settled(failure);
  }

  /** Leaves the group and tells whoever waits how it ended. */
  private settled(failure: Error | null): void {
    this.outcome = { failure };
    this.host.left(this);
    const settle = this.settle;
    this.settle = null;
    if (settle !== null) {
      if (failure === null) settle.resolve();
      else settle.reject(failure);
    }
    this.watcher?.ended(failure);
  }
}
