import { Redis } from 'ioredis';
import { createEngine } from '../engine/thread/threaded.js';
import { startPersistence, type Persistence } from './persistence.js';
import { ConfigError, loadServerConfig, type ServerConfig } from './config.js';
import { log, warnTo } from '../runtime/log.js';
import { EngineHost, newOwnerId, tellingHost } from '../engine/remote.js';
import { desiredRunning, EngineLease, reportLostEngine } from '../engine/failover.js';
import type { EventSink, LocalEngine } from '../engine/engine.js';
import type { RunnerConfig } from '../engine/config.js';
import { openDb, type Db } from '../store/db.js';

/**
 * How long an engine that lost its lease waits for its last appends to be settled (taken,
 * or refused because another engine took over) before it exits anyway.
 */
const LEASE_LOST_SETTLE_MS = 60_000;

/** The exit code of an engine that lost its lease: a supervisor restarts it, and it waits as a standby. */
export const EXIT_LEASE_LOST = 3;

/** What an active engine process runs, as far as it has started. */
interface Active {
  persistence: Persistence | null;
  engine: LocalEngine | null;
  host: EngineHost | null;
  stopping: boolean;
}

function configOrExit(): ServerConfig & { readonly redis: NonNullable<ServerConfig['redis']> } {
  try {
    const config = loadServerConfig();
    if (config.redis === null) throw new ConfigError('npm run engine needs REDIS_URL (the shared log the API instances read)');
    return { ...config, redis: config.redis };
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`tickwire engine: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
}

/**
 * The lease is gone (a renewal found another holder, none reached Redis within the TTL,
 * or the log refused an append): another engine may run these runners now. Stops serving
 * and the runners, waits until the last appends are taken or refused, and exits.
 */
async function leaseLost(active: Active, why: string): Promise<void> {
  if (active.stopping) return;
  active.stopping = true;
  log.error({ why }, 'lost the engine lease: stopping the runners (another engine may run them now)');
  await active.host?.abandon();
  await active.engine?.stopAll(`engine lost its lease (${why})`);
  await active.persistence?.appendsSettled(LEASE_LOST_SETTLE_MS);
  console.log(`tickwire engine: stopped its runners after losing the lease (${why}); exiting with code ${EXIT_LEASE_LOST}`);
  await active.persistence?.close(2000).catch(() => undefined);
  process.exit(EXIT_LEASE_LOST);
}

/**
 * Runs every runner the API last asked to run that is not running here (started from
 * RUNNERS_FILE) already: a restarted engine, or a standby that took over, resumes them.
 */
async function resumeRunners(engine: LocalEngine, host: EngineHost, configs: readonly RunnerConfig[], reason: string): Promise<number> {
  let resumed = 0;
  for (const config of configs) {
    const running = engine.getRunner(config.id);
    if (running !== undefined && running.state !== 'Stopped') continue;
    try {
      // In the registry under this engine first: killed right after the start, it is reported lost.
      await host.announce(config);
      await engine.addRunner(config, reason);
      resumed++;
    } catch (err) {
      log.warn({ runner: config.id }, `cannot resume runner "${config.id}": ${(err as Error).message}`);
    }
  }
  return resumed;
}

/**
 * Reports the runners of the engine taken over from stopped ("engine lost", once whoever
 * reports it), before this engine takes requests or resumes any: a subscriber sees
 * RunnerStopped, then RunnerStarted, never the reverse.
 */
async function reportPrevious(config: ServerConfig, persistence: Persistence, previous: string): Promise<void> {
  const redis = config.redis!;
  const control = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  control.on('error', () => undefined);
  try {
    await reportLostEngine(control, { stream: redis.stream, maxLen: redis.maxLen, floor: persistence.bus.lastId }, previous);
  } catch (err) {
    log.warn({ previous }, `cannot report the runners of engine ${previous} stopped: ${(err as Error).message}; an API instance will`);
  } finally {
    control.disconnect();
  }
}

/** The runners: RUNNERS_FILE's (or the defaults), then those resumed; the process ends on a refusal. */
async function startRunners(config: ServerConfig, active: Active, previous: string, owner: string): Promise<number> {
  const engine = active.engine!;
  const host = active.host!;
  const redis = config.redis!;
  const control = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  control.on('error', () => undefined);
  try {
    await Promise.all(config.runners.map(async (runner) => engine.addRunner(runner)));
    const reason = previous === '' ? `resumed by engine ${owner}` : `resumed by engine ${owner}, which took over from engine ${previous}`;
    return await resumeRunners(engine, host, await desiredRunning(control, redis.stream), reason);
  } catch (err) {
    console.error(`tickwire engine: ${(err as Error).message}`);
    process.exit(1);
  } finally {
    control.disconnect();
  }
}

/**
 * The store, opened before the lease is taken where two processes may open it at once
 * (PostgreSQL; PGlite in memory): a standby then pays for it before it takes over, not
 * after (PGlite's start alone took 2.7 s on a busy 2-core machine). A PGlite directory is
 * locked to its one process, so it is opened once the lease is held. Nothing is written
 * to it before then.
 */
async function openEarly(store: ServerConfig['store']): Promise<Db | undefined> {
  if (store.databaseUrl === undefined && !store.dataDir.startsWith('memory://')) return undefined;
  try {
    return await openDb({ databaseUrl: store.databaseUrl, dataDir: store.dataDir, thread: store.thread, queryTimeoutMs: store.queryTimeoutMs });
  } catch (err) {
    console.error(`tickwire engine: cannot open the event store: ${(err as Error).message}`);
    process.exit(1);
  }
}

/**
 * `npm run engine`: the runners alone, publishing into the Redis Stream that every API
 * instance (`npm start` with the same REDIS_URL) reads. Needs REDIS_URL. Only the holder of
 * the stream's engine lease runs: a second engine waits as a standby and takes over when
 * the lease lapses, resuming the runners the API last asked to run.
 */
async function main(): Promise<void> {
  const config = configOrExit();
  const redis = config.redis;
  const owner = newOwnerId();
  const active: Active = { persistence: null, engine: null, host: null, stopping: false };
  const lease = new EngineLease({ url: redis.url, stream: redis.stream, owner, ttlMs: config.engineLeaseMs, log: (line) => console.log(`tickwire engine: ${line}`) });
  const opened = await openEarly(config.store);
  // Its threads start before the lease is taken too. Events go to the shared log once it
  // is open (none come before: no runner starts until then).
  const sink: { target: EventSink | null } = { target: null };
  // As in main.ts: a backlog of engine events past a quarter of MAX_EVENT_AGE_MS sheds old ticks and marks.
  const engine = createEngine(
    // A runner that stopped by itself is not resumed by the next engine.
    tellingHost({ publish: (event, symbol) => sink.target?.publish(event, symbol) }, () => active.host),
    { ...config.engine, threads: config.engineThreads, maxEventAgeMs: config.maxEventAgeMs },
  );
  active.engine = engine;
  try {
    // The threads load before any start waits on them (a remote start has a deadline).
    await engine.ready();
  } catch (err) {
    console.error(`tickwire engine: ${(err as Error).message}`);
    process.exit(1);
  }
  // A standby waits here, before it writes the store: the active engine is its one writer.
  // Stopped while it waits, it has nothing to stop and holds nothing: it just goes.
  const whileStandby = () => process.exit(0);
  process.once('SIGINT', whileStandby);
  process.once('SIGTERM', whileStandby);
  await lease.acquire();
  process.off('SIGINT', whileStandby);
  process.off('SIGTERM', whileStandby);
  lease.hold((why) => void leaseLost(active, why));
  // The engine process is the store's one writer: it reads the shared log back into a bus
  // of its own and writes every event in it, whichever process appended it. Its appends
  // carry the lease's fencing token: once another engine took over, they are refused.
  const fence = { token: lease.token, onRefused: (newest: number) => void leaseLost(active, `the shared log refused its appends: engine lease ${newest} is newer than its ${lease.token}`) };
  try {
    active.persistence = await startPersistence(opened === undefined ? config.store : { ...config.store, opening: Promise.resolve(opened) }, warnTo(log), { ...redis, fence }, 'writer');
  } catch (err) {
    console.error(`tickwire engine: cannot open the event store: ${(err as Error).message}`);
    process.exit(1);
  }
  const persistence = active.persistence;
  sink.target = persistence.sink;
  if (lease.previous !== '' && lease.previous !== owner) await reportPrevious(config, persistence, lease.previous);
  // Makes the runners visible to every API instance and takes startRunner / stopRunner;
  // before the runners start, so that each is in the registry before its RunnerStarted.
  active.host = new EngineHost(engine, { url: redis.url, stream: redis.stream, acceptStarts: true, leaseMs: config.engineLeaseMs, recordDesired: true, owner });
  const resumed = await startRunners(config, active, lease.previous, owner);
  const stored = persistence.writer === null ? 'nothing (STORE_TYPES=none)' : `in ${persistence.db?.description}; ids continue past ${persistence.storedUpTo} and past every id the shared log handed out`;
  const timer = setInterval(() => {
    const health = persistence.redisHealth();
    log.info({ lastId: persistence.bus.lastId, stored: persistence.writer?.stats.written ?? 0, appendLost: health?.appendLost, missed: health?.missed, redisUp: health?.appenderHealthy }, 'engine');
  }, 10_000);
  timer.unref();

  const shutdown = async (signal: string): Promise<void> => {
    if (active.stopping) return;
    active.stopping = true;
    log.info({ signal }, 'stopping the runners');
    await engine.stopAll(`engine shutting down (${signal})`);
    await active.host?.close();
    // The final RunnerStopped events reach the log, and the store, before the process goes.
    await persistence.close();
    // Last: a standby takes over at once, and finds the store written.
    await lease.release();
    log.info({ lastId: persistence.bus.lastId }, 'engine stopped');
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  // After the handlers: whoever reads this line may stop the engine at once.
  const running = engine.listRunners().length;
  console.log(`tickwire engine: ${running - resumed} runners from ${config.runnersSource} and ${resumed} resumed, publishing to ${redis.stream} (engine ${owner}, lease token ${lease.token}); events stored ${stored}`);
}

await main();
