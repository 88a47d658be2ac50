/**
 * Trusted documents: the bytes of the `subscribe` message the typed client sends for
 * `events()` by hash (TRUSTED_DOCUMENTS=only) and with the full document (the text it
 * sends where trusted documents are off), as the server's socket receives them; and how
 * long each takes from `subscribe` to the first event (the server parses a text, but
 * only looks a hash up).
 */
import { loadManifests } from '../src/app/config.js';
import { startServer } from '../src/app/server.js';
import { createEventsClient } from '../src/client/client.js';
import { TradingEngine } from '../src/engine/engine.js';
import { TrustedDocuments } from '../src/graphql/trusted-documents.js';
import { EventBus } from '../src/log/bus.js';

/** What {@link benchTrustedDocuments} measures. */
export interface TrustedDocumentsResult {
  /** Bytes of one graphql-ws `subscribe` message of `events()`: by hash, by text, and their ratio. */
  readonly subscribeBytes: { readonly hash: number; readonly fullDocument: number; readonly ratio: number };
  /** Median ms from `events()` to its first event over a fresh connection, by hash and by text. */
  readonly firstEventMs: { readonly hash: number; readonly fullDocument: number };
  /** Not a throughput benchmark: kept for the shape every key of the JSON has. */
  readonly eventsPerSec: null;
  readonly p99Ms: null;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** The subscribe message's bytes and the time to the first event, for one client. */
async function once(url: string, bus: EventBus, frames: number[], persistedDocuments: boolean): Promise<{ bytes: number; firstEventMs: number }> {
  const client = createEventsClient({ url, persistedDocuments, retryAttempts: 0 });
  frames.length = 0;
  const abort = new AbortController();
  const started = performance.now();
  const events = client.events({ runnerIds: ['bench'], types: ['RUNNER_STARTED'] }, abort.signal);
  const first = events.next();
  // Until the subscription is live: then one event reaches it.
  const timer = setInterval(() => bus.publish({ type: 'RunnerStarted', runnerId: 'bench', symbol: 'BENCH', timestamp: Date.now() }, 'BENCH'), 1);
  await first;
  const firstEventMs = performance.now() - started;
  clearInterval(timer);
  abort.abort();
  await client.close();
  return { bytes: Math.max(...frames), firstEventMs };
}

/** Runs the measurement `rounds` times against a server of this process with TRUSTED_DOCUMENTS=allow (both forms run there). */
export async function benchTrustedDocuments(rounds: number): Promise<TrustedDocumentsResult> {
  const bus = new EventBus();
  const engine = new TradingEngine(bus);
  const server = await startServer({ engine, bus, port: 0, host: '127.0.0.1', trusted: new TrustedDocuments('allow', loadManifests(undefined)) });
  // Every message a client sends, as the socket receives it: the subscribe is the largest
  // (connection_init and complete are a few dozen bytes).
  const frames: number[] = [];
  server.ws?.wss.on('connection', (socket) => socket.on('message', (data: Buffer) => frames.push(data.length)));
  try {
    const hash: { bytes: number; firstEventMs: number }[] = [];
    const text: { bytes: number; firstEventMs: number }[] = [];
    for (let i = 0; i < rounds; i++) {
      hash.push(await once(server.urls.ws, bus, frames, true));
      text.push(await once(server.urls.ws, bus, frames, false));
    }
    const hashBytes = median(hash.map((r) => r.bytes));
    const fullBytes = median(text.map((r) => r.bytes));
    return {
      subscribeBytes: { hash: hashBytes, fullDocument: fullBytes, ratio: Number((hashBytes / fullBytes).toPrecision(3)) },
      firstEventMs: {
        hash: Number(median(hash.map((r) => r.firstEventMs)).toFixed(2)),
        fullDocument: Number(median(text.map((r) => r.firstEventMs)).toFixed(2)),
      },
      eventsPerSec: null,
      p99Ms: null,
    };
  } finally {
    await server.close();
    bus.close();
  }
}

// `npx tsx bench/trusted-documents.ts`: this part alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchTrustedDocuments(20)));
}
