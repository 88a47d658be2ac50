/**
 * What a server's start begins before its GraphQL modules load: the store opens in its
 * thread and the engine's threads load theirs, on the other core, while the main thread
 * loads the server. One after another the three took about 0.35, 0.15 and 0.4 s.
 *
 * Imports nothing of GraphQL or the sockets: src/main.ts loads this first.
 */
import type { RunnerEvent } from '../events/types.js';
import type { EventSink, LocalEngine } from '../engine/engine.js';
import { createEngine } from '../engine/thread/threaded.js';
import type { Db } from '../store/db.js';
import type { ServerConfig } from './config.js';
import { openStoreDb } from './store-role.js';

/** Whether a person watches the start: then each step says what it is doing as it starts. */
export const ON_A_TERMINAL = process.stdout.isTTY === true && process.env['LOG_FORMAT'] !== 'json';

/** One short line per step of the start, on a terminal only (a log file gets the banner). */
export function step(text: string): void {
  if (ON_A_TERMINAL) process.stdout.write(`  ${text}…\n`);
}

/**
 * The sink an engine publishes to when it is made before the log: it forwards to the log
 * once connected. No runner starts before that, so nothing is published before it.
 */
export class LateSink implements EventSink {
  private target: EventSink | null = null;

  /** Where every event goes from now on. */
  connect(target: EventSink): void {
    this.target = target;
  }

  publish(event: RunnerEvent, symbol: string): unknown {
    if (this.target === null) throw new Error(`an event of runner "${event.runnerId}" was published before the event log was open`);
    return this.target.publish(event, symbol);
  }

  /** The target's (see {@link EventSink.handingOut}). */
  get handingOut(): boolean {
    return this.target?.handingOut === true;
  }
}

/** What {@link startEarly} began; each promise is observed, so a failure waits for its reader. */
export interface EarlyStart {
  /** The store's database opening (null: this process opens none). */
  readonly db: Promise<Db | null>;
  /** The engine, publishing into {@link sink}, whose threads are loading. */
  readonly engine: LocalEngine;
  /** Settles once the engine's threads have loaded (rejects when one could not start). */
  readonly engineReady: Promise<void>;
  /** Connect it to the log once the log is open. */
  readonly sink: LateSink;
}

/** A promise whose rejection is not "unhandled" before its reader gets to it. */
function observed<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** Begins opening the store and loading the engine's threads; returns at once. */
export function startEarly(config: ServerConfig): EarlyStart {
  step(config.store.databaseUrl === undefined ? `opening the event store in ${config.store.dataDir}` : 'connecting to PostgreSQL');
  // With Redis, the engine process (npm run engine) writes the store; an API instance only reads it.
  const db = observed(openStoreDb(config.store, config.redis === null ? 'single' : 'reader'));
  const sink = new LateSink();
  // Runners on worker threads (ENGINE_THREADS, default 1): this thread serves the sockets.
  // Their events wait here no longer than subscribers' queues keep them (MAX_EVENT_AGE_MS):
  // a backlog past a quarter of it sheds old ticks and marks rather than delay fresh ones.
  const engine = createEngine(sink, { ...config.engine, threads: config.engineThreads, maxEventAgeMs: config.maxEventAgeMs });
  // The threads load before any start waits on them (a remote start has a deadline).
  const engineReady = observed(engine.ready());
  return { db, engine, engineReady, sink };
}
