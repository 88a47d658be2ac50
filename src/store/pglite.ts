/**
 * Opening an embedded PGlite database, and the messages between the main thread and the
 * worker thread PGlite runs in (see pglite-thread.ts and pglite-thread-main.ts). Both threads
 * load this module, so it loads PGlite itself only when a database is opened.
 */
import type { PGlite } from '@electric-sql/pglite';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';

/**
 * The files of a new, empty database, written by the build (scripts/pglite-template.mjs):
 * PGlite's initdb took about 2 s of every first start (8 s on a busy machine); loading
 * these, about 0.3 s.
 */
const TEMPLATE = new URL('../../dist/pglite-template.tar', import.meta.url);

/**
 * The template's files when PGlite has yet to create the database at `dataDir` (in
 * memory, or a directory without PostgreSQL's PG_VERSION): undefined when it exists, or
 * when there is no build, where PGlite runs its initdb as before.
 */
export function newDatabaseFiles(dataDir: string): Blob | undefined {
  if (!dataDir.startsWith('memory://') && existsSync(join(dataDir, 'PG_VERSION'))) return undefined;
  try {
    return new Blob([readFileSync(TEMPLATE)]);
  } catch {
    return undefined;
  }
}

/**
 * The PostgreSQL settings PGlite runs with (`-c name=value` on its command line, so they
 * win over the postgresql.conf its initdb wrote), sized for what tickwire stores: events
 * appended in batches by one writer, and history read a page (≤ a few hundred rows) at a
 * time through the indexes, in tables of a few thousand to a few hundred thousand rows.
 * PGlite is one WebAssembly instance whose linear memory only grows: every page PostgreSQL
 * touches once stays resident for the life of the process. What each costs, measured, and
 * why these values: docs/performance.md ("Memory").
 */
export const PGLITE_SETTINGS: Readonly<Record<string, string>> = {
  // PGlite's initdb writes 160 MB, and PGlite touches all of it at start: 151 MB resident
  // before the first row. Appends touch the table's last page and the right edge of four
  // indexes, a history page the few hundred most recent rows; past this, pages come from
  // the files (the operating system's cache), as with a PostgreSQL on a small machine.
  shared_buffers: '16MB',
  // Index builds (a migration over a full table) and VACUUM; 64 MB by default, and what
  // one build touched would stay resident. Larger builds spill to temporary files.
  maintenance_work_mem: '16MB',
  // Only temporary tables use these (tickwire has none): 8 MB by default, bounded here.
  temp_buffers: '1MB',
};

/** PGlite's command line: its own defaults, then {@link PGLITE_SETTINGS}. */
export function pgliteStartParams(defaults: readonly string[]): string[] {
  return [...defaults, ...Object.entries(PGLITE_SETTINGS).flatMap(([name, value]) => ['-c', `${name}=${value}`])];
}

/**
 * WebAssembly in this process is compiled by V8's baseline compiler (Liftoff) only. By
 * default V8 recompiles PostgreSQL's hot functions with its optimizing compiler as they
 * run, and what that compilation took stayed in the process: 45-80 MB more resident,
 * measured. The price is PGlite's peak write rate (5,100-6,200 against 6,400-8,800
 * events/s, measured on a loaded machine), still more than ten times what `npm start`'s
 * runners publish. A V8 flag is the process's: PGlite is the only WebAssembly tickwire loads.
 */
function baselineWasmOnly(): void {
  setFlagsFromString('--liftoff-only');
}

/**
 * Opens PGlite at `dataDir` (a directory or `memory://…`) with {@link PGLITE_SETTINGS},
 * reads its catalog once (a damaged directory often opens, then fails there) and, with
 * `schema`, creates that schema and makes it the search path. Throws what PGlite threw:
 * the caller says what it means.
 */
export async function openPglite(dataDir: string, schema: string | undefined): Promise<PGlite> {
  baselineWasmOnly();
  const { PGlite } = await import('@electric-sql/pglite');
  const files = newDatabaseFiles(dataDir);
  const db = await PGlite.create(dataDir, { startParams: pgliteStartParams(PGlite.defaultStartParams), ...(files === undefined ? {} : { loadDataDir: files }) });
  try {
    await db.query('SELECT count(*) FROM pg_catalog.pg_class');
    if (schema !== undefined) await db.exec(`CREATE SCHEMA IF NOT EXISTS "${schema}"; SET search_path TO "${schema}"`);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return db;
}

/** What the worker thread is started with. */
export interface PgliteWorkerData {
  readonly dataDir: string;
  readonly schema: string | undefined;
}

/** The main thread's requests, each answered by one {@link PgliteReply} with its id. */
export type PgliteRequest =
  | { readonly id: number; readonly op: 'query'; readonly sql: string; readonly params: readonly unknown[] | undefined }
  | { readonly id: number; readonly op: 'exec'; readonly sql: string }
  /** Waits for the requests before it, closes the database; the thread ends after the reply. */
  | { readonly id: number; readonly op: 'close' };

/** The worker's messages: first whether the database opened, then one reply per request. */
export type PgliteReply =
  | { readonly kind: 'opened' }
  | { readonly kind: 'failed'; readonly error: WireError }
  | { readonly kind: 'done'; readonly id: number; readonly rows?: unknown[] }
  | { readonly kind: 'error'; readonly id: number; readonly error: WireError };

/**
 * An error as it crosses threads. A structured clone of an Error keeps its message and
 * loses its fields, but the store reads them: PostgreSQL's `code` (XX… is corruption),
 * the `name` and `errno` of PGlite's file system errors, Node's `syscall`.
 */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** A WebAssembly abort (PGlite's instance is broken, not just the statement). */
  readonly wasmAbort: boolean;
  /** The error's own fields that hold plain values. */
  readonly fields: Readonly<Record<string, string | number | boolean | null>>;
}

/** An error thrown in the worker, made ready to send. */
export function toWire(err: unknown): WireError {
  const fields: Record<string, string | number | boolean | null> = {};
  if (typeof err === 'object' && err !== null) {
    for (const [key, value] of Object.entries(err)) {
      // Not the statement's parameters (the caller has them, and they may be large).
      if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
    }
  }
  const e = err as { name?: unknown; message?: unknown; stack?: unknown } | null;
  return {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    message: typeof e?.message === 'string' ? e.message : String(err),
    stack: typeof e?.stack === 'string' ? e.stack : undefined,
    wasmAbort: err instanceof WebAssembly.RuntimeError,
    fields,
  };
}

/** The error the worker sent, as an Error with the same name, message and fields. */
export function fromWire(wire: WireError): Error {
  const err = wire.wasmAbort ? new WebAssembly.RuntimeError(wire.message) : new Error(wire.message);
  Object.assign(err, wire.fields);
  err.name = wire.name;
  // Where PGlite failed, in the worker; the caller's own frames say nothing more.
  if (wire.stack !== undefined) err.stack = wire.stack;
  return err;
}

/** What the process that creates a database (pglite-create-main.ts) answers, once. */
export type PgliteCreateReply = { readonly kind: 'created' } | { readonly kind: 'failed'; readonly error: WireError };
