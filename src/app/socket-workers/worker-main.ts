/**
 * A socket worker process (WORKERS): serves the graphql-ws connections its server process
 * hands it, from a bus that mirrors that process's log, with the server's settings.
 * Started by `SocketWorkers` (primary.ts).
 */
import { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { deserialize } from 'node:v8';
import { EventBus } from '../../log/bus.js';
import { EventStore } from '../../store/store.js';
import { TokenStore } from '../../graphql/auth.js';
import { log } from '../../runtime/log.js';
import { attachGraphqlWs, type WsEndpoint } from '../../transport/graphql-ws.js';
import { createTickwireYoga, type TickwireYoga } from '../../graphql/yoga.js';
import { TrustedDocuments } from '../../graphql/trusted-documents.js';
import { LinkedDb, LinkedEngine, PrimaryLink } from './link.js';
import type { BatchItem, FromWorker, ToWorker, WorkerReport } from './protocol.js';

/** How often the worker reports its load and counters. */
const REPORT_MS = 1000;

const send = (message: FromWorker): void => {
  // With a callback, a channel that broke (the server process died mid-send) is an
  // error here, not an 'error' event that would crash the worker before 'disconnect'.
  if (process.connected) process.send?.(message, () => undefined);
};

if (process.send === undefined) {
  console.error('tickwire: the socket worker runs only as a child of the server (WORKERS)');
  process.exit(1);
}

const index = process.env['TICKWIRE_WORKER_INDEX'] ?? '?';
const workerLog = log.child({ worker: index });
const link = new PrimaryLink({ send, get connected() { return process.connected; } });

interface Serving {
  readonly bus: EventBus;
  readonly tickwire: TickwireYoga;
  readonly ws: WsEndpoint;
}

let serving: Serving | null = null;
/** Bytes of entries taken since the last report. */
let read = 0;

function start(hello: Extract<ToWorker, { kind: 'hello' }>): Serving {
  const first = hello.history[0]?.id;
  // Ages on this process's monotonic clock, as every queue here (the shared executions'
  // too) measures them; `take` translates the time an entry left the server onto it.
  const bus = new EventBus({ startAfter: first === undefined ? hello.lastId : first - 1, epoch: hello.epoch });
  bus.restoreLatest(hello.latest);
  for (const entry of hello.history) bus.publishEntry(entry);
  bus.advanceTo(hello.lastId);
  const settings = hello.settings;
  const store =
    hello.store === null
      ? null
      : new EventStore(new LinkedDb(link, hello.store.kind, hello.store.description), settings.storedTypes, {
          onUndecodable: (row) => workerLog.warn(`stored event ${row.id} (${row.type}) could not be decoded (${row.reason}); skipped in history reads`),
        });
  const engine = new LinkedEngine(link);
  const tokens = settings.tokens === null ? null : new TokenStore(settings.tokens);
  const trusted = new TrustedDocuments(settings.trustedDocuments?.mode, settings.trustedDocuments?.manifests);
  const tickwire = createTickwireYoga({ engine, bus, store, limits: settings.limits, tokens, replayDir: settings.replayDir, maxEventAgeMs: settings.maxEventAgeMs, trusted });
  bus.maxEventAgeMs = settings.maxEventAgeMs;
  const ws = attachGraphqlWs({
    tickwire,
    keepAliveMs: settings.keepAliveMs,
    limits: settings.limits,
    tokens,
    admit: (principal, transport, clientAddress) => link.admit(principal, transport, clientAddress),
  });
  return { bus, tickwire, ws };
}

/** Why ids of a partial batch are missing, as its gap says. */
const FELL_BEHIND = 'this socket worker fell behind the log, and its high-frequency events were skipped';

/**
 * Takes a batch of the log into this worker's bus: every entry, however late it is read.
 * Each counts its age from when the batch left the server process (the wall clock both
 * processes read, translated onto this one's monotonic clock), so a worker whose loop reads
 * its channel late hands its subscribers entries that old, and each subscriber's own
 * MAX_EVENT_AGE_MS bound conflates what it has queued to the latest per runner and type,
 * after a StreamGap: a worker too slow for its load delivers fewer, fresher ticks and every
 * standard and critical event, never nothing. (Dropping every high-frequency entry of a
 * late batch, as this did, turned overload into near-zero delivery.)
 */
function take(bus: EventBus, message: Extract<ToWorker, { kind: 'entries' }>): void {
  read += message.bytes.byteLength;
  // Read once per batch: how long ago it left, moved onto this process's clock. A wall
  // clock stepped back meanwhile gives a negative wait, which counts as none.
  const queuedAt = performance.now() - Math.max(0, Date.now() - message.sentAt);
  const items = deserialize(message.bytes) as BatchItem[];
  for (const item of items) {
    if (typeof item === 'number') {
      bus.advanceTo(item);
    } else if ('restart' in item) {
      // The server's log was recreated: its ids start again, in a new epoch.
      bus.restartEpoch(item.restart, item.lastId);
      lostWhy = undefined;
    } else {
      bus.publishEntry(item, lostWhy ?? (message.partial ? FELL_BEHIND : undefined), queuedAt);
      lostWhy = undefined;
    }
  }
  // Ids the server left out at the end of a partial batch show as a gap at the next entry.
  if (message.partial) lostWhy ??= FELL_BEHIND;
  // The epoch the batch ends in (the server's adopted its shared log's at start, without entries).
  if (message.epoch !== bus.epoch) bus.setEpoch(message.epoch);
}

/** Why the ids between the last entry published here and the next one are missing, when this worker knows. */
let lostWhy: string | undefined;

function report(s: Serving): WorkerReport {
  const stats = s.bus.stats();
  const taken = read;
  read = 0;
  return {
    read: taken,
    connections: s.ws.wss.clients.size,
    subscribers: s.bus.subscriberCount,
    queued: stats.queued,
    delivered: new Map(stats.deliveredByType),
    dropped: new Map(stats.droppedByType),
    expired: new Map(stats.expiredByType),
    sharedExecution: s.tickwire.sharedExecution.stats(),
    sharedExecutionExpired: new Map(s.tickwire.sharedExecution.expiredByType()),
  };
}

async function close(s: Serving | null): Promise<void> {
  if (s !== null) {
    // Every subscription ends after what it has queued; then the sockets close with 1001.
    s.bus.close();
    await new Promise((r) => setTimeout(r, 200));
    await s.ws.close();
  }
  send({ kind: 'closed' });
  process.exit(0);
}

process.on('message', (message: ToWorker, handle?: Socket) => {
  switch (message.kind) {
    case 'hello': {
      serving = start(message);
      const s = serving;
      setInterval(() => send({ kind: 'report', report: report(s) }), REPORT_MS).unref();
      return;
    }
    case 'entries':
      if (serving !== null) take(serving.bus, message);
      return;
    case 'answer':
      link.answered(message.id, message.answer);
      return;
    case 'upgrade': {
      if (handle === undefined) return;
      if (serving === null) {
        handle.destroy();
        return;
      }
      const request = new IncomingMessage(handle);
      request.method = message.method;
      request.url = message.url;
      request.headers = message.headers;
      serving.ws.handleUpgrade(request, handle, Buffer.from(message.head));
      return;
    }
    case 'close':
      void close(serving);
      return;
  }
});

// The server process is gone: its clients' sockets go with this process.
process.on('disconnect', () => {
  link.disconnected();
  process.exit(1);
});

send({ kind: 'ready' });
