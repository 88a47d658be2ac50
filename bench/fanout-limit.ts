/**
 * The limit of the fan-out benchmark (bench/fanout.ts): no GraphQL, no bus. One simulated
 * feed at the same rate and with the same pacing as tickwire's runner; each tick is
 * serialized once, into the frame a graphql-ws subscriber of the full TickReceived
 * selection receives, and that one buffer is written with plain `ws` to every socket,
 * corked for the turn and bounded per socket the way tickwire writes.
 *
 * With `corked` as its second argument it is the stricter limit (`limitCorked`), the
 * shape of the delivery core's socket writer (src/delivery/writer.ts): each
 * tick's payload is encoded once to bytes; for every socket the frame (an unmasked server
 * text frame: header, the graphql-ws `next` prefix of that subscriber, the shared payload,
 * `}`) is appended to that socket's one pending buffer, and every pending buffer is
 * written with one `write` on the raw net.Socket under `ws` when the turn ends
 * (setImmediate). No `ws.send`, no per-frame object beyond the header bytes.
 *
 * Run as a child process (forked with tsx); it reports its port and, when asked, how many
 * ticks it has published.
 */
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { simulatedFeed } from '../src/engine/feeds/simulated.js';
import { FrameWriter } from './frame-writer.js';

/** What the orchestrator asks: `go` starts the feed (once the sockets are in), `stats` reports. */
export type LimitCommand = { readonly cmd: 'go' } | { readonly cmd: 'stats' } | { readonly cmd: 'exit' };

/** The answer to `stats`. */
export interface LimitStats {
  readonly cmd: 'stats';
  readonly published: number;
  /** Sockets connected now. */
  readonly sockets: number;
  /** Frames not written because the socket had more than the high-water mark unsent. */
  readonly skipped: number;
}

/**
 * SOCKET_HIGH_WATER_BYTES of src/transport/graphql-ws.ts, written out: importing
 * it would load graphql and Yoga into this process and count them in the limit's RSS.
 */
const SOCKET_HIGH_WATER_BYTES = 1 << 20;
/** CORK_FLUSH_BYTES of the same file: a corked socket writes anyway past this many bytes. */
const CORK_FLUSH_BYTES = 64 * 1024;
const ticksPerSecond = Number(process.argv[2] ?? 1000);
/** `send`: `ws.send` per frame (the `limit`); `corked`: pre-framed bytes, one write per socket per turn (`limitCorked`). */
const mode = process.argv[3] === 'corked' ? 'corked' : 'send';
const sockets = new Set<WebSocket>();
let published = 0;
let skipped = 0;

/** The net.Socket under a `ws` socket (`ws` keeps it at `_socket`). */
function rawOf(socket: WebSocket): Socket | undefined {
  return (socket as unknown as { _socket?: Socket })._socket;
}

const writers = new Map<WebSocket, FrameWriter>();

const http = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
wss.on('connection', (socket) => {
  sockets.add(socket);
  if (mode === 'corked') {
    const raw = rawOf(socket);
    if (raw !== undefined) writers.set(socket, new FrameWriter(socket, raw));
  }
  socket.on('close', () => {
    sockets.delete(socket);
    writers.delete(socket);
  });
  socket.on('error', () => socket.terminate());
});
await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));

const stop = new AbortController();
let go: () => void = () => undefined;
const started = new Promise<void>((resolve) => (go = resolve));
process.on('message', (message: LimitCommand) => {
  if (message.cmd === 'exit') {
    stop.abort();
    for (const s of sockets) s.terminate();
    process.exit(0);
  }
  if (message.cmd === 'go') {
    go();
    process.send?.({ cmd: 'going' });
    return;
  }
  const stats: LimitStats = { cmd: 'stats', published, sockets: sockets.size, skipped };
  process.send?.(stats);
});
process.send?.({ cmd: 'ready', port: (http.address() as AddressInfo).port });

// The same frame as tickwire's for `events(...) { ... on Event { id } __typename
// ... on Event { runnerId timestamp type } ... on TickReceived { symbol data {...} } }`.
// Corked for the turn like tickwire's sockets (src/transport/graphql-ws.ts): the
// ticks that come due together leave in one write per socket, not one write per frame.
// Without it plain `ws` pays a syscall per frame and this "limit" would be slower than
// tickwire, which measures nothing about tickwire's own pipeline.
await started;
if (mode === 'corked') await feedCorked();
let corked = false;
const uncorkAll = () => {
  corked = false;
  for (const socket of sockets) rawOf(socket)?.uncork();
};
for await (const item of simulatedFeed({ symbol: 'FAN', ticksPerSecond }).items(stop.signal)) {
  if (!('tick' in item)) continue;
  const tick = item.tick;
  const id = ++published;
  const frame = Buffer.from(
    `{"id":"1","type":"next","payload":{"data":{"events":{"id":"${id}","__typename":"TickReceived","runnerId":"fan","timestamp":${tick.timestamp},"type":"TICK_RECEIVED","symbol":"FAN","data":${JSON.stringify(tick)}}}}}`,
  );
  if (!corked) {
    corked = true;
    for (const socket of sockets) rawOf(socket)?.cork();
    process.nextTick(uncorkAll);
  }
  for (const socket of sockets) {
    // The same bound as tickwire's sockets: a socket that cannot keep up loses frames
    // instead of growing the process without limit (tickwire drops them in its queues).
    if (socket.bufferedAmount >= SOCKET_HIGH_WATER_BYTES) {
      skipped++;
      continue;
    }
    const raw = rawOf(socket);
    if (raw !== undefined && raw.writableLength >= CORK_FLUSH_BYTES) {
      raw.uncork();
      raw.cork();
    }
    socket.send(frame, { binary: false });
  }
}

/**
 * The `corked` mode's feed loop: the payload encoded once per tick; per socket, the frame
 * appended to its writer (or skipped past the same 1 MiB bound); every writer flushed once
 * when the turn ends.
 */
async function feedCorked(): Promise<never> {
  let flushing = false;
  const flushAll = () => {
    flushing = false;
    for (const writer of writers.values()) writer.flush();
  };
  for await (const item of simulatedFeed({ symbol: 'FAN', ticksPerSecond }).items(stop.signal)) {
    if (!('tick' in item)) continue;
    const tick = item.tick;
    const id = ++published;
    // The same bytes as the `send` limit's frame, split where the delivery core splits it:
    // the shared payload here, the subscriber's prefix and the closing `}` in the writer.
    const payload = Buffer.from(
      `{"data":{"events":{"id":"${id}","__typename":"TickReceived","runnerId":"fan","timestamp":${tick.timestamp},"type":"TICK_RECEIVED","symbol":"FAN","data":${JSON.stringify(tick)}}}}`,
    );
    if (!flushing) {
      flushing = true;
      setImmediate(flushAll);
    }
    for (const writer of writers.values()) {
      if (writer.backlog >= SOCKET_HIGH_WATER_BYTES) {
        skipped++;
        continue;
      }
      writer.append(payload);
      // A turn that has piled up this much (a late timer releasing many ticks at once)
      // leaves early, as the `send` limit uncorks past the same size.
      if (writer.pending >= CORK_FLUSH_BYTES) writer.flush();
    }
  }
  // The feed ends only when stopped, and `exit` ends the process right after.
  return new Promise<never>(() => undefined);
}
