/**
 * The load side of the fan-out benchmark (bench/fanout.ts), one process of many sockets.
 * Forked by the orchestrator, it opens the sockets it is told to, counts what arrives and
 * answers over IPC; it never parses a message beyond its first bytes, so that it stays
 * far from the server's cost per delivery (the orchestrator reports its CPU to show it).
 *
 * Clients are plain `ws` sockets: for a graphql-ws server they speak graphql-transport-ws
 * directly (connection_init, subscribe, then count `next`); for the limit they only listen.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

/**
 * Opens `count` sockets; replies {@link Connected} once every one is open and (graphql)
 * acknowledged and subscribed. Whether the server has registered the subscriptions is
 * the orchestrator's to ask the server.
 */
export interface ConnectCommand {
  readonly cmd: 'connect';
  readonly url: string;
  /** `graphql`: graphql-transport-ws subscribers; `plain`: sockets that only listen (the limit). */
  readonly protocol: 'graphql' | 'plain';
  readonly count: number;
  /** Index of this process's first subscriber across all processes: dummy symbols stay unique. */
  readonly firstIndex: number;
  /** The subscribe payload's query; `$own` in variables is replaced by a symbol unique to the subscriber. */
  readonly query?: string;
  readonly variables?: Readonly<Record<string, unknown>>;
  /** Every n-th socket has the age of each message it receives measured. */
  readonly sampleEvery: number;
}

/** Sent when every socket is open and, for graphql, has sent its subscribe. */
export interface Connected {
  readonly cmd: 'connected';
  readonly sockets: number;
  readonly ms: number;
}

/**
 * What arrived between `start` and `stop`, by arrival time: a server that falls behind
 * delivers old events (its queues hold up to 10,000 per subscriber, 10 s of this feed),
 * and their ages say how old; counting by the events' own time would need a drain that
 * long after every window.
 */
export interface WindowReport {
  readonly cmd: 'window';
  /** `next` messages received. */
  readonly delivered: number;
  readonly bytes: number;
  /** Other messages (error, complete, ping…): should be none. */
  readonly other: number;
  /** Message ages in whole ms (the event's timestamp has ms resolution): age → count. */
  readonly ages: Record<number, number>;
  /** CPU this process used over the window, ms, and how long the window was. */
  readonly cpuMs: number;
  readonly elapsedMs: number;
  /** Sockets the server closed (not us) since `connect`, and their close codes. */
  readonly cut: number;
  readonly closeCodes: Record<number, number>;
  /** Sockets still open at `stop`. */
  readonly open: number;
  /** graphql-ws `error` messages since `connect` (a refused subscription), and the first. */
  readonly errors: number;
  readonly firstError: string | null;
}

/** Where the sockets are in their handshake (the answer to `status`, for a stalled connect). */
export interface Status {
  readonly cmd: 'status';
  readonly opening: number;
  readonly open: number;
  readonly acked: number;
  readonly receiving: number;
  readonly closed: number;
  readonly errors: number;
  readonly firstError: string | null;
}


export type ClientCommand =
  | ConnectCommand
  | { readonly cmd: 'start' }
  | { readonly cmd: 'stop' }
  | { readonly cmd: 'status' }
  | { readonly cmd: 'close' }
  | { readonly cmd: 'exit' };

// Every frame that carries an event starts with this: graphql-ws `next` for operation id
// "1", and the limit's pre-serialized frames have the same shape.
const NEXT_PREFIX = Buffer.from('{"id":"1","type":"next"');
const TIMESTAMP = Buffer.from('"timestamp":');

const sockets: WebSocket[] = [];
let closing = false;
let delivered = 0;
let bytes = 0;
let other = 0;
let ages = new Map<number, number>();
let cut = 0;
const closeCodes: Record<number, number> = {};
const phases = { acked: 0, receiving: 0 };
let errors = 0;
let firstError: string | null = null;

/** The first `"timestamp":<digits>` of a frame: the event's own (selected before `data`). */
function timestampIn(data: Buffer): number {
  const at = data.indexOf(TIMESTAMP);
  if (at < 0) return -1;
  let value = 0;
  for (let i = at + TIMESTAMP.length; i < data.length; i++) {
    const c = data[i]!;
    if (c < 48 || c > 57) break;
    value = value * 10 + (c - 48);
  }
  return value;
}

function isNext(data: Buffer): boolean {
  return data.length > NEXT_PREFIX.length && data.compare(NEXT_PREFIX, 0, NEXT_PREFIX.length, 0, NEXT_PREFIX.length) === 0;
}

/** One socket; resolves when it is open and (graphql) has sent its subscribe. */
function open(command: ConnectCommand, index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(command.url, command.protocol === 'graphql' ? ['graphql-transport-ws'] : [], {
      perMessageDeflate: false,
      // The frames are the server's; checking their UTF-8 is work that measures nothing.
      skipUTF8Validation: true,
    });
    sockets.push(socket);
    const sampled = index % command.sampleEvery === 0;
    let first = true;
    socket.on('error', reject);
    socket.on('open', () => {
      if (command.protocol === 'graphql') socket.send('{"type":"connection_init"}');
      else resolve();
    });
    socket.on('close', (code) => {
      if (closing) return;
      cut++;
      closeCodes[code] = (closeCodes[code] ?? 0) + 1;
      reject(new Error(`socket ${index} closed by the server with ${code}`));
    });
    socket.on('message', (data: Buffer) => {
      if (isNext(data)) {
        if (first) {
          first = false;
          phases.receiving++;
        }
        // A StreamGap notice (the server dropped or conflated for this subscriber) selects no
        // timestamp: it is no delivery of a tick, and has no age.
        const at = timestampIn(data);
        if (at <= 0) return;
        delivered++;
        bytes += data.length;
        if (sampled) {
          const age = Date.now() - at;
          ages.set(age, (ages.get(age) ?? 0) + 1);
        }
        return;
      }
      const text = data.toString();
      if (text.includes('"connection_ack"')) {
        phases.acked++;
        const variables = JSON.parse(JSON.stringify(command.variables ?? {}).replaceAll('$own', `own-${command.firstIndex + index}`)) as unknown;
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: command.query, variables } }));
        resolve();
        return;
      }
      // graphql-ws pings must be answered or the server would take the client for gone.
      if (text.includes('"ping"')) socket.send('{"type":"pong"}');
      other++;
      if (text.includes('"error"')) {
        errors++;
        firstError ??= text.slice(0, 500);
      }
    });
  });
}

async function connect(command: ConnectCommand): Promise<void> {
  const started = performance.now();
  closing = false;
  cut = 0;
  for (const key of Object.keys(closeCodes)) delete closeCodes[Number(key)];
  // In batches: thousands of handshakes at once only measure the accept queue.
  const BATCH = 250;
  for (let i = 0; i < command.count; i += BATCH) {
    await Promise.all(Array.from({ length: Math.min(BATCH, command.count - i) }, (_, k) => open(command, i + k)));
  }
  const reply: Connected = { cmd: 'connected', sockets: sockets.length, ms: Math.round(performance.now() - started) };
  process.send?.(reply);
}

let windowStart = 0;
let cpuStart = process.cpuUsage();

process.on('message', (message: ClientCommand) => {
  switch (message.cmd) {
    case 'connect':
      connect(message).catch((err: Error) => process.send?.({ cmd: 'failed', message: err.message }));
      break;
    case 'start':
      delivered = 0;
      bytes = 0;
      other = 0;
      ages = new Map();
      windowStart = performance.now();
      cpuStart = process.cpuUsage();
      break;
    case 'stop':
      report();
      break;
    case 'status': {
      const status: Status = {
        cmd: 'status',
        opening: sockets.filter((s) => s.readyState === WebSocket.CONNECTING).length,
        open: sockets.filter((s) => s.readyState === WebSocket.OPEN).length,
        acked: phases.acked,
        receiving: phases.receiving,
        closed: sockets.filter((s) => s.readyState === WebSocket.CLOSED).length,
        errors,
        firstError,
      };
      process.send?.(status);
      break;
    }
    case 'close':
      closing = true;
      for (const s of sockets) s.terminate();
      sockets.length = 0;
      phases.acked = 0;
      phases.receiving = 0;
      errors = 0;
      firstError = null;
      process.send?.({ cmd: 'closed' });
      break;
    case 'exit':
      process.exit(0);
  }
});

function report(): void {
  const cpu = process.cpuUsage(cpuStart);
  const message: WindowReport = {
    cmd: 'window',
    delivered,
    bytes,
    other,
    ages: Object.fromEntries(ages),
    cpuMs: (cpu.user + cpu.system) / 1000,
    elapsedMs: performance.now() - windowStart,
    cut,
    closeCodes: { ...closeCodes },
    open: sockets.filter((s) => s.readyState === WebSocket.OPEN).length,
    errors,
    firstError,
  };
  process.send?.(message);
}

process.send?.({ cmd: 'ready' });
