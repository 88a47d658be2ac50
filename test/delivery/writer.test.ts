import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FLUSH_SLICE, FrameWriter, flushStats, UNFRAMED, WS_TEXT_FRAMING } from '../../src/delivery/writer.js';
import { parseFrames } from '../support/ws-frames.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function sinkOf(highWaterMark = 16 * 1024) {
  const stream = new PassThrough({ highWaterMark });
  const writes: Buffer[] = [];
  const write = stream.write.bind(stream);
  stream.write = ((chunk: Buffer) => {
    writes.push(Buffer.from(chunk));
    return write(chunk);
  }) as typeof stream.write;
  return { stream, writes };
}

describe('FrameWriter', () => {
  it('frames every length class (7, 16 and 64 bits) so a WebSocket reader gets each message whole', async () => {
    const { stream, writes } = sinkOf(1 << 24);
    const writer = new FrameWriter(stream, WS_TEXT_FRAMING, 1 << 24);
    const sizes = [0, 1, 125, 126, 127, 65_535, 65_536, 200_001];
    const prefix = Buffer.from('{"id":"7","type":"next","payload":');
    const suffix = Buffer.from('}');
    for (const size of sizes) writer.frame(prefix, Buffer.from('x'.repeat(size)), suffix);
    await turn();
    const frames = parseFrames(Buffer.concat(writes));
    expect(frames.map((f) => f.length)).toEqual(sizes.map((n) => prefix.length + n + suffix.length));
    expect(frames.every((f, i) => f === `${prefix}${'x'.repeat(sizes[i]!)}}`)).toBe(true);
  });

  it('writes what a turn appended in one write, in order, text and shared frames alike', async () => {
    const { stream, writes } = sinkOf();
    const writer = new FrameWriter(stream, WS_TEXT_FRAMING);
    const shared = Buffer.from('{"data":1}');
    writer.text('{"type":"connection_ack"}');
    for (let i = 0; i < 100; i++) writer.frame(Buffer.from(`[${i},`), shared, Buffer.from(']'));
    expect(writes).toHaveLength(0);
    await turn();
    expect(writes).toHaveLength(1);
    const frames = parseFrames(writes[0]!);
    expect(frames[0]).toBe('{"type":"connection_ack"}');
    expect(frames.slice(1)).toEqual(Array.from({ length: 100 }, (_, i) => `[${i},{"data":1}]`));
    expect(writer.counts).toEqual({ frames: 101, writes: 1 });
  });

  it('is behind past its high-water mark and calls back once the socket drained', async () => {
    const { stream } = sinkOf(1024);
    const writer = new FrameWriter(stream, UNFRAMED, 4096);
    const chunk = Buffer.alloc(1000, 97);
    const empty = Buffer.alloc(0);
    for (let i = 0; i < 5; i++) writer.frame(empty, chunk, empty);
    expect(writer.behind).toBe(true);
    let called = 0;
    writer.onRoom(() => called++);
    await turn();
    expect(called).toBe(0);
    // The reader takes everything: the socket drains.
    stream.resume();
    await new Promise<void>((resolve) => stream.once('drain', () => setImmediate(resolve)));
    await turn();
    expect(called).toBe(1);
    expect(writer.behind).toBe(false);
  });

  it('appends nothing after end()', async () => {
    const { stream, writes } = sinkOf();
    const writer = new FrameWriter(stream, WS_TEXT_FRAMING);
    writer.text('a');
    writer.end();
    writer.text('b');
    await turn();
    expect(parseFrames(Buffer.concat(writes))).toEqual(['a']);
    expect(writer.behind).toBe(true);
  });
});

describe('FrameWriter under a socket with a higher mark of its own', () => {
  it('calls back once the bytes are taken, although no drain comes', async () => {
    // A socket that holds every chunk until the test lets the kernel take it.
    const held: (() => void)[] = [];
    const socket = new Writable({ highWaterMark: 1 << 20, write: (_chunk, _encoding, done) => void held.push(() => done()) });
    const writer = new FrameWriter(socket, UNFRAMED, 4096);
    const empty = Buffer.alloc(0);
    for (let i = 0; i < 5; i++) writer.frame(empty, Buffer.alloc(1000, 97), empty);
    writer.flush();
    expect(writer.behind).toBe(true);
    expect(socket.writableNeedDrain).toBe(false);
    const called = new Promise<void>((resolve) => writer.onRoom(resolve));
    for (const done of held.splice(0)) done();
    await called;
    expect(writer.behind).toBe(false);
  });
});

describe('FrameWriter flushes in slices', () => {
  /** A socket that only counts its writes. */
  const counting = () => {
    const socket = { writes: 0, writableLength: 0, destroyed: false, write: () => (socket.writes++, true), once: () => socket };
    return socket;
  };

  it(`writes at most FLUSH_SLICE (${FLUSH_SLICE}) connections per callback, and a connection with a control message first`, async () => {
    const sockets = Array.from({ length: 5 * FLUSH_SLICE }, counting);
    const writers = sockets.map((socket) => new FrameWriter(socket));
    const payload = Buffer.from('{"data":{}}');
    for (const writer of writers) writer.frame(Buffer.from('{"id":"1","type":"next","payload":'), payload, Buffer.from('}'));
    // A new connection acked after thousands of others had frames appended.
    const fresh = counting();
    new FrameWriter(fresh).text('{"type":"connection_ack"}');
    const written = () => sockets.reduce((n, socket) => n + socket.writes, 0);
    await turn();
    // One flush callback ran: the ack went out, and most of the others wait for later turns.
    expect(fresh.writes).toBe(1);
    expect(written()).toBe(FLUSH_SLICE - 1);
    expect(flushStats().mostWrites).toBeLessThanOrEqual(FLUSH_SLICE);
    while (flushStats().waiting > 0) await turn();
    expect(sockets.every((socket) => socket.writes === 1)).toBe(true);
  });
});
