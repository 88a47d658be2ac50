import { EventBus, newEpoch } from '../log/bus.js';
import { readIdCounter, RedisAppender, RedisReader } from '../log/redis.js';
import type { EventSink } from '../engine/engine.js';
import { compileFilter } from '../events/filter.js';
import type { Db } from '../store/db.js';
import { EventStore } from '../store/store.js';
import { StoreWriter } from '../store/writer.js';
import type { ServerConfig } from './config.js';
import { log as logger, warnTo } from '../runtime/log.js';
import { openStoreDb, type StoreRole } from './store-role.js';

export type { StoreRole } from './store-role.js';

/** Health and losses of the shared log, for /metrics and /ready. */
export interface RedisHealth {
  readonly readerHealthy: boolean;
  readonly appenderHealthy: boolean | null;
  /** Ids of the shared log that never reached this process since it started. */
  readonly missed: number;
  /** Events this process's appender dropped before they reached Redis. */
  readonly appendLost: number;
}

/** The bus and, behind it, the event store and its writer, and the Redis log when there is one. */
export interface Persistence {
  readonly bus: EventBus;
  /** Null for an API instance of a Redis deployment without DATABASE_URL. */
  readonly store: EventStore | null;
  readonly db: Db | null;
  /** Null when STORE_TYPES is none, and in every process but the store's writer. */
  readonly writer: StoreWriter | null;
  /** Where local runners publish: the bus, or the Redis Stream that feeds every instance's bus. */
  readonly sink: EventSink;
  /**
   * The id the log continued after when the process started: past every id stored or
   * handed out before (0 without a store). With a shared log, ids handed out are also
   * bounded by its counter, which the appender continues after.
   */
  readonly storedUpTo: number;
  /** Health of the Redis log, or null without one (for /metrics and /ready). */
  redisHealth(): RedisHealth | null;
  /** Writes what is buffered (within `timeoutMs`) and closes the database. */
  close(timeoutMs?: number): Promise<void>;
  /** Resolves once the appender has nothing left to append (or the log refused it), at most after `timeoutMs`; at once without Redis. */
  appendsSettled(timeoutMs: number): Promise<void>;
}

/** The shared log as the store's writer opens it: with the engine lease's fencing token it appends under. */
export type SharedLogConfig = NonNullable<ServerConfig['redis']> & {
  /** See `AppenderOptions.fence`: set by an engine process holding the lease. */
  readonly fence?: { readonly token: number; readonly onRefused: (current: number) => void };
};

/**
 * `run` one call at a time, with at most one call waiting, which runs with the latest
 * argument given meanwhile: a caller on a timer never queues calls without end behind a
 * slow resource. A call's promise settles once a run that started after it has ended.
 */
export function latestOnly<T>(run: (value: T) => Promise<void>): (value: T) => Promise<void> {
  let running: Promise<void> = Promise.resolve();
  let waiting: { value: T; done: Promise<void> } | null = null;
  return (value) => {
    if (waiting !== null) {
      waiting.value = value;
      return waiting.done;
    }
    const next: { value: T; done: Promise<void> } = { value, done: running };
    next.done = running.then(() => {
      waiting = null;
      return run(next.value);
    });
    waiting = next;
    running = next.done.catch(() => undefined);
    return next.done;
  };
}

/**
 * The store's settings and, when the caller began opening it already (the server does,
 * while it loads its modules), that opening: {@link startPersistence} waits for it
 * instead of opening the database again.
 */
export interface StoreStart extends Readonly<ServerConfig['store']> {
  readonly opening?: Promise<Db | null>;
}

/** The runner id of events the server itself emits (store outages). */
export const SYSTEM_RUNNER_ID = 'tickwire';

/** How often the writer saves where the log stands (the ids of events it does not store). */
export const LOG_POSITION_SAVE_MS = 1000;

/**
 * Ids skipped after a process that did not stop cleanly: events it published after its
 * last saved position (at most {@link LOG_POSITION_SAVE_MS} of them) may have reached
 * clients, and their ids must not be handed out again. Five times the default engine cap
 * (MAX_TOTAL_TICKS_PER_SECOND, about two events a tick) over that second. Not skipped by
 * the writer of a shared log whose id counter is still there (see {@link crashMargin}).
 */
export const CRASH_ID_MARGIN = 200_000;

/** The store's writer in this process, when it is that: where it reports, and what it logs. */
interface Wiring {
  readonly bus: EventBus;
  /** One line to the operator's log. */
  readonly log: (line: string) => void;
  /** An Error event of runner `tickwire`, for every watcher (words only: the details are in the log). */
  readonly report: (error: string) => void;
}

/** Where the log continues: past every id stored or handed out before, in which epoch. */
interface StartingPoint {
  readonly continuesAfter: number;
  readonly epoch: string;
}

/**
 * The ids to skip past `position` when the process that saved it did not stop cleanly.
 *
 * Without a shared log, that process handed out ids itself, from its own count, and up to a
 * second of them may have reached clients unsaved: {@link CRASH_ID_MARGIN}. With one, every
 * id was handed out by the shared log's counter in Redis (INCR in the append script), never
 * by a process: a counter still there is past every id handed out, by the crashed process
 * too (this writer holds the engine lease, so a stale engine appends nothing more), and the
 * appender continues after it. Skipping 200,000 ids there would only make every API
 * instance see a hole of that size. When Redis lost its counter (it is missing, or below the
 * saved position: recreated since), or does not answer, the margin applies as before: an id
 * is never handed out twice.
 */
async function crashMargin(position: { readonly lastId: number; readonly clean: boolean } | null, sharedLog: SharedLogConfig | null, log: (line: string) => void): Promise<number> {
  if (position === null || position.clean) return 0;
  if (sharedLog === null) return CRASH_ID_MARGIN;
  const counter = await readIdCounter(sharedLog).catch((err: Error) => {
    log(`tickwire: cannot read the shared log's id counter (${err.message}); skipping ${CRASH_ID_MARGIN} ids to be safe`);
    return null;
  });
  if (counter === null || counter < position.lastId) return CRASH_ID_MARGIN;
  log(`tickwire: the last process did not stop cleanly; the shared log's id counter (${counter}) is past every id it handed out, so no ids are skipped`);
  return 0;
}

/**
 * Reads where the log stood (the largest stored id, the saved position, with a margin after
 * a crash) and, where this process writes the store, migrates it and saves the new start.
 */
async function startingPoint(store: EventStore | null, role: StoreRole, sharedLog: SharedLogConfig | null, log: (line: string) => void): Promise<StartingPoint> {
  // With a shared log, the epoch is the shared log's (the reader adopts it); otherwise the store's.
  const proposed = newEpoch();
  if (store === null) return { continuesAfter: 0, epoch: proposed };
  // The writer also keeps where the log stood, for the ids of events it does not store.
  const keepsPosition = role !== 'reader';
  // Only the writer changes the schema: readers of a shared PostgreSQL must not race it.
  if (role !== 'reader') await store.migrate();
  const storedUpTo = await store.maxId().catch((err: Error) => {
    if (role !== 'reader') throw err;
    log(`tickwire: cannot read the largest stored id yet (the engine process creates the tables): ${err.message}`);
    return 0;
  });
  // A reader reads where the writer says the log stands too: when the shared log loses
  // its counter (a flushed Redis), the ids the writer handed out but did not store (ticks)
  // are known only there. No crash margin for it: the writer may well be running.
  const position = keepsPosition ? await store.logPosition() : await store.logPosition().catch(() => null);
  const margin = keepsPosition ? await crashMargin(position, sharedLog, log) : 0;
  const continuesAfter = Math.max(storedUpTo, position === null ? 0 : position.lastId + margin);
  if (margin > 0) log(`tickwire: the last process did not stop cleanly; the next event id is ${continuesAfter + 1}, past any it may have handed out unsaved`);
  if (keepsPosition) await store.saveLogPosition(continuesAfter, false);
  const epoch = keepsPosition && sharedLog === null ? await store.epoch(proposed) : proposed;
  // Statistics of what an earlier process stored, for the planner (PGlite has no
  // autovacuum). Not awaited: behind the queries above, it kept the start 50-100 ms longer.
  if (role !== 'reader') void store.analyze();
  return { continuesAfter, epoch };
}

/** The two ends of the shared log: the reader that feeds the local bus, the appender local runners publish to. */
function sharedLogOf(redis: SharedLogConfig, wiring: Wiring, continuesAfter: number): { reader: RedisReader; appender: RedisAppender } {
  const { bus, log, report } = wiring;
  const reader = new RedisReader(bus, {
    url: redis.url,
    stream: redis.stream,
    log,
    onMissed: (missed, fromId, toId) =>
      report(`${missed} events (ids ${fromId}..${toId}) of the shared log never reached process ${process.pid}: the stream was trimmed (REDIS_MAXLEN) or cut before it read them`),
  });
  const appender = new RedisAppender({
    url: redis.url,
    stream: redis.stream,
    maxLen: redis.maxLen,
    log,
    // Ids never go back: not after a restart, nor after Redis lost its counter.
    floor: () => Math.max(continuesAfter, bus.lastId),
    ...(redis.fence === undefined ? {} : { fence: redis.fence }),
    onLost: (count, ids) =>
      report(`${count} events were dropped before they reached the shared log: Redis was unreachable for longer than the append buffer lasts${ids === null ? '' : ` (ids ${ids.fromId}..${ids.toId} stand for them)`}`),
  });
  return { reader, appender };
}

/** The store's writer: the bus's stored types into the store, with every outage and loss logged and reported. */
function storeWriterOf(store: EventStore, config: ServerConfig['store'], wiring: Wiring, savePosition: () => void): StoreWriter {
  const { bus, log, report } = wiring;
  let notStored = 0;
  return new StoreWriter(store, bus.subscribe({ filter: compileFilter({ types: config.types }), capacity: config.buffer }), {
    onFailure: (err, attempt, outageStarted) => {
      log(`tickwire: event store write failed (attempt ${attempt}, retrying): ${(err as Error).message}`);
      // One event per outage, not per retried batch. The driver's message (hosts,
      // paths, connection strings) is for the log only: every watcher of runner
      // tickwire receives the event.
      if (outageStarted) report(`event store writes are failing (${store.db.kind}); retrying, the events are buffered meanwhile (details in the server log)`);
    },
    // Where the log stands is saved with every batch too, not only once a second: a
    // reader that starts after the shared log lost its counter continues past it.
    onWritten: () => savePosition(),
    onRecovered: (attempts) => {
      log(`tickwire: event store writable again after ${attempts} failed attempts`);
      report(`event store writable again after ${attempts} failed attempts; the buffered events are being written`);
    },
    // Overflows come at most once a second, with what was lost since: the Error
    // event published here is stored too, and takes a place in the full buffer.
    onLost: (missed, cause, reason) => {
      notStored += missed;
      const why =
        cause === 'overflow'
          ? `the store fell behind and its buffer (STORE_BUFFER, ${config.buffer} events) overflowed; ticks and marks go first`
          : `the server was shutting down and ${reason}`;
      log(`tickwire: ${missed} events were not stored (${notStored} since start): ${why}`);
      report(
        cause === 'overflow'
          ? `${missed} events were not stored: the store fell behind and its buffer (STORE_BUFFER) overflowed`
          : `${missed} events were not stored: the store did not take them before the shutdown's deadline`,
      );
    },
  });
}

/** What {@link closePersistence} stops, in order. */
interface Running {
  readonly bus: EventBus;
  readonly db: Db | null;
  readonly reader: RedisReader | null;
  readonly appender: RedisAppender | null;
  readonly writer: StoreWriter | null;
  readonly positionTimer: NodeJS.Timeout | null;
  readonly savePosition: (clean: boolean) => Promise<void>;
}

/** Writes what is buffered (within `timeoutMs`), saves where the log stands, and closes the database. */
async function closePersistence(running: Running, timeoutMs: number): Promise<void> {
  const { bus, reader, appender, writer } = running;
  const deadline = Date.now() + timeoutMs;
  await appender?.close(timeoutMs);
  // The writer stores what it reads back from the log: let the last appends arrive.
  if (writer !== null && appender !== null && reader !== null) {
    while (bus.lastId < appender.stats.lastId && Date.now() < deadline && reader.isHealthy) await new Promise((r) => setTimeout(r, 20));
  }
  await reader?.close();
  const written = (await writer?.flush(Math.max(100, deadline - Date.now()))) ?? true;
  if (running.positionTimer !== null) clearInterval(running.positionTimer);
  // Clean only when everything was written: otherwise the next start skips ahead.
  await running.savePosition(written);
  await running.db?.close();
}

/**
 * Opens the store the role calls for (migrating it where this process writes it), starts
 * the bus after the largest stored id so ids stay unique across restarts, and starts the
 * writer. A store outage, and every event lost on the way from the engine to the store,
 * is logged and published as an Error event of runner `tickwire`; the event says what
 * failed in words, the error itself is in the log only.
 */
export async function startPersistence(
  config: StoreStart,
  log: (line: string) => void = warnTo(logger),
  redis: SharedLogConfig | null = null,
  role: StoreRole = redis === null ? 'single' : 'reader',
): Promise<Persistence> {
  if (role !== 'single' && redis === null) throw new Error(`the ${role} role needs the shared log (REDIS_URL)`);
  const db = await (config.opening ?? openStoreDb(config, role));
  const store =
    db === null
      ? null
      : new EventStore(db, config.types, {
          onUndecodable: (row) => log(`tickwire: stored event ${row.id} (${row.type}) could not be decoded (${row.reason}); skipped in history reads`),
        });
  // The writer also keeps where the log stood, for the ids of events it does not store.
  const keepsPosition = store !== null && role !== 'reader';
  let start: StartingPoint;
  try {
    start = await startingPoint(store, role, redis, log);
  } catch (err) {
    // Gives the PGlite directory's lock back: the caller may retry or exit.
    await db?.close().catch(() => undefined);
    throw err;
  }
  const { continuesAfter } = start;
  const bus = new EventBus({ startAfter: continuesAfter, epoch: start.epoch });
  let sink: EventSink = bus;
  const report = (error: string) => sink.publish({ type: 'Error', runnerId: SYSTEM_RUNNER_ID, error, severity: 'Error', timestamp: Date.now() }, SYSTEM_RUNNER_ID);
  const wiring: Wiring = { bus, log, report };
  // With Redis, the local bus is fed by the shared log; local runners append to it.
  const { reader, appender } = redis === null ? { reader: null, appender: null } : sharedLogOf(redis, wiring, continuesAfter);
  if (appender !== null) sink = appender;
  // Behind a slow store (its inserts go first) a save a second used to queue one more
  // save a second without end, and a shutdown waited for all of them.
  const savePosition = latestOnly((clean: boolean) =>
    store === null || !keepsPosition ? Promise.resolve() : store.saveLogPosition(bus.lastId, clean).catch((err: Error) => log(`tickwire: cannot save the log position: ${err.message}`)),
  );
  const writer = store === null || role === 'reader' || config.types.length === 0 ? null : storeWriterOf(store, config, wiring, () => void savePosition(false));
  const positionTimer = keepsPosition ? setInterval(() => void savePosition(false), LOG_POSITION_SAVE_MS) : null;
  positionTimer?.unref();
  return {
    bus,
    sink,
    storedUpTo: continuesAfter,
    redisHealth: () =>
      reader === null
        ? null
        : { readerHealthy: reader.isHealthy, appenderHealthy: appender?.stats.healthy ?? null, missed: reader.missed, appendLost: appender?.stats.lost ?? 0 },
    store,
    db,
    writer,
    appendsSettled: async (timeoutMs) => appender?.whenIdle(timeoutMs),
    close: (timeoutMs = 5000) => closePersistence({ bus, db, reader, appender, writer, positionTimer, savePosition }, timeoutMs),
  };
}
