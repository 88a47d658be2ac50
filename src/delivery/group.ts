/**
 * An execution group: every subscriber of one document, operation and principal scope
 * (across variables where they only choose the stream). Each item any member is sent is
 * executed and encoded once for all of them: the members append the same bytes.
 */

/** The encoded payload of one item: bytes, or a promise of them when execution is async. */
export type Payload = Buffer | Promise<Buffer>;

/** Executes and encodes one item (masking errors once); owned by the transport layer. */
export type Encoder<T> = (item: T) => Payload;

/** Counters of every group of a {@link Hub}. */
export interface DeliveryCounters {
  /** Items executed and encoded. */
  executions: number;
  /** Payloads reused instead of executed again (another member, another subscription). */
  reused: number;
  /** Frames appended to connections. */
  deliveries: number;
}

/**
 * Payloads kept per group by item, oldest dropped first: members that catch up (replay,
 * a queue read out after a slow spell) mostly read items another member was just sent.
 */
export const KEPT_PAYLOADS = 4096;

const ignore = (): void => {};

/** One execution group. Items that are not shared (notices of one subscriber) bypass the memo. */
export class Group<T extends object> {
  /** Members now; the last one out removes the group from its hub. */
  size = 0;
  // The item every member of a publish asks for in turn: one comparison, no map lookup.
  private lastItem: T | null = null;
  private lastPayload: Payload | null = null;
  private readonly kept = new Map<T, Payload>();

  constructor(
    /** The group's key in its hub. */
    readonly key: string,
    private readonly encode: Encoder<T>,
    /** True for an item that is the same object for every subscriber (a log entry). */
    private readonly shared: (item: T) => boolean,
    /** The hub's counters, which this group and its members add to. */
    readonly counters: DeliveryCounters,
  ) {}

  /** The payload of `item`: encoded now, or reused from an earlier member. */
  payloadOf(item: T): Payload {
    if (item === this.lastItem) {
      this.counters.reused++;
      return this.lastPayload!;
    }
    if (!this.shared(item)) {
      this.counters.executions++;
      return this.execute(item);
    }
    let payload = this.kept.get(item);
    if (payload !== undefined) {
      this.counters.reused++;
    } else {
      this.counters.executions++;
      payload = this.execute(item);
      this.kept.set(item, payload);
      if (this.kept.size > KEPT_PAYLOADS) this.kept.delete(this.kept.keys().next().value!);
    }
    this.lastItem = item;
    this.lastPayload = payload;
    return payload;
  }

  private execute(item: T): Payload {
    let payload: Payload;
    try {
      payload = this.encode(item);
    } catch (error) {
      // Thrown on the log's publish (a member's sink) it would stop the publish for every
      // later subscriber and reach the engine; as a rejection it ends the members that
      // read this item, as an async failure does.
      payload = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    // A member reads a promised payload later, or never (it was closed, or failed on an
    // earlier item, while this one was kept here): a rejection nobody waits for must not
    // become an unhandled rejection, which stops the process. Members that do wait still
    // see it.
    if (payload instanceof Promise) payload.catch(ignore);
    return payload;
  }
}
