import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { shouldRenderGraphiQL } from 'graphql-yoga';
import type { Registry } from 'prom-client';
import { log } from '../runtime/log.js';
import { CODE, errorBody, type ErrorCode } from '../graphql/errors.js';
import { bearerToken, OPEN_PRINCIPAL, type TokenStore } from '../graphql/auth.js';
import { bodyRefusal, hostAllowed, originAllowed, type Limits } from '../graphql/limits.js';
import { clientAddressOf } from '../graphql/admission.js';
import type { Principal } from '../graphql/schema/principal.js';
import { StreamScope } from '../graphql/stream-scope.js';
import { GRAPHQL_PATH, type TickwireYoga } from '../graphql/yoga.js';
import type { DashboardHandler } from './dashboard.js';
import { negotiateYogaAccept } from './accept.js';
import { GRAPHQL_SSE_PATH, type SseHandler } from './graphql-sse.js';
import type { GraphiqlPage } from './graphiql-page.js';
import type { WsEndpoint } from './graphql-ws.js';

/** What /metrics renders: the Prometheus registry (prom-client's). */
export type MetricsRenderer = Pick<Registry, 'metrics' | 'contentType'>;

/** What /ready reports: why the process cannot serve (none: ready), and how many socket workers serve. */
export interface Readiness {
  /** In words, one per failing dependency (a store outage, an unreachable Redis log). */
  readonly problems: readonly string[];
  /** Socket workers serving of those configured; absent without socket workers. */
  readonly workers?: { readonly running: number; readonly count: number };
}

/** What {@link createRouter} routes to, and under which rules. */
export interface RouterOptions {
  /** The Yoga pipeline: GraphQL over HTTP and Yoga's SSE at /graphql. */
  readonly tickwire: TickwireYoga;
  /** graphql-sse at {@link GRAPHQL_SSE_PATH}. */
  readonly sse: SseHandler;
  /** Hosts, origins, body sizes. */
  readonly limits: Limits;
  /** API tokens; null: the server is open (and answers only to its loopback names). */
  readonly tokens: TokenStore | null;
  /** Rendered at /metrics. */
  readonly metrics: MetricsRenderer;
  /** Asked at /ready, on every request. */
  readonly readiness: () => Readiness;
  /** The built dashboard at /, or null. */
  readonly dashboard: DashboardHandler | null;
  /** The GraphiQL page at /graphql for a browser, or null with GRAPHIQL off. */
  readonly graphiql: GraphiqlPage | null;
}

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

/** Answers with one GraphQL error as JSON (a refusal before anything runs). */
function sendError(res: ServerResponse, status: number, error: { readonly message: string; readonly code: ErrorCode }, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(errorBody(error.code, error.message));
}

/** The operations endpoints, answered before any origin or token check. */
const OPS_PATHS: ReadonlySet<string> = new Set(['/metrics', '/health', '/ready']);

/**
 * /metrics (Prometheus text), /health (the process answers) and /ready (its
 * dependencies work: 503 with the reason during a store or Redis outage). Socket workers
 * are not among them: while none runs (starting, restarting) this process serves
 * graphql-ws itself, so nothing a client can ask is refused for their sake; the body
 * says how many of them serve (`workers: { running, count }`).
 */
async function serveOps(path: string, options: Pick<RouterOptions, 'metrics' | 'readiness'>, res: ServerResponse): Promise<void> {
  try {
    if (path === '/metrics') {
      const body = await options.metrics.metrics();
      res.writeHead(200, { 'content-type': options.metrics.contentType }).end(body);
      return;
    }
    if (path === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    const { problems, workers } = options.readiness();
    // How many workers serve is said, never judged: a bench or an operator that wants them
    // all up waits for `running` to reach `count`.
    const serving = workers === undefined ? {} : { workers: { running: workers.running, count: workers.count } };
    res
      .writeHead(problems.length === 0 ? 200 : 503, { 'content-type': 'application/json' })
      .end(JSON.stringify(problems.length === 0 ? { status: 'ready', ...serving } : { status: 'unavailable', problems, ...serving }));
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(err as Error).message}`);
  }
}

/**
 * The HTTP router of the server process: every request passes the host check, then goes
 * to the ops endpoints, the dashboard, or, past the origin, Accept, token and body checks,
 * to GraphiQL's page, graphql-sse or Yoga. Upgrades are not its business (see
 * {@link routeUpgrades}).
 */
class Router {
  constructor(private readonly options: RouterOptions) {}

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const requestId = requestIdOf(req.headers['x-request-id']);
    res.setHeader('x-request-id', requestId);
    const { tokens, limits } = this.options;
    // An open server answers only to its loopback names: a rebound DNS name is refused.
    if (!hostAllowed(req.headers.host, tokens === null, limits)) {
      const host = JSON.stringify(req.headers.host ?? '');
      sendError(res, 403, {
        message: `host ${host} is not allowed: a server without TOKENS_FILE answers only to the names in ALLOWED_HOSTS (default 127.0.0.1, localhost, [::1])`,
        code: CODE.FORBIDDEN,
      });
      return;
    }
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (req.method === 'GET' && OPS_PATHS.has(path)) {
      void serveOps(path, this.options, res);
      return;
    }
    // The page and its scripts are public, like GraphiQL's; what they ask for needs a token.
    if (this.options.dashboard?.(req, res) === true) return;
    const principal = this.admit(req, res, path);
    if (principal === null) return;
    this.dispatch(req, res, path, principal).catch((err: unknown) => this.failed(err, req, res, requestId));
  };

  /**
   * The checks every GraphQL request passes (origin, Accept, token, body size); GraphiQL's
   * page is served here. The principal to run as, or null once answered.
   */
  private admit(req: IncomingMessage, res: ServerResponse, path: string): Principal | null {
    const { tokens, limits, graphiql } = this.options;
    if (!originAllowed(req.headers.origin, req.headers.host, limits)) {
      sendError(res, 403, { message: `origin ${req.headers.origin} is not allowed (ALLOWED_ORIGINS)`, code: CODE.FORBIDDEN });
      return null;
    }
    // What Yoga sees of Accept: without the types it refuses (q=0), or a 406 if that is all.
    if (path !== GRAPHQL_SSE_PATH && !negotiateYogaAccept(req, res)) return null;
    // Every GraphQL request carries a valid token when tokens are configured. Only the
    // GraphiQL page itself is served without one (GraphiQL on, and Yoga's own test for a
    // page request), from its built bytes, never by Yoga, and at a bounded rate per client.
    const principal = tokens === null ? OPEN_PRINCIPAL : tokens.authenticate(bearerToken(req.headers.authorization) ?? '');
    if (graphiql !== null && (path === GRAPHQL_PATH || path === `${GRAPHQL_PATH}/`) && wantsGraphiQL(req)) {
      graphiql.serve(req, res, principal === null || tokens === null);
      return null;
    }
    if (principal === null) {
      sendError(res, 401, { message: 'missing or invalid API token (Authorization: Bearer …)', code: CODE.UNAUTHENTICATED }, { 'www-authenticate': 'Bearer' });
      return null;
    }
    const refusal = bodyRefusal(req.method, req.headers, limits.maxBodyBytes);
    if (refusal !== null) {
      // The rest of the body is not read: the connection closes after the answer.
      const code = refusal.status === 413 ? CODE.PAYLOAD_TOO_LARGE : CODE.LENGTH_REQUIRED;
      sendError(res, refusal.status, { message: refusal.message, code }, { connection: 'close' });
      return null;
    }
    return principal;
  }

  /** graphql-sse at its path, Yoga (GraphQL over HTTP, Yoga's SSE) everywhere else. */
  private async dispatch(req: IncomingMessage, res: ServerResponse, path: string, principal: Principal): Promise<unknown> {
    if (path === GRAPHQL_SSE_PATH) return this.options.sse(req, res, principal);
    // Whatever this request streams ends with its response: also a stream Yoga opened
    // and then refused to send (406), which nothing would ever read or close.
    const streamScope = new StreamScope();
    res.once('close', () => streamScope.close());
    return this.options.tickwire.yoga(req, res, { streamScope, transport: 'yoga-sse', clientAddress: clientAddressOf(req.socket.remoteAddress) });
  }

  /** A request whose handler failed: a client that went away is normal; anything else costs that request only. */
  private failed(err: unknown, req: IncomingMessage, res: ServerResponse, requestId: string): void {
    // A client that went away mid-stream is normal, not an error worth a log line.
    const code = (err as { code?: string } | null)?.code;
    if (res.destroyed || code === 'EPIPE' || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE') return;
    // A transport bug must cost one request, never the process.
    log.error({ err, request: requestId, method: req.method, url: req.url }, 'request failed');
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('internal server error');
  }
}

/** The server process's request listener: see {@link Router}. */
export function createRouter(options: RouterOptions): RequestListener {
  return new Router(options).handle;
}

/**
 * Heard on sockets this process handles outside Node's HTTP machinery (upgrades): a peer
 * that resets or breaks its connection costs that connection, which closes, and nothing else.
 */
function ignoreSocketError(): void {}

/** Hands an upgrade to another process; false when none takes it. */
export type UpgradeHandOff = (req: IncomingMessage, socket: Socket, head: Buffer) => boolean;

/** Where {@link routeUpgrades} sends the upgrades at /graphql. */
export interface UpgradeRoutes {
  /** Tried first (the socket workers). */
  readonly handOff: UpgradeHandOff;
  /** Serves what the hand-off did not take. */
  readonly ws: WsEndpoint;
}

/**
 * The upgrade dispatch of a server with socket workers: /graphql goes to a worker, or to
 * this process's endpoint while none runs; any other path is a 404. (Without workers the
 * graphql-ws endpoint listens on the server itself.)
 */
export function routeUpgrades(http: Server, routes: UpgradeRoutes): void {
  http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    // Node drops its own 'error' listener from a socket once it emits 'upgrade': a reset
    // from here on would be an unheard 'error' that takes the whole process down.
    socket.on('error', ignoreSocketError);
    if ((req.url ?? '/').split('?', 1)[0] !== GRAPHQL_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    if (!routes.handOff(req, socket, head)) routes.ws.handleUpgrade(req, socket, head);
  });
}
