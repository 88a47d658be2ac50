import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { shouldRenderGraphiQL } from 'graphql-yoga';
import { log } from '../runtime/log.js';
import type { Registry } from 'prom-client';
import { bearerToken, OPEN_PRINCIPAL, type TokenStore } from '../graphql/auth.js';
import { bodyRefusal, DEFAULT_LIMITS, hostAllowed, originAllowed, type Limits } from '../graphql/limits.js';
import { createDashboardHandler } from '../transport/dashboard.js';
import { clientAddressOf } from '../graphql/admission.js';
import { createMetrics, type MetricsSources } from '../transport/metrics.js';
import type { AddressInfo, Socket } from 'node:net';
import { SocketWorkers, sumCounts, sumShared } from './socket-workers/primary.js';
import { DEFAULT_MAX_EVENT_AGE_MS, type EventBus } from '../log/bus.js';
import type { EngineControl } from '../engine/engine.js';
import type { EventStore } from '../store/store.js';
import { createGraphqlSseHandler, GRAPHQL_SSE_PATH } from '../transport/graphql-sse.js';
import { negotiateYogaAccept } from '../transport/accept.js';
import { graphiqlOptions } from '../transport/graphiql.js';
import { GraphiqlPage } from '../transport/graphiql-page.js';
import { StreamScope } from '../graphql/stream-scope.js';
import { attachGraphqlWs, type WsEndpoint } from '../transport/graphql-ws.js';
import { createTickwireYoga, GRAPHQL_PATH, type TickwireYoga } from '../graphql/yoga.js';
import { CODE, errorBody } from '../graphql/errors.js';

/**
 * /metrics (Prometheus text), /health (the process answers) and /ready (its
 * dependencies work: 503 with the reason during a store or Redis outage). Socket workers
 * are not among them: while none runs (starting, restarting) this process serves
 * graphql-ws itself, so nothing a client can ask is refused for their sake; the body
 * says how many of them serve (`workers: { running, count }`).
 */
async function serveOps(path: string, metrics: Registry, health: ServerOptions['health'], workers: SocketWorkers | null, res: ServerResponse): Promise<void> {
  try {
    if (path === '/metrics') {
      const body = await metrics.metrics();
      res.writeHead(200, { 'content-type': metrics.contentType }).end(body);
      return;
    }
    if (path === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    const problems: string[] = [];
    if (health?.store?.()?.healthy === false) problems.push('event store writes are failing');
    const redis = health?.redis?.();
    if (redis && (!redis.readerHealthy || redis.appenderHealthy === false)) problems.push('the Redis log is unreachable');
    // How many workers serve is said, never judged: a bench or an operator that wants them
    // all up waits for `running` to reach `count`.
    const serving = workers === null ? {} : { workers: { running: workers.running, count: workers.count } };
    res
      .writeHead(problems.length === 0 ? 200 : 503, { 'content-type': 'application/json' })
      .end(JSON.stringify(problems.length === 0 ? { status: 'ready', ...serving } : { status: 'unavailable', problems, ...serving }));
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(err as Error).message}`);
  }
}

/**
 * Heard on sockets this process handles outside Node's HTTP machinery (upgrades): a peer
 * that resets or breaks its connection costs that connection, which closes, and nothing else.
 */
function ignoreSocketError(): void {}

/** Yoga's own test for a request that gets the GraphiQL page instead of an execution. */
function wantsGraphiQL(req: IncomingMessage): boolean {
  return shouldRenderGraphiQL({ method: req.method ?? 'GET', headers: new Headers({ accept: req.headers.accept ?? '' }) } as Request);
}

/** What a caller's X-Request-Id may be: anything else could forge or break a log line. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The id of a request: the caller's X-Request-Id when it is sane (a proxy's, so logs
 * line up), else a new one. Every response carries it back.
 */
function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

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

/**
 * Serves every transport on one port: Yoga (GraphQL over HTTP, SSE, GraphiQL) and
 * graphql-ws at /graphql, graphql-sse at /graphql/stream.
 */
export async function startServer(options: ServerOptions): Promise<TickwireServer> {
  const tokens = options.tokens ?? null;
  const limits = options.limits ?? DEFAULT_LIMITS;
  const maxEventAgeMs = options.maxEventAgeMs ?? DEFAULT_MAX_EVENT_AGE_MS;
  options.bus.maxEventAgeMs = maxEventAgeMs;
  const tickwire = createTickwireYoga(options.engine, options.bus, options.store ?? null, limits, tokens, options.replayDir ?? null, undefined, {
    maxEventAgeMs,
  });
  const sse = createGraphqlSseHandler(tickwire, {
    reservationTimeoutMs: limits.sseReservationTimeoutMs,
    maxReservationsPerToken: limits.maxSseReservationsPerToken,
    maxOperationsPerReservation: limits.maxSubscriptionsPerConnection,
    maxBodyBytes: limits.maxBodyBytes,
    ...(options.keepAliveMs !== undefined ? { keepAliveMs: options.keepAliveMs } : {}),
  });
  const open = tickwire.admission.open;
  const workers =
    (options.workers ?? 0) > 0
      ? new SocketWorkers({
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
          },
          log: (line) => log.warn(line),
          ...(options.holdWorkers === undefined ? {} : { hold: options.holdWorkers }),
        })
      : null;
  const metrics = createMetrics({
    bus: workers === null ? options.bus : withWorkers(options.bus, workers),
    sharedExecution: () => (workers === null ? tickwire.sharedExecution.stats() : sumShared(tickwire.sharedExecution.stats(), workers.totals().sharedExecution)),
    sharedExecutionExpired: () => (workers === null ? tickwire.sharedExecution.expiredByType() : sumCounts(tickwire.sharedExecution.expiredByType(), workers.totals().sharedExecutionExpired)),
    // Over HTTP a stream is its own connection (graphql-sse's single mode shares one).
    connections: () => ({ 'graphql-ws': ws.wss.clients.size + (workers?.totals().connections ?? 0), 'graphql-sse': open['graphql-sse'], 'yoga-sse': open['yoga-sse'] }),
    streams: () => open,
    ...options.health,
  });
  const dashboard = options.dashboardDir != null ? createDashboardHandler(options.dashboardDir, { graphiql: limits.graphiql }) : null;
  const graphiql = limits.graphiql
    ? new GraphiqlPage({ options: graphiqlOptions({ suggestedRunnerId: options.suggestedRunnerId ?? null, tokens: tokens !== null }), burst: limits.graphiqlBurst, perMinute: limits.graphiqlPerMinute })
    : null;
  const http = createServer((req, res) => {
    const requestId = requestIdOf(req.headers['x-request-id']);
    res.setHeader('x-request-id', requestId);
    // An open server answers only to its loopback names: a rebound DNS name is refused.
    if (!hostAllowed(req.headers.host, tokens === null, limits)) {
      res.writeHead(403, { 'content-type': 'application/json' }).end(errorBody(CODE.FORBIDDEN, `host ${JSON.stringify(req.headers.host ?? '')} is not allowed: a server without TOKENS_FILE answers only to the names in ALLOWED_HOSTS (default 127.0.0.1, localhost, [::1])`));
      return;
    }
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method === 'GET' && (path === '/metrics' || path === '/health' || path === '/ready')) {
      void serveOps(path, metrics, options.health, workers, res);
      return;
    }
    // The page and its scripts are public, like GraphiQL's; what they ask for needs a token.
    if (dashboard?.(req, res) === true) return;
    if (!originAllowed(req.headers.origin, req.headers.host, limits)) {
      res.writeHead(403, { 'content-type': 'application/json' }).end(errorBody(CODE.FORBIDDEN, `origin ${req.headers.origin} is not allowed (ALLOWED_ORIGINS)`));
      return;
    }
    // What Yoga sees of Accept: without the types it refuses (q=0), or a 406 if that is all.
    if (path !== GRAPHQL_SSE_PATH && !negotiateYogaAccept(req, res)) return;
    // Every GraphQL request carries a valid token when tokens are configured. Only the
    // GraphiQL page itself is served without one (GraphiQL on, and Yoga's own test for a
    // page request), from its built bytes, never by Yoga, and at a bounded rate per client.
    const principal = tokens === null ? OPEN_PRINCIPAL : tokens.authenticate(bearerToken(req.headers.authorization) ?? '');
    if (graphiql !== null && (path === GRAPHQL_PATH || path === `${GRAPHQL_PATH}/`) && wantsGraphiQL(req)) {
      graphiql.serve(req, res, principal === null || tokens === null);
      return;
    }
    if (principal === null) {
      res
        .writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' })
        .end(errorBody(CODE.UNAUTHENTICATED, 'missing or invalid API token (Authorization: Bearer …)'));
      return;
    }
    const refusal = bodyRefusal(req.method, req.headers, limits.maxBodyBytes);
    if (refusal !== null) {
      // The rest of the body is not read: the connection closes after the answer.
      const code = refusal.status === 413 ? CODE.PAYLOAD_TOO_LARGE : CODE.LENGTH_REQUIRED;
      res.writeHead(refusal.status, { 'content-type': 'application/json', connection: 'close' }).end(errorBody(code, refusal.message));
      return;
    }
    let handled: Promise<unknown> | unknown;
    if (path === GRAPHQL_SSE_PATH) {
      handled = sse(req, res, principal ?? OPEN_PRINCIPAL);
    } else {
      // Whatever this request streams ends with its response: also a stream Yoga opened
      // and then refused to send (406), which nothing would ever read or close.
      const streamScope = new StreamScope();
      res.once('close', () => streamScope.close());
      handled = tickwire.yoga(req, res, { streamScope, transport: 'yoga-sse', clientAddress: clientAddressOf(req.socket.remoteAddress) });
    }
    Promise.resolve(handled).catch((err: unknown) => {
      // A client that went away mid-stream is normal, not an error worth a log line.
      const code = (err as { code?: string } | null)?.code;
      if (res.destroyed || code === 'EPIPE' || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE') return;
      // A transport bug must cost one request, never the process.
      log.error({ err, request: requestId, method: req.method, url: req.url }, 'request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal server error');
    });
  });
  // With socket workers this endpoint serves what they cannot take yet (none runs): the
  // connections of the seconds they take to start, or of a restart, are served here
  // rather than refused or left waiting.
  const ws = workers === null ? attachGraphqlWs(http, tickwire, options.keepAliveMs, limits, tokens) : attachGraphqlWs(null, tickwire, options.keepAliveMs, limits, tokens);
  if (workers !== null) {
    http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      // Node drops its own 'error' listener from a socket once it emits 'upgrade': a reset
      // from here on would be an unheard 'error' that takes the whole process down.
      socket.on('error', ignoreSocketError);
      if ((req.url ?? '/').split('?', 1)[0] !== GRAPHQL_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      if (!workers.handOff(req, socket, head)) ws.handleUpgrade(req, socket, head);
    });
  }
  const endpoint = ws;
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port, options.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    // The port is taken (or not ours): no worker was started for it; the log is untapped.
    await endpoint.close();
    await workers?.close();
    throw err;
  }
  // Listening and ready: the workers load in the background (seconds each), and take the
  // graphql-ws connections that come once they serve.
  workers?.start();
  const port = (http.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    http,
    tickwire,
    ws: endpoint,
    workers,
    graphiql,
    port,
    urls: {
      http: `http://${host}:${port}${GRAPHQL_PATH}`,
      ws: `ws://${host}:${port}${GRAPHQL_PATH}`,
      sse: `http://${host}:${port}${GRAPHQL_SSE_PATH}`,
    },
    stopAccepting: () => {
      if (http.listening) http.close();
    },
    close: async () => {
      await graphiql?.close();
      await endpoint.close();
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
    },
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
