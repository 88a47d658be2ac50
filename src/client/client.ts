import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { getOperationAST, print, type ExecutionResult } from 'graphql';
import { createClient as createSseClient, type Client as SseClient } from 'graphql-sse';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { EventsSubscription, EventsSubscriptionVariables } from './generated/graphql.js';
import { EventsDocument, LogEpochDocument } from './operations.js';

/** One event as the `Events` operation selects it: a member of the RunnerEvent union. */
export type ClientEvent = EventsSubscription['events'];

/** Options of {@link createEventsClient}. */
export interface EventsClientOptions {
  /**
   * The server's GraphQL URL. With `transport: 'ws'` (default) a ws:// or http:// URL of
   * /graphql; with `'sse'` the graphql-sse endpoint, e.g. http://127.0.0.1:4000/graphql/stream.
   */
  readonly url: string;
  /** graphql-ws over WebSocket (default) or graphql-sse over HTTP. */
  readonly transport?: 'ws' | 'sse';
  /** graphql-sse only: one stream for all operations (default false: one per operation). */
  readonly singleConnection?: boolean;
  /** An API token, when the server has TOKENS_FILE: sent as connectionParams.token (ws) or a Bearer header (SSE). */
  readonly token?: string;
  /**
   * Attempts to resume `events()` after a lost connection, from the last id seen, before
   * the iterator throws (default 5; the count starts again after each event received;
   * `Infinity` for a screen that should never give up). Waits grow from 100 ms to 5 s.
   */
  readonly retryAttempts?: number;
  /**
   * graphql-ws only: told whenever the connection changes, e.g. for a status light.
   * `closed` carries the close code (4403: the token was refused).
   */
  readonly onConnection?: (status: ConnectionStatus) => void;
  /**
   * Send each generated document by its hash (`extensions.persistedQuery.sha256Hash`,
   * from `npm run codegen`'s manifest) instead of its text (default true). Where the
   * server does not know the hash (PERSISTED_DOCUMENT_NOT_FOUND) the client sends the
   * text instead, and from then on for every operation when the server takes no hashes
   * at all (TRUSTED_DOCUMENTS=off); a server with TRUSTED_DOCUMENTS=only refuses the text.
   */
  readonly persistedDocuments?: boolean;
}

/** The state of a client's connection, as {@link EventsClientOptions.onConnection} reports it. */
export type ConnectionStatus =
  | { readonly state: 'connecting' }
  | { readonly state: 'connected' }
  | { readonly state: 'closed'; readonly code: number; readonly reason: string };

/** A GraphQL error returned for an operation, with the server's messages. */
export class OperationError extends Error {
  override readonly name = 'OperationError';
  constructor(readonly errors: readonly { readonly message: string; readonly extensions?: Record<string, unknown> }[]) {
    super(errors.map((e) => e.message).join('; '));
  }
}

/** A small typed client for tickwire's subscriptions, queries and mutations. */
export interface EventsClient {
  /**
   * Live events matching the filter, typed as union members (`__typename` narrows).
   * After a lost connection it resumes from the last id it delivered: no gap, no duplicate.
   */
  events(variables?: EventsSubscriptionVariables, signal?: AbortSignal): AsyncIterableIterator<ClientEvent>;
  /** Any generated subscription document, typed by its result. */
  subscribe<R, V extends Record<string, unknown>>(
    document: TypedDocumentNode<R, V>,
    variables?: V,
    signal?: AbortSignal,
  ): AsyncIterableIterator<R>;
  /** Runs a generated query or mutation once. Throws {@link OperationError} on GraphQL errors. */
  request<R, V extends Record<string, unknown>>(document: TypedDocumentNode<R, V>, variables?: V): Promise<R>;
  /** Closes the connection and ends every iterator. */
  close(): Promise<void>;
}

type Sink<T> = {
  next(value: T): void;
  error(error: unknown): void;
  complete(): void;
};

/** What the libraries send: the text, or (by hash) an empty query and the hash in extensions. */
type WirePayload = {
  query: string;
  operationName?: string;
  variables?: Record<string, unknown>;
  extensions?: Record<string, unknown>;
};

type Transport = {
  subscribe(payload: WirePayload, sink: Sink<ExecutionResult>): () => void;
  dispose(): Promise<void> | void;
};

/** The platform's WebSocket where there is one (browsers, Node 22), else the ws package (Node 20). */
const webSocketImpl: unknown = (globalThis as { WebSocket?: unknown }).WebSocket ?? WebSocket;

function wsTransport(url: string, retryAttempts: number, token: string | undefined, onConnection?: (status: ConnectionStatus) => void): Transport {
  const client: WsClient = createWsClient({
    url: url.replace(/^http/, 'ws'),
    ...(token !== undefined ? { connectionParams: { token } } : {}),
    webSocketImpl,
    retryAttempts,
    lazy: true,
    ...(onConnection !== undefined
      ? {
          on: {
            connecting: () => onConnection({ state: 'connecting' }),
            connected: () => onConnection({ state: 'connected' }),
            closed: (event: unknown) => {
              const close = event as { code?: unknown; reason?: unknown } | null;
              onConnection({
                state: 'closed',
                code: typeof close?.code === 'number' ? close.code : 1006,
                reason: typeof close?.reason === 'string' ? close.reason : '',
              });
            },
          },
        }
      : {}),
  });
  return { subscribe: (payload, sink) => client.subscribe(payload, sink), dispose: () => client.dispose() };
}

function sseTransport(url: string, singleConnection: boolean, retryAttempts: number, token: string | undefined): Transport {
  const client: SseClient<boolean> = createSseClient({
    url,
    singleConnection,
    retryAttempts,
    ...(token !== undefined ? { headers: { authorization: `Bearer ${token}` } } : {}),
  });
  return { subscribe: (payload, sink) => client.subscribe(payload, sink), dispose: () => client.dispose() };
}

/** How a subscription picks up again after a lost connection. */
interface Resume<R> {
  /** The resume cursor of a value, or null when it has none (a gap notice). */
  readonly idOf: (value: R) => string | null;
  /** The payload that continues after `after` (null: nothing seen yet, start as before). */
  readonly payloadAfter: (after: string | null) => Payload;
  /** Consecutive failed attempts before giving up. */
  readonly attempts: number;
  /** Sees each value as it arrives, before the caller does. */
  readonly onValue?: (value: R) => void;
  /**
   * True for a value after which ids seen before mean nothing (a notice that the log is in
   * another epoch, whose ids may be lower): the cursor starts again from the next id.
   */
  readonly restarts?: (value: R) => boolean;
}

/** An operation to send: its document's text, and its hash when codegen gave it one. */
type Payload = { query: string; hash?: string; operationName?: string; variables?: Record<string, unknown> };

/** A document without its variables. */
type DocumentPayload = Omit<Payload, 'variables'>;

/**
 * How the server answered a hash it does not run, from a GraphQL error list: `missing`
 * (it does not know this hash: send the text), `unsupported` (it takes no hashes at all:
 * send the text from now on), or null for any other answer. Read from the message,
 * Apollo's convention, which tickwire's PERSISTED_DOCUMENT_NOT_FOUND follows (and other
 * servers that take hashes too).
 */
function hashRefusal(errors: unknown): 'missing' | 'unsupported' | null {
  if (!Array.isArray(errors)) return null;
  const message = (errors[0] as { message?: unknown } | undefined)?.message;
  if (message === 'PersistedQueryNotSupported') return 'unsupported';
  return message === 'PersistedQueryNotFound' ? 'missing' : null;
}

/**
 * The same for a transport's failure: a GraphQL error list (graphql-ws), or an HTTP 400
 * whose body carries the errors (graphql-sse reports it as a NetworkError with the response).
 */
async function failureRefusal(error: unknown): Promise<'missing' | 'unsupported' | null> {
  if (Array.isArray(error)) return hashRefusal(error);
  const response = (error as { response?: { status?: unknown; clone?: () => Response } } | null)?.response;
  if (response?.status !== 400 || typeof response.clone !== 'function') return null;
  try {
    return hashRefusal(((await response.clone().json()) as { errors?: unknown }).errors);
  } catch {
    return null;
  }
}

/**
 * A transport that sends documents by hash and falls back to their text where the server
 * does not know the hash; once the server says it takes no hashes, it sends text only.
 */
class ByHash implements Transport {
  constructor(
    private readonly inner: Transport,
    /** True: the text only, from the start (`persistedDocuments: false`), or since the server said it takes no hashes. */
    private textOnly: boolean,
  ) {}

  subscribe(payload: WirePayload & { readonly hash?: string }, sink: Sink<ExecutionResult>): () => void {
    const { hash, ...text } = payload;
    if (hash === undefined || this.textOnly) return this.inner.subscribe(text, sink);
    let fellBack = false;
    // Set when the caller unsubscribes: a refusal read after that starts nothing.
    let stopped = false;
    const fallBack = (refusal: 'missing' | 'unsupported') => {
      if (refusal === 'unsupported') this.textOnly = true;
      if (fellBack || stopped) return;
      fellBack = true;
      stop();
      stop = this.inner.subscribe(text, sink);
    };
    const byHash = { ...text, query: '', extensions: { persistedQuery: { version: 1, sha256Hash: hash } } };
    let stop = this.inner.subscribe(byHash, {
      next: (result) => {
        const refusal = result.data == null ? hashRefusal(result.errors) : null;
        if (refusal !== null) fallBack(refusal);
        else if (!fellBack) sink.next(result);
      },
      error: (error) => {
        if (fellBack) return;
        void failureRefusal(error).then((refusal) => {
          if (refusal !== null) fallBack(refusal);
          else if (!stopped) sink.error(error);
        });
      },
      complete: () => {
        if (!fellBack) sink.complete();
      },
    });
    return () => {
      stopped = true;
      stop();
    };
  }

  dispose(): Promise<void> | void {
    return this.inner.dispose();
  }
}

/**
 * A lost connection, as opposed to an answer of the server: GraphQL errors, or a close
 * code of 4400-4499 (a refused token, a bad request, too many subscriptions), which
 * trying again would only repeat.
 */
function isConnectionLoss(error: unknown): boolean {
  if (Array.isArray(error)) return false;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'number' && code >= 4400 && code < 4500) return false;
  // Over SSE a refusal is an HTTP 4xx answer (a wrong token, a bad request), which
  // graphql-sse reports as a NetworkError carrying the response: trying again repeats it.
  const status = (error as { response?: { status?: unknown } } | null)?.response?.status;
  return !(typeof status === 'number' && status >= 400 && status < 500 && status !== 408);
}

/**
 * The later of two log ids. With throttleMs a conflated event comes at the end of its
 * window, after events with higher ids: resuming from the highest id seen is what avoids
 * duplicates (the conflated ones still pending were superseded anyway).
 */
function later(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return BigInt(b) > BigInt(a) ? b : a;
}

/**
 * Turns a push sink into a pull iterator. Results queue while the caller is busy; the
 * transport's own flow control is the bound (the server drops for slow consumers).
 * With `resume`, a lost connection is not the end: the subscription starts again after
 * the last id it delivered, so the caller sees no gap and no duplicate.
 */
function iterate<R>(transport: Transport, payload: Payload, signal: AbortSignal | undefined, resume?: Resume<R>): AsyncIterableIterator<R> {
  return new PullIterator<R>(transport, signal, resume).begin(payload);
}

/** The iterator {@link iterate} returns: a queue filled by the transport's sink, read by `next`. */
class PullIterator<R> implements AsyncIterableIterator<R> {
  private readonly queue: R[] = [];
  private failure: unknown = null;
  private done = false;
  private wake: (() => void) | null = null;
  private lastId: string | null = null;
  private failedAttempts = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private unsubscribe: () => void = () => undefined;
  private readonly finish = (): void => {
    if (!this.done) {
      this.done = true;
      if (this.retryTimer !== null) clearTimeout(this.retryTimer);
      this.unsubscribe();
    }
    this.notify();
  };

  constructor(
    private readonly transport: Transport,
    private readonly signal: AbortSignal | undefined,
    private readonly resume: Resume<R> | undefined,
  ) {}

  /** Subscribes with `payload` and returns this iterator. */
  begin(payload: Payload): this {
    this.unsubscribe = this.start(payload);
    this.signal?.addEventListener('abort', this.finish, { once: true });
    return this;
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private start(current: Payload): () => void {
    return this.transport.subscribe(current, {
      next: (result) => this.take(result),
      error: (error) => this.failed(error),
      complete: () => {
        this.done = true;
        this.notify();
      },
    });
  }

  private take(result: ExecutionResult): void {
    if (result.errors !== undefined && result.errors.length > 0) {
      this.failure = new OperationError(result.errors);
    } else if (result.data !== undefined && result.data !== null) {
      const data = result.data as Record<string, unknown>;
      const key = Object.keys(data)[0];
      if (key !== undefined) {
        const value = data[key] as R;
        const resume = this.resume;
        this.failedAttempts = 0;
        this.lastId = resume?.restarts?.(value) === true ? null : later(this.lastId, resume?.idOf(value) ?? null);
        resume?.onValue?.(value);
        this.queue.push(value);
      }
    }
    this.notify();
  }

  private failed(error: unknown): void {
    const resume = this.resume;
    if (!this.done && resume !== undefined && isConnectionLoss(error) && this.failedAttempts < resume.attempts) {
      this.failedAttempts++;
      // Back off a little more each time, so a restarting server is not hammered.
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        if (!this.done) this.unsubscribe = this.start(resume.payloadAfter(this.lastId));
      }, Math.min(5000, 100 * 2 ** (this.failedAttempts - 1)));
      return;
    }
    this.failure = Array.isArray(error) ? new OperationError(error as { message: string }[]) : error;
    this.done = true;
    this.notify();
  }

  async next(): Promise<IteratorResult<R>> {
    for (;;) {
      if (this.queue.length > 0) return { done: false, value: this.queue.shift() as R };
      if (this.failure !== null) {
        const err = this.failure;
        this.failure = null;
        this.finish();
        throw err;
      }
      if (this.done) return { done: true, value: undefined };
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  async return(): Promise<IteratorResult<R>> {
    this.signal?.removeEventListener('abort', this.finish);
    this.queue.length = 0;
    this.finish();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * How `events()` resumes: after the last id seen, with the epoch of the log that id
 * belongs to, so that a server whose log was recreated meanwhile says so instead of
 * resuming in ids of another log. The epoch is asked of the same server (`logEpoch`) when
 * the first event arrives (a refused subscription asks nothing more); an older server
 * without Query.log leaves it unknown, as before.
 */
function eventsResume(options: {
  readonly document: DocumentPayload;
  readonly base: Record<string, unknown>;
  readonly epoch: string | null;
  readonly logEpoch: () => Promise<string>;
  readonly attempts: number;
}): Resume<ClientEvent> {
  const { document, base } = options;
  let epoch = options.epoch;
  let asked = epoch !== null;
  // Set by a notice of another epoch: a resume before the next id goes on live, without
  // the replay or snapshot first asked for (those events were delivered already).
  let restarted = false;
  const isEpochNotice = (event: ClientEvent) => event.__typename === 'StreamGap' && event.epoch != null;
  return {
    idOf: (event) => ('id' in event ? event.id : null),
    // Resuming replaces a replay or a snapshot: what they sent has been delivered already.
    payloadAfter: (after) => ({
      ...document,
      variables:
        after === null
          ? restarted
            ? { ...base, replay: null, snapshot: null, after: null, epoch: null }
            : base
          : { ...base, replay: null, snapshot: null, after, ...(epoch === null ? {} : { epoch }) },
    }),
    // After a reset the stream goes on in the new epoch: the next resume belongs to it.
    onValue: (event) => {
      if (event.__typename === 'StreamGap' && event.epoch != null) {
        epoch = event.epoch;
        restarted = true;
      }
      if (!asked) {
        asked = true;
        options.logEpoch().then(
          (current) => (epoch ??= current),
          () => undefined,
        );
      }
    },
    // Ids of the epoch before mean nothing in the new one, which may restart below them.
    restarts: isEpochNotice,
    attempts: options.attempts,
  };
}

/**
 * Creates a typed client. `events(args)` yields members of the RunnerEvent union with
 * every field selected; `subscribe`/`request` take any document generated by
 * `npm run codegen` for a smaller selection.
 *
 * @example
 * const client = createEventsClient({ url: 'ws://127.0.0.1:4000/graphql' });
 * for await (const event of client.events({ runnerIds: ['btc_ema'], types: ['TICK_RECEIVED'] })) {
 *   if (event.__typename === 'TickReceived') console.log(event.data.close);
 * }
 */
export function createEventsClient(options: EventsClientOptions): EventsClient {
  const retryAttempts = options.retryAttempts ?? 5;
  // The libraries' own retries would resubscribe with the first payload (a gap, or a
  // replay twice); events() resumes after the last id instead, so they are off.
  const plain =
    options.transport === 'sse'
      ? sseTransport(options.url, options.singleConnection ?? false, 0, options.token)
      : wsTransport(options.url, 0, options.token, options.onConnection);
  const transport = new ByHash(plain, options.persistedDocuments === false);
  const documents = new WeakMap<object, DocumentPayload>();
  const documentOf = (document: TypedDocumentNode<unknown, never>): DocumentPayload => {
    let payload = documents.get(document);
    if (payload === undefined) {
      const hash = (document as { __meta__?: { hash?: unknown } }).__meta__?.hash;
      const name = getOperationAST(document)?.name?.value;
      payload = { query: print(document), ...(typeof hash === 'string' ? { hash } : {}), ...(name !== undefined ? { operationName: name } : {}) };
      documents.set(document, payload);
    }
    return payload;
  };
  const client: EventsClient = {
    events: (variables, signal) => {
      const document = documentOf(EventsDocument as TypedDocumentNode<unknown, never>);
      const base: Record<string, unknown> = { ...variables };
      const logEpoch = () => client.request(LogEpochDocument).then((data) => data.log.epoch);
      return iterate<ClientEvent>(transport, { ...document, variables: base }, signal, eventsResume({ document, base, epoch: variables?.epoch ?? null, logEpoch, attempts: retryAttempts }));
    },
    subscribe: <R, V extends Record<string, unknown>>(document: TypedDocumentNode<R, V>, variables?: V, signal?: AbortSignal) =>
      iterate<R>(transport, { ...documentOf(document as TypedDocumentNode<unknown, never>), ...(variables ? { variables } : {}) }, signal),
    request: async <R, V extends Record<string, unknown>>(document: TypedDocumentNode<R, V>, variables?: V) => {
      const payload = documentOf(document as TypedDocumentNode<unknown, never>);
      return new Promise<R>((resolve, reject) => {
        let result: ExecutionResult | null = null;
        transport.subscribe(
          { ...payload, ...(variables ? { variables } : {}) },
          {
            next: (value) => (result = value),
            error: (error) => reject(Array.isArray(error) ? new OperationError(error as { message: string }[]) : error),
            complete: () => {
              if (result === null) return reject(new Error('the server completed the operation without a result'));
              if (result.errors !== undefined && result.errors.length > 0) return reject(new OperationError(result.errors));
              resolve(result.data as R);
            },
          },
        );
      });
    },
    close: async () => {
      await transport.dispose();
    },
  };
  return client;
}
