/**
 * The catalogue of every error code a client can see (`extensions.code`), and of every
 * error class in `src`. The error table of docs/api.md is tested against it
 * (test/graphql/errors.test.ts), and so is the source: no other file of the GraphQL,
 * transport or app layers spells a code; they take it from {@link CODE}.
 *
 * Codes raised below this layer stay declared there, as typed unions beside their class
 * (`EngineErrorCode` with `EngineError`, `StoreErrorCode` with `StoreTimeoutError`): the
 * engine and the store import nothing of GraphQL. This catalogue lists them typed
 * against those unions, so a code added or removed there fails to compile here.
 */
import { GraphQLError } from 'graphql';
import { maskError as yogaMaskError } from 'graphql-yoga';
import { EngineError, type EngineErrorCode } from '../engine/config.js';
import { StoreTimeoutError, type StoreErrorCode } from '../store/timeout.js';

/** Codes the GraphQL layer raises itself (resolvers, admission, cost, operation checks). */
export type GraphqlErrorCode =
  | 'BAD_USER_INPUT'
  | 'BAD_REQUEST'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_AVAILABLE'
  | 'COST_LIMIT'
  | 'TOO_MANY_SUBSCRIPTIONS'
  | 'PERSISTED_DOCUMENT_REQUIRED'
  | 'PERSISTED_DOCUMENT_NOT_FOUND';

/** Codes of HTTP answers the transports give before any GraphQL runs. */
export type TransportErrorCode = 'TOO_MANY_RESERVATIONS' | 'NOT_FOUND' | 'CONFLICT' | 'PAYLOAD_TOO_LARGE' | 'LENGTH_REQUIRED' | 'NOT_ACCEPTABLE';

/** Codes graphql-yoga gives itself, which reach clients as they are. */
export type YogaErrorCode = 'GRAPHQL_PARSE_FAILED' | 'GRAPHQL_VALIDATION_FAILED' | 'OPERATION_RESOLUTION_FAILURE' | 'INTERNAL_SERVER_ERROR';

/** Every code a client may find in `extensions.code`. */
export type ErrorCode = EngineErrorCode | StoreErrorCode | GraphqlErrorCode | TransportErrorCode | YogaErrorCode;

/** The class whose instances carry a code (transport answers are GraphQL errors too, as JSON). */
type CodedClass = typeof EngineError | typeof StoreTimeoutError | typeof GraphQLError;

/** One code of the catalogue. */
export interface CodeEntry {
  /** One line for the error table of docs/api.md. */
  readonly meaning: string;
  /** The HTTP status of a request refused with it before execution, or null (an error in a 200 answer). */
  readonly status: number | null;
  /** The class that raises it. */
  readonly raisedBy: CodedClass;
}

const ENGINE_CODES = {
  INVALID_CONFIG: {
    meaning: 'a runner configuration was refused (the message names every bad key), also a start past MAX_RUNNERS or a REPLAY feed outside REPLAY_DIR',
    status: null,
    raisedBy: EngineError,
  },
  DUPLICATE_RUNNER: { meaning: 'a runner with that id is already running', status: null, raisedBy: EngineError },
  UNKNOWN_RUNNER: { meaning: 'no runner has that id', status: null, raisedBy: EngineError },
  ENGINE_UNAVAILABLE: {
    meaning: 'the engine did not answer: its thread or process is gone or shut down, or (over Redis) busy past its queue or deadline',
    status: null,
    raisedBy: EngineError,
  },
} as const satisfies Record<EngineErrorCode, CodeEntry>;

const STORE_CODES = {
  STORE_TIMEOUT: { meaning: 'a read of the event store took longer than STORE_QUERY_TIMEOUT_MS', status: null, raisedBy: StoreTimeoutError },
} as const satisfies Record<StoreErrorCode, CodeEntry>;

const GRAPHQL_CODES = {
  BAD_USER_INPUT: { meaning: 'an argument is malformed or out of range; the message names it and the limit', status: null, raisedBy: GraphQLError },
  BAD_REQUEST: {
    meaning: 'a malformed request: no query, bad parameters, a mutation over GET (405), a missing, repeated (409) or over-long operation id',
    status: 400,
    raisedBy: GraphQLError,
  },
  UNAUTHENTICATED: { meaning: 'a missing or invalid API token', status: 401, raisedBy: GraphQLError },
  FORBIDDEN: {
    meaning: "the token may not do this (a viewer's mutation, a runner outside its patterns), or a Host or Origin the server does not answer to",
    status: 403,
    raisedBy: GraphQLError,
  },
  NOT_AVAILABLE: { meaning: 'this server reads no event store (an API instance without DATABASE_URL)', status: null, raisedBy: GraphQLError },
  COST_LIMIT: { meaning: 'the operation costs more than MAX_COST', status: null, raisedBy: GraphQLError },
  TOO_MANY_SUBSCRIPTIONS: {
    meaning: 'a subscription quota is full (MAX_SUBSCRIPTIONS_PER_TOKEN, MAX_SUBSCRIPTIONS_PER_CONNECTION)',
    status: 429,
    raisedBy: GraphQLError,
  },
  PERSISTED_DOCUMENT_REQUIRED: {
    meaning: "TRUSTED_DOCUMENTS=only: the request sent a document's text, not the hash of a trusted document, and its token is not adHoc",
    status: null,
    raisedBy: GraphQLError,
  },
  PERSISTED_DOCUMENT_NOT_FOUND: {
    meaning: 'no trusted document has that hash (message PersistedQueryNotFound), or TRUSTED_DOCUMENTS=off (PersistedQueryNotSupported): send the text',
    status: null,
    raisedBy: GraphQLError,
  },
} as const satisfies Record<GraphqlErrorCode, CodeEntry>;

const TRANSPORT_CODES = {
  TOO_MANY_RESERVATIONS: { meaning: 'the token holds MAX_SSE_RESERVATIONS_PER_TOKEN graphql-sse reservations already', status: 429, raisedBy: GraphQLError },
  NOT_FOUND: { meaning: 'no such graphql-sse reservation (it may have expired), or no stream token', status: 404, raisedBy: GraphQLError },
  CONFLICT: { meaning: "the graphql-sse reservation's stream is already open", status: 409, raisedBy: GraphQLError },
  PAYLOAD_TOO_LARGE: { meaning: 'the request body is over MAX_BODY_BYTES', status: 413, raisedBy: GraphQLError },
  LENGTH_REQUIRED: { meaning: 'the request body does not say its length (chunked)', status: 411, raisedBy: GraphQLError },
  NOT_ACCEPTABLE: { meaning: 'Accept refuses every media type served here', status: 406, raisedBy: GraphQLError },
} as const satisfies Record<TransportErrorCode, CodeEntry>;

const YOGA_CODES = {
  GRAPHQL_PARSE_FAILED: { meaning: 'the document is not valid GraphQL syntax', status: 400, raisedBy: GraphQLError },
  GRAPHQL_VALIDATION_FAILED: {
    meaning: "the document does not validate against the schema, or exceeds GraphQL Armor's depth, alias or token limits, or asks for introspection where it is off",
    status: 400,
    raisedBy: GraphQLError,
  },
  INTERNAL_SERVER_ERROR: { meaning: "an unexpected error, masked as `Unexpected error.` (the server's log has it)", status: null, raisedBy: GraphQLError },
  OPERATION_RESOLUTION_FAILURE: { meaning: 'the document has no operation of that name (Yoga, at /graphql)', status: 400, raisedBy: GraphQLError },
} as const satisfies Record<YogaErrorCode, CodeEntry>;

/** Every client-visible code, with its meaning, HTTP status and raising class. */
export const ERROR_CODES: Readonly<Record<ErrorCode, CodeEntry>> = { ...ENGINE_CODES, ...STORE_CODES, ...GRAPHQL_CODES, ...TRANSPORT_CODES, ...YOGA_CODES };

/** Each code by name, for the layers that may not spell one: `CODE.BAD_USER_INPUT`. */
export const CODE = Object.freeze(Object.fromEntries(Object.keys(ERROR_CODES).map((code) => [code, code]))) as { readonly [C in ErrorCode]: C };

/** What becomes of an error class: the code it carries to clients, or where it ends. */
export interface ClassEntry {
  /** Its module, from `src/`. */
  readonly module: string;
  /** Codes its instances carry to clients; empty when none reaches a client as a code. */
  readonly codes: readonly ErrorCode[];
  /** What happens to it, one line. */
  readonly fate: string;
}

/** Every `Error` subclass in `src` (a test finds each `class … extends Error` here). */
export const ERROR_CLASSES: Readonly<Record<string, ClassEntry>> = {
  EngineError: { module: 'engine/config.ts', codes: Object.keys(ENGINE_CODES) as EngineErrorCode[], fate: 'an engine refusal; a GraphQL error with its code' },
  StoreTimeoutError: { module: 'store/timeout.ts', codes: ['STORE_TIMEOUT'], fate: 'a slow read of the store; a GraphQL error, or a StreamGap in a backfill' },
  Refusal: {
    module: 'transport/graphql-sse.ts',
    codes: ['BAD_REQUEST', 'NOT_FOUND', 'CONFLICT', 'TOO_MANY_RESERVATIONS', 'TOO_MANY_SUBSCRIPTIONS', 'PAYLOAD_TOO_LARGE'],
    fate: 'a graphql-sse request refused with an HTTP status and GraphQL errors as JSON',
  },
  SubscriberOverflowError: { module: 'log/queue.ts', codes: [], fate: 'a subscriber too far behind even for critical events: its stream ends with this error' },
  PgliteThreadError: { module: 'store/pglite-thread.ts', codes: [], fate: "the PGlite thread stopped: the store's calls fail and the store reports itself down" },
  StoreDamagedError: { module: 'store/db.ts', codes: [], fate: 'a damaged PGlite directory: stops the process at start-up' },
  StoreLockedError: { module: 'store/lock.ts', codes: [], fate: 'another process holds DATA_DIR: stops the process at start-up' },
  ConfigError: { module: 'runtime/config-error.ts', codes: [], fate: 'a bad setting: stops the process at start-up' },
  ChannelDeadlineError: { module: 'runtime/channel.ts', codes: [], fate: "a thread's or process's call past its deadline, when its boundary builds no error of its own" },
  ChannelClosedError: { module: 'runtime/channel.ts', codes: [], fate: 'a call on a closed channel, when its boundary says no better why' },
  EventDecodeError: { module: 'events/codec.ts', codes: [], fate: 'an invalid wire event (Redis, a recording): the entry is skipped or the read refused' },
  NotARegularFile: { module: 'engine/feeds/replay.ts', codes: [], fate: 'a replay path that is not a file: the runner stops with a RunnerError' },
  NonFiniteValue: { module: 'engine/runner.ts', codes: [], fate: 'a NaN or infinite number in a runner: the runner stops with a RunnerError' },
  IllegalTransitionError: { module: 'domain/state.ts', codes: [], fate: 'a move the state machine forbids: a bug, never silent' },
  StrategyConfigError: { module: 'domain/strategy.ts', codes: [], fate: 'an unknown strategy or bad parameter: checked by the engine as INVALID_CONFIG' },
  UsageError: { module: 'cli/args.ts', codes: [], fate: 'a bad command line: a message and exit code 2' },
  RecordingError: { module: 'cli/replay.ts', codes: [], fate: 'a recording line with an impossible id: the replay command fails' },
  OperationError: { module: 'client/client.ts', codes: [], fate: "the typed client's view of an answer with errors (their codes in extensions)" },
};

/** True when `code` is one of the catalogue's. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/** True when `code` is one of `codes`' keys (a layer's part of the catalogue). */
function isOwnCode<C extends string>(codes: Readonly<Record<C, CodeEntry>>, code: string): code is C {
  return Object.hasOwn(codes, code);
}

/** Options of {@link graphqlError}. */
export interface GraphqlErrorOptions {
  /** Adds `extensions.http.status` (the catalogue's status): Yoga and graphql-sse answer with it. */
  readonly httpStatus?: boolean;
}

/** A GraphQL error with `extensions.code` (and, if asked, its HTTP status). */
export function graphqlError(code: ErrorCode, message: string, options: GraphqlErrorOptions = {}): GraphQLError {
  const status = ERROR_CODES[code].status;
  const extensions = options.httpStatus === true && status !== null ? { code, http: { status } } : { code };
  return new GraphQLError(message, { extensions });
}

/** The JSON body of an HTTP refusal the transports answer before GraphQL runs. */
export function errorBody(code: ErrorCode, message: string): string {
  return JSON.stringify({ errors: [{ message, extensions: { code } }] });
}

/** The code an error carries to clients, or null (any other error: a bug, masked). */
export function errorCodeOf(err: unknown): ErrorCode | null {
  if (err instanceof EngineError || err instanceof StoreTimeoutError) return err.code;
  if (err instanceof GraphQLError) {
    const code = err.extensions['code'];
    return isErrorCode(code) ? code : null;
  }
  return null;
}

/**
 * Any thrown error as the GraphQL error a client sees: a catalogued class with its code,
 * a GraphQL error as it is, anything else with its message and no code.
 */
export function toGraphQLError(err: unknown): GraphQLError {
  if (err instanceof GraphQLError) return err;
  const code = errorCodeOf(err);
  if (code !== null) return graphqlError(code, (err as Error).message);
  return new GraphQLError(err instanceof Error ? err.message : String(err));
}

/**
 * Yoga's masking (`maskedErrors.maskError`, and shared execution's): an error raised by
 * a catalogued class keeps its message and code; any other is masked as Yoga masks it.
 */
export function maskError(error: unknown, message: string, isDev?: boolean): Error {
  // graphql-js wraps what a resolver threw: the original says whether it has a code.
  const original = error instanceof GraphQLError ? error.originalError : undefined;
  if (error instanceof GraphQLError && !(original instanceof GraphQLError) && errorCodeOf(original) !== null) {
    const coded = toGraphQLError(original);
    return new GraphQLError(coded.message, { nodes: error.nodes, path: error.path, extensions: coded.extensions });
  }
  return yogaMaskError(error, message, isDev);
}

/** An error as it crosses a process boundary (socket worker ↔ server process). */
export interface ErrorWire {
  /** A catalogue code, or null for an error without one. */
  readonly code: ErrorCode | null;
  /** The message for the client, as it was raised. */
  readonly message: string;
  /** With STORE_TIMEOUT: the store's query timeout, in ms (the message is rebuilt from it). */
  readonly timeoutMs?: number;
  /** A GraphQL error's `extensions.http.status`, when it had one. */
  readonly status?: number;
}

/** An error in its wire form, for {@link errorFromWire} on the other side. */
export function errorToWire(err: unknown): ErrorWire {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof StoreTimeoutError) return { code: err.code, message, timeoutMs: err.timeoutMs };
  const code = errorCodeOf(err);
  const status = err instanceof GraphQLError ? (err.extensions['http'] as { status?: unknown } | undefined)?.status : undefined;
  return typeof status === 'number' ? { code, message, status } : { code, message };
}

/** The error of a wire form, of the class that raised it (an `Error` when it had no code). */
export function errorFromWire(wire: ErrorWire): Error {
  const { code, message } = wire;
  if (code === null) return new Error(message);
  if (isOwnCode(STORE_CODES, code)) return new StoreTimeoutError(wire.timeoutMs ?? 0);
  if (isOwnCode(ENGINE_CODES, code)) return new EngineError(code, message);
  const extensions = wire.status === undefined ? { code } : { code, http: { status: wire.status } };
  return new GraphQLError(message, { extensions });
}
