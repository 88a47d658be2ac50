import { readFileSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import {
  DEFAULT_MAX_RUNNERS,
  DEFAULT_MAX_TOTAL_TICKS_PER_SECOND,
  EngineError,
  formatIssues,
  MAX_TICKS_PER_SECOND,
  runnerConfigSchema,
  type RunnerConfigInput,
} from '../engine/config.js';
import { loadTokensFile, type TokenStore } from '../graphql/auth.js';
import { ConfigError } from '../runtime/config-error.js';
import { DEFAULT_RUNNERS } from '../engine/defaults.js';
import { vetRunner, type EngineLimits, type KnownRunner } from '../engine/engine.js';
import { availableParallelism } from 'node:os';
import { EVENT_VARIANTS, type EventVariant } from '../events/types.js';
import type { Limits } from '../graphql/limits.js';
import {
  DEFAULT_ENGINE_THREADS,
  DEFAULT_MAX_EVENT_AGE_MS,
  DEFAULT_STORE_QUERY_TIMEOUT_MS,
  LIMIT_DEFAULTS as DEFAULT_LIMITS,
  MAX_ENGINE_THREADS,
  MAX_EVENT_AGE_LIMIT_MS,
  MAX_WORKERS,
  DEFAULT_WORKERS_START_CONNECTIONS,
  MAX_WORKERS_START_CONNECTIONS,
  DEFAULT_ENGINE_LEASE_MS,
  MIN_ENGINE_LEASE_MS,
  MAX_ENGINE_LEASE_MS,
} from '../runtime/settings.js';
import { LOG_FORMATS, LOG_LEVELS } from '../runtime/log.js';
import { DEFAULT_TRUSTED_DOCUMENTS, TRUSTED_DOCUMENTS_MODES, type TrustedDocumentsMode } from '../runtime/settings.js';
import { documentsOf, type Manifest } from '../graphql/manifest.js';
// The documents of the project's own clients (dashboard, CLI, typed client): `npm run codegen`.
import builtInDocuments from '../client/generated/persisted-documents.json' with { type: 'json' };

/** Largest STORE_QUERY_TIMEOUT_MS: ten minutes. */
export const MAX_STORE_QUERY_TIMEOUT_MS = 600_000;

const STORE_QUERY_TIMEOUT_RANGE = `must be a whole number of milliseconds from 0 (no limit) to ${MAX_STORE_QUERY_TIMEOUT_MS}`;

/** Where `npm run build` (run by `npm start`) writes the dashboard. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../dist/dashboard', import.meta.url));

/** Start-up settings of the server. */
export interface ServerConfig {
  readonly port: number;
  readonly host: string;
  /** Runners to start with: from RUNNERS_FILE, or the three defaults. */
  readonly runners: readonly RunnerConfigInput[];
  /** Where the runners came from, for the start-up banner. */
  readonly runnersSource: string;
  /** True when RUNNERS_FILE named the runners (not the defaults). */
  readonly runnersFromFile: boolean;
  /** What one client may ask of the server. */
  readonly limits: Limits;
  /** The API tokens (TOKENS_FILE), or null: then the server is open, on loopback only. */
  readonly tokens: TokenStore | null;
  /** The shared log in Redis (REDIS_URL), or null to keep everything in this process. */
  readonly redis: { readonly url: string; readonly stream: string; readonly maxLen: number } | null;
  /** The event store: PostgreSQL at DATABASE_URL, else PGlite in DATA_DIR. */
  readonly store: {
    readonly databaseUrl: string | undefined;
    readonly dataDir: string;
    /** Event types written; empty: nothing is written (history queries still work). */
    readonly types: readonly EventVariant[];
    /** Events buffered for the store while the database is slow or away. */
    readonly buffer: number;
    /**
     * PGlite in a worker thread of its own (STORE_THREAD, default true); false runs it on
     * the server's thread, where its inserts take the event loop. Ignored for PostgreSQL.
     */
    readonly thread?: boolean;
    /**
     * STORE_QUERY_TIMEOUT_MS: the longest a client's read of the store (eventHistory, a
     * stream's backfill) may take before it ends with STORE_TIMEOUT; 0: no limit.
     */
    readonly queryTimeoutMs?: number;
  };
  /** The built dashboard served at / (DASHBOARD_DIR), or null with DASHBOARD=false. */
  readonly dashboardDir: string | null;
  /** REPLAY_DIR, absolute: where startRunner's replay paths point into; null: the API refuses replay feeds. */
  readonly replayDir: string | null;
  /** The engine's caps: MAX_RUNNERS and MAX_TOTAL_TICKS_PER_SECOND. */
  readonly engine: { readonly maxRunners: number; readonly maxTotalTicksPerSecond: number };
  /**
   * MAX_EVENT_AGE_MS: oldest a queued high-frequency event may be when handed to a
   * subscriber before it is conflated (latest per runner and type, after a StreamGap); 0: off.
   */
  readonly maxEventAgeMs: number;
  /**
   * ENGINE_THREADS: worker threads the runners are spread over, so that the thread that
   * serves sockets does no strategy work; 0 runs them on the main thread.
   */
  readonly engineThreads: number;
  /**
   * ENGINE_LEASE_MS: how long an engine's lease in Redis lasts without a renewal (renewed
   * every third of it). When it lapses the engine's runners are reported stopped ("engine
   * lost") and a standby engine takes over. Unused without REDIS_URL.
   */
  readonly engineLeaseMs: number;
  /**
   * WORKERS: processes that serve the graphql-ws connections, each mirroring the log, so
   * that fan-out uses more cores; 0 serves them in the server process. `auto`:
   * {@link autoWorkers} of the machine's cores (0 on two cores).
   */
  readonly workers: number;
  /**
   * WORKERS_START_CONNECTIONS: the socket workers start only once this many graphql-ws
   * connections are open on the server process at once (default
   * {@link DEFAULT_WORKERS_START_CONNECTIONS}); 0 starts them as soon as the server
   * listens. Until then the server serves graphql-ws itself; once started they stay.
   */
  readonly workersStartConnections: number;
  /**
   * TRUSTED_DOCUMENTS and the manifests it reads: the built-in one of the project's own
   * clients, then each of TRUSTED_DOCUMENTS_FILES (a team's app), every entry checked.
   */
  readonly trustedDocuments: { readonly mode: TrustedDocumentsMode; readonly manifests: readonly Manifest[] };
}

/** Where the manifest of the project's own clients comes from, in messages. */
export const BUILT_IN_MANIFEST = 'the built-in manifest (src/client/generated/persisted-documents.json)';

/**
 * The manifests of TRUSTED_DOCUMENTS_FILES (comma-separated paths of JSON files, hash →
 * document text, as codegen's client-preset writes them) after the built-in one, each
 * entry checked against its text: a mismatch stops the server with the entry's name.
 */
export function loadManifests(files: string | undefined): Manifest[] {
  const manifests: Manifest[] = [{ source: BUILT_IN_MANIFEST, documents: builtInDocuments as Record<string, string> }];
  for (const path of (files ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    let documents: unknown;
    try {
      documents = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new ConfigError(`invalid environment: TRUSTED_DOCUMENTS_FILES: cannot read ${path}: ${(err as Error).message}`);
    }
    manifests.push({ source: path, documents: documents as Record<string, string> });
  }
  try {
    documentsOf(manifests);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`invalid environment: TRUSTED_DOCUMENTS_FILES: ${err.message}`);
    throw err;
  }
  return manifests;
}

/** WORKERS when unset (see {@link ServerConfig.workers}). */
export const DEFAULT_WORKERS = 'auto';

/**
 * How many socket workers `WORKERS=auto` starts on a machine with `cores` processors:
 * two fewer than the cores, and none on one or two.
 *
 * Chosen by measurement, not by the core count alone: the server process keeps the
 * engine, the log and HTTP busy on one core, every worker adds a mirror of the log and a
 * second execution of each event, and the hand-off costs a serialization per batch. On a
 * 2-core machine, 1,000 distinct subscribers of one runner at 1,000 ticks/s were served
 * 53,122 deliveries/s with no worker, 19,690/s with one and 35,787/s with two: a worker
 * only pays once it has a core of its own beside the server process and the engine's thread.
 *
 * @param cores processors available (`os.availableParallelism()`)
 * @returns a whole number from 0 to {@link MAX_WORKERS}
 */
export function autoWorkers(cores: number): number {
  if (!Number.isFinite(cores)) return 0;
  return Math.min(MAX_WORKERS, Math.max(0, Math.floor(cores) - 2));
}

const ENGINE_LEASE_RANGE = `must be a whole number of milliseconds from ${MIN_ENGINE_LEASE_MS} to ${MAX_ENGINE_LEASE_MS}`;

const WORKERS_START_RANGE = `must be a whole number of open graphql-ws connections from 0 (start the workers with the server) to ${MAX_WORKERS_START_CONNECTIONS}`;

const WORKERS_RANGE = `must be auto (two fewer than the cores, 0 on two cores) or a whole number from 0 (graphql-ws served by the server process) to ${MAX_WORKERS}`;

/** Stored unless STORE_TYPES says otherwise: all but the two high-frequency types. */
export const DEFAULT_STORE_TYPES: readonly EventVariant[] = EVENT_VARIANTS.filter(
  (v) => v !== 'TickReceived' && v !== 'PositionUpdated',
);

function parseOrigins(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value.split(',').map((origin) => {
    const trimmed = origin.trim();
    let url: URL;
    try {
      url = new URL(trimmed);
    } catch {
      throw new ConfigError(`invalid environment: ALLOWED_ORIGINS: "${trimmed}" is not an origin like https://dash.example.com`);
    }
    if (url.origin !== trimmed) throw new ConfigError(`invalid environment: ALLOWED_ORIGINS: "${trimmed}" is not an origin (scheme://host[:port], nothing after)`);
    return trimmed;
  });
}

/** ALLOWED_HOSTS: host names without a port; a bare IPv6 address gets its brackets. */
function parseHosts(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value.split(',').map((entry) => {
    const name = entry.trim().toLowerCase();
    const bracketed = name.includes(':') && !name.startsWith('[') ? `[${name}]` : name;
    if (!/^([a-z0-9_-]+(\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\])$/.test(bracketed)) {
      throw new ConfigError(`invalid environment: ALLOWED_HOSTS: "${entry.trim()}" is not a host name like tickwire.internal or 10.0.0.5 (no scheme, no port)`);
    }
    return bracketed;
  });
}

function parseStoreTypes(value: string | undefined): readonly EventVariant[] {
  const text = (value ?? 'default').trim();
  if (text === 'default' || text === '') return DEFAULT_STORE_TYPES;
  if (text === 'all') return EVENT_VARIANTS;
  if (text === 'none') return [];
  const types = text.split(',').map((t) => t.trim());
  for (const type of types) {
    if (!(EVENT_VARIANTS as readonly string[]).includes(type)) {
      throw new ConfigError(
        `invalid environment: STORE_TYPES: unknown event type "${type}" (use default, all, none or a comma list of ${EVENT_VARIANTS.join(', ')})`,
      );
    }
  }
  return types as EventVariant[];
}

export { ConfigError } from '../runtime/config-error.js';

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  RUNNERS_FILE: z.string().min(1).optional(),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  STORE_BUFFER: z.coerce.number().int().min(1000).max(10_000_000).default(100_000),
  STORE_THREAD: z.enum(['true', 'false']).default('true'),
  STORE_QUERY_TIMEOUT_MS: z.coerce
    .number({ error: STORE_QUERY_TIMEOUT_RANGE })
    .int(STORE_QUERY_TIMEOUT_RANGE)
    .min(0, STORE_QUERY_TIMEOUT_RANGE)
    .max(MAX_STORE_QUERY_TIMEOUT_MS, STORE_QUERY_TIMEOUT_RANGE)
    .default(DEFAULT_STORE_QUERY_TIMEOUT_MS),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
  REDIS_STREAM: z.string().regex(/^[A-Za-z0-9:_.-]{1,100}$/, 'must be 1-100 characters of letters, digits, : _ . -').default('tickwire:events'),
  REDIS_MAXLEN: z.coerce.number().int().min(1000).max(1_000_000_000).default(1_000_000),
  MAX_DEPTH: z.coerce.number().int().min(1).max(1000).default(DEFAULT_LIMITS.maxDepth),
  MAX_ALIASES: z.coerce.number().int().min(0).max(10_000).default(DEFAULT_LIMITS.maxAliases),
  MAX_TOKENS: z.coerce.number().int().min(10).max(1_000_000).default(DEFAULT_LIMITS.maxTokens),
  MAX_COST: z.coerce.number().int().min(1).max(1_000_000_000).default(DEFAULT_LIMITS.maxCost),
  MAX_SUBSCRIPTIONS_PER_CONNECTION: z.coerce.number().int().min(1).max(100_000).default(DEFAULT_LIMITS.maxSubscriptionsPerConnection),
  MAX_SUBSCRIPTIONS_PER_TOKEN: z.coerce.number().int().min(1).max(1_000_000).default(DEFAULT_LIMITS.maxSubscriptionsPerToken),
  WS_MAX_PAYLOAD: z.coerce.number().int().min(1024).max(100 * 1024 * 1024).default(DEFAULT_LIMITS.wsMaxPayload),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(100 * 1024 * 1024).default(DEFAULT_LIMITS.maxBodyBytes),
  CONNECTION_INIT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(DEFAULT_LIMITS.connectionInitTimeoutMs),
  SSE_RESERVATION_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(DEFAULT_LIMITS.sseReservationTimeoutMs),
  MAX_SSE_RESERVATIONS_PER_TOKEN: z.coerce.number().int().min(1).max(100_000).default(DEFAULT_LIMITS.maxSseReservationsPerToken),
  GRAPHIQL: z.enum(['true', 'false']).default('true'),
  GRAPHIQL_BURST: z.coerce.number().int().min(1).max(100_000).default(DEFAULT_LIMITS.graphiqlBurst),
  GRAPHIQL_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(DEFAULT_LIMITS.graphiqlPerMinute),
  TOKENS_FILE: z.string().min(1).optional(),
  ALLOWED_ORIGINS: z.string().optional(),
  ALLOWED_HOSTS: z.string().optional(),
  INTROSPECTION: z.enum(['true', 'false']).default('true'),
  DASHBOARD: z.enum(['true', 'false']).default('true'),
  DASHBOARD_DIR: z.string().min(1).default(DEFAULT_DASHBOARD_DIR),
  REPLAY_DIR: z.string().min(1).optional(),
  MAX_RUNNERS: z.coerce.number().int().min(1).max(10_000).default(DEFAULT_MAX_RUNNERS),
  MAX_TOTAL_TICKS_PER_SECOND: z.coerce.number().int().min(1).max(MAX_TICKS_PER_SECOND).default(DEFAULT_MAX_TOTAL_TICKS_PER_SECOND),
  ENGINE_THREADS: z.coerce
    .number()
    .int(`must be a whole number from 0 (runners on the main thread) to ${MAX_ENGINE_THREADS}`)
    .min(0, `must be a whole number from 0 (runners on the main thread) to ${MAX_ENGINE_THREADS}`)
    .max(MAX_ENGINE_THREADS, `must be a whole number from 0 (runners on the main thread) to ${MAX_ENGINE_THREADS}`)
    .default(DEFAULT_ENGINE_THREADS),
  ENGINE_LEASE_MS: z.coerce
    .number({ error: ENGINE_LEASE_RANGE })
    .int(ENGINE_LEASE_RANGE)
    .min(MIN_ENGINE_LEASE_MS, ENGINE_LEASE_RANGE)
    .max(MAX_ENGINE_LEASE_MS, ENGINE_LEASE_RANGE)
    .default(DEFAULT_ENGINE_LEASE_MS),
  WORKERS: z
    .union([z.literal('auto'), z.coerce.number({ error: WORKERS_RANGE }).int(WORKERS_RANGE).min(0, WORKERS_RANGE).max(MAX_WORKERS, WORKERS_RANGE)], { error: WORKERS_RANGE })
    .default(DEFAULT_WORKERS),
  WORKERS_START_CONNECTIONS: z.coerce
    .number({ error: WORKERS_START_RANGE })
    .int(WORKERS_START_RANGE)
    .min(0, WORKERS_START_RANGE)
    .max(MAX_WORKERS_START_CONNECTIONS, WORKERS_START_RANGE)
    .default(DEFAULT_WORKERS_START_CONNECTIONS),
  TRUSTED_DOCUMENTS: z.enum(TRUSTED_DOCUMENTS_MODES).default(DEFAULT_TRUSTED_DOCUMENTS),
  TRUSTED_DOCUMENTS_FILES: z.string().optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  LOG_FORMAT: z.enum(LOG_FORMATS).default('auto'),
  MAX_EVENT_AGE_MS: z.coerce
    .number({ error: 'must be a whole number of milliseconds (0 turns the bound off)' })
    .int('must be a whole number of milliseconds (0 turns the bound off)')
    .min(0, 'must be 0 (off) or more')
    .max(MAX_EVENT_AGE_LIMIT_MS, `must be at most ${MAX_EVENT_AGE_LIMIT_MS} (ten minutes); 0 turns the bound off`)
    .default(DEFAULT_MAX_EVENT_AGE_MS),
});

const runnersFileSchema = z.strictObject({ runners: z.array(runnerConfigSchema) });

/**
 * Reads the configuration from the environment: PORT (default 4000), HOST (default
 * 127.0.0.1) and RUNNERS_FILE, a JSON or YAML file `{ runners: [...] }`. Everything is
 * validated here, before anything starts, so a typo stops the server with a message
 * naming the key instead of surfacing later. `cores` is what `WORKERS=auto` counts
 * (default `os.availableParallelism()`; tests give another machine's).
 */
export function loadServerConfig(env: NodeJS.ProcessEnv = process.env, cores: number = availableParallelism()): ServerConfig {
  // An empty variable means "not set", as shells and .env files often write it.
  const read = (name: string) => (env[name] === '' ? undefined : env[name]);
  // Every variable the schema names, and only those: STORE_TYPES is read on its own.
  const parsed = envSchema.safeParse(Object.fromEntries(Object.keys(envSchema.shape).map((name) => [name, read(name)])));
  if (!parsed.success) throw new ConfigError(`invalid environment: ${formatIssues(parsed.error)}`);
  const { PORT, HOST, RUNNERS_FILE, DATABASE_URL, DATA_DIR, STORE_BUFFER, REDIS_URL, REDIS_STREAM, REDIS_MAXLEN } = parsed.data;
  const store = {
    databaseUrl: DATABASE_URL,
    dataDir: DATA_DIR,
    types: parseStoreTypes(read('STORE_TYPES')),
    buffer: STORE_BUFFER,
    thread: parsed.data.STORE_THREAD === 'true',
    queryTimeoutMs: parsed.data.STORE_QUERY_TIMEOUT_MS,
  };
  const redis = REDIS_URL === undefined ? null : { url: REDIS_URL, stream: REDIS_STREAM, maxLen: REDIS_MAXLEN };
  const e = parsed.data;
  const limits = limitsOf(e);
  const tokens = e.TOKENS_FILE === undefined ? null : loadTokensFile(e.TOKENS_FILE);
  // An open server is only safe where nobody else can reach it.
  if (tokens === null && !['127.0.0.1', '::1', 'localhost'].includes(HOST)) {
    throw new ConfigError(`refusing to listen on ${HOST} without TOKENS_FILE: an open server may only bind to 127.0.0.1, ::1 or localhost`);
  }
  const dashboardDir = e.DASHBOARD === 'true' ? resolve(e.DASHBOARD_DIR) : null;
  const replayDir = e.REPLAY_DIR === undefined ? null : replayDirOf(e.REPLAY_DIR);
  const engine = { maxRunners: e.MAX_RUNNERS, maxTotalTicksPerSecond: e.MAX_TOTAL_TICKS_PER_SECOND };
  const trustedDocuments = { mode: e.TRUSTED_DOCUMENTS, manifests: loadManifests(e.TRUSTED_DOCUMENTS_FILES) };
  const workers = e.WORKERS === 'auto' ? autoWorkers(cores) : e.WORKERS;
  const common = { port: PORT, host: HOST, store, redis, limits, tokens, dashboardDir, replayDir, engine, maxEventAgeMs: e.MAX_EVENT_AGE_MS, engineThreads: e.ENGINE_THREADS, engineLeaseMs: e.ENGINE_LEASE_MS, workers, workersStartConnections: e.WORKERS_START_CONNECTIONS, trustedDocuments };
  if (RUNNERS_FILE === undefined) {
    return { ...common, runners: DEFAULT_RUNNERS, runnersSource: 'the default simulated runners', runnersFromFile: false };
  }
  const runners = loadRunnersFile(RUNNERS_FILE);
  vetRunners(runners, engine, RUNNERS_FILE);
  return { ...common, runners, runnersSource: RUNNERS_FILE, runnersFromFile: true };
}

/** The limits part of the configuration, from the validated environment. */
function limitsOf(e: z.infer<typeof envSchema>): Limits {
  return {
    maxDepth: e.MAX_DEPTH,
    maxAliases: e.MAX_ALIASES,
    maxTokens: e.MAX_TOKENS,
    maxCost: e.MAX_COST,
    maxSubscriptionsPerConnection: e.MAX_SUBSCRIPTIONS_PER_CONNECTION,
    maxSubscriptionsPerToken: e.MAX_SUBSCRIPTIONS_PER_TOKEN,
    wsMaxPayload: e.WS_MAX_PAYLOAD,
    maxBodyBytes: e.MAX_BODY_BYTES,
    connectionInitTimeoutMs: e.CONNECTION_INIT_TIMEOUT_MS,
    graphiql: e.GRAPHIQL === 'true',
    graphiqlBurst: e.GRAPHIQL_BURST,
    graphiqlPerMinute: e.GRAPHIQL_PER_MINUTE,
    introspection: e.INTROSPECTION === 'true',
    allowedOrigins: parseOrigins(e.ALLOWED_ORIGINS),
    sseReservationTimeoutMs: e.SSE_RESERVATION_TIMEOUT_MS,
    maxSseReservationsPerToken: e.MAX_SSE_RESERVATIONS_PER_TOKEN,
    ...(e.ALLOWED_HOSTS === undefined ? {} : { allowedHosts: parseHosts(e.ALLOWED_HOSTS) }),
  };
}

/**
 * Everything the engine would refuse of these runners (a strategy's parameters, a replay
 * file, the engine's limits for all of them together), checked before the server opens
 * its store, takes its lock or starts a thread: a refusal then leaves nothing behind.
 */
function vetRunners(runners: readonly RunnerConfigInput[], limits: EngineLimits, source: string): void {
  const known = new Map<string, KnownRunner>();
  for (const input of runners) {
    try {
      const { config } = vetRunner(input, known, limits);
      known.set(config.id, { state: 'Analyzing', config });
    } catch (err) {
      if (err instanceof EngineError) throw new ConfigError(`runners file ${source}: ${err.message}`);
      throw err;
    }
  }
}

/** REPLAY_DIR as an absolute path; a folder that is not there stops the server now, not at the first startRunner. */
function replayDirOf(value: string): string {
  const dir = resolve(value);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // Reported below.
  }
  if (!isDir) throw new ConfigError(`invalid environment: REPLAY_DIR: ${value} is not a folder`);
  return dir;
}

/** Reads and validates a runners file (JSON, or YAML for .yaml/.yml). */
export function loadRunnersFile(path: string): RunnerConfigInput[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read runners file ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    const ext = extname(path).toLowerCase();
    value = ext === '.yaml' || ext === '.yml' ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`runners file ${path} is not valid ${extname(path) || 'JSON'}: ${(err as Error).message}`);
  }
  const result = runnersFileSchema.safeParse(value);
  if (!result.success) throw new ConfigError(`runners file ${path}: ${formatIssues(result.error)}`);
  const seen = new Set<string>();
  result.data.runners.forEach((runner, i) => {
    if (seen.has(runner.id)) throw new ConfigError(`runners file ${path}: runners.${i}.id: duplicate runner id "${runner.id}"`);
    seen.add(runner.id);
  });
  return result.data.runners;
}

/**
 * The configuration, or the process ends here (exit code 1) with the message naming the
 * bad key, prefixed with `who` (`tickwire`, `tickwire engine`). Loads no server code.
 */
export function loadServerConfigOrExit(who: string, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  try {
    return loadServerConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`${who}: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
}
