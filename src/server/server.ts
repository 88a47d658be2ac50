import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EventBus } from '../bus/bus.js';
import type { EngineControl } from '../engine/engine.js';
import type { EventStore } from '../store/store.js';
import { createGraphqlSseHandler, GRAPHQL_SSE_PATH } from './sse.js';
import { attachGraphqlWs, type WsEndpoint } from './ws.js';
import { createTickwireYoga, GRAPHQL_PATH, type TickwireYoga } from './yoga.js';

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
}

/** A listening tickwire server. */
export interface TickwireServer {
  readonly http: Server;
  readonly tickwire: TickwireYoga;
  readonly ws: WsEndpoint;
  /** The port actually bound. */
  readonly port: number;
  /** Base URLs of every transport. */
  readonly urls: { readonly http: string; readonly ws: string; readonly sse: string };
  /** Ends every subscription and stops listening. The engine and bus are the caller's. */
  close(): Promise<void>;
}

/**
 * Serves every transport on one port: Yoga (GraphQL over HTTP, SSE, GraphiQL) and
 * graphql-ws at /graphql, graphql-sse at /graphql/stream.
 */
export async function startServer(options: ServerOptions): Promise<TickwireServer> {
  const tickwire = createTickwireYoga(options.engine, options.bus, options.store ?? null);
  const sse = createGraphqlSseHandler(tickwire);
  const http = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    const handled = path === GRAPHQL_SSE_PATH ? sse(req, res) : tickwire.yoga(req, res);
    Promise.resolve(handled).catch((err: unknown) => {
      // A client that went away mid-stream is normal, not an error worth a log line.
      const code = (err as { code?: string } | null)?.code;
      if (res.destroyed || code === 'EPIPE' || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE') return;
      // A transport bug must cost one request, never the process.
      console.error(`request ${req.method} ${req.url} failed:`, err);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal server error');
    });
  });
  const ws = attachGraphqlWs(http, tickwire, options.keepAliveMs);
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    http,
    tickwire,
    ws,
    port,
    urls: {
      http: `http://${host}:${port}${GRAPHQL_PATH}`,
      ws: `ws://${host}:${port}${GRAPHQL_PATH}`,
      sse: `http://${host}:${port}${GRAPHQL_SSE_PATH}`,
    },
    close: async () => {
      await ws.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
