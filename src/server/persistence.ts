import { EventBus } from '../bus/bus.js';
import { RedisAppender, RedisReader } from '../bus/redis.js';
import type { EventSink } from '../engine/engine.js';
import { compileFilter } from '../events/filter.js';
import { openDb, type Db } from '../store/db.js';
import { EventStore } from '../store/store.js';
import { StoreWriter } from '../store/writer.js';
import type { ServerConfig } from './config.js';
import { log as logger, warnTo } from './log.js';

/** The bus and, behind it, the event store and its writer, and the Redis log when there is one. */
export interface Persistence {
  readonly bus: EventBus;
  readonly store: EventStore;
  readonly db: Db;
  /** Null when STORE_TYPES is none. */
  readonly writer: StoreWriter | null;
  /** Where local runners publish: the bus, or the Redis Stream that feeds every instance's bus. */
  readonly sink: EventSink;
  /** Health of the Redis log, or null without one (for /metrics and /ready). */
  redisHealth(): { readonly readerHealthy: boolean; readonly appenderHealthy: boolean | null } | null;
  /** Writes what is buffered (within `timeoutMs`) and closes the database. */
  close(timeoutMs?: number): Promise<void>;
}

/** The runner id of events the server itself emits (store outages). */
export const SYSTEM_RUNNER_ID = 'tickwire';

/**
 * Opens the store (migrating it), starts the bus after the largest stored id so ids stay
 * unique across restarts, and starts the writer. A store outage is logged and published
 * as an Error event of runner `tickwire` when it starts and when it ends.
 */
export async function startPersistence(
  config: ServerConfig['store'],
  log: (line: string) => void = warnTo(logger),
  redis: ServerConfig['redis'] = null,
): Promise<Persistence> {
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const store = new EventStore(db, config.types);
  let storedUpTo: number;
  try {
    await store.migrate();
    storedUpTo = await store.maxId();
  } catch (err) {
    // Gives the PGlite directory's lock back: the caller may retry or exit.
    await db.close().catch(() => undefined);
    throw err;
  }
  const bus = new EventBus({ startAfter: storedUpTo });
  // With Redis, the local bus is fed by the shared log; local runners append to it.
  const reader = redis === null ? null : new RedisReader(bus, { url: redis.url, stream: redis.stream, log });
  const appender = redis === null ? null : new RedisAppender({ url: redis.url, stream: redis.stream, maxLen: redis.maxLen, log });
  if (appender !== null) await appender.continueAfter(storedUpTo).catch((err: Error) => log(`tickwire: cannot set the Redis id counter yet: ${err.message}`));
  const sink: EventSink = appender ?? bus;
  const report = (error: string) =>
    sink.publish({ type: 'Error', runnerId: SYSTEM_RUNNER_ID, error, severity: 'Error', timestamp: Date.now() }, SYSTEM_RUNNER_ID);
  const writer =
    config.types.length === 0
      ? null
      : new StoreWriter(store, bus.subscribe({ filter: compileFilter({ types: config.types }), capacity: config.buffer }), {
          onFailure: (err, attempt, outageStarted) => {
            const message = `event store write failed (attempt ${attempt}, retrying): ${(err as Error).message}`;
            log(`tickwire: ${message}`);
            // One event per outage, not per retried batch.
            if (outageStarted) report(message);
          },
          onRecovered: (attempts) => {
            log(`tickwire: event store writable again after ${attempts} failed attempts`);
            report(`event store writable again after ${attempts} failed attempts; the buffered events are being written`);
          },
          onLost: (missed, reason) => {
            log(`tickwire: ${missed} events were not stored: ${reason}`);
            report(`${missed} events were not stored: ${reason}`);
          },
        });
  return {
    bus,
    sink,
    redisHealth: () => (reader === null ? null : { readerHealthy: reader.isHealthy, appenderHealthy: appender?.stats.healthy ?? null }),
    store,
    db,
    writer,
    close: async (timeoutMs = 5000) => {
      await appender?.close(timeoutMs);
      await reader?.close();
      await writer?.flush(timeoutMs);
      await db.close();
    },
  };
}
