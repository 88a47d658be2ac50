import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { CloseCode, handleProtocols, makeServer } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { executePrepared, prepareOperation, subscribePrepared } from './operation.js';
import { GRAPHQL_PATH, type TickwireYoga } from './yoga.js';

/**
 * Bytes a socket may have unsent before `send` starts waiting for the kernel. Below it a
 * message is written and forgotten, so a fast client costs no round trip per event;
 * above it the subscription pauses, its bus queue fills and the drop policy applies
 * there (high-frequency events first), instead of memory growing in the socket.
 */
export const SOCKET_HIGH_WATER_BYTES = 1 << 20;

/** Milliseconds between keep-alive pings; a peer that misses one pong is dropped. */
export const KEEP_ALIVE_MS = 12_000;

/** A running graphql-ws endpoint. */
export interface WsEndpoint {
  readonly wss: WebSocketServer;
  /** Closes every socket with 1001 (going away) and stops accepting. */
  close(): Promise<void>;
}

/** Extra of each graphql-ws connection, for plugins and context. */
export interface WsExtra {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
}

/**
 * Serves the graphql-ws protocol on `ws://host:port/graphql`, sharing the HTTP port.
 *
 * The protocol is graphql-ws's own (`makeServer`); only the socket glue is ours, because
 * the stock `ws` glue waits for each message's write callback before sending the next,
 * which caps a subscription at one event per event-loop turn.
 */
export function attachGraphqlWs(server: Server, tickwire: TickwireYoga): WsEndpoint {
  const wss = new WebSocketServer({ server, path: GRAPHQL_PATH, handleProtocols, perMessageDeflate: false });
  const protocol = makeServer<Record<string, unknown> | undefined, WsExtra>({
    execute: executePrepared,
    subscribe: subscribePrepared,
    onSubscribe: async (ctx, _id, params) => {
      const prepared = await prepareOperation(
        tickwire.yoga,
        { req: ctx.extra.request, socket: ctx.extra.socket, connectionParams: ctx.connectionParams },
        params,
      );
      return Array.isArray(prepared) ? [...prepared] : (prepared as Exclude<typeof prepared, readonly unknown[]>);
    },
  });

  wss.on('connection', (socket, request) => {
    let alive = true;
    socket.on('pong', () => (alive = true));
    const keepAlive = setInterval(() => {
      if (!alive) return socket.terminate();
      alive = false;
      socket.ping();
    }, KEEP_ALIVE_MS);
    keepAlive.unref();

    socket.once('error', (err) => {
      console.error('graphql-ws socket error:', err);
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    });

    // Frames sent in one turn of the event loop leave in one write: an event fanned out
    // to many subscriptions of this socket costs one syscall, not one each.
    const raw = (socket as unknown as { _socket?: Socket })._socket;
    let corked = false;
    const uncork = () => {
      corked = false;
      raw?.uncork();
    };
    const closed = protocol.opened(
      {
        protocol: socket.protocol,
        send: (data) => {
          if (socket.readyState !== socket.OPEN) return;
          if (!corked && raw !== undefined) {
            corked = true;
            raw.cork();
            process.nextTick(uncork);
          }
          if (socket.bufferedAmount < SOCKET_HIGH_WATER_BYTES) {
            socket.send(data);
            return;
          }
          return new Promise<void>((resolve) => socket.send(data, () => resolve()));
        },
        close: (code, reason) => socket.close(code, reason),
        onMessage: (cb) =>
          socket.on('message', (data) => {
            cb(String(data)).catch((err: unknown) => {
              console.error('graphql-ws message handling failed:', err);
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            });
          }),
      },
      { socket, request },
    );
    socket.once('close', (code, reason) => {
      clearInterval(keepAlive);
      void closed(code, String(reason));
    });
  });

  return {
    wss,
    close: async () => {
      for (const client of wss.clients) client.close(1001, 'Going away');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
