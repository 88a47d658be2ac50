import type { Server } from 'node:http';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { executePrepared, prepareOperation, subscribePrepared } from './operation.js';
import { GRAPHQL_PATH, type TickwireYoga } from './yoga.js';

/** A running graphql-ws endpoint. */
export interface WsEndpoint {
  readonly wss: WebSocketServer;
  /** Closes every socket with 1001 (going away) and stops accepting. */
  close(): Promise<void>;
}

/** Serves the graphql-ws protocol on `ws://host:port/graphql`, sharing the HTTP port. */
export function attachGraphqlWs(server: Server, tickwire: TickwireYoga): WsEndpoint {
  const wss = new WebSocketServer({ server, path: GRAPHQL_PATH });
  const disposable = useServer(
    {
      execute: executePrepared,
      subscribe: subscribePrepared,
      onSubscribe: async (ctx, _id, params) => {
        const prepared = await prepareOperation(
          tickwire,
          { req: ctx.extra.request, socket: ctx.extra.socket, connectionParams: ctx.connectionParams },
          params,
        );
        return Array.isArray(prepared) ? [...prepared] : (prepared as Exclude<typeof prepared, readonly unknown[]>);
      },
    },
    wss,
  );
  return {
    wss,
    close: async () => {
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
