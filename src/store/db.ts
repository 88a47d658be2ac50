import { mkdirSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { lockDataDir, type LockHolder } from './lock.js';
import { openPgliteThread, PgliteThreadError } from './pglite-thread.js';

export { LOCK_FILE, StoreLockedError, type LockHolder } from './lock.js';

/** The little of a SQL client the store needs; PostgreSQL (pg) and PGlite both fit. */
export interface Db {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[] }>;
  /** Runs several statements without parameters in one round trip (one implicit transaction). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
  /** `postgres` or `pglite`, for logs and metrics. */
  readonly kind: 'postgres' | 'pglite';
  /** Where the data lives, without credentials. */
  readonly description: string;
}

/** Where events are stored: a PostgreSQL server, or an embedded PGlite directory. */
export interface DbConfig {
  /** postgres://… — when set, PostgreSQL; otherwise PGlite in `dataDir`. */
  readonly databaseUrl?: string | undefined;
  /** PGlite's directory (default ./data), locked while open; 'memory://' keeps it in memory, unlocked. */
  readonly dataDir?: string | undefined;
  /** A PostgreSQL schema for the tables (default public); tests use one each. */
  readonly schema?: string | undefined;
  /**
   * PGlite in a worker thread of its own (default true), so that its work does not take
   * the caller's event loop; false runs it on the calling thread (STORE_THREAD=false).
   */
  readonly thread?: boolean | undefined;
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return 'an unparseable DATABASE_URL';
  }
}

/**
 * Opens the database the configuration names. A PGlite directory is held with an
 * exclusive lock until `close()` (or the process's exit): a directory held by another
 * live process, or already open in this one, is a {@link StoreLockedError}; a stale lock
 * (its holder died) is taken over, and `description` says so. A directory PGlite cannot
 * open or read is a {@link StoreDamagedError} naming it and what to do.
 */
export async function openDb(config: DbConfig): Promise<Db> {
  if (config.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(config.schema)) {
    throw new Error(`schema must be a plain lower-case SQL identifier, got ${JSON.stringify(config.schema)}`);
  }
  if (config.databaseUrl !== undefined && config.databaseUrl !== '') {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({
      connectionString: config.databaseUrl,
      max: 4,
      connectionTimeoutMillis: 5000,
      ...(config.schema !== undefined ? { options: `-c search_path=${config.schema}` } : {}),
    });
    // An idle client losing its server must not crash the process; the next query
    // fails and the writer retries.
    pool.on('error', () => undefined);
    return {
      kind: 'postgres',
      description: `PostgreSQL at ${redact(config.databaseUrl)}`,
      query: async <R,>(sql: string, params?: readonly unknown[]) => {
        const result = await pool.query(sql, params as unknown[] | undefined);
        return { rows: result.rows as R[] };
      },
      exec: async (sql: string) => {
        await pool.query(sql);
      },
      close: () => pool.end(),
    };
  }
  const dataDir = config.dataDir ?? './data';
  const open = (): Promise<PgliteHandle> => (config.thread === false ? openInThread(dataDir, config.schema) : openPgliteThread(dataDir, config.schema));
  if (dataDir.startsWith('memory://')) {
    const handle = await open();
    return wrapPglite(handle, `embedded PGlite in ${dataDir}`, dataDir, () => undefined);
  }
  mkdirSync(dataDir, { recursive: true });
  // PGlite is one process's database: a second writer on the directory corrupts it. The
  // process holds the lock, not the worker thread PGlite runs in.
  const lock = lockDataDir(dataDir);
  let handle;
  try {
    handle = await open();
  } catch (err) {
    lock.release();
    throw pgliteFailure(dataDir, err, true);
  }
  const takeover = lock.tookOver === null ? '' : ` (took over the stale lock of ${describeHolder(lock.tookOver)}, which is no longer running)`;
  return wrapPglite(handle, `embedded PGlite in ${dataDir}${takeover}`, dataDir, () => lock.release());
}

/** An open PGlite database, on this thread or in a worker; `close` is idempotent. */
interface PgliteHandle {
  query<R>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[] }>;
  exec(sql: string): Promise<unknown>;
  close(): Promise<void>;
  /** The worker thread it runs in; undefined on this thread. */
  readonly worker?: Worker;
}

async function openInThread(dataDir: string, schema: string | undefined): Promise<PgliteHandle> {
  const { openPglite } = await import('./pglite.js');
  const db = await openPglite(dataDir, schema);
  return {
    query: (sql, params) => db.query(sql, params as unknown[] | undefined),
    exec: (sql) => db.exec(sql),
    close: async () => {
      if (!db.closed) await db.close();
    },
  };
}

/** The worker thread of each PGlite Db that runs in one. */
const workers = new WeakMap<Db, Worker>();

/**
 * The worker thread an embedded PGlite database runs in; null for PostgreSQL and for
 * PGlite on the calling thread (STORE_THREAD=false). For diagnostics and tests:
 * terminating it is what a crash of the thread does (queries fail, the process goes on).
 */
export function pgliteWorkerOf(db: Db): Worker | null {
  return workers.get(db) ?? null;
}

/**
 * What a PGlite failure means for the operator. A file system's refusal is no damage:
 * the files may be fine, the access is not. Any other failure to open, and a WebAssembly
 * abort or a corruption error later, is a {@link StoreDamagedError}.
 */
function pgliteFailure(dataDir: string, err: unknown, opening: boolean): unknown {
  if (dataDir.startsWith('memory://')) return err;
  // The thread PGlite ran in stopped: that says nothing about the files, and says what it is.
  if (err instanceof PgliteThreadError) return err;
  // Node's own errors name their path; PGlite's file system layer throws a bare
  // { name: 'ErrnoError', errno } (Emscripten's numbering, e.g. 2 for a permission).
  if (typeof (err as NodeJS.ErrnoException | null)?.syscall === 'string') return err;
  const fsError = err as { name?: unknown; errno?: unknown } | null;
  if (fsError?.name === 'ErrnoError') {
    return new Error(
      `cannot use the PGlite directory ${dataDir} (DATA_DIR): a file system error (PGlite ErrnoError ${String(fsError.errno)}); ` +
        'check that this user may read and write the directory and every file in it, and that its disk is not full',
      { cause: err },
    );
  }
  return opening || isDamage(err) ? new StoreDamagedError(dataDir, err) : err;
}

function describeHolder(holder: LockHolder): string {
  return `pid ${holder.pid} on host ${holder.host}, since ${holder.startedAt}`;
}

/**
 * The PGlite directory cannot be opened or read: its files are damaged (a crash of the
 * machine, two processes on it before the lock existed, a disk error) or written by an
 * incompatible PGlite version. Names the directory and what to do.
 */
export class StoreDamagedError extends Error {
  constructor(
    /** The directory, as configured (DATA_DIR). */
    readonly dataDir: string,
    /** What PGlite said. */
    override readonly cause: unknown,
  ) {
    const date = new Date().toISOString().slice(0, 10);
    const quote = (path: string) => (/^[\w./@:+-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`);
    // Emscripten's abort text asks for a debug build, which helps nobody running tickwire.
    const said = (cause instanceof Error ? cause.message : String(cause)).replace(/\s*Build with -sASSERTIONS for more info\.?/, '').replace(/\.$/, '');
    super(
      `the embedded PGlite database in DATA_DIR ${dataDir} cannot be read (PGlite: ${said}). ` +
        'Its files are damaged or were written by an incompatible PGlite version. The events in it are not lost until the directory is deleted. ' +
        `To start again with an empty store, move it aside (mv ${quote(dataDir)} ${quote(`${dataDir.replace(/\/+$/, '')}.damaged-${date}`)}) ` +
        'and start again, or point DATA_DIR elsewhere; keep the moved directory for recovery or diagnosis',
    );
    this.name = 'StoreDamagedError';
  }
}

/**
 * Whether PGlite failed on its files rather than on a statement: the WebAssembly
 * instance aborted, or PostgreSQL reported corruption (XX) or a file it cannot access (58).
 */
function isDamage(err: unknown): boolean {
  if (err instanceof WebAssembly.RuntimeError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('XX') || code.startsWith('58'));
}

function wrapPglite(handle: PgliteHandle, description: string, dataDir: string, release: () => void): Db {
  const db: Db = {
    kind: 'pglite',
    description,
    query: async <R,>(sql: string, params?: readonly unknown[]) => {
      try {
        const result = await handle.query<R>(sql, params);
        return { rows: result.rows };
      } catch (err) {
        throw pgliteFailure(dataDir, err, false);
      }
    },
    exec: async (sql: string) => {
      try {
        await handle.exec(sql);
      } catch (err) {
        throw pgliteFailure(dataDir, err, false);
      }
    },
    close: async () => {
      try {
        await handle.close();
      } finally {
        release();
      }
    },
  };
  if (handle.worker !== undefined) workers.set(db, handle.worker);
  return db;
}
