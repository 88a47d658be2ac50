import type { ExecutionResult } from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { TickwireServer } from '../../src/app/server.js';

/** Every streaming transport the server offers, as the end-to-end tests name them. */
export const TRANSPORTS = ['graphql-ws', 'graphql-sse distinct', 'graphql-sse single', 'yoga sse'] as const;
export type TransportName = (typeof TRANSPORTS)[number];

/** A live subscription seen from a real client. */
export interface Watch {
  readonly results: ExecutionResult[];
  /** Errors the transport reported (GraphQL errors of the operation, or a socket failure). */
  readonly errors: unknown[];
  completed: boolean;
  /** Resolves when `n` results have arrived, or rejects on an error / timeout. */
  take(n: number, timeoutMs?: number): Promise<ExecutionResult[]>;
  /** Resolves when the operation errored or completed. */
  settled(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

type Subscribe = (
  payload: { query: string; variables?: Record<string, unknown> },
  sink: { next(v: ExecutionResult): void; error(e: unknown): void; complete(): void },
) => () => void;

function clientFor(transport: TransportName, server: TickwireServer): { subscribe: Subscribe; dispose(): Promise<void> | void } {
  switch (transport) {
    case 'graphql-ws': {
      const c = createWsClient({ url: server.urls.ws, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
      return { subscribe: (p, s) => c.subscribe(p, s), dispose: () => c.dispose() };
    }
    case 'graphql-sse distinct':
    case 'graphql-sse single': {
      const c = createSseClient({ url: server.urls.sse, singleConnection: transport === 'graphql-sse single', retryAttempts: 0 });
      return { subscribe: (p, s) => c.subscribe(p, s), dispose: () => c.dispose() };
    }
    case 'yoga sse': {
      // Yoga's own SSE is the graphql-sse distinct-connection protocol on /graphql.
      const c = createSseClient({ url: server.urls.http, singleConnection: false, retryAttempts: 0 });
      return { subscribe: (p, s) => c.subscribe(p, s), dispose: () => c.dispose() };
    }
  }
}

/** Subscribes over a real client of `transport`. */
export function watch(
  transport: TransportName,
  server: TickwireServer,
  query: string,
  variables?: Record<string, unknown>,
): Watch {
  const client = clientFor(transport, server);
  let wake: (() => void) | null = null;
  const w: Watch = {
    results: [],
    errors: [],
    completed: false,
    take: async (n, timeoutMs = 5000) => {
      const end = Date.now() + timeoutMs;
      while (w.results.length < n) {
        if (w.errors.length > 0) throw new Error(`subscription failed: ${JSON.stringify(w.errors)}`);
        if (w.completed) throw new Error(`subscription completed after ${w.results.length} of ${n} results`);
        if (Date.now() > end) throw new Error(`timed out with ${w.results.length} of ${n} results`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 20);
        });
      }
      return w.results.slice(0, n);
    },
    settled: async (timeoutMs = 5000) => {
      const end = Date.now() + timeoutMs;
      while (w.errors.length === 0 && !w.completed) {
        if (Date.now() > end) throw new Error('timed out waiting for the operation to end');
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: async () => {
      unsubscribe();
      await client.dispose();
    },
  };
  const unsubscribe = client.subscribe(variables ? { query, variables } : { query }, {
    next: (v) => {
      if (v.errors?.length) w.errors.push(...v.errors);
      else w.results.push(v);
      wake?.();
    },
    error: (e) => {
      // graphql-sse answers a request it cannot run with an HTTP error whose body holds
      // the GraphQL errors; read it so tests see the server's message.
      const response = (e as { response?: Response } | null)?.response;
      if (response !== undefined && typeof response.text === 'function') {
        void response.text().then(
          (body) => w.errors.push({ status: response.status, body }),
          () => w.errors.push(e),
        );
      } else {
        w.errors.push(...(Array.isArray(e) ? e : [e]));
      }
      wake?.();
    },
    complete: () => {
      w.completed = true;
      wake?.();
    },
  });
  return w;
}

/** Runs a query or mutation over GraphQL-over-HTTP with fetch. */
export async function post(
  server: TickwireServer,
  query: string,
  variables?: Record<string, unknown>,
): Promise<{ data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] }> {
  const res = await fetch(server.urls.http, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}
