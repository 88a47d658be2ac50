/**
 * The default and the bounds of every setting whose default a module falls back to, in
 * one place. The configuration (src/app/config.ts) validates and documents the settings
 * with these values; the modules that use them (the log, the engine's threads, the
 * GraphQL limits, the store, the socket workers) re-export them for their own callers.
 * Kept in a module that imports nothing, so that checking a configuration loads no
 * server code: a bad setting is refused before anything else is loaded or opened.
 */

/** The server's age bound of queued high-frequency events (MAX_EVENT_AGE_MS) unless configured. */
export const DEFAULT_MAX_EVENT_AGE_MS = 1000;

/** Largest age bound accepted (MAX_EVENT_AGE_MS), in ms: ten minutes. */
export const MAX_EVENT_AGE_LIMIT_MS = 600_000;

/** Most engine threads (ENGINE_THREADS): more than any machine this runs on has cores for. */
export const MAX_ENGINE_THREADS = 64;

/** Engine threads unless configured (ENGINE_THREADS): one, beside the thread that serves sockets. */
export const DEFAULT_ENGINE_THREADS = 1;

/** Most socket workers (WORKERS). */
export const MAX_WORKERS = 64;

/**
 * WORKERS_START_CONNECTIONS unless configured: the socket workers start once this many
 * graphql-ws connections are open on the server process at once. Workers pay only when
 * the sockets' work outgrows the server's core, and each costs about 85 MB from its
 * start: until then the server serves graphql-ws itself (about 17 KB a subscriber).
 */
export const DEFAULT_WORKERS_START_CONNECTIONS = 100;

/** Largest WORKERS_START_CONNECTIONS accepted. */
export const MAX_WORKERS_START_CONNECTIONS = 1_000_000;

/** STORE_QUERY_TIMEOUT_MS when it is not set: the longest a client's read of the store may take. */
export const DEFAULT_STORE_QUERY_TIMEOUT_MS = 5000;

/** What one client may ask of the server unless configured (MAX_DEPTH, MAX_ALIASES, …; see graphql/limits.ts). */
export const LIMIT_DEFAULTS = {
  maxDepth: 12,
  maxAliases: 15,
  maxTokens: 2000,
  maxCost: 100_000,
  maxSubscriptionsPerConnection: 100,
  maxSubscriptionsPerToken: 1000,
  wsMaxPayload: 64 * 1024,
  maxBodyBytes: 64 * 1024,
  connectionInitTimeoutMs: 3000,
  graphiql: true,
  graphiqlBurst: 10,
  graphiqlPerMinute: 30,
  introspection: true,
  sseReservationTimeoutMs: 5000,
  maxSseReservationsPerToken: 8,
} as const;

/**
 * TRUSTED_DOCUMENTS: `off` runs any document and knows no hash (a hash-only request is
 * answered PersistedQueryNotSupported, so clients send the text from then on); `allow`
 * also runs documents of the manifests by hash; `only` runs nothing else, except for
 * tokens marked `adHoc: true`.
 */
export const TRUSTED_DOCUMENTS_MODES = ['off', 'allow', 'only'] as const;

/** One of {@link TRUSTED_DOCUMENTS_MODES}. */
export type TrustedDocumentsMode = (typeof TRUSTED_DOCUMENTS_MODES)[number];

/** TRUSTED_DOCUMENTS unless configured: any document runs, as before trusted documents existed. */
export const DEFAULT_TRUSTED_DOCUMENTS: TrustedDocumentsMode = 'off';

/**
 * ENGINE_LEASE_MS unless configured: how long an engine's lease in Redis lasts without a
 * renewal. Its runners are reported stopped ("engine lost") within it plus a second, and
 * a standby takes over within it plus two.
 */
export const DEFAULT_ENGINE_LEASE_MS = 5000;

/** Shortest ENGINE_LEASE_MS: a renewal a third of it apart must still fit a busy machine's pauses. */
export const MIN_ENGINE_LEASE_MS = 1000;

/** Longest ENGINE_LEASE_MS: ten minutes. */
export const MAX_ENGINE_LEASE_MS = 600_000;
