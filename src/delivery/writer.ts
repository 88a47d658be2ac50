/**
 * One writer per connection: every message of the connection is appended to it, and it
 * writes what was appended since its last flush in one write. An event fanned out to many
 * subscriptions of many sockets costs one copy of its bytes per frame and one write per
 * socket, never a promise, a callback or a syscall per frame. The connections are written
 * {@link FLUSH_SLICE} per callback, so that thousands of them never hold the event loop.
 */

const EMPTY = Buffer.alloc(0);

/** The bytes under a writer: a socket, or anything that buffers like one. */
export interface ByteSink {
  /** Writes a chunk; false when it is now buffered past its own high-water mark. */
  write(chunk: Buffer): boolean;
  /** Bytes it holds that the peer has not taken yet. */
  readonly writableLength: number;
  /** True once nothing more can be written. */
  readonly destroyed: boolean;
  /** True when a write returned false and 'drain' is still to come (Node's streams have it). */
  readonly writableNeedDrain?: boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/** How a message becomes a frame on the wire: the bytes that go before its payload. */
export interface Framing {
  /** Most bytes {@link writeHeader} writes. */
  readonly maxHeader: number;
  /** Writes the header of a payload of `length` bytes at `offset`; returns its size. */
  writeHeader(target: Buffer, offset: number, length: number): number;
}

/** No framing: the bytes are written as they are (a stream of text such as SSE). */
export const UNFRAMED: Framing = { maxHeader: 0, writeHeader: () => 0 };

/**
 * WebSocket text frames from a server: FIN and opcode 1, then the length (7 bits, or
 * 126 + 16 bits, or 127 + 64 bits). Server frames are never masked (RFC 6455 §5.1), so a
 * payload shared by many sockets goes out verbatim in each.
 */
export const WS_TEXT_FRAMING: Framing = {
  maxHeader: 10,
  writeHeader(target, offset, length) {
    target[offset] = 0x81;
    if (length < 126) {
      target[offset + 1] = length;
      return 2;
    }
    if (length < 65_536) {
      target[offset + 1] = 126;
      target.writeUInt16BE(length, offset + 2);
      return 4;
    }
    target[offset + 1] = 127;
    target.writeBigUInt64BE(BigInt(length), offset + 2);
    return 10;
  },
};

/**
 * Bytes a connection may have unsent (appended this turn plus held by its socket) before
 * it counts as behind: its subscribers then queue by their own drop policy instead of
 * appending, so a slow reader costs bounded memory and never slows the others.
 */
export const DEFAULT_HIGH_WATER_BYTES = 1 << 20;

/** Appended bytes written at once, without waiting for the end of the turn. */
const EAGER_FLUSH_BYTES = 256 * 1024;

/**
 * Least size of a turn's first buffer (twice the first frame when that is more): small
 * enough to come from Node's buffer pool (a slice, no allocation of its own), which is
 * what a turn of one or two frames needs.
 */
const FIRST_CHUNK_BYTES = 512;

/** Largest buffer a connection keeps between turns for its next frames. */
const MAX_SPARE_BYTES = 64 * 1024;

/** How soon a writer behind by its own mark, but not by its socket's, looks again. */
const RECHECK_MS = 10;

/**
 * How often the spare buffers are looked at: a writer that wrote nothing since the last
 * look gives its spare up, so that an idle connection holds no buffer (its last one was
 * about 0.6 KB of every idle subscriber), while a busy one keeps reusing its own.
 */
export const SPARE_SWEEP_MS = 200;

/** Writers holding a spare buffer, looked at by {@link releaseIdleSpares}. */
let withSpare: FrameWriter[] = [];
let sweepTimer: NodeJS.Timeout | null = null;

/**
 * @internal Takes the spare buffer of every writer that wrote nothing since the last
 * call (run every {@link SPARE_SWEEP_MS} while some writer holds one; tests call it).
 */
export function releaseIdleSpares(): void {
  const kept: FrameWriter[] = [];
  for (const writer of withSpare) if (writer.keepSpare()) kept.push(writer);
  withSpare = kept;
  if (kept.length === 0 && sweepTimer !== null) {
    clearInterval(sweepTimer);
    sweepTimer = null;
  }
}

function listSpare(writer: FrameWriter): void {
  withSpare.push(writer);
  if (sweepTimer !== null) return;
  sweepTimer = setInterval(releaseIdleSpares, SPARE_SWEEP_MS);
  sweepTimer.unref();
}

/**
 * Writers written in one callback; the rest are written in the next turns (setImmediate,
 * after the turn's I/O). A flush of 5,000 connections in one callback (a write each) held
 * the loop for tens of ms, and `/health` and new connections waited behind it. About 1–2 ms
 * of writes on a loaded server; connections with a control message (an ack, an error)
 * go first (see {@link FrameWriter.text}).
 */
export const FLUSH_SLICE = 128;

/**
 * Writers with bytes appended since their last flush, in the order they were first
 * appended to: `urgent` ones (a control message) are written before the others.
 */
let dirty: (FrameWriter | undefined)[] = [];
let dirtyHead = 0;
let urgent: (FrameWriter | undefined)[] = [];
let urgentHead = 0;
let scheduled = false;
let flushes = 0;
let longestFlush = 0;

/** Writes up to {@link FLUSH_SLICE} of the writers appended to, urgent ones first. */
function flushSome(): void {
  scheduled = false;
  let written = 0;
  while (written < FLUSH_SLICE && urgentHead < urgent.length) {
    const writer = urgent[urgentHead]!;
    urgent[urgentHead++] = undefined;
    if (writer.turnEnded()) written++;
  }
  while (written < FLUSH_SLICE && dirtyHead < dirty.length) {
    const writer = dirty[dirtyHead]!;
    dirty[dirtyHead] = undefined;
    dirtyHead++;
    if (writer.turnEnded()) written++;
  }
  flushes++;
  if (written > longestFlush) longestFlush = written;
  if (urgentHead === urgent.length) {
    urgent = [];
    urgentHead = 0;
  }
  if (dirtyHead === dirty.length) {
    dirty = [];
    dirtyHead = 0;
  }
  if (urgent.length > 0 || dirty.length > 0) schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(flushSome);
}

/**
 * How the writers' flushes went since start: flush callbacks run, the most connections one
 * of them wrote, and connections waiting for a flush now (for tests and the bench).
 */
export function flushStats(): { readonly callbacks: number; readonly mostWrites: number; readonly waiting: number } {
  return { callbacks: flushes, mostWrites: longestFlush, waiting: dirty.length - dirtyHead + urgent.length - urgentHead };
}

/**
 * Builds and writes the frames of one connection. Appending copies the frame (header,
 * the subscriber's prefix, the shared payload, suffix) into this turn's buffer and marks
 * the writer for a flush in a later callback (setImmediate, so every publish of the
 * turn shares it); the flush writes the buffer in one write. No allocation per frame.
 */
export class FrameWriter {
  private buffer: Buffer | null = null;
  private used = 0;
  // The buffer of the last write, taken again once the socket holds nothing: the kernel has
  // its bytes then. Allocating a new one per connection per turn was a tenth of the CPU at
  // 5,000 connections.
  private spare: Buffer | null = null;
  // Listed for the sweep of idle spares, and whether it wrote since the sweep's last look.
  private spareListed = false;
  private wroteSinceSweep = false;
  // The socket's unsent bytes when last looked at (after a write, a drain): reading the
  // stream's state for every frame costs more than the frame.
  private held = 0;
  private marked = false;
  // Listed with the urgent writers of the next flush.
  private urgent = false;
  private ended = false;
  // Made when something first waits for room: most connections never fall behind.
  private waiters: (() => void)[] | null = null;
  private waitingForDrain = false;
  private frames = 0;
  private writes = 0;

  constructor(
    private readonly sink: ByteSink,
    private readonly framing: Framing = WS_TEXT_FRAMING,
    /** See {@link DEFAULT_HIGH_WATER_BYTES}. */
    readonly highWaterBytes: number = DEFAULT_HIGH_WATER_BYTES,
  ) {}

  /** True when the connection has more unsent than its high-water mark, or is gone. */
  get behind(): boolean {
    return this.ended || this.used + this.held >= this.highWaterBytes;
  }

  /** Bytes appended and not yet written, plus those the socket holds. */
  get bufferedBytes(): number {
    return this.used + this.sink.writableLength;
  }

  /** Frames appended and writes made so far (for tests and stats). */
  get counts(): { readonly frames: number; readonly writes: number } {
    return { frames: this.frames, writes: this.writes };
  }

  /** True while it keeps a buffer for its next frames (see {@link releaseIdleSpares}). */
  get holdsSpare(): boolean {
    return this.spare !== null;
  }

  /**
   * Appends one message of text (a control message, a rare frame). Its connection is
   * written before those that only have shared frames waiting: a new connection's ack
   * must not wait behind a fan-out to thousands of others.
   */
  text(message: string): void {
    this.frame(EMPTY, Buffer.from(message), EMPTY);
    if (this.used > 0 && !this.urgent) {
      this.urgent = true;
      urgent.push(this);
      schedule();
    }
  }

  /** Appends one message whose payload is `prefix`, then `payload` (shared), then `suffix`. */
  frame(prefix: Buffer, payload: Buffer, suffix: Buffer): void {
    if (this.ended) return;
    const length = prefix.length + payload.length + suffix.length;
    const need = this.framing.maxHeader + length;
    let buffer = this.buffer;
    if (buffer === null || this.used + need > buffer.length) buffer = this.grow(need);
    let at = this.used;
    at += this.framing.writeHeader(buffer, at, length);
    // TypedArray#set stays in V8; Buffer#copy crosses into C++ for every part.
    buffer.set(prefix, at);
    at += prefix.length;
    buffer.set(payload, at);
    at += payload.length;
    buffer.set(suffix, at);
    at += suffix.length;
    this.used = at;
    this.frames++;
    // A long turn (a burst) must not hold everything back until it ends.
    if (at >= EAGER_FLUSH_BYTES) this.flush();
    else this.mark();
  }

  /**
   * Calls `listener` once when the connection is no longer behind (its socket drained),
   * or on the next turn if it is not behind now.
   */
  onRoom(listener: () => void): void {
    if (this.ended) return;
    (this.waiters ??= []).push(listener);
    if (this.used > 0 && this.behind) this.flush();
    this.held = this.sink.writableLength;
    if (!this.behind) {
      setImmediate(() => this.wake());
      return;
    }
    this.awaitDrain();
  }

  /** Writes what was appended, in one write. */
  flush(): void {
    const buffer = this.buffer;
    if (buffer === null || this.used === 0 || this.ended) return;
    const chunk = buffer.subarray(0, this.used);
    // The socket may hold the chunk until the kernel takes it: the next frames go to the
    // spare only once the socket holds nothing (see grow).
    this.buffer = null;
    this.used = 0;
    if (this.sink.destroyed) return;
    this.writes++;
    this.spare = buffer.length <= MAX_SPARE_BYTES ? buffer : null;
    if (this.spare !== null) {
      this.wroteSinceSweep = true;
      if (!this.spareListed) {
        this.spareListed = true;
        listSpare(this);
      }
    }
    const room = this.sink.write(chunk);
    this.held = this.sink.writableLength;
    if (!room && this.waiters !== null && this.waiters.length > 0) this.awaitDrain();
  }

  /** Writes what is appended now and appends nothing more (the connection is closing or gone). */
  end(): void {
    this.flush();
    this.ended = true;
    this.buffer = null;
    this.spare = null;
    this.used = 0;
    this.waiters = null;
  }

  /** @internal The sweep's look: false (and the spare given up) when it wrote nothing since the last one. */
  keepSpare(): boolean {
    if (this.spare !== null && this.wroteSinceSweep) {
      this.wroteSinceSweep = false;
      return true;
    }
    this.spare = null;
    this.spareListed = false;
    return false;
  }

  /**
   * @internal The turn's flush: writes what is appended, and the next append marks again.
   * Returns whether it wrote (a writer is listed once for its first append and once more
   * when it turns urgent; the second listing finds nothing left).
   */
  turnEnded(): boolean {
    this.marked = false;
    this.urgent = false;
    const writes = this.writes;
    this.flush();
    return this.writes !== writes;
  }

  private grow(need: number): Buffer {
    const old = this.buffer;
    const size = Math.max(FIRST_CHUNK_BYTES, 2 * (old?.length ?? need), this.used + need);
    const spare = this.spare;
    let buffer: Buffer;
    if (old === null && spare !== null && spare.length >= size && this.sink.writableLength === 0) {
      buffer = spare;
      this.spare = null;
    } else {
      buffer = Buffer.allocUnsafe(size);
    }
    if (old !== null && this.used > 0) old.copy(buffer, 0, 0, this.used);
    this.buffer = buffer;
    return buffer;
  }

  private mark(): void {
    if (this.marked) return;
    this.marked = true;
    dirty.push(this);
    schedule();
  }

  private awaitDrain(): void {
    if (this.waitingForDrain || this.sink.destroyed) return;
    if (this.sink.writableNeedDrain === false) {
      // Behind by our mark but under the socket's own: no 'drain' will come, so look again soon.
      this.waitingForDrain = true;
      setTimeout(() => {
        this.waitingForDrain = false;
        this.wake();
      }, RECHECK_MS).unref();
      return;
    }
    this.waitingForDrain = true;
    this.sink.once('drain', () => {
      this.waitingForDrain = false;
      this.wake();
    });
  }

  private wake(): void {
    if (this.ended) return;
    this.held = this.sink.writableLength;
    if (this.behind) {
      this.awaitDrain();
      return;
    }
    const waiters = this.waiters;
    this.waiters = null;
    if (waiters !== null) for (const waiter of waiters) waiter();
  }
}
