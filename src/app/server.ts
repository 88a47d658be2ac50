import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { log } from '../runtime/log.js';
import type { TokenStore } from '../graphql/auth.js';
import { DEFAULT_LIMITS, type Limits } from '../graphql/limits.js';
import { createDashboardHandler } from '../transport/dashboard.js';
import { createMetrics, type MetricsSources } from '../transport/metrics.js';
import { SocketWorkers, sumCounts, sumShared } from './socket-workers/primary.js';
import { DEFAULT_MAX_EVENT_AGE_MS, type EventBus } from '../log/bus.js';
import type { EngineControl } from '../engine/engine.js';
import type { EventStore } from '../store/store.js';
import { createGraphqlSseHandler, GRAPHQL_SSE_PATH } from '../transport/graphql-sse.js';
import { graphiqlOptions } from '../transport/graphiql.js';
import { GraphiqlPage } from '../transport/graphiql-page.js';
import { attachGraphqlWs, type WsEndpoint } from '../transport/graphql-ws.js';
import { createRouter, routeUpgrades, type Readiness } from '../transport/router.js';
import { createTickwireYoga, GRAPHQL_PATH, type TickwireYoga } from '../graphql/yoga.js';
import { NO_TRUSTED_DOCUMENTS, type TrustedDocuments } from '../graphql/trusted-documents.js';
import { CODE, errorBody } from '../graphql/errors.js';

/** What {@link startServer} needs. */
export interface ServerOptions {
  readonly engine: EngineControl;
  readonly bus: EventBus;
  /** The event store behind history queries (optional). */
  readonly store?: EventStore | null;
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly host: string;
  /** Milliseconds between graphql-ws keep-alive pings (default 12,000). */
  readonly keepAliveMs?: number;
  /** API tokens; without them the server is open (callers bind it to loopback only). */
  readonly tokens?: TokenStore | null;
  /** What one client may ask (defaults: DEFAULT_LIMITS). */
  readonly limits?: Limits;
  /** Health of the store writer and the Redis log, for /metrics and /ready. */
  readonly health?: Pick<MetricsSources, 'store' | 'redis'>;
  /** The built dashboard to serve at / (see `npm run build`); null or absent: none. */
  readonly dashboardDir?: string | null;
  /** REPLAY_DIR: where startRunner's replay paths point into; null or absent: replay feeds are refused. */
  readonly replayDir?: string | null;
  /** A runner GraphiQL's default subscription names (the first one at start); absent: one that needs none. */
  readonly suggestedRunnerId?: string | null;
  /**
   * MAX_EVENT_AGE_MS: oldest a queued high-frequency event may be when a subscriber's
   * queue (bus subscription, shared-execution member) hands it on; older ones are
   * conflated to the latest per runner and type after a StreamGap. 0: no bound. Default
   * {@link DEFAULT_MAX_EVENT_AGE_MS}. Applied to the bus's subscriptions opened from now on.
   */
  readonly maxEventAgeMs?: number;
  /**
   * WORKERS: processes that serve the graphql-ws connections. This server hands them
   * every upgrade and serves HTTP itself; each mirrors the bus, and their queries,
   * mutations and quotas come back here. 0 or absent: graphql-ws is served here. They
   * start after the server listens, without holding up `startServer` or /ready; until one
   * runs (and whenever none does) graphql-ws is served here too.
   */
  readonly workers?: number;
  /**
   * WORKERS_START_CONNECTIONS: the workers are started only once this many graphql-ws
   * connections are open on this process at once (the server serves them meanwhile, and
   * keeps those it took when the workers come). 0 or absent: as soon as the server listens.
   */
  readonly workersStartConnections?: number;
  /** TRUSTED_DOCUMENTS and its manifests (default: off, none). */
  readonly trusted?: TrustedDocuments;
  /** Tests: the socket workers are started only once this settles (see `SocketWorkersOptions.hold`). */
  readonly holdWorkers?: Promise<unknown>;
}

/** A listening tickwire server. */
export interface TickwireServer {
  readonly http: Server;
  readonly tickwire: TickwireYoga;
  /**
   * This process's graphql-ws endpoint: every connection without socket workers; with
   * them, those that arrive while no worker runs.
   */
  readonly ws: WsEndpoint;
  /** The socket workers (WORKERS), or null when graphql-ws is served here only. Started after listening: `workers.ready()` resolves once all serve. */
  readonly workers: SocketWorkers | null;
  /** The GraphiQL page (built on its first request), or null with GRAPHIQL off. */
  readonly graphiql: GraphiqlPage | null;
  /** The port actually bound. */
  readonly port: number;
  /** Base URLs of every transport. */
  readonly urls: { readonly http: string; readonly ws: string; readonly sse: string };
  /** Stops accepting connections; those open are served until `close`. */
  stopAccepting(): void;
  /** Ends every subscription and stops listening. The engine and bus are the caller's. */
  close(): Promise<void>;
}

/** The GraphQL pipeline and the settings every transport reads, as {@link startServer} resolved them. */
interface Pipeline {
  readonly tickwire: TickwireYoga;
  readonly limits: Limits;
  readonly tokens: TokenStore | null;
  readonly maxEventAgeMs: number;
}

/** The socket workers WORKERS asks for, with this process's settings, or null for none. */
function socketWorkersOf(options: ServerOptions, pipeline: Pipeline): SocketWorkers | null {
  if ((options.workers ?? 0) <= 0) return null;
  const { tickwire, limits, tokens, maxEventAgeMs } = pipeline;
  return new SocketWorkers({
    count: options.workers ?? 0,
    bus: options.bus,
    engine: options.engine,
    db: options.store?.db ?? null,
    admission: tickwire.admission,
    settings: {
      limits,
      tokens: tokens?.configured ?? null,
      replayDir: options.replayDir ?? null,
      maxEventAgeMs,
      keepAliveMs: options.keepAliveMs,
      storedTypes: options.store?.storedTypes ?? [],
      trustedDocuments: { mode: tickwire.trusted.mode, manifests: tickwire.trusted.manifests },
    },
    log: (line) => log.warn(line),
    ...(options.holdWorkers === undefined ? {} : { hold: options.holdWorkers }),
  });
}

/** /metrics: this process's counters, with those the socket workers last reported added in. */
function metricsOf(options: ServerOptions, tickwire: TickwireYoga, workers: SocketWorkers | null, ws: WsEndpoint): Registry {
  const open = tickwire.admission.open;
  const shared = tickwire.sharedExecution;
  return createMetrics({
    bus: workers === null ? options.bus : withWorkers(options.bus, workers),
    sharedExecution: () => (workers === null ? shared.stats() : sumShared(shared.stats(), workers.totals().sharedExecution)),
    sharedExecutionExpired: () => (workers === null ? shared.expiredByType() : sumCounts(shared.expiredByType(), workers.totals().sharedExecutionExpired)),
    // Over HTTP a stream is its own connection (graphql-sse's single mode shares one).
    connections: () => ({ 'graphql-ws': ws.wss.clients.size + (workers?.totals().connections ?? 0), 'graphql-sse': open['graphql-sse'], 'yoga-sse': open['yoga-sse'] }),
    streams: () => open,
    ...options.health,
  });
}

/**
 * /ready: the store writer and the Redis log work. Socket workers are counted, never
 * judged (see the router's /ready).
 */
function readinessOf(health: ServerOptions['health'], workers: SocketWorkers | null): () => Readiness {
  return () => {
    const problems: string[] = [];
    if (health?.store?.()?.healthy === false) problems.push('event store writes are failing');
    const redis = health?.redis?.();
    if (redis && (!redis.readerHealthy || redis.appenderHealthy === false)) problems.push('the Redis log is unreachable');
    return workers === null ? { problems } : { problems, workers: { running: workers.running, count: workers.count } };
  };
}

/**
 * Starts the workers at once (`threshold` 0), or once `threshold` graphql-ws connections
 * are open on this process at once: a worker is a process of its own (about 85 MB) that
 * pays only for many connections. Until then, and while they load, this process serves
 * every connection; those it holds stay with it, and the workers take the next ones.
 */
function startWorkersWhenNeeded(workers: SocketWorkers, ws: WsEndpoint, threshold: number): void {
  if (threshold <= 0) {
    workers.start();
    return;
  }
  // `ws` counts a connection in `clients` before it emits 'connection'.
  const onConnection = (): void => {
    if (ws.wss.clients.size < threshold) return;
    ws.wss.off('connection', onConnection);
    workers.start();
  };
  ws.wss.on('connection', onConnection);
}

/** Listens on `port` and `host`; rejects when the port is taken. */
function listen(http: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
}

/** Ends the graphql-ws endpoint and the workers, then stops listening. */
async function closeServer(http: Server, ws: WsEndpoint, workers: SocketWorkers | null, graphiql: GraphiqlPage | null): Promise<void> {
  await graphiql?.close();
  await ws.close();
  await workers?.close();
  http.closeAllConnections();
  if (workers !== null) {
    // A server that sent sockets to other processes waits in `close` for those processes
    // to report them closed, and never emits `close` once they have all exited (Node's
    // net.Server counts on a worker that is gone). The workers closed every socket they
    // were sent; the listening socket and this process's connections close here.
    if (http.listening) http.close();
    return;
  }
  if (http.listening) await new Promise<void>((resolve) => http.close(() => resolve()));
}

/** Base URLs of every transport on `host:port`. */
function urlsOf(host: string, port: number): TickwireServer['urls'] {
  const name = host.includes(':') ? `[${host}]` : host;
  return {
    http: `http://${name}:${port}${GRAPHQL_PATH}`,
    ws: `ws://${name}:${port}${GRAPHQL_PATH}`,
    sse: `http://${name}:${port}${GRAPHQL_SSE_PATH}`,
  };
}

/**
 * Serves every transport on one port: Yoga (GraphQL over HTTP, SSE, GraphiQL) and
 * graphql-ws at /graphql, graphql-sse at /graphql/stream. Builds the pieces, wires them
 * to the router (transport/router.ts), and listens.
 */
export async function startServer(options: ServerOptions): Promise<TickwireServer> {
  const tokens = options.tokens ?? null;
  const limits = options.limits ?? DEFAULT_LIMITS;
  const maxEventAgeMs = options.maxEventAgeMs ?? DEFAULT_MAX_EVENT_AGE_MS;
  options.bus.maxEventAgeMs = maxEventAgeMs;
  const { engine, bus, keepAliveMs } = options;
  const trusted = options.trusted ?? NO_TRUSTED_DOCUMENTS;
  const tickwire = createTickwireYoga({ engine, bus, store: options.store ?? null, limits, tokens, replayDir: options.replayDir ?? null, maxEventAgeMs, trusted });
  const sse = createGraphqlSseHandler(tickwire, {
    reservationTimeoutMs: limits.sseReservationTimeoutMs,
    maxReservationsPerToken: limits.maxSseReservationsPerToken,
    maxOperationsPerReservation: limits.maxSubscriptionsPerConnection,
    maxBodyBytes: limits.maxBodyBytes,
    ...(keepAliveMs !== undefined ? { keepAliveMs } : {}),
  });
  const workers = socketWorkersOf(options, { tickwire, limits, tokens, maxEventAgeMs });
  const dashboard = options.dashboardDir != null ? createDashboardHandler(options.dashboardDir, { graphiql: limits.graphiql, trustedDocuments: trusted.mode }) : null;
  const graphiql = limits.graphiql
    ? new GraphiqlPage({ options: graphiqlOptions({ suggestedRunnerId: options.suggestedRunnerId ?? null, tokens: tokens !== null }), burst: limits.graphiqlBurst, perMinute: limits.graphiqlPerMinute })
    : null;
  const http = createServer();
  // With socket workers this endpoint serves what they cannot take yet (none runs): the
  // connections of the seconds they take to start, or of a restart, are served here
  // rather than refused or left waiting.
  const ws = attachGraphqlWs({ server: workers === null ? http : null, tickwire, keepAliveMs, limits, tokens });
  const metrics = metricsOf(options, tickwire, workers, ws);
  http.on('request', createRouter({ tickwire, sse, limits, tokens, metrics, readiness: readinessOf(options.health, workers), dashboard, graphiql }));
  if (workers !== null) routeUpgrades(http, { handOff: (req, socket, head) => workers.handOff(req, socket, head), ws });
  try {
    await listen(http, options.port, options.host);
  } catch (err) {
    // The port is taken (or not ours): no worker was started for it; the log is untapped.
    await ws.close();
    await workers?.close();
    throw err;
  }
  // Listening and ready: the workers load in the background (seconds each), now or once
  // enough connections are open, and take the graphql-ws connections that come once they serve.
  if (workers !== null) startWorkersWhenNeeded(workers, ws, options.workersStartConnections ?? 0);
  const port = (http.address() as AddressInfo).port;
  return {
    http,
    tickwire,
    ws,
    workers,
    graphiql,
    port,
    urls: urlsOf(options.host, port),
    stopAccepting: () => {
      if (http.listening) http.close();
    },
    close: () => closeServer(http, ws, workers, graphiql),
  };
}

/**
 * The bus as /metrics reports it with socket workers: what this process published, and
 * what its subscribers and every worker's (as of their last report) were handed, dropped
 * and hold.
 */
function withWorkers(bus: EventBus, workers: SocketWorkers): MetricsSources['bus'] {
  return {
    get subscriberCount() {
      return bus.subscriberCount + workers.totals().subscribers;
    },
    stats: () => {
      const own = bus.stats();
      const theirs = workers.totals();
      let delivered = 0;
      for (const n of theirs.delivered.values()) delivered += n;
      let dropped = 0;
      for (const n of theirs.dropped.values()) dropped += n;
      return {
        publishedByType: own.publishedByType,
        deliveredByType: sumCounts(own.deliveredByType, theirs.delivered),
        droppedByType: sumCounts(own.droppedByType, theirs.dropped),
        expiredByType: sumCounts(own.expiredByType, theirs.expired),
        delivered: own.delivered + delivered,
        queued: own.queued + theirs.queued,
        dropped: own.dropped + dropped,
      };
    },
  };
}
