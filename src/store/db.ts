import { mkdirSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { lockDataDir, type LockHolder } from './lock.js';
import { createPgliteDir } from './pglite-create.js';
import { openPgliteThread, PgliteThreadError } from './pglite-thread.js';
import { DEFAULT_STORE_QUERY_TIMEOUT_MS, StoreTimeoutError } from './timeout.js';

export { LOCK_FILE, StoreLockedError, type LockHolder } from './lock.js';
export { DEFAULT_STORE_QUERY_TIMEOUT_MS, StoreTimeoutError } from './timeout.js';

/** The little of a SQL client the store needs; PostgreSQL (pg) and PGlite both fit. */
export interface Db {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[] }>;
  /**
   * A read made for a client (history pages, stream backfills): like `query`, but it ends
   * with a {@link StoreTimeoutError} once it has taken the query timeout. PostgreSQL ends
   * the statement itself (statement_timeout); PGlite cannot, see {@link DbConfig.queryTimeoutMs}.
   */
  read<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[] }>;
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
  /**
   * How long a client's read may take, in ms (STORE_QUERY_TIMEOUT_MS, default
   * {@link DEFAULT_STORE_QUERY_TIMEOUT_MS}); 0: no limit. PostgreSQL reads use a pool of
   * their own whose sessions carry it as `statement_timeout`: the server ends the
   * statement, and a read that waits that long for one of the pool's connections ends
   * too. PGlite accepts `statement_timeout` and ignores it (it enforces it with a timer
   * signal, and a statement runs on one thread to its end: `pg_sleep(2)` under a 200 ms
   * timeout ran 2 s), so there the caller's wait ends at the deadline, and reads run one
   * at a time: one still queued at its deadline never starts.
   */
  readonly queryTimeoutMs?: number | undefined;
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
  const timeoutMs = config.queryTimeoutMs ?? DEFAULT_STORE_QUERY_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 0) throw new Error(`queryTimeoutMs must be a whole number of ms (0: no limit), got ${timeoutMs}`);
  if (config.databaseUrl !== undefined && config.databaseUrl !== '') return openPostgres(config.databaseUrl, config.schema, timeoutMs);
  const dataDir = config.dataDir ?? './data';
  const open = (): Promise<PgliteHandle> => (config.thread === false ? openInThread(dataDir, config.schema) : openPgliteThread(dataDir, config.schema));
  if (dataDir.startsWith('memory://')) {
    const handle = await open();
    return wrapPglite(handle, { description: `embedded PGlite in ${dataDir}`, dataDir, timeoutMs, release: () => undefined });
  }
  mkdirSync(dataDir, { recursive: true });
  // PGlite is one process's database: a second writer on the directory corrupts it. The
  // process holds the lock, not the worker thread PGlite runs in.
  const lock = lockDataDir(dataDir);
  let handle;
  try {
    await createPgliteDir(dataDir);
    handle = await open();
  } catch (err) {
    lock.release();
    throw pgliteFailure(dataDir, err, true);
  }
  const takeover = lock.tookOver === null ? '' : ` (took over the stale lock of ${describeHolder(lock.tookOver)}, which is no longer running)`;
  return wrapPglite(handle, { description: `embedded PGlite in ${dataDir}${takeover}`, dataDir, timeoutMs, release: () => lock.release() });
}

/**
 * PostgreSQL through two pools: the writer's and the readers'. The readers' sessions carry
 * the query timeout as `statement_timeout`, so the server ends a read that runs too long
 * (and only reads: the writer's batches and the migrations are not cut); and reads, however
 * many clients make them, never take the writer's connections.
 */
async function openPostgres(databaseUrl: string, schema: string | undefined, timeoutMs: number): Promise<Db> {
  const { default: pg } = await import('pg');
  const common = {
    connectionString: databaseUrl,
    max: 4,
    ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}),
  };
  const pool = new pg.Pool({ ...common, connectionTimeoutMillis: 5000 });
  // Opening a session is not the read's doing: on a busy machine it alone can outlast a
  // short query timeout, and the read then failed although the database was fine.
  const readPool = new pg.Pool({ ...common, connectionTimeoutMillis: Math.max(timeoutMs, 5000) });
  // A SET, not a startup parameter: connection poolers (PgBouncer) refuse unknown ones.
  // A client runs its queries in order, so this one runs before the read it was opened for.
  if (timeoutMs > 0) readPool.on('connect', (client) => void client.query(`SET statement_timeout = ${timeoutMs}`).catch(() => undefined));
  // An idle client losing its server must not crash the process; the next query
  // fails and the writer retries.
  pool.on('error', () => undefined);
  readPool.on('error', () => undefined);
  return {
    kind: 'postgres',
    description: `PostgreSQL at ${redact(databaseUrl)}`,
    query: async <R,>(sql: string, params?: readonly unknown[]) => {
      const result = await pool.query(sql, params as unknown[] | undefined);
      return { rows: result.rows as R[] };
    },
    read: async <R,>(sql: string, params?: readonly unknown[]) => {
      try {
        const result = await readPool.query(sql, params as unknown[] | undefined);
        return { rows: result.rows as R[] };
      } catch (err) {
        throw timeoutMs > 0 && isPostgresTimeout(err) ? new StoreTimeoutError(timeoutMs, { cause: err }) : err;
      }
    },
    exec: async (sql: string) => {
      await pool.query(sql);
    },
    close: async () => {
      await Promise.all([pool.end(), readPool.end()]);
    },
  };
}

/**
 * Whether a read of the readers' pool ended for its timeout: the server cancelled it for
 * `statement_timeout` (57014, which an administrator's cancel also is, with another
 * message), or no connection of the pool came free within it.
 */
function isPostgresTimeout(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : '';
  return (e?.code === '57014' && /statement timeout/.test(message)) || /timeout exceeded when trying to connect|terminated due to connection timeout/.test(message);
}

/**
 * The reads of an embedded PGlite, with their deadline. A statement that has started runs
 * to its end (see {@link DbConfig.queryTimeoutMs}): the caller stops waiting at the
 * deadline with a {@link StoreTimeoutError}. Reads run one after another, and one whose
 * deadline passed while it waited never starts, so a slow read cannot pile others up
 * behind it in the database's thread. The writer's queries do not wait here.
 */
function pgliteReads(run: <R>(sql: string, params?: readonly unknown[]) => Promise<{ rows: R[] }>, timeoutMs: number): Db['read'] {
  if (timeoutMs === 0) return run;
  let tail: Promise<void> = Promise.resolve();
  return <R,>(sql: string, params?: readonly unknown[]) => {
    let expired = false;
    let timer: NodeJS.Timeout | undefined;
    const answer = new Promise<{ rows: R[] }>((resolve, reject) => {
      timer = setTimeout(() => {
        expired = true;
        reject(new StoreTimeoutError(timeoutMs));
      }, timeoutMs);
      tail = tail.then(() => (expired ? undefined : run<R>(sql, params).then(resolve, reject)));
    });
    return answer.finally(() => clearTimeout(timer));
  };
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

/** What {@link wrapPglite} makes a Db of, besides the handle. */
interface PgliteWrap {
  readonly description: string;
  readonly dataDir: string;
  /** The query timeout of reads (0: none). */
  readonly timeoutMs: number;
  /** Gives the directory's lock back. */
  readonly release: () => void;
}

function wrapPglite(handle: PgliteHandle, { description, dataDir, timeoutMs, release }: PgliteWrap): Db {
  const query = async <R,>(sql: string, params?: readonly unknown[]) => {
    try {
      const result = await handle.query<R>(sql, params);
      return { rows: result.rows };
    } catch (err) {
      throw pgliteFailure(dataDir, err, false);
    }
  };
  const db: Db = {
    kind: 'pglite',
    description,
    query,
    read: pgliteReads(query, timeoutMs),
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
