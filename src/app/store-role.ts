/**
 * Which process writes the event store, and opening the database a process's role calls
 * for. Apart from the rest of persistence so that the server can begin opening the store
 * before it loads anything else (src/app/early.ts).
 */
import { openDb, type Db } from '../store/db.js';
import type { ServerConfig } from './config.js';

/**
 * What a process does with the event store. Exactly one process writes it: two writers
 * (two API instances on one PGlite directory, say) lost events and reused ids.
 */
export type StoreRole =
  /** No shared log: this process's bus is the log, and it writes the store. */
  | 'single'
  /** The engine process of a Redis deployment: it reads the shared log back and is the store's one writer. */
  | 'writer'
  /** An API instance of a Redis deployment: it writes nothing, and reads history from DATABASE_URL when set. */
  | 'reader';

/**
 * The database the role calls for, opening: an API instance of a Redis deployment opens
 * none without DATABASE_URL (PGlite's directory belongs to the writer).
 */
export function openStoreDb(config: ServerConfig['store'], role: StoreRole): Promise<Db | null> {
  if (role === 'reader' && config.databaseUrl === undefined) return Promise.resolve(null);
  return openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, thread: config.thread, queryTimeoutMs: config.queryTimeoutMs });
}

