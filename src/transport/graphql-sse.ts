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
import { requestedId } from '../graphql/trusted-documents.js';
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
    /** True when whoever refused it logged it already (trusted documents log their own refusals). */
    readonly logged = false,
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

/** What a graphql-sse request carries. */
type RequestParams = OperationParams & { readonly extensions?: Record<string, unknown>; readonly documentId?: string };

/** The operation a request carries: the query string of a GET, the JSON body of a POST. */
async function paramsOf(req: IncomingMessage, url: URL, limit: number): Promise<RequestParams> {
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
  const { operationName, variables, extensions } = raw;
  const documentId = raw['documentId'] ?? url.searchParams.get('documentId');
  // A request may name a trusted document by its hash instead of sending its text.
  const named = requestedId({ extensions: extensions as Record<string, unknown> | null | undefined, documentId }) !== null;
  const query = raw['query'] ?? (named ? '' : undefined);
  if (typeof query !== 'string' || (query === '' && !named)) throw refuse(400, 'the request has no query', CODE.BAD_REQUEST);
  if (operationName != null && typeof operationName !== 'string') throw refuse(400, 'operationName must be a string', CODE.BAD_REQUEST);
  const isObject = (v: unknown) => v == null || (typeof v === 'object' && !Array.isArray(v));
  if (!isObject(variables)) throw refuse(400, 'variables must be an object', CODE.BAD_REQUEST);
  if (!isObject(extensions)) throw refuse(400, 'extensions must be an object', CODE.BAD_REQUEST);
  return {
    query,
    operationName: (operationName as string | null | undefined) ?? null,
    variables: (variables as Record<string, unknown> | null | undefined) ?? null,
    ...(extensions != null ? { extensions: extensions as Record<string, unknown> } : {}),
    ...(typeof documentId === 'string' ? { documentId } : {}),
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
 * The single-connection reservations, by token, and how many each owner holds: bounded
 * per owner (a token, or a client address in open mode), like streams.
 */
class Reservations {
  private readonly byToken = new Map<string, Reservation>();
  private readonly countBy = new Map<string, number>();

  constructor(private readonly options: Pick<GraphqlSseOptions, 'maxReservationsPerToken' | 'reservationTimeoutMs'>) {}

  /** A new reservation of `ownerKey`'s; refused (429) when it holds its maximum. */
  reserve(ownerKey: string, principal: Principal): Reservation {
    const { maxReservationsPerToken, reservationTimeoutMs } = this.options;
    const held = this.countBy.get(ownerKey) ?? 0;
    if (held >= maxReservationsPerToken) {
      throw refuse(429, `too many graphql-sse reservations for token "${principal.name}" (at most ${maxReservationsPerToken}; each expires ${reservationTimeoutMs} ms after it was made unless its stream is opened)`, CODE.TOO_MANY_RESERVATIONS);
    }
    const token = randomBytes(24).toString('base64url');
    this.countBy.set(ownerKey, held + 1);
    const reservation = new Reservation(token, ownerKey, reservationTimeoutMs, (ended) => this.forget(ended));
    this.byToken.set(token, reservation);
    return reservation;
  }

  /** The reservation of a token, whoever made it. */
  get(token: string): Reservation | undefined {
    return this.byToken.get(token);
  }

  /** A reservation by its token, only for the owner that made it. */
  of(token: string, ownerKey: string): Reservation {
    const reservation = this.byToken.get(token);
    if (reservation === undefined || reservation.ownerKey !== ownerKey) throw refuse(404, 'no such event stream reservation (it may have expired)', CODE.NOT_FOUND);
    return reservation;
  }

  private forget(ended: Reservation): void {
    this.byToken.delete(ended.token);
    const left = (this.countBy.get(ended.ownerKey) ?? 1) - 1;
    if (left <= 0) this.countBy.delete(ended.ownerKey);
    else this.countBy.set(ended.ownerKey, left);
  }
}

/** Reservations are counted like streams: per token, and per client address in open mode. */
const ownerOf = (req: IncomingMessage, principal: Principal): string => quotaKeyOf(principal, clientAddressOf(req.socket.remoteAddress));

/** The endpoint behind {@link createGraphqlSseHandler}: one method per step of the protocol. */
class GraphqlSseEndpoint {
  private readonly keepAliveMs: number;
  private readonly reservations: Reservations;

  constructor(
    private readonly tickwire: TickwireYoga,
    private readonly options: GraphqlSseOptions,
  ) {
    this.keepAliveMs = options.keepAliveMs ?? 12_000;
    this.reservations = new Reservations(options);
  }

  /** Serves one request; a {@link Refusal} becomes its JSON answer (or ends a stream already started). */
  readonly serve = async (req: IncomingMessage, res: ServerResponse, principal: Principal): Promise<void> => {
    try {
      await this.handle(req, res, principal);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      // A refused request is the client's doing: one line, no stack.
      if (!err.logged) log.warn({ status: err.status, code: err.errors[0]?.extensions?.['code'], transport: 'graphql-sse' }, err.message);
      if (res.headersSent) {
        res.end();
        return;
      }
      res.writeHead(err.status, { 'content-type': 'application/json; charset=utf-8', ...err.headers }).end(JSON.stringify({ errors: err.errors }));
    }
  };

  private async handle(req: IncomingMessage, res: ServerResponse, principal: Principal): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const token = streamTokenOf(req, url);
    if (acceptsEventStream(req.headers.accept)) {
      const reservation = token === null ? undefined : this.reservations.get(token);
      if (reservation === undefined) return this.distinct(req, res, url);
      const mine = this.reservations.of(reservation.token, ownerOf(req, principal));
      if (mine.isOpen) throw refuse(409, 'this event stream is already open', CODE.CONFLICT);
      mine.open(res, this.keepAliveMs);
      return;
    }
    if (req.method === 'PUT') {
      const reservation = this.reservations.reserve(ownerOf(req, principal), principal);
      res.writeHead(201, { 'content-type': 'text/plain; charset=utf-8' }).end(reservation.token);
      return;
    }
    if (token === null) throw refuse(404, 'no event stream token: open a stream with Accept: text/event-stream (not refused with q=0), or reserve one with PUT', CODE.NOT_FOUND);
    const reservation = this.reservations.of(token, ownerOf(req, principal));
    if (req.method === 'DELETE') {
      const id = url.searchParams.get('operationId');
      if (id === null || id === '') throw refuse(400, 'operationId is missing', CODE.BAD_REQUEST);
      reservation.operations.get(id)?.close();
      res.writeHead(200).end();
      return;
    }
    return this.startOperation(req, res, url, reservation);
  }

  private async prepare(req: IncomingMessage, params: RequestParams, scope: StreamScope): Promise<{ args: ExecutionArgs; operation: string }> {
    // Trusted documents first (TRUSTED_DOCUMENTS): the text to run, or the operation's refusal.
    const document = this.tickwire.resolveDocument(params, { req }, 'graphql-sse');
    if (document instanceof GraphQLError) throw new Refusal(400, [document.toJSON()], {}, true);
    const prepared = await prepareOperation(this.tickwire.yoga, { req, streamScope: scope, transport: 'graphql-sse', clientAddress: clientAddressOf(req.socket.remoteAddress) }, document);
    if (Array.isArray(prepared)) throw new Refusal(400, (prepared as readonly GraphQLError[]).map((e) => e.toJSON()));
    const args = prepared as ExecutionArgs;
    const operation = getOperationAST(args.document, args.operationName)?.operation;
    if (operation === undefined) throw refuse(400, 'the document has no operation of that name', CODE.BAD_REQUEST);
    if (operation === 'mutation' && req.method === 'GET') throw refuse(405, 'mutations need a POST', CODE.BAD_REQUEST, { allow: 'POST' });
    return { args, operation };
  }

  private async run(args: ExecutionArgs, operation: string, scope: StreamScope): Promise<Outcome> {
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
  }

  /** Distinct connection mode: this response is the operation's own stream. */
  private async distinct(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const scope = new StreamScope();
    res.once('close', () => scope.close());
    try {
      const { args, operation } = await this.prepare(req, await paramsOf(req, url, this.options.maxBodyBytes), scope);
      const outcome = await this.run(args, operation, scope);
      const stream = new EventStream(res, this.keepAliveMs);
      await pump(outcome, stream, (json) => `event: next\ndata: ${json}\n\n`);
      stream.write('event: complete\ndata:\n\n');
      stream.end();
    } finally {
      scope.close();
    }
  }

  /** The operation id a single-connection request names, checked, with room for it on the reservation. */
  private operationIdOf(params: RequestParams, reservation: Reservation): string {
    const id = params.extensions?.['operationId'];
    if (typeof id !== 'string' || id === '') throw refuse(400, 'extensions.operationId is missing', CODE.BAD_REQUEST);
    // Every event of the operation repeats its id.
    const tooLong = operationIdRefusal(id, 'extensions.operationId');
    if (tooLong !== null) throw refuse(400, tooLong, CODE.BAD_REQUEST);
    if (reservation.operations.has(id)) throw refuse(409, `operation "${id}" is already running`, CODE.BAD_REQUEST);
    if (reservation.operations.size >= this.options.maxOperationsPerReservation) {
      throw refuse(429, `too many operations on this event stream (at most ${this.options.maxOperationsPerReservation})`, CODE.TOO_MANY_SUBSCRIPTIONS);
    }
    return id;
  }

  /** Single connection mode: an operation on a reservation's stream, answered 202 (or 204 if it ended meanwhile). */
  private async startOperation(req: IncomingMessage, res: ServerResponse, url: URL, reservation: Reservation): Promise<void> {
    const params = await paramsOf(req, url, this.options.maxBodyBytes);
    const id = this.operationIdOf(params, reservation);
    const scope = new StreamScope();
    reservation.operations.set(id, scope);
    const unlink = reservation.scope.add(() => scope.close());
    scope.add(() => {
      reservation.operations.delete(id);
      unlink();
    });
    let outcome: Outcome;
    try {
      const { args, operation } = await this.prepare(req, params, scope);
      outcome = await this.run(args, operation, scope);
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
  return new GraphqlSseEndpoint(tickwire, options).serve;
}
