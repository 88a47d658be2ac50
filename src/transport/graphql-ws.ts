import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { CloseCode, handleProtocols, makeServer, type Context, type Server as ProtocolServer, type SubscribePayload } from 'graphql-ws';
import { getOperationAST, GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { clientAddressOf, type StreamTransport, type Ticket } from '../graphql/admission.js';
import type { Principal } from '../graphql/schema/principal.js';
import { principalOf, type TokenStore } from '../graphql/auth.js';
import { log } from '../runtime/log.js';
import { DEFAULT_LIMITS, hostAllowed, operationIdRefusal, originAllowed, type Limits } from '../graphql/limits.js';
import { payloadOf } from '../graphql/payload.js';
import type { SchemaContext } from '../graphql/schema/index.js';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { executePrepared, prepareOperation, subscribePrepared } from '../graphql/operation.js';
import { GRAPHQL_PATH, type TickwireYoga } from '../graphql/yoga.js';
import { CODE, graphqlError } from '../graphql/errors.js';
import { DEFAULT_HIGH_WATER_BYTES, FrameWriter, WS_TEXT_FRAMING, type ByteSink } from '../delivery/writer.js';
import { isDeliveredDirectly, type DeliveryTarget } from '../graphql/shared-execution.js';

/**
 * Bytes a connection may have unsent before its subscriptions count as behind: below it
 * a frame is appended and forgotten, so a fast client costs no round trip per event;
 * above it each subscription's log queue fills and the drop policy applies there
 * (high-frequency events first), instead of memory growing in the socket.
 */
export const SOCKET_HIGH_WATER_BYTES = DEFAULT_HIGH_WATER_BYTES;

/**
 * Default milliseconds between keep-alive pings. A peer that leaves a ping unanswered for
 * a whole interval of the server's own time is dropped (see {@link keepAlive}).
 */
export const KEEP_ALIVE_MS = 12_000;

/**
 * On-time rounds a ping may stay unsent (held in our send buffer behind data the peer does
 * not read) before the peer is dropped anyway: a peer that reads nothing for that long is gone.
 */
const UNSENT_PING_ROUNDS = 4;

/** Sockets a keep-alive round pings or judges in one callback (see {@link keepAlive}). */
export const KEEP_ALIVE_SLICE = 256;

/** A ping waiting for its pong. */
interface PendingPing {
  /** When the ping left for the kernel (performance.now()); -1 while it waits in our buffer. */
  sentAt: number;
  /** On-time rounds it has waited unsent. */
  unsentRounds: number;
}

/**
 * Pings every socket of `wss` on one timer and terminates those that did not answer the
 * previous ping in time. A peer is only judged on time it really had, never on our delays:
 * - A pong can only be read when the event loop runs: when the server lags (overload, a
 *   long turn), pongs wait in the kernel through no fault of the peer, and dropping those
 *   peers would turn the overload into a reconnect storm. So the timer measures how late it
 *   fired: a round more than half an interval late gives no verdict (it still pings the
 *   sockets that answered), and an on-time round decides only after the loop has read the
 *   I/O already waiting (`setImmediate` runs after the poll phase).
 * - A ping queued behind our own backlog of frames (a busy socket, a loop too slow to
 *   write) has not reached the peer: its time counts from when it left for the kernel, and
 *   a peer gets at least half an interval from then. A ping still unsent after
 *   {@link UNSENT_PING_ROUNDS} on-time rounds means the peer reads nothing: it is dropped.
 * Returns what stops the timer.
 */
function keepAlive(wss: WebSocketServer, intervalMs: number): () => void {
  const pending = new WeakMap<WebSocket, PendingPing>();
  // One listener for every socket (ws calls it with the socket as `this`), not one closure each.
  const onPong = function (this: WebSocket): void {
    pending.delete(this);
  };
  wss.on('connection', (socket) => socket.on('pong', onPong));
  let due = performance.now() + intervalMs;
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - due > intervalMs / 2;
    // Node schedules the next run from this one, not from when this one was due.
    due = now + intervalMs;
    // In slices of KEEP_ALIVE_SLICE sockets, one per turn: a ping is a write, and pinging
    // 5,000 sockets in one callback held the loop for ~100 ms every round.
    const sockets = [...wss.clients];
    let next = 0;
    const round = (): void => {
      const at = performance.now();
      const end = Math.min(sockets.length, next + KEEP_ALIVE_SLICE);
      for (; next < end; next++) {
        const socket = sockets[next]!;
        if (socket.readyState !== socket.OPEN) continue;
        const ping = pending.get(socket);
        if (ping === undefined) {
          const sent: PendingPing = { sentAt: -1, unsentRounds: 0 };
          pending.set(socket, sent);
          // Called once the frame is handed to the kernel, after whatever was queued before it.
          socket.ping(undefined, undefined, (err) => {
            if (err == null) sent.sentAt = performance.now();
          });
        } else if (!late && (ping.sentAt >= 0 ? at - ping.sentAt >= intervalMs / 2 : ++ping.unsentRounds >= UNSENT_PING_ROUNDS)) {
          socket.terminate();
        }
      }
      if (next < sockets.length) setImmediate(round);
    };
    setImmediate(round);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Streams a subscription's results to its connection's writer as graphql-ws `next`
 * messages: the path of streams that are not plain log subscriptions (throttled, batched,
 * backfilled from the store), which arrive as results of an iterator. Plain ones go
 * through the delivery core and never reach here with a result. graphql-ws still owns
 * everything else (handshake, subscribe, complete, errors, ping); it sees an iterator
 * that yields nothing and ends when the stream ends, after which it sends `complete`.
 */
function writeThrough(
  results: AsyncIterableIterator<ExecutionResult> | AsyncGenerator<ExecutionResult>,
  writer: FrameWriter,
  id: string,
): AsyncIterableIterator<ExecutionResult> {
  const prefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
  let stopped = false;
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    async next(): Promise<IteratorResult<ExecutionResult>> {
      for (;;) {
        // Behind: wait for the socket; meanwhile this subscriber's queue applies the drop policy.
        if (writer.behind) await new Promise<void>((resolve) => writer.onRoom(resolve));
        const next = await results.next();
        if (next.done === true || stopped) return { done: true, value: undefined };
        writer.text(`${prefix}${payloadOf(next.value)}}`);
      }
    },
    async return(): Promise<IteratorResult<ExecutionResult>> {
      stopped = true;
      await results.return?.(undefined);
      return { done: true, value: undefined };
    },
    async throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
      stopped = true;
      await results.return?.(undefined);
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/**
 * One connection's state in one object: the byte sink under its writer, the socket as
 * graphql-ws's `makeServer` sees it, and the handler of its messages. Methods rather than
 * closures: a dozen closures per connection were about 1 KB of every idle subscriber.
 *
 * Its writer carries every graphql-ws message of the connection (acks, errors, `next`,
 * `complete`), so order holds, and they leave in one write per flush as raw WebSocket
 * frames on the socket under `ws`. ws itself writes only control frames (ping, pong,
 * close) between whole frames, and the writer is flushed before a close.
 */
class WsConnection implements ByteSink {
  readonly writer: FrameWriter;
  /** What graphql-ws returned for the connection: called when the socket closes. */
  closed: ((code?: number, reason?: string) => Promise<void>) | null = null;
  private readonly raw: Socket;
  private readonly remote: string | undefined;
  private handler: ((data: string) => Promise<void>) | null = null;
  // Made on the connection's first log line: a child logger and its id, kept for every
  // idle connection, were about 0.4 KB of each idle subscriber's memory.
  private logger: typeof log | null = null;

  constructor(readonly socket: WebSocket) {
    // ws keeps the net.Socket private; it is set before the 'connection' event.
    this.raw = (socket as unknown as { _socket: Socket })._socket;
    this.remote = this.raw.remoteAddress;
    this.writer = new FrameWriter(this, WS_TEXT_FRAMING, SOCKET_HIGH_WATER_BYTES);
  }

  /** The connection's child logger (with an id of its own). */
  log(): typeof log {
    return (this.logger ??= log.child({ connection: randomUUID(), remote: this.remote }));
  }

  // The byte sink. Nothing may follow ws's close frame: once the socket is not open, bytes are dropped.
  write(chunk: Buffer): boolean {
    return this.socket.readyState === this.socket.OPEN ? this.raw.write(chunk) : true;
  }

  get writableLength(): number {
    return this.raw.writableLength;
  }

  get destroyed(): boolean {
    return this.raw.destroyed || this.socket.readyState !== this.socket.OPEN;
  }

  get writableNeedDrain(): boolean {
    return this.raw.writableNeedDrain;
  }

  once(event: 'drain', listener: () => void): unknown {
    return this.raw.once(event, listener);
  }

  // The socket as graphql-ws sees it.
  get protocol(): string {
    return this.socket.protocol;
  }

  send(message: string): void {
    this.writer.text(message);
  }

  close(code?: number, reason?: string): void {
    // What was appended goes out before the close frame.
    this.writer.end();
    this.socket.close(code, reason);
  }

  onMessage(cb: (data: string) => Promise<void>): void {
    this.handler = cb;
    this.socket.on('message', onSocketMessage);
  }

  /** @internal A message of the client, for graphql-ws; a failure to handle it closes the connection. */
  received(data: string): void {
    this.handler?.(data).catch((err: unknown) => {
      this.log().error({ err }, 'graphql-ws message handling failed');
      this.writer.end();
      this.socket.close(CloseCode.InternalServerError, 'Internal server error');
    });
  }
}

const connections = new WeakMap<WebSocket, WsConnection>();

/** The connection of `socket`, made on first use. */
function connectionOf(socket: WebSocket): WsConnection {
  let connection = connections.get(socket);
  if (connection === undefined) {
    connection = new WsConnection(socket);
    connections.set(socket, connection);
  }
  return connection;
}

/** The connection's one writer (see {@link WsConnection}). */
function writerOf(socket: WebSocket): FrameWriter {
  return connectionOf(socket).writer;
}

// Listeners shared by every socket: ws calls them with the socket as `this`.

function onSocketMessage(this: WebSocket, data: RawData): void {
  connections.get(this)?.received(String(data));
}

function onSocketError(this: WebSocket, err: Error): void {
  // Mostly a client's fault (an oversized or malformed frame): ws has already closed
  // the connection with the matching code; one line is enough.
  connectionOf(this).log().warn({ err: err.message }, 'graphql-ws connection closed on a socket error');
  if (this.readyState === this.OPEN) this.close(CloseCode.InternalServerError, 'Internal server error');
}

function onSocketClose(this: WebSocket, code: number, reason: Buffer): void {
  const connection = connectionOf(this);
  connection.writer.end();
  void connection.closed?.(code, String(reason));
}

/** Errors that refuse one operation: logged once at warn (the client's doing, no stack), sent as its `error` message. */
function refused(...errors: GraphQLError[]): GraphQLError[] {
  log.warn({ transport: 'graphql-ws', code: errors[0]?.extensions['code'] }, errors.map((e) => e.message).join('; '));
  return errors;
}

/**
 * Where a subscription takes its place in its principal's quota: this server's
 * {@link Admission}, or the server process's ledger for a socket worker.
 */
export type Admit = (principal: Principal, transport: StreamTransport, clientAddress: string | undefined) => Ticket | GraphQLError | Promise<Ticket | GraphQLError>;

/** A running graphql-ws endpoint. */
export interface WsEndpoint {
  readonly wss: WebSocketServer;
  /**
   * Serves an upgrade request accepted elsewhere (a socket worker is handed the socket by
   * the process that listens): the origin and host checks, the handshake, then graphql-ws.
   */
  handleUpgrade(request: IncomingMessage, socket: Socket, head: Buffer): void;
  /** Closes every socket with 1001 (going away) and stops accepting. */
  close(): Promise<void>;
}

/** Extra of each graphql-ws connection, for plugins and context. */
export interface WsExtra {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
}

/** What {@link attachGraphqlWs} serves, and how. */
export interface GraphqlWsOptions {
  /**
   * The HTTP server whose upgrades at /graphql this endpoint takes; null or absent: only
   * those handed to `handleUpgrade` (a socket worker's hand-off, the router's dispatch).
   */
  readonly server?: Server | null;
  readonly tickwire: TickwireYoga;
  /** Milliseconds between keep-alive pings (default {@link KEEP_ALIVE_MS}). */
  readonly keepAliveMs?: number;
  /** What one client may ask (default {@link DEFAULT_LIMITS}). */
  readonly limits?: Limits;
  /** API tokens; null or absent: the endpoint is open. */
  readonly tokens?: TokenStore | null;
  /** Where subscriptions take their place in the quota (default: `tickwire.admission`). */
  readonly admit?: Admit;
}

/**
 * What each connection holds of its token's subscription quota, by operation id: given
 * back when the operation completes or the connection closes.
 */
class QuotaHolds {
  private readonly held = new WeakMap<WebSocket, Map<string, () => void>>();

  hold(socket: WebSocket, id: string, release: () => void): void {
    const entries = this.held.get(socket) ?? new Map<string, () => void>();
    this.held.set(socket, entries);
    entries.set(id, release);
  }

  /** Gives back operation `id`'s place, or every place of the connection without one. */
  release(socket: WebSocket, id?: string): void {
    const entries = this.held.get(socket);
    if (entries === undefined) return;
    for (const [each, free] of entries) {
      if (id !== undefined && each !== id) continue;
      free();
      entries.delete(each);
    }
  }
}

/** The graphql-ws protocol over tickwire's pipeline, apart from any socket (graphql-ws's `makeServer`). */
type Protocol = ProtocolServer<WsExtra>;

/** What the protocol's hooks share: the settings, the quota holds, and where each prepared subscription writes. */
interface ProtocolState {
  readonly tickwire: TickwireYoga;
  readonly limits: Limits;
  readonly admit: Admit;
  readonly holds: QuotaHolds;
  /** Where each prepared operation's frames go: its connection's writer and its id. */
  readonly targets: WeakMap<ExecutionArgs, DeliveryTarget>;
}

/**
 * graphql-ws's `onSubscribe`: refuses a long id or one operation too many, prepares the
 * operation on the Yoga pipeline, and takes a subscription's place in its principal's quota.
 */
async function subscribeOperation(
  state: ProtocolState,
  ctx: Context<Record<string, unknown> | undefined, WsExtra>,
  id: string,
  params: SubscribePayload,
): Promise<ExecutionArgs | readonly GraphQLError[]> {
  const { limits } = state;
  // Every frame of the operation repeats its id: a long one is refused, as an `error`
  // of that operation (graphql-ws then forgets the id; the connection goes on).
  const tooLong = operationIdRefusal(id, 'the subscribe message\'s id');
  if (tooLong !== null) return refused(graphqlError(CODE.BAD_REQUEST, tooLong));
  // graphql-ws registers the new id before this hook: it counts itself.
  if (Object.keys(ctx.subscriptions).length > limits.maxSubscriptionsPerConnection) {
    return refused(
      graphqlError(CODE.TOO_MANY_SUBSCRIPTIONS, `too many subscriptions on this connection (at most ${limits.maxSubscriptionsPerConnection}, MAX_SUBSCRIPTIONS_PER_CONNECTION)`),
    );
  }
  // Trusted documents first (TRUSTED_DOCUMENTS): graphql-ws requires a `query` string, so a
  // client naming its document by hash sends an empty one. The refusal is logged where it is made.
  const document = state.tickwire.resolveDocument(params, { connectionParams: ctx.connectionParams }, 'graphql-ws');
  if (document instanceof GraphQLError) return [document];
  // Plain log subscriptions append their frames to this connection's writer directly.
  const delivery: DeliveryTarget = { writer: writerOf(ctx.extra.socket), id };
  const prepared = await prepareOperation(
    state.tickwire.yoga,
    { req: ctx.extra.request, socket: ctx.extra.socket, connectionParams: ctx.connectionParams, delivery },
    document,
  );
  if (Array.isArray(prepared)) return refused(...(prepared as readonly GraphQLError[]));
  const args = prepared as Exclude<typeof prepared, readonly unknown[]>;
  if (getOperationAST(args.document, args.operationName)?.operation === 'subscription') {
    // A refusal is an `error` message for this operation; the connection and its other subscriptions go on.
    const ticket = await state.admit((args.contextValue as SchemaContext).principal, 'graphql-ws', clientAddressOf(ctx.extra.request.socket.remoteAddress));
    if (ticket instanceof GraphQLError) return refused(ticket);
    // The connection may have closed while the place was asked for: give it back.
    if (ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) {
      ticket.release();
      return [new GraphQLError('the connection closed')];
    }
    state.holds.hold(ctx.extra.socket, id, ticket.release);
  }
  state.targets.set(args, delivery);
  return args;
}

/** The protocol: graphql-ws's own, with tickwire's authentication, quota and frame writing. */
function protocolOf(state: ProtocolState, tokens: TokenStore | null): Protocol {
  return makeServer<Record<string, unknown> | undefined, WsExtra>({
    connectionInitWaitTimeout: state.limits.connectionInitTimeoutMs,
    onComplete: (ctx, id) => state.holds.release(ctx.extra.socket, id),
    onClose: (ctx) => state.holds.release(ctx.extra.socket),
    // false closes the connection with 4403 (Forbidden): no token, or an unknown one.
    onConnect: (ctx) => tokens === null || principalOf(tokens, { connectionParams: ctx.connectionParams }) !== null,
    execute: executePrepared,
    subscribe: async (args) => {
      const result = await subscribePrepared(args);
      const target = state.targets.get(args);
      if (target === undefined || !(Symbol.asyncIterator in result) || isDeliveredDirectly(result)) return result;
      // The delivery core took it: its own stream, not Yoga's wrappers of it (see DeliveryTarget.stream).
      if (target.stream !== undefined) return target.stream;
      return writeThrough(result, target.writer, target.id);
    },
    onSubscribe: (ctx, id, params) => subscribeOperation(state, ctx, id, params),
  });
}

/**
 * The socket glue of one connection: graphql-ws's messages in, and out through the
 * connection's one writer; a socket error or a failed message closes it.
 */
function serveConnection(protocol: Protocol, socket: WebSocket, request: IncomingMessage): void {
  // `on`, not `once`: a second error on a dying socket must find a listener too.
  socket.on('error', onSocketError);
  const connection = connectionOf(socket);
  connection.closed = protocol.opened(connection, { socket, request });
  socket.once('close', onSocketClose);
}

/**
 * Serves the graphql-ws protocol on `ws://host:port/graphql`, sharing the HTTP port.
 *
 * The protocol is graphql-ws's own (`makeServer`); only the socket glue is ours, because
 * the stock `ws` glue waits for each message's write callback before sending the next,
 * which caps a subscription at one event per event-loop turn.
 */
export function attachGraphqlWs(options: GraphqlWsOptions): WsEndpoint {
  const { tickwire } = options;
  const server = options.server ?? null;
  const limits = options.limits ?? DEFAULT_LIMITS;
  const tokens = options.tokens ?? null;
  const admit: Admit = options.admit ?? ((principal, transport, clientAddress) => tickwire.admission.admit(principal, transport, clientAddress));
  const wss = new WebSocketServer({
    // Without a server, upgrades come through `handleUpgrade` (a socket worker's hand-off).
    ...(server === null ? { noServer: true } : { server, path: GRAPHQL_PATH }),
    handleProtocols,
    perMessageDeflate: false,
    maxPayload: limits.wsMaxPayload,
    // A page of another site must not open a socket with the visitor's network access.
    verifyClient: ({ origin, req }: { origin: string; req: IncomingMessage }) => originAllowed(origin, req.headers.host, limits) && hostAllowed(req.headers.host, tokens === null, limits),
  });
  const stopKeepAlive = keepAlive(wss, options.keepAliveMs ?? KEEP_ALIVE_MS);
  const protocol = protocolOf({ tickwire, limits, admit, holds: new QuotaHolds(), targets: new WeakMap() }, tokens);
  wss.on('connection', (socket, request) => serveConnection(protocol, socket, request));

  return {
    wss,
    handleUpgrade: (request, socket, head) => wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request)),
    close: async () => {
      stopKeepAlive();
      for (const client of wss.clients) {
        writerOf(client).end();
        client.close(1001, 'Going away');
      }
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
