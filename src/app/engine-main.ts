import { createEngine } from '../engine/thread/threaded.js';
import { startPersistence } from './persistence.js';
import { ConfigError, loadServerConfig } from './config.js';
import { log, warnTo } from '../runtime/log.js';
import { EngineHost } from '../engine/remote.js';

/**
 * `npm run engine`: the runners alone, publishing into the Redis Stream that every API
 * instance (`npm start` with the same REDIS_URL) reads. Needs REDIS_URL.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadServerConfig();
    if (config.redis === null) throw new ConfigError('npm run engine needs REDIS_URL (the shared log the API instances read)');
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`tickwire engine: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const redis = config.redis;
  // The engine process is the store's one writer: it reads the shared log back into a bus
  // of its own and writes every event in it, whichever process appended it.
  let persistence;
  try {
    persistence = await startPersistence(config.store, warnTo(log), redis, 'writer');
  } catch (err) {
    console.error(`tickwire engine: cannot open the event store: ${(err as Error).message}`);
    process.exit(1);
  }
  // As in main.ts: a backlog of engine events past a quarter of MAX_EVENT_AGE_MS sheds old ticks and marks.
  const engine = createEngine(persistence.sink, { ...config.engine, threads: config.engineThreads, maxEventAgeMs: config.maxEventAgeMs });
  try {
    // The threads load before any start waits on them (a remote start has a deadline).
    await engine.ready();
    await Promise.all(config.runners.map(async (runner) => engine.addRunner(runner)));
  } catch (err) {
    console.error(`tickwire engine: ${(err as Error).message}`);
    process.exit(1);
  }
  // Makes the runners visible to every API instance and takes startRunner / stopRunner.
  const host = new EngineHost(engine, { url: redis.url, stream: redis.stream, acceptStarts: true });
  const stored = persistence.writer === null ? 'nothing (STORE_TYPES=none)' : `in ${persistence.db?.description}; the next event id is ${persistence.storedUpTo + 1}`;
  const timer = setInterval(() => {
    const health = persistence.redisHealth();
    log.info({ lastId: persistence.bus.lastId, stored: persistence.writer?.stats.written ?? 0, appendLost: health?.appendLost, missed: health?.missed, redisUp: health?.appenderHealthy }, 'engine');
  }, 10_000);
  timer.unref();

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping the runners');
    await engine.stopAll(`engine shutting down (${signal})`);
    await host.close();
    // The final RunnerStopped events reach the log, and the store, before the process goes.
    await persistence.close();
    log.info({ lastId: persistence.bus.lastId }, 'engine stopped');
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  // After the handlers: whoever reads this line may stop the engine at once.
  console.log(`tickwire engine: ${engine.listRunners().length} runners from ${config.runnersSource}, publishing to ${redis.stream}; events stored ${stored}`);
}

await main();
