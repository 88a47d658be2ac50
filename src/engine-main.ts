import { RedisAppender } from './bus/redis.js';
import { TradingEngine } from './engine/engine.js';
import { ConfigError, loadServerConfig } from './server/config.js';
import { log, warnTo } from './server/log.js';
import { EngineHost } from './server/remote-engine.js';

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
  const appender = new RedisAppender({ url: config.redis.url, stream: config.redis.stream, maxLen: config.redis.maxLen, log: warnTo(log) });
  const engine = new TradingEngine(appender, config.engine);
  try {
    for (const runner of config.runners) engine.addRunner(runner);
  } catch (err) {
    console.error(`tickwire engine: ${(err as Error).message}`);
    process.exit(1);
  }
  // Makes the runners visible to every API instance and takes startRunner / stopRunner.
  const host = new EngineHost(engine, config.redis.url, config.redis.stream, true);
  console.log(`tickwire engine: ${engine.listRunners().length} runners from ${config.runnersSource}, publishing to ${config.redis.stream}`);
  const timer = setInterval(() => {
    const s = appender.stats;
    log.info({ appended: s.appended, backlog: s.backlog, lost: s.lost, redisUp: s.healthy }, 'engine appends');
  }, 10_000);
  timer.unref();

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await engine.stopAll(`engine shutting down (${signal})`);
    await host.close();
    // The final RunnerStopped events reach the log before the process goes.
    await appender.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

await main();
