/**
 * The socket writer of the corked limit (bench/fanout-limit.ts `corked`, `limitCorked`):
 * WebSocket frames built from a per-subscriber prefix and a shared payload, appended to
 * one buffer per socket and written with one `write`. Kept apart from the limit server so
 * that its framing can be checked without starting one.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** Bytes of `{"id":"1","type":"next","payload":`: every subscriber here is operation "1", as with the `send` limit. */
export const NEXT_PREFIX = Buffer.from('{"id":"1","type":"next","payload":');
const NEXT_SUFFIX = 0x7d; // `}`
/** Initial size of a socket's pending buffer: a few frames of a turn at 1,000 ticks/s. */
const WRITER_INITIAL_BYTES = 4096;

/**
 * One per socket in `corked` mode: the frames of one turn appended to one buffer, written
 * with one `write` when the turn ends. The buffer is handed to the socket at each flush
 * (net keeps a reference until it is sent) and a new one is started with the next frame.
 */
export class FrameWriter {
  private buffer: Buffer = Buffer.allocUnsafe(0);
  private length = 0;

  constructor(
    readonly socket: WebSocket,
    readonly raw: Socket,
    /** This subscriber's part of every frame: its graphql-ws `next` prefix. */
    readonly prefix: Buffer = NEXT_PREFIX,
  ) {}

  /** Bytes appended this turn, not yet handed to the socket. */
  get pending(): number {
    return this.length;
  }

  /** {@link pending} plus what the socket has not sent yet. */
  get backlog(): number {
    return this.length + this.raw.writableLength;
  }

  /** Appends one frame: the header, this subscriber's prefix, the shared `payload`, `}`. */
  append(payload: Buffer): void {
    const size = this.prefix.length + payload.length + 1;
    const header = size < 126 ? 2 : size < 65_536 ? 4 : 10;
    const needed = this.length + header + size;
    if (needed > this.buffer.length) {
      const next = Buffer.allocUnsafe(Math.max(needed, this.length === 0 ? WRITER_INITIAL_BYTES : this.buffer.length * 2));
      this.buffer.copy(next, 0, 0, this.length);
      this.buffer = next;
    }
    const b = this.buffer;
    let at = this.length;
    // FIN + text; a server's frames are not masked, so the payload bytes go out verbatim.
    b[at++] = 0x81;
    if (size < 126) {
      b[at++] = size;
    } else if (size < 65_536) {
      b[at++] = 126;
      b.writeUInt16BE(size, at);
      at += 2;
    } else {
      b[at++] = 127;
      b.writeBigUInt64BE(BigInt(size), at);
      at += 8;
    }
    at += this.prefix.copy(b, at);
    at += payload.copy(b, at);
    b[at++] = NEXT_SUFFIX;
    this.length = at;
  }

  /** Writes what this turn appended, in one `write`. */
  flush(): void {
    if (this.length === 0) return;
    const chunk = this.buffer.subarray(0, this.length);
    // The socket owns the bytes until they are sent: the next frame starts a new buffer.
    this.buffer = Buffer.allocUnsafe(0);
    this.length = 0;
    if (this.socket.readyState === this.socket.OPEN && !this.raw.destroyed) this.raw.write(chunk);
  }
}
