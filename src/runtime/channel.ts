/**
 * The one request/reply channel of every boundary between threads and processes (engine
 * threads, the PGlite thread, socket workers) and of the engine's remote control over Redis.
 *
 * It owns what those boundaries had each written by hand, each failing its own way: call
 * ids, the calls waiting for an answer, an optional deadline per call, failing every
 * waiting call (and every later one) when the channel closes, and keeping the peer
 * referenced while calls wait. It knows no transport: the owner of a boundary keeps its
 * framing, gives the channel a `post` function, and routes answers (`settle`, or `take`
 * to settle later) and the peer's end (`close`) to it. Errors that cross the boundary are
 * rebuilt by the one function the boundary supplies (`fromWire`).
 *
 * A base layer: it imports nothing else of this project.
 */

/** An answer as it crosses a boundary: the call's value, or its error in the boundary's wire form. */
export type Answer<Wire> = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: Wire };

/** What a call looks like: a boundary's calls are a union of these, told apart by `op`. */
export interface Op {
  readonly op: string;
}

/** The answers of a boundary's calls: a map from each call's `op` to the type of its value. */
export type Answers<Call extends Op> = { readonly [K in Call['op']]: unknown };

/** The value a call of type `C` resolves with. */
export type AnswerOf<Call extends Op, A extends Answers<Call>, C extends Call> = A[C['op']];

/** How a {@link Channel} reaches its peer and reports what went wrong, given by the boundary's owner. */
export interface ChannelOptions<Call extends Op, Wire> {
  /** Names the peer in the channel's own errors ("the engine thread 2"). */
  readonly name: string;
  /**
   * Sends call `id` in the boundary's framing. It may throw (a call that cannot be
   * serialized): the call then rejects with what it threw and is not waiting. `signal`
   * aborts when nobody waits for the answer any more (the deadline passed, the channel
   * closed): work done for the call alone (a connection of its own) may stop then.
   */
  readonly post: (id: number, call: Call, signal: AbortSignal) => void;
  /** Rebuilds the error of an answer: the one place a boundary turns its wire errors into errors. */
  readonly fromWire: (error: Wire, call: Call) => Error;
  /** How long each call waits for its answer (ms) unless the call says; by default, without end. */
  readonly deadlineMs?: number;
  /** The error of a call whose deadline passed; by default a {@link ChannelDeadlineError}. */
  readonly expired?: (call: Call, deadlineMs: number) => Error;
  /** Called when a call starts waiting and none was: keep the peer (and so the process) alive. */
  readonly ref?: () => void;
  /** Called when no call waits any more: the peer need not keep the process alive. */
  readonly unref?: () => void;
}

/** What one call takes besides itself. */
export interface CallOptions {
  /** How long this call waits for its answer (ms), instead of the channel's `deadlineMs`. */
  readonly deadlineMs?: number;
}

/** A call that waits for its answer, taken from the channel by {@link Channel.take}: it settles when its taker says. */
export interface Waiting<Call extends Op, Wire> {
  readonly id: number;
  readonly call: Call;
  /** Resolves with the answer's value, or rejects with its error rebuilt by `fromWire`. */
  settle(answer: Answer<Wire>): void;
  /** Rejects with an error of the taker's own. */
  fail(error: Error): void;
}

/** A call waited longer than its deadline (the default error; a boundary may build its own). */
export class ChannelDeadlineError extends Error {
  constructor(
    /** The peer, as the channel names it. */
    readonly peer: string,
    readonly deadlineMs: number,
  ) {
    super(`${peer} did not answer within ${deadlineMs} ms`);
    this.name = 'ChannelDeadlineError';
  }
}

/** The channel was closed (the default error of {@link Channel.close}; a boundary usually says why). */
export class ChannelClosedError extends Error {
  constructor(readonly peer: string) {
    super(`the channel to ${peer} is closed`);
    this.name = 'ChannelClosedError';
  }
}

interface Entry<Call extends Op> {
  readonly call: Call;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly abort: AbortController;
  timer: NodeJS.Timeout | null;
}

/**
 * Calls of type `Call` (a union told apart by `op`) answered with the values `A` names,
 * errors crossing as `Wire`. See the module's comment for who does what.
 */
export class Channel<Call extends Op, A extends Answers<Call>, Wire> {
  private readonly waiting = new Map<number, Entry<Call>>();
  private next = 1;
  private referenced = false;
  private closedWith: Error | null = null;

  constructor(private readonly options: ChannelOptions<Call, Wire>) {}

  /** Calls waiting for an answer. */
  get size(): number {
    return this.waiting.size;
  }

  /** The error every call fails with since the channel closed, or null while it is open. */
  get closed(): Error | null {
    return this.closedWith;
  }

  /**
   * Sends a call and resolves with its answer's value. Rejects with the channel's error
   * once it is closed (without sending), with what `post` threw, with the answer's error
   * rebuilt by `fromWire`, or at the deadline.
   */
  call<C extends Call>(call: C, options: CallOptions = {}): Promise<AnswerOf<Call, A, C>> {
    if (this.closedWith !== null) return Promise.reject(this.closedWith);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const entry: Entry<Call> = { call, resolve: resolve as (value: unknown) => void, reject, abort: new AbortController(), timer: null };
      // Waiting before it is posted: an answer the peer gives at once finds it.
      this.waiting.set(id, entry);
      try {
        this.options.post(id, call, entry.abort.signal);
      } catch (err) {
        this.waiting.delete(id);
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      // Unless the peer already answered: then nothing waits.
      if (this.waiting.get(id) !== entry) return;
      this.startDeadline(id, entry, options.deadlineMs ?? this.options.deadlineMs);
      this.sync();
    });
  }

  /** Settles call `id` with its answer; false when no call `id` waits (it expired, or the peer answered twice). */
  settle(id: number, answer: Answer<Wire>): boolean {
    const waiting = this.take(id);
    waiting?.settle(answer);
    return waiting !== undefined;
  }

  /**
   * Takes call `id` out of the waiting calls without settling it: its answer arrived and
   * will be given later (an engine thread's answer is given once the events before it are
   * published). The deadline no longer applies, and closing the channel no longer fails it.
   */
  take(id: number): Waiting<Call, Wire> | undefined {
    const entry = this.waiting.get(id);
    if (entry === undefined) return undefined;
    this.remove(id, entry);
    return {
      id,
      call: entry.call,
      settle: (answer) => {
        if (answer.ok) entry.resolve(answer.value);
        else entry.reject(this.options.fromWire(answer.error, entry.call));
      },
      fail: (error) => entry.reject(error),
    };
  }

  /** Takes every waiting call (see {@link take}), oldest first: for a boundary whose calls end differently when the peer dies. */
  takeAll(): Waiting<Call, Wire>[] {
    return [...this.waiting.keys()].map((id) => this.take(id)!);
  }

  /**
   * Closes the channel (the peer exited or disconnected, or its owner is done with it):
   * every waiting call and every later one fails with `error`. Only the first close counts.
   */
  close(error: Error = new ChannelClosedError(this.options.name)): void {
    if (this.closedWith !== null) return;
    this.closedWith = error;
    for (const [id, entry] of [...this.waiting]) {
      this.remove(id, entry);
      entry.abort.abort(error);
      entry.reject(error);
    }
  }

  private startDeadline(id: number, entry: Entry<Call>, deadlineMs: number | undefined): void {
    if (deadlineMs === undefined) return;
    entry.timer = setTimeout(() => {
      if (this.waiting.get(id) !== entry) return;
      this.remove(id, entry);
      const error = this.options.expired?.(entry.call, deadlineMs) ?? new ChannelDeadlineError(this.options.name, deadlineMs);
      entry.abort.abort(error);
      entry.reject(error);
    }, deadlineMs);
    // A deadline is no reason to stay alive: `ref` says whether the process waits for the peer.
    entry.timer.unref();
  }

  private remove(id: number, entry: Entry<Call>): void {
    this.waiting.delete(id);
    if (entry.timer !== null) clearTimeout(entry.timer);
    this.sync();
  }

  /** Refs the peer while calls wait, unrefs it when none does: each once per change. */
  private sync(): void {
    const busy = this.waiting.size > 0;
    if (busy === this.referenced) return;
    this.referenced = busy;
    if (busy) this.options.ref?.();
    else this.options.unref?.();
  }
}
