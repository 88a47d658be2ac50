import { startEarly, step, ON_A_TERMINAL, type EarlyStart } from './early.js';
import type { RunnerConfigInput } from '../engine/config.js';
import type { LocalEngine } from '../engine/engine.js';
import type { ServerConfig } from './config.js';
import { startPersistence, type Persistence } from './persistence.js';
import { EngineHost, RemoteEngine } from '../engine/remote.js';
import { log, warnTo } from '../runtime/log.js';
import { startServer, type TickwireServer } from './server.js';
import { suggestedSubscription } from '../transport/graphiql.js';
import { TrustedDocuments } from '../graphql/trusted-documents.js';

/**
 * How long a shutdown (SIGTERM, SIGINT) may take: past it the process exits with code 1,
 * whatever it was still waiting for, and logs what that was.
 */
const SHUTDOWN_DEADLINE_MS = 10_000;

/** Of that, what is kept for saving the log's position and closing the database after the store's last writes. */
const SHUTDOWN_STORE_CLOSE_MS = 2000;

/**
 * The engine, publishing into the log from now on, with this process's runners started.
 * A runner refused here (the configuration vetted them, so this is rare) ends the
 * process, with the store closed cleanly so that the next start neither finds a lock
 * nor skips ids.
 */
async function startRunners(config: ServerConfig, persistence: Persistence, early: EarlyStart): Promise<{ engine: LocalEngine; localRunners: readonly RunnerConfigInput[] }> {
  const { engine } = early;
  early.sink.connect(persistence.sink);
  // With Redis, runners usually live in `npm run engine`; here only those of a RUNNERS_FILE.
  const localRunners = config.redis !== null && !config.runnersFromFile ? [] : config.runners;
  step(`starting ${localRunners.length} ${localRunners.length === 1 ? 'runner' : 'runners'}${config.engineThreads > 0 ? ` on ${config.engineThreads} engine ${config.engineThreads === 1 ? 'thread' : 'threads'}` : ''}`);
  try {
    await early.engineReady;
    // Started together: each is checked here as it is asked, in order, and the threads
    // start them while the next is checked.
    await Promise.all(localRunners.map(async (runner) => engine.addRunner(runner)));
  } catch (err) {
    console.error(`tickwire: ${(err as Error).message}`);
    await engine.stopAll('the server did not start').catch(() => undefined);
    await persistence.close(SHUTDOWN_STORE_CLOSE_MS).catch(() => undefined);
    process.exit(1);
  }
  return { engine, localRunners };
}

/** What the banner says of the store: where events go, or why nothing is kept here. */
function storeLineOf(config: ServerConfig, persistence: Persistence, continuesAfter: number): string {
  const stored = config.store.types.length === 0 ? 'nothing' : config.store.types.join(', ');
  if (persistence.writer !== null) return `events stored in ${persistence.db?.description} (${stored}); the next event id is ${continuesAfter + 1}`;
  if (persistence.store !== null) return `history read from ${persistence.db?.description}, written by the engine process (npm run engine)`;
  if (persistence.db === null && config.redis !== null) return 'no event history here: the engine process (npm run engine) writes the store; set DATABASE_URL to read it';
  return `nothing stored (STORE_TYPES=none); the next event id is ${continuesAfter + 1}`;
}

/** What the banner says of the socket workers after the graphql-ws URL. */
function workersLineOf(config: ServerConfig): string {
  if (config.workers <= 0) return '';
  const processes = `${config.workers} worker ${config.workers === 1 ? 'process' : 'processes'}`;
  return config.workersStartConnections > 0 ? ` (served here; by ${processes} once ${config.workersStartConnections} connections are open)` : ` (served by ${processes})`;
}

/** The start-up banner: what runs, where each endpoint is, and a first subscription to try. */
function bannerOf(config: ServerConfig, urls: TickwireServer['urls'], facts: { readonly running: number; readonly storeLine: string; readonly firstRunner: string | null }): string {
  const { running, storeLine, firstRunner } = facts;
  const runners =
    running > 0
      ? `${running} ${running === 1 ? 'runner' : 'runners'} from ${config.runnersSource}`
      : config.redis !== null
        ? 'no local runners (the engine process runs them)'
        : `no runners (none in ${config.runnersSource})`;
  const eventLog = config.redis === null ? 'in this process' : `in the Redis Stream ${config.redis.stream}`;
  const graphiql = config.limits.graphiql;
  return `tickwire is running ${runners}; the event log is ${eventLog}
  ${storeLine}
  dashboard                             ${config.dashboardDir === null ? 'off (DASHBOARD=false)' : urls.http.replace(/\/graphql$/, '/')}
  ${graphiql ? 'GraphiQL + GraphQL over HTTP and SSE' : 'GraphQL over HTTP and SSE           '}  ${urls.http}
  graphql-ws                            ${urls.ws}${workersLineOf(config)}
  graphql-sse                           ${urls.sse}
  metrics, health, readiness            ${urls.http.replace(/\/graphql$/, '')}/metrics /health /ready
${graphiql ? 'Try in GraphiQL:' : 'Try over graphql-ws:'}
  ${suggestedSubscription(firstRunner)}${ON_A_TERMINAL ? '\nCtrl-C to stop.' : ''}`;
}

/** What a shutdown stops, in order. */
interface Running {
  readonly config: ServerConfig;
  readonly engine: LocalEngine;
  readonly host: EngineHost | null;
  readonly remote: RemoteEngine | null;
  readonly server: TickwireServer;
  readonly persistence: Persistence;
}

/**
 * SIGTERM and SIGINT: runners stop, every subscription ends after what it has queued
 * (clients get a `complete`, not a cut connection), the sockets close, the store takes
 * the last events; within {@link SHUTDOWN_DEADLINE_MS} whatever a step waits for.
 */
function onSignals(running: Running): void {
  const { config, engine, host, remote, server, persistence } = running;
  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const deadline = Date.now() + SHUTDOWN_DEADLINE_MS;
    let stage = 'stopping the runners';
    // A supervisor's SIGKILL would come next, with nothing logged.
    setTimeout(() => {
      log.error({ signal, stage }, `shutdown did not finish within ${SHUTDOWN_DEADLINE_MS / 1000} s (still ${stage}); exiting now`);
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    server.stopAccepting();
    await engine.stopAll(`server shutting down (${signal})`);
    await host?.close();
    remote?.close();
    // Through Redis the last events take a round trip before they reach this bus.
    if (config.redis !== null) await new Promise((r) => setTimeout(r, 300));
    stage = 'closing the connections';
    persistence.bus.close();
    await new Promise((r) => setTimeout(r, 200));
    await server.close();
    // In the time left but what saving the log's position and closing the database take.
    stage = 'writing the store';
    await persistence.close(Math.max(500, deadline - Date.now() - SHUTDOWN_STORE_CLOSE_MS));
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

/**
 * `npm start`: the GraphQL server with the configured runners (by default three
 * simulated ones), once src/main.ts has found the configuration good and begun opening
 * the store and loading the engine ({@link startEarly}).
 */
export async function runServer(config: ServerConfig, early: EarlyStart = startEarly(config)): Promise<void> {
  let persistence: Persistence;
  try {
    // With Redis, the engine process (npm run engine) writes the store; an API instance only reads it.
    persistence = await startPersistence({ ...config.store, opening: early.db }, warnTo(log), config.redis);
  } catch (err) {
    console.error(`tickwire: cannot open the event store: ${(err as Error).message}`);
    process.exit(1);
  }
  const continuesAfter = persistence.bus.lastId;
  const { engine, localRunners } = await startRunners(config, persistence, early);
  // With Redis, runners may live in any process: the API reads and drives them through
  // the registry and control lists; this process's own runners are published there too.
  const host = config.redis !== null && localRunners.length > 0 ? new EngineHost(engine, { url: config.redis.url, stream: config.redis.stream, acceptStarts: false, leaseMs: config.engineLeaseMs }) : null;
  const remote = config.redis !== null ? new RemoteEngine(config.redis.url, config.redis.stream, { leaseMs: config.engineLeaseMs }) : null;
  // The runner GraphiQL and the banner suggest: one that runs here, or none (a query that needs no id).
  const firstRunner = engine.listRunners()[0]?.id ?? null;
  step(`listening on ${config.host}:${config.port}`);
  const server = await startServer({
    engine: remote ?? engine,
    bus: persistence.bus,
    store: persistence.store,
    port: config.port,
    host: config.host,
    limits: config.limits,
    tokens: config.tokens,
    health: { store: () => persistence.writer?.stats ?? null, redis: () => persistence.redisHealth() },
    dashboardDir: config.dashboardDir,
    replayDir: config.replayDir,
    suggestedRunnerId: firstRunner,
    maxEventAgeMs: config.maxEventAgeMs,
    workers: config.workers,
    workersStartConnections: config.workersStartConnections,
    trusted: new TrustedDocuments(config.trustedDocuments.mode, config.trustedDocuments.manifests),
  });
  if (config.tokens === null) log.warn(`no TOKENS_FILE: the API is open to anyone who can reach ${config.host} (loopback only)`);
  const trusted = config.trustedDocuments;
  if (trusted.mode !== 'off') log.info({ manifests: trusted.manifests.map((m) => m.source) }, `TRUSTED_DOCUMENTS=${trusted.mode}: ${server.tickwire.trusted.size} trusted documents`);
  // Before the banner: whoever reads it may stop the server at once, and must find it
  // ready to stop cleanly (a SIGTERM before the handler would kill it, store unwritten).
  onSignals({ config, engine, host, remote, server, persistence });
  console.log(bannerOf(config, server.urls, { running: engine.listRunners().length, storeLine: storeLineOf(config, persistence, continuesAfter), firstRunner }));
}

