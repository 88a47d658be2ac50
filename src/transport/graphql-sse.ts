import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getOperationAST, GraphQLError, type ExecutionArgs, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import { TOKEN_HEADER_KEY, TOKEN_QUERY_KEY } from 'graphql-sse';
import type { Principal } from '../graphql/schema/principal.js';
import { acceptsEventStream } from './accept.js';
import { clientAddressOf, quotaKeyOf } from '../graphql/admission.js';
import { operationIdRefusal } from '../graphql/limits.js';
import { log } from '../runtime/log.js';
import { executePrepared, prepareOperation, subscribePrepared, type OperationParams } from '../graphql/operation.js';
import { payloadOf } from '../graphql/payload.js';
import { StreamScope } from '../graphql/stream-scope.js';
import type { TickwireYoga } from '../graphql/yoga.js';
import { CODE, type ErrorCode } from '../graphql/errors.js';

/** The graphql-sse endpoint (distinct and single connection modes). */
export const GRAPHQL_SSE_PATH = '/graphql/stream';

/** What the graphql-sse endpoint allows a client. */
export interface GraphqlSseOptions {
  /** A reservation (PUT) whose stream is not opened within this many ms ends, with its operations (default 5000). */
  readonly reservationTimeoutMs: number;
  /** Reservations one token may hold at once (default 8). */
  readonly maxReservationsPerToken: number;
  /** Operations one reservation may run at once (default: MAX_SUBSCRIPTIONS_PER_CONNECTION). */
  readonly maxOperationsPerReservation: number;
  /** Largest request body read, in bytes. */
  readonly maxBodyBytes: number;
  /** Milliseconds between keep-alive comments on an open stream (default 12,000). */
  readonly keepAliveMs?: number;
}

/** A request handler for the graphql-sse protocol at {@link GRAPHQL_SSE_PATH}. */
export type SseHandler = (req: IncomingMessage, res: ServerResponse, principal: Principal) => Promise<void>;

/** An answer that is not a stream: a status and, for errors, GraphQL errors as JSON. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly errors: readonly GraphQLFormattedError[],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(errors[0]?.message ?? `HTTP ${status}`);
  }
}

const refuse = (status: number, message: string, code: ErrorCode, headers?: Record<string, string>) =>
  new Refusal(status, [{ message, extensions: { code } }], headers);

const STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  // Proxies such as nginx would otherwise hold events back to fill a buffer.
  'x-accel-buffering': 'no',
} as const;

/**
 * An open event stream on one response. Writes never queue without bound: a writer asks
 * {@link EventStream.ready} first, which waits while the socket is over its high-water
 * mark, so a client that stops reading leaves its events in the subscription's own
 * bounded queue, where the drop policy applies.
 */
class EventStream {
  private readonly pinger: NodeJS.Timeout;
  private drained: Promise<void> | null = null;

  constructor(
    private readonly res: ServerResponse,
    keepAliveMs: number,
  ) {
    res.writeHead(200, STREAM_HEADERS);
    // Some browsers only fire `open` once a first byte arrives.
    res.write(':\n\n');
    this.pinger = setInterval(() => this.write(':\n\n'), keepAliveMs);
    this.pinger.unref();
    res.once('close', () => clearInterval(this.pinger));
  }

  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  /** Null when a write may go now; else resolves when the socket drained or closed. */
  ready(): Promise<void> | null {
    if (this.closed || !this.res.writableNeedDrain) return null;
    this.drained ??= new Promise<void>((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        this.drained = null;
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
    return this.drained;
  }

  write(text: string): void {
    if (!this.closed) this.res.write(text);
  }

  end(): void {
    clearInterval(this.pinger);
    if (!this.closed) this.res.end();
  }
}

/** Where an operation's messages go: a distinct stream, or a reservation's stream once it is open. */
interface Sink {
  readonly closed: boolean;
  ready(): Promise<void> | null;
  write(text: string): void;
}

/** A single-connection reservation: a token, the stream once opened, and the operations on it. */
class Reservation implements Sink {
  readonly scope = new StreamScope();
  readonly operations = new Map<string, StreamScope>();
  private stream: EventStream | null = null;
  private opened: (() => void) | null = null;
  private readonly openedOnce = new Promise<void>((resolve) => (this.opened = resolve));
  private readonly expiry: NodeJS.Timeout;
  private ended = false;

  constructor(
    readonly token: string,
    readonly ownerKey: string,
    timeoutMs: number,
    private readonly onEnd: (reservation: Reservation) => void,
  ) {
    // Unopened reservations would otherwise be kept forever, with whatever they run.
    this.expiry = setTimeout(() => this.end(), timeoutMs);
    this.expiry.unref();
  }

  get isOpen(): boolean {
    return this.stream !== null;
  }

  get closed(): boolean {
    return this.ended;
  }

  open(res: ServerResponse, keepAliveMs: number): void {
    clearTimeout(this.expiry);
    this.stream = new EventStream(res, keepAliveMs);
    res.once('close', () => this.end());
    this.opened?.();
  }

  ready(): Promise<void> | null {
    if (this.ended) return null;
    if (this.stream === null) return this.openedOnce;
    return this.stream.ready();
  }

  write(text: string): void {
    this.stream?.write(text);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.expiry);
    this.opened?.();
    this.scope.close();
    this.stream?.end();
    this.onEnd(this);
  }
}

/** The token of a single-connection request: the protocol's header, or its query parameter. */
function streamTokenOf(req: IncomingMessage, url: URL): string | null {
  const header = req.headers[TOKEN_HEADER_KEY];
  const value = (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get(TOKEN_QUERY_KEY);
  return value === undefined || value === null || value === '' ? null : value;
}

/** Reads a request body of at most `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(refuse(413, `request body is over the limit of ${limit} bytes (MAX_BODY_BYTES)`, CODE.PAYLOAD_TOO_LARGE));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.once('error', reject);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/** The operation a request carries: the query string of a GET, the JSON body of a POST. */
async function paramsOf(req: IncomingMessage, url: URL, limit: number): Promise<OperationParams & { readonly extensions?: Record<string, unknown> }> {
  const json = (text: string | null, what: string): Record<string, unknown> | undefined => {
    if (text === null || text === '') return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw refuse(400, `${what} is not valid JSON`, CODE.BAD_REQUEST);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw refuse(400, `${what} must be a JSON object`, CODE.BAD_REQUEST);
    return value as Record<string, unknown>;
  };
  let raw: Record<string, unknown>;
  if (req.method === 'GET') {
    const q = url.searchParams;
    raw = { query: q.get('query'), operationName: q.get('operationName'), variables: json(q.get('variables'), 'variables'), extensions: json(q.get('extensions'), 'extensions') };
  } else if (req.method === 'POST') {
    if (!(req.headers['content-type'] ?? '').includes('application/json')) throw refuse(415, 'a POST body must be application/json', CODE.BAD_REQUEST);
    raw = json(await readBody(req, limit), 'the request body') ?? {};
  } else {
    throw refuse(405, `${req.method} is not allowed here`, CODE.BAD_REQUEST, { allow: 'GET, POST, PUT, DELETE' });
  }
  const { query, operationName, variables, extensions } = raw;
  if (typeof query !== 'string' || query === '') throw refuse(400, 'the request has no query', CODE.BAD_REQUEST);
  if (operationName != null && typeof operationName !== 'string') throw refuse(400, 'operationName must be a string', CODE.BAD_REQUEST);
  const isObject = (v: unknown) => v == null || (typeof v === 'object' && !Array.isArray(v));
  if (!isObject(variables)) throw refuse(400, 'variables must be an object', CODE.BAD_REQUEST);
  if (!isObject(extensions)) throw refuse(400, 'extensions must be an object', CODE.BAD_REQUEST);
  return {
    query,
    operationName: (operationName as string | null | undefined) ?? null,
    variables: (variables as Record<string, unknown> | null | undefined) ?? null,
    ...(extensions != null ? { extensions: extensions as Record<string, unknown> } : {}),
  };
}

/** What an operation produced: a stream of results, or one result. */
type Outcome = AsyncIterableIterator<ExecutionResult> | ExecutionResult;

const isStream = (outcome: Outcome): outcome is AsyncIterableIterator<ExecutionResult> => Symbol.asyncIterator in outcome;

/** A result that refuses to start (the quota): the HTTP status its error asks for, else null. */
function refusalStatus(result: ExecutionResult): number | null {
  if (result.data != null || result.errors === undefined) return null;
  const status = (result.errors[0]?.extensions?.['http'] as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 ? status : null;
}

/**
 * Sends an operation's results to a sink, one at a time: each is pulled from the
 * subscription only when the sink can take it, so nothing piles up here.
 */
async function pump(outcome: Outcome, sink: Sink, frame: (json: string) => string): Promise<void> {
  if (!isStream(outcome)) {
    const wait = sink.ready();
    if (wait !== null) await wait;
    sink.write(frame(payloadOf(outcome)));
    return;
  }
  for (;;) {
    const wait = sink.ready();
    if (wait !== null) await wait;
    if (sink.closed) return;
    const next = await outcome.next();
    if (next.done === true) return;
    sink.write(frame(payloadOf(next.value)));
  }
}

/**
 * The graphql-sse protocol (distinct and single connection modes), on the operations the
 * other transports run: parsing, validation, limits and context come from the one Yoga
 * pipeline. graphql-sse's own handler drains every subscription into an unbounded buffer
 * and keeps unopened reservations forever; here an operation's results are pulled only
 * as fast as its stream is written, reservations expire unopened and are bounded per
 * token, and every operation is admitted against its token's quota like any other.
 */
export function createGraphqlSseHandler(tickwire: TickwireYoga, options: GraphqlSseOptions): SseHandler {
  const keepAliveMs = options.keepAliveMs ?? 12_000;
  const reservations = new Map<string, Reservation>();
  const reservationsBy = new Map<string, number>();

  const prepare = async (req: IncomingMessage, params: OperationParams, scope: StreamScope) => {
    const prepared = await prepareOperation(tickwire.yoga, { req, streamScope: scope, transport: 'graphql-sse', clientAddress: clientAddressOf(req.socket.remoteAddress) }, params);
    if (Array.isArray(prepared)) throw new Refusal(400, (prepared as readonly GraphQLError[]).map((e) => e.toJSON()));
    const args = prepared as ExecutionArgs;
    const operation = getOperationAST(args.document, args.operationName)?.operation;
    if (operation === undefined) throw refuse(400, 'the document has no operation of that name', CODE.BAD_REQUEST);
    if (operation === 'mutation' && req.method === 'GET') throw refuse(405, 'mutations need a POST', CODE.BAD_REQUEST, { allow: 'POST' });
    return { args, operation };
  };

  const run = async (args: ExecutionArgs, operation: string, scope: StreamScope): Promise<Outcome> => {
    let outcome: Outcome;
    try {
      outcome = (operation === 'subscription' ? await subscribePrepared(args) : await executePrepared(args)) as Outcome;
    } catch (err) {
      // Admission refuses with a GraphQL error that carries its HTTP status (429).
      const status = err instanceof GraphQLError ? refusalStatus({ errors: [err] }) : null;
      if (status !== null) throw new Refusal(status, [(err as GraphQLError).toJSON()]);
      throw err;
    }
    if (isStream(outcome)) scope.addStream(outcome);
    return outcome;
  };

  /** Distinct connection mode: this response is the operation's own stream. */
  const distinct = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const scope = new StreamScope();
    res.once('close', () => scope.close());
    try {
      const { args, operation } = await prepare(req, await paramsOf(req, url, options.maxBodyBytes), scope);
      const outcome = await run(args, operation, scope);
      const stream = new EventStream(res, keepAliveMs);
      await pump(outcome, stream, (json) => `event: next\ndata: ${json}\n\n`);
      stream.write('event: complete\ndata:\n\n');
      stream.end();
    } finally {
      scope.close();
    }
  };

  // Reservations are counted like streams: per token, and per client address in open mode.
  const ownerOf = (req: IncomingMessage, principal: Principal) => quotaKeyOf(principal, clientAddressOf(req.socket.remoteAddress));

  const reserve = (req: IncomingMessage, res: ServerResponse, principal: Principal): void => {
    const ownerKey = ownerOf(req, principal);
    const held = reservationsBy.get(ownerKey) ?? 0;
    if (held >= options.maxReservationsPerToken) {
      throw refuse(429, `too many graphql-sse reservations for token "${principal.name}" (at most ${options.maxReservationsPerToken}; each expires ${options.reservationTimeoutMs} ms after it was made unless its stream is opened)`, CODE.TOO_MANY_RESERVATIONS);
    }
    const token = randomBytes(24).toString('base64url');
    reservationsBy.set(ownerKey, held + 1);
    const reservation = new Reservation(token, ownerKey, options.reservationTimeoutMs, (ended) => {
      reservations.delete(ended.token);
      const left = (reservationsBy.get(ended.ownerKey) ?? 1) - 1;
      if (left <= 0) reservationsBy.delete(ended.ownerKey);
      else reservationsBy.set(ended.ownerKey, left);
    });
    reservations.set(token, reservation);
    res.writeHead(201, { 'content-type': 'text/plain; charset=utf-8' }).end(token);
  };

  /** A reservation by its token, only for the principal that made it. */
  const reservationOf = (token: string, req: IncomingMessage, principal: Principal): Reservation => {
    const reservation = reservations.get(token);
    if (reservation === undefined || reservation.ownerKey !== ownerOf(req, principal)) throw refuse(404, 'no such event stream reservation (it may have expired)', CODE.NOT_FOUND);
    return reservation;
  };

  const startOperation = async (req: IncomingMessage, res: ServerResponse, url: URL, reservation: Reservation): Promise<void> => {
    const params = await paramsOf(req, url, options.maxBodyBytes);
    const id = params.extensions?.['operationId'];
    if (typeof id !== 'string' || id === '') throw refuse(400, 'extensions.operationId is missing', CODE.BAD_REQUEST);
    // Every event of the operation repeats its id.
    const tooLong = operationIdRefusal(id, 'extensions.operationId');
    if (tooLong !== null) throw refuse(400, tooLong, CODE.BAD_REQUEST);
    if (reservation.operations.has(id)) throw refuse(409, `operation "${id}" is already running`, CODE.BAD_REQUEST);
    if (reservation.operations.size >= options.maxOperationsPerReservation) {
      throw refuse(429, `too many operations on this event stream (at most ${options.maxOperationsPerReservation})`, CODE.TOO_MANY_SUBSCRIPTIONS);
    }
    const scope = new StreamScope();
    reservation.operations.set(id, scope);
    const unlink = reservation.scope.add(() => scope.close());
    scope.add(() => {
      reservation.operations.delete(id);
      unlink();
    });
    let outcome: Outcome;
    try {
      const { args, operation } = await prepare(req, params, scope);
      outcome = await run(args, operation, scope);
    } catch (err) {
      // A document that does not validate is that operation's error, on its stream, as
      // graphql-ws sends it; the client's other operations and the stream go on.
      if (err instanceof Refusal && err.status === 400) {
        outcome = { errors: err.errors } as unknown as ExecutionResult;
      } else {
        scope.close();
        throw err;
      }
    }
    // Completed (DELETE) or expired while it was being prepared.
    if (scope.closed) {
      res.writeHead(204).end();
      return;
    }
    res.writeHead(202).end();
    const prefix = `event: next\ndata: {"id":${JSON.stringify(id)},"payload":`;
    void pump(outcome, reservation, (json) => `${prefix}${json}}\n\n`)
      .then(() => {
        if (!reservation.closed && !scope.closed) reservation.write(`event: complete\ndata: {"id":${JSON.stringify(id)}}\n\n`);
      })
      .catch((err: unknown) => log.warn({ err: (err as Error).message, transport: 'graphql-sse' }, 'graphql-sse operation ended on an error'))
      .finally(() => scope.close());
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, principal: Principal): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const token = streamTokenOf(req, url);
    if (acceptsEventStream(req.headers.accept)) {
      const reservation = token === null ? undefined : reservations.get(token);
      if (reservation === undefined) return distinct(req, res, url);
      const mine = reservationOf(reservation.token, req, principal);
      if (mine.isOpen) throw refuse(409, 'this event stream is already open', CODE.CONFLICT);
      mine.open(res, keepAliveMs);
      return;
    }
    if (req.method === 'PUT') return reserve(req, res, principal);
    if (token === null) throw refuse(404, 'no event stream token: open a stream with Accept: text/event-stream (not refused with q=0), or reserve one with PUT', CODE.NOT_FOUND);
    const reservation = reservationOf(token, req, principal);
    if (req.method === 'DELETE') {
      const id = url.searchParams.get('operationId');
      if (id === null || id === '') throw refuse(400, 'operationId is missing', CODE.BAD_REQUEST);
      reservation.operations.get(id)?.close();
      res.writeHead(200).end();
      return;
    }
    return startOperation(req, res, url, reservation);
  };

  return async (req, res, principal) => {
    try {
      await handle(req, res, principal);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      // A refused request is the client's doing: one line, no stack.
      log.warn({ status: err.status, code: err.errors[0]?.extensions?.['code'], transport: 'graphql-sse' }, err.message);
      if (res.headersSent) {
        res.end();
        return;
      }
      res.writeHead(err.status, { 'content-type': 'application/json; charset=utf-8', ...err.headers }).end(JSON.stringify({ errors: err.errors }));
    }
  };
}
