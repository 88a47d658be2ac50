import { connect, type Socket } from 'node:net';

/**
 * A chaos client: opens raw TCP connections to a server and breaks them at a chosen stage
 * of a request — before the upgrade response, during a socket worker's hand-off, in the
 * middle of a WebSocket frame, of an SSE event, of a request body, of a large page — by a
 * TCP reset, a half-close or a stall. Raw sockets, because a real client library would
 * never send what a broken network or a hostile peer does.
 */

/** How a connection is broken. */
export type Break = 'reset' | 'half-close' | 'stall-then-reset';

/** Where in a request it is broken. */
export type Stage =
  | 'upgrade-other-path'
  | 'upgrade-graphql'
  | 'upgrade-after-101'
  | 'ws-mid-frame'
  | 'ws-mid-stream'
  | 'http-mid-body'
  | 'http-mid-headers'
  | 'yoga-sse-mid-event'
  | 'graphql-sse-mid-event'
  | 'graphql-sse-reservation'
  | 'page-mid-download';

/** Every stage, in the order a run cycles through them. */
export const STAGES: readonly Stage[] = [
  'upgrade-other-path',
  'upgrade-graphql',
  'upgrade-after-101',
  'ws-mid-frame',
  'ws-mid-stream',
  'http-mid-body',
  'http-mid-headers',
  'yoga-sse-mid-event',
  'graphql-sse-mid-event',
  'graphql-sse-reservation',
  'page-mid-download',
];

/** Every way to break, in the order a run cycles through them. */
export const BREAKS: readonly Break[] = ['reset', 'half-close', 'stall-then-reset'];

/** Where the chaos goes. */
export interface ChaosTarget {
  readonly host: string;
  readonly port: number;
  /** A subscription document (one line) the streaming stages open. */
  readonly subscription: string;
}

const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** A client WebSocket text frame; masked (as clients must) with a zero key, so the bytes are the payload's. */
export function clientFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const length = payload.length;
  const header = length < 126 ? Buffer.from([0x81, 0x80 | length]) : Buffer.from([0x81, 0x80 | 126, length >> 8, length & 0xff]);
  return Buffer.concat([header, Buffer.alloc(4), payload]);
}

function upgradeRequest(target: ChaosTarget, path: string): string {
  return [
    `GET ${path} HTTP/1.1`,
    `Host: ${target.host}:${target.port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${WS_KEY}`,
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Protocol: graphql-transport-ws',
    '',
    '',
  ].join('\r\n');
}

function httpRequest(target: ChaosTarget, method: string, path: string, headers: Record<string, string>, body = ''): string {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${target.host}:${target.port}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** One connection and the bytes it has read so far. */
class Conn {
  readonly socket: Socket;
  private received = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private ended = false;
  readonly opened: Promise<void>;

  constructor(target: ChaosTarget) {
    this.socket = connect(target.port, target.host);
    // A reset by either side is the point of the exercise here.
    this.socket.on('error', () => undefined);
    this.socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.wake();
    });
    this.socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    this.opened = new Promise((resolve) => this.socket.once('connect', () => resolve()));
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Resolves once `test` holds of what was read, the connection ended, or `timeoutMs` passed. */
  async until(test: (read: Buffer) => boolean, timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!test(this.received)) {
      if (this.ended || Date.now() > deadline) return false;
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50).unref();
      });
    }
    return true;
  }

  get closed(): boolean {
    return this.ended;
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  /** Breaks the connection as asked, and resolves once it is gone on this side. */
  async breakIt(how: Break): Promise<void> {
    if (how === 'stall-then-reset') {
      // Holds still: neither reads on nor closes, as a peer whose network hangs.
      this.socket.pause();
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 150));
    }
    if (how === 'half-close') {
      this.socket.end();
      // The server answers a half-close by closing its side; a bounded wait, then it goes anyway.
      await this.until(() => false, 1000);
    }
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }
}

const has = (text: string) => (read: Buffer) => read.includes(text);

/** A random wait of 0 to `ms` milliseconds: breaks land at different points of the server's work. */
const jitter = (ms: number) => new Promise((r) => setTimeout(r, Math.random() * ms));

/** Opens one connection, takes it to `stage` and breaks it `how`. Never rejects. */
export async function chaos(target: ChaosTarget, stage: Stage, how: Break): Promise<void> {
  const conn = new Conn(target);
  try {
    await Promise.race([conn.opened, new Promise((r) => setTimeout(r, 3000))]);
    await drive(conn, target, stage);
    await conn.breakIt(how);
  } catch {
    // A client-side failure only means this attempt broke earlier than planned.
    if (!conn.socket.destroyed) conn.socket.resetAndDestroy();
  }
}

async function drive(conn: Conn, target: ChaosTarget, stage: Stage): Promise<void> {
  const subscribe = JSON.stringify({ query: target.subscription });
  switch (stage) {
    case 'upgrade-other-path':
      conn.write(upgradeRequest(target, Math.random() < 0.5 ? '/nope' : '/graphql/stream'));
      await jitter(3);
      return;
    case 'upgrade-graphql':
      conn.write(upgradeRequest(target, '/graphql'));
      await jitter(3);
      return;
    case 'upgrade-after-101':
      conn.write(upgradeRequest(target, '/graphql'));
      await conn.until(has('\r\n\r\n'));
      return;
    case 'ws-mid-frame': {
      conn.write(upgradeRequest(target, '/graphql'));
      await conn.until(has('\r\n\r\n'));
      const frame = clientFrame(JSON.stringify({ type: 'connection_init', payload: {} }));
      // Half a frame: the server holds a partial frame when the connection breaks.
      conn.write(frame.subarray(0, 2 + Math.floor(Math.random() * (frame.length - 2))));
      return;
    }
    case 'ws-mid-stream':
      conn.write(upgradeRequest(target, '/graphql'));
      await conn.until(has('\r\n\r\n'));
      conn.write(clientFrame(JSON.stringify({ type: 'connection_init', payload: {} })));
      await conn.until(has('connection_ack'));
      conn.write(clientFrame(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: target.subscription } })));
      await conn.until(has('"type":"next"'));
      await jitter(20);
      return;
    case 'http-mid-body': {
      const body = JSON.stringify({ query: '{ runners { id } }' });
      conn.write(httpRequest(target, 'POST', '/graphql', { 'content-type': 'application/json', 'content-length': String(body.length + 200) }, body.slice(0, Math.floor(Math.random() * body.length))));
      await jitter(10);
      return;
    }
    case 'http-mid-headers':
      conn.write(httpRequest(target, 'GET', '/health', { accept: 'application/json' }).slice(0, 20 + Math.floor(Math.random() * 20)));
      await jitter(10);
      return;
    case 'yoga-sse-mid-event':
      conn.write(httpRequest(target, 'GET', `/graphql?query=${encodeURIComponent(target.subscription)}`, { accept: 'text/event-stream' }));
      await conn.until(has('event: next'));
      await jitter(20);
      return;
    case 'graphql-sse-mid-event':
      conn.write(httpRequest(target, 'POST', '/graphql/stream', { 'content-type': 'application/json', accept: 'text/event-stream', 'content-length': String(Buffer.byteLength(subscribe)) }, subscribe));
      await conn.until(has('event: next'));
      await jitter(20);
      return;
    case 'graphql-sse-reservation':
      // A reservation (PUT) broken before, while or after its answer is written.
      conn.write(httpRequest(target, 'PUT', '/graphql/stream', { accept: 'text/plain', 'content-length': '0' }));
      await jitter(5);
      return;
    case 'page-mid-download':
      conn.write(httpRequest(target, 'GET', '/graphql', { accept: 'text/html' }));
      await conn.until((read) => read.length > 16 * 1024);
      return;
  }
}

/**
 * Runs `count` chaos connections, `concurrency` at a time, cycling through every stage and
 * way of breaking (so a run of a few hundred covers each pair several times).
 */
export async function chaosRun(target: ChaosTarget, count: number, concurrency: number): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: concurrency }, async () => {
    for (let i = next++; i < count; i = next++) {
      const stage = STAGES[i % STAGES.length]!;
      const how = BREAKS[Math.floor(i / STAGES.length) % BREAKS.length]!;
      await chaos(target, stage, how);
    }
  });
  await Promise.all(workers);
}
