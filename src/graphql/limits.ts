import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { NoSchemaIntrospectionCustomRule, type GraphQLError, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { historyCostPlugin } from './cost.js';
import { LIMIT_DEFAULTS } from '../runtime/settings.js';

/** What one client may ask of the server. Every value is configurable (docs/operations.md). */
export interface Limits {
  /** Deepest selection (default 12). */
  readonly maxDepth: number;
  /** Aliases per operation (default 15). */
  readonly maxAliases: number;
  /** Tokens in a document (default 2000). */
  readonly maxTokens: number;
  /**
   * Cost of an operation (default 100,000), by graphql-armor's measure, where list
   * arguments such as `first` multiply (a full page of eventHistory costs about 64,000),
   * and separately by what it may read (`historyCost`: recentEvents' `last`, 10,000 for
   * each eventHistory with where or minSeverity).
   */
  readonly maxCost: number;
  /** Subscriptions open at once on one graphql-ws connection (default 100). */
  readonly maxSubscriptionsPerConnection: number;
  /** Subscriptions open at once over graphql-ws for one token, across connections (default 1000). */
  readonly maxSubscriptionsPerToken: number;
  /** Largest WebSocket message accepted, in bytes (default 64 KiB). */
  readonly wsMaxPayload: number;
  /** Largest HTTP request body accepted, in bytes (default 64 KiB). */
  readonly maxBodyBytes: number;
  /** Time a graphql-ws client has to send connection_init, in ms (default 3000). */
  readonly connectionInitTimeoutMs: number;
  /** GraphiQL at /graphql in a browser (default on). */
  readonly graphiql: boolean;
  /**
   * GraphiQL page requests without a token that one client address (IPv6: one /64) may
   * make at once, after a quiet spell (default 10); beyond, 429 with Retry-After.
   */
  readonly graphiqlBurst: number;
  /** Such requests per minute and address once the burst is spent (default 30). */
  readonly graphiqlPerMinute: number;
  /** Introspection queries (default on). */
  readonly introspection: boolean;
  /**
   * Browser origins allowed besides the server's own (default none). A request with an
   * Origin header from elsewhere is refused: no cross-site WebSocket hijacking.
   */
  readonly allowedOrigins: readonly string[];
  /** A graphql-sse reservation whose stream is not opened within this many ms ends (default 5000). */
  readonly sseReservationTimeoutMs: number;
  /** graphql-sse reservations one token may hold at once (default 8). */
  readonly maxSseReservationsPerToken: number;
  /**
   * Host names (any port) a server without tokens answers to (default
   * {@link LOOPBACK_HOSTS}); ignored with tokens. A page that rebinds its own name to
   * 127.0.0.1 sends its own name as Host, so it is refused: no DNS rebinding.
   */
  readonly allowedHosts?: readonly string[];
}

/**
 * Longest operation id accepted, in UTF-8 bytes: graphql-ws's `subscribe` id and
 * graphql-sse's `extensions.operationId`, which every message of the operation repeats.
 * A longer one is an error of that operation (ids are usually a UUID, 36 bytes).
 */
export const MAX_OPERATION_ID_BYTES = 128;

/** Why an operation id is refused, or null when it is within {@link MAX_OPERATION_ID_BYTES}. */
export function operationIdRefusal(id: string, what: string): string | null {
  const bytes = Buffer.byteLength(id, 'utf8');
  return bytes <= MAX_OPERATION_ID_BYTES ? null : `${what} is ${bytes} bytes long, over the limit of ${MAX_OPERATION_ID_BYTES}`;
}

/** True when a browser's Origin may talk to this server: its own host, or an allowed origin. */
export function originAllowed(origin: string | undefined, host: string | undefined, limits: Limits): boolean {
  if (origin === undefined || origin === '') return true; // not a browser
  if (limits.allowedOrigins.includes(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** The names of the loopback interface: whom an open server answers by default. */
export const LOOPBACK_HOSTS: readonly string[] = ['127.0.0.1', 'localhost', '[::1]'];

/** The name of a Host header without its port, lower-case (`[::1]` keeps its brackets). */
export function hostName(host: string): string {
  const lower = host.trim().toLowerCase();
  if (lower.startsWith('[')) return lower.slice(0, lower.indexOf(']') + 1);
  const colon = lower.indexOf(':');
  return colon < 0 ? lower : lower.slice(0, colon);
}

/**
 * True when an open server (no tokens) may answer a request with this Host: its name is
 * one of `allowedHosts` (loopback by default). With tokens every request proves itself,
 * so any Host is fine. A request without Host is refused: every browser sends one.
 */
export function hostAllowed(host: string | undefined, open: boolean, limits: Limits): boolean {
  if (!open) return true;
  if (host === undefined || host === '') return false;
  return (limits.allowedHosts ?? LOOPBACK_HOSTS).includes(hostName(host));
}

/**
 * Why a request's body is refused before anything reads it, or null when it may be read:
 * over the limit by its Content-Length (413), or a body without one (411), whose size
 * nothing would know until it had been read.
 */
export function bodyRefusal(method: string | undefined, headers: { readonly 'content-length'?: string | undefined; readonly 'transfer-encoding'?: string | undefined }, maxBytes: number): { status: 411 | 413; message: string } | null {
  const length = headers['content-length'];
  if (length !== undefined) {
    const bytes = Number(length);
    return bytes > maxBytes ? { status: 413, message: `request body of ${bytes} bytes is over the limit of ${maxBytes} (MAX_BODY_BYTES)` } : null;
  }
  if (headers['transfer-encoding'] !== undefined && method !== 'GET' && method !== 'HEAD') {
    return { status: 411, message: 'a request body needs a Content-Length header (chunked bodies are not accepted)' };
  }
  return null;
}

/** The defaults: generous for the dashboards and clients we know, tight for abuse. */
export const DEFAULT_LIMITS: Limits = { ...LIMIT_DEFAULTS, allowedOrigins: [] };

/** The envelop plugins that enforce the operation limits (GraphQL Armor). */
export function limitPlugins(limits: Limits): Plugin[] {
  // Armor's rules throw by default, which no transport but Yoga's HTTP expects of
  // validation (graphql-ws closed the whole connection with 4500): report instead, so a
  // refusal is a validation error of that one operation on every transport.
  const report = { propagateOnRejection: false, onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)] };
  const plugins: Plugin[] = [
    maxTokensPlugin({ n: limits.maxTokens }),
    maxDepthPlugin({ n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true, ...report }),
    maxAliasesPlugin({ n: limits.maxAliases, ...report }),
    costLimitPlugin({ maxCost: limits.maxCost, ignoreIntrospection: true, ...report }),
    historyCostPlugin(limits.maxCost),
  ] as Plugin[];
  if (!limits.introspection) plugins.push(disableIntrospection(), blockFieldSuggestionsPlugin({ mask: '' }) as Plugin);
  return plugins;
}

/**
 * Refuses introspection in validation, so it holds on every transport: Yoga's own plugin
 * decides per HTTP request and never sees graphql-ws or graphql-sse operations.
 */
function disableIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}
