/**
 * One writer per connection: every message of the connection is appended to it, and it
 * writes what a turn of the event loop appended in one write. An event fanned out to many
 * subscriptions of many sockets costs one copy of its bytes per frame and one write per
 * socket, never a promise, a callback or a syscall per frame.
 */

/** The bytes under a writer: a socket, or anything that buffers like one. */
export interface ByteSink {
  /** Writes a chunk; false when it is now buffered past its own high-water mark. */
  write(chunk: Buffer): boolean;
  /** Bytes it holds that the peer has not taken yet. */
  readonly writableLength: number;
  /** True once nothing more can be written. */
  readonly destroyed: boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/** How a message becomes a frame on the wire: the bytes that go before its payload. */
export interface Framing {
  /** The frame header of a payload of `length` bytes (may be empty). */
  header(length: number): Buffer;
  /** The bytes after the payload (may be empty). */
  readonly trailer: Buffer;
}

const EMPTY = Buffer.alloc(0);

/** No framing: the bytes are written as they are (a stream of text such as SSE). */
export const UNFRAMED: Framing = { header: () => EMPTY, trailer: EMPTY };

/**
 * WebSocket text frames from a server: FIN and opcode 1, then the length (7 bits, or
 * 126 + 16 bits, or 127 + 64 bits). Server frames are never masked (RFC 6455 §5.1), so a
 * payload shared by many sockets goes out verbatim in each.
 */
export const WS_TEXT_FRAMING: Framing = {
  header(length) {
    if (length < 126) return Buffer.from([0x81, length]);
    if (length < 65_536) {
      const header = Buffer.allocUnsafe(4);
      header[0] = 0x81;
      header[1] = 126;
      header.writeUInt16BE(length, 2);
      return header;
    }
    const header = Buffer.allocUnsafe(10);
    header[0] = 0x81;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
    return header;
  },
  trailer: EMPTY,
};

/**
 * Bytes a connection may have unsent (appended this turn plus held by its socket) before
 * it counts as behind: its subscribers then queue by their own drop policy instead of
 * appending, so a slow reader costs bounded memory and never slows the others.
 */
export const DEFAULT_HIGH_WATER_BYTES = 1 << 20;

/** Appended bytes written at once, without waiting for the end of the turn. */
const EAGER_FLUSH_BYTES = 256 * 1024;

/** Writers with bytes appended since the last flush, written together once per turn. */
let dirty: FrameWriter[] = [];
let scheduled = false;

function flushAll(): void {
  scheduled = false;
  const writers = dirty;
  dirty = [];
  for (const writer of writers) writer.turnEnded();
}

/**
 * Builds and writes the frames of one connection. `append*` never write: they copy
 * nothing, remember the parts, and mark the writer for the flush at the end of this turn
 * (setImmediate, so every publish of the turn shares it); a flush concatenates the parts
 * into one buffer and writes it.
 */
export class FrameWriter {
  private parts: Buffer[] = [];
  private pending = 0;
  private marked = false;
  private ended = false;
  private waiters: (() => void)[] = [];
  private waitingForDrain = false;
  private frames = 0;
  private writes = 0;

  constructor(
    private readonly sink: ByteSink,
    private readonly framing: Framing = WS_TEXT_FRAMING,
    /** See {@link DEFAULT_HIGH_WATER_BYTES}. */
    readonly highWaterBytes: number = DEFAULT_HIGH_WATER_BYTES,
  ) {}

  /** True when the connection has more unsent than its high-water mark (or is gone). */
  get behind(): boolean {
    return this.ended || this.sink.destroyed || this.pending + this.sink.writableLength >= this.highWaterBytes;
  }

  /** Bytes appended and not yet written, plus those the socket holds. */
  get bufferedBytes(): number {
    return this.pending + this.sink.writableLength;
  }

  /** Frames appended and writes made so far (for tests and stats). */
  get counts(): { readonly frames: number; readonly writes: number } {
    return { frames: this.frames, writes: this.writes };
  }

  /** Appends one message of text (a control message, a rare frame). */
  text(message: string): void {
    this.frame(Buffer.from(message));
  }

  /** Appends one message whose payload is `parts` in order (a prefix, shared bytes, a suffix). */
  frame(...parts: Buffer[]): void {
    if (this.ended) return;
    let length = 0;
    for (const part of parts) length += part.length;
    const header = this.framing.header(length);
    if (header.length > 0) this.parts.push(header);
    for (const part of parts) this.parts.push(part);
    if (this.framing.trailer.length > 0) this.parts.push(this.framing.trailer);
    this.pending += header.length + length + this.framing.trailer.length;
    this.frames++;
    // A long turn (a burst) must not hold everything back until it ends.
    if (this.pending >= EAGER_FLUSH_BYTES) this.flush();
    else this.mark();
  }

  /**
   * Calls `listener` once when the connection is no longer behind (its socket drained),
   * or at once on the next turn if it is not behind now.
   */
  onRoom(listener: () => void): void {
    if (this.ended) return;
    this.waiters.push(listener);
    if (!this.behind) {
      setImmediate(() => this.wake());
      return;
    }
    if (this.pending > 0) this.flush();
    this.awaitDrain();
  }

  /** Writes what was appended, in one write. */
  flush(): void {
    if (this.pending === 0 || this.ended) return;
    const parts = this.parts;
    const chunk = parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.pending);
    this.parts = [];
    this.pending = 0;
    if (this.sink.destroyed) return;
    this.writes++;
    if (!this.sink.write(chunk) && this.waiters.length > 0) this.awaitDrain();
  }

  /** Writes what is appended now and appends nothing more (the connection is closing or gone). */
  end(): void {
    this.flush();
    this.ended = true;
    this.parts = [];
    this.pending = 0;
    this.waiters = [];
  }

  private mark(): void {
    if (this.marked) return;
    this.marked = true;
    dirty.push(this);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flushAll);
    }
  }

  /** @internal The turn's flush: writes what is appended, and the next append marks again. */
  turnEnded(): void {
    this.marked = false;
    this.flush();
  }

  private awaitDrain(): void {
    if (this.waitingForDrain || this.sink.destroyed) return;
    this.waitingForDrain = true;
    this.sink.once('drain', () => {
      this.waitingForDrain = false;
      this.wake();
    });
  }

  private wake(): void {
    if (this.ended) return;
    if (this.behind) {
      this.awaitDrain();
      return;
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }
}
