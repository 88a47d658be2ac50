import type { GraphQLError } from 'graphql';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { conflationKeyOf, dropReason, EventSubscription, retentionOf, type EventBus } from '../log/bus.js';
import { isBatch, retentionOfBatch, type EventBatch } from '../delivery/batch.js';
import { isGap, type StreamGap, type StreamItem } from '../log/types.js';
import type { EngineControl } from '../engine/engine.js';
import type { EventStore } from '../store/store.js';
import { schema, type SchemaContext } from './schema/index.js';
import { principalKey } from './schema/principal.js';
import { CODE, graphqlError, maskError } from './errors.js';
import { OPEN_PRINCIPAL, principalOf, type TokenStore } from './auth.js';
import { DEFAULT_LIMITS, limitPlugins, type Limits } from './limits.js';
import { log } from '../runtime/log.js';
import { Admission, useStreamAdmission } from './admission.js';
import { useSharedExecution, type SharedExecutionPlugin } from './shared-execution.js';
import type { DirectSource } from '../delivery/member.js';
import type { Principal } from './schema/principal.js';
import { NO_TRUSTED_DOCUMENTS, useTrustedDocuments, type DocumentRequest, type TrustedDocuments } from './trusted-documents.js';

const yogaLog = log.child({ component: 'yoga' });

/** The GraphQL endpoint of every transport but graphql-sse. */
export const GRAPHQL_PATH = '/graphql';

/** The Yoga instance and the plugins tests and metrics look into. */
export interface TickwireYoga {
  readonly yoga: YogaServerInstance<Record<string, unknown>, SchemaContext>;
  readonly sharedExecution: SharedExecutionPlugin;
  /** Open streams per principal and transport, against the subscription quota. */
  readonly admission: Admission;
  /** TRUSTED_DOCUMENTS and the manifests: the rule every transport applies. */
  readonly trusted: TrustedDocuments;
  /**
   * What graphql-ws and graphql-sse run for a request (`initial`: what the transport knows
   * of it, as for the context): the request with its document's text, or the refusal.
   * Yoga's own endpoint applies the same rule in its plugin.
   */
  resolveDocument<P extends DocumentRequest>(params: P, initial: Record<string, unknown>, transport: string): (P & { readonly query: string }) | GraphQLError;
}

/** What {@link createTickwireYoga} composes the pipeline from. */
export interface TickwireYogaOptions {
  readonly engine: EngineControl;
  readonly bus: EventBus;
  /** The event store behind history queries; null or absent: none. */
  readonly store?: EventStore | null;
  /** What one client may ask (default {@link DEFAULT_LIMITS}). */
  readonly limits?: Limits;
  /** API tokens; null or absent: the server is open. */
  readonly tokens?: TokenStore | null;
  /** REPLAY_DIR: where startRunner's replay paths point into; null or absent: replay feeds are refused. */
  readonly replayDir?: string | null;
  /** The subscription quota's ledger (default: a new one at `limits.maxSubscriptionsPerToken`). */
  readonly admission?: Admission;
  /** MAX_EVENT_AGE_MS for the shared-execution member queues (0 or absent: none). */
  readonly maxEventAgeMs?: number;
  /** TRUSTED_DOCUMENTS and its manifests (default: off, none). */
  readonly trusted?: TrustedDocuments;
}

/** Yoga's own messages go to the same JSON log. */
const yogaLogging = {
  debug: (...args: unknown[]) => yogaLog.debug(args.map(String).join(' ')),
  info: (...args: unknown[]) => yogaLog.info(args.map(String).join(' ')),
  warn: (...args: unknown[]) => yogaLog.warn(args.map(String).join(' ')),
  error: (...args: unknown[]) => yogaLog.error({ err: args.find((a) => a instanceof Error) }, args.filter((a) => !(a instanceof Error)).map(String).join(' ')),
};

/** Shared execution over the log's items: what it may share, and how it conflates and reports drops. */
function sharedExecutionOver(bus: EventBus, maxEventAgeMs: number): SharedExecutionPlugin {
  return useSharedExecution<StreamItem | EventBatch>({
    retentionOf: (source) => (isBatch(source) ? retentionOfBatch(source) : retentionOf(source)),
    // A stream that starts with its own history (replay, after) serves only its subscriber.
    dropNotice: (missed, cause): StreamGap => ({
      kind: 'gap',
      missed,
      fromId: null,
      toId: null,
      reason: dropReason(missed, cause),
      timestamp: Date.now(),
      // A cohort serves one principal: what its member lost were results of its own stream.
      counts: 'subscriber',
    }),
    // Tokens with different scopes see different streams: never one cohort.
    contextKey: (context) => principalKey((context as SchemaContext).principal),
    isShareable: (source) => !('replays' in source && source.replays === true),
    positionOf: (source) => (isBatch(source) || isGap(source) ? null : source.id),
    position: () => bus.lastId,
    maxEventAgeMs,
    // Only high-frequency sources are asked, and those are log entries (batches and gaps never are).
    conflationKeyOf: (source) => ({ key: isBatch(source) ? '' : conflationKeyOf(source), type: isBatch(source) || isGap(source) ? 'unknown' : source.event.type }),
    // Their arguments are consumed by the bus and the stream stages (filter, replay/after,
    // throttle, batching) before execution; their resolvers only pass the item on.
    sourceArgumentFields: ['events', 'eventBatches'],
    // A plain log subscription (no throttle, batches or store backfill) goes through the
    // delivery core when its transport writes frames itself.
    // (It only ever carries stream items, never batches: the wider type is the plugin's.)
    directSource: (stream) => (stream instanceof EventSubscription ? (stream as unknown as DirectSource<StreamItem | EventBatch>) : null),
    sharedSource: (source) => !isBatch(source) && !isGap(source),
  });
}

/**
 * The one place the GraphQL pipeline is composed. Every transport (Yoga's HTTP and SSE,
 * graphql-ws, graphql-sse) runs operations through this instance's envelop, so plugins
 * apply to all of them alike.
 */
export function createTickwireYoga(options: TickwireYogaOptions): TickwireYoga {
  const { engine, bus } = options;
  const store = options.store ?? null;
  const limits = options.limits ?? DEFAULT_LIMITS;
  const tokens = options.tokens ?? null;
  const replayDir = options.replayDir ?? null;
  const admission = options.admission ?? new Admission(limits.maxSubscriptionsPerToken);
  const sharedExecution = sharedExecutionOver(bus, options.maxEventAgeMs ?? 0);
  const trusted = options.trusted ?? NO_TRUSTED_DOCUMENTS;
  // Whose request it is, before any context: trusted documents are decided before parsing.
  const principalFor = (initial: Record<string, unknown>): Principal | null => (tokens === null ? OPEN_PRINCIPAL : principalOf(tokens, initial));
  const yoga = createYoga<Record<string, unknown>, SchemaContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    // Transports authenticate before anything runs (401 / close 4403); here the token
    // is only mapped to its principal. A missing one at this point is a bug, not a user.
    context: (initial): SchemaContext => {
      if (tokens === null) return { engine, bus, store, principal: OPEN_PRINCIPAL, replayDir };
      const principal = principalOf(tokens, initial);
      if (principal === null) throw graphqlError(CODE.UNAUTHENTICATED, 'missing or invalid API token');
      return { engine, bus, store, principal, replayDir };
    },
    // The HTTP router serves GraphiQL's page itself, built once (graphiql-page.ts), by
    // Yoga's own test for a page request: none reaches Yoga, which would encode it anew each time.
    graphiql: false,
    landingPage: false,
    // A catalogued error that escaped its resolver unconverted keeps its code; others are masked.
    maskedErrors: { maskError },
    logging: yogaLogging,
    // Trusted documents first: a refused document is never parsed. Admission before shared
    // execution: a refused stream never opens a bus subscription.
    plugins: [useTrustedDocuments(trusted, (request) => principalFor({ request })), ...limitPlugins(limits), useStreamAdmission(admission), sharedExecution],
  });
  return {
    yoga,
    sharedExecution,
    admission,
    trusted,
    resolveDocument: (params, initial, transport) => trusted.resolve(params, principalFor(initial), transport),
  };
}
