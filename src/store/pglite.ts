/**
 * Opening an embedded PGlite database, and the messages between the main thread and the
 * worker thread PGlite runs in (see pglite-thread.ts and pglite-thread-main.ts). Both threads
 * load this module, so it loads PGlite itself only when a database is opened.
 */
import type { PGlite } from '@electric-sql/pglite';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

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
 * Opens PGlite at `dataDir` (a directory or `memory://…`), reads its catalog once (a
 * damaged directory often opens, then fails there) and, with `schema`, creates that schema
 * and makes it the search path. Throws what PGlite threw: the caller says what it means.
 */
export async function openPglite(dataDir: string, schema: string | undefined): Promise<PGlite> {
  const { PGlite } = await import('@electric-sql/pglite');
  const files = newDatabaseFiles(dataDir);
  const db = await PGlite.create(dataDir, files === undefined ? {} : { loadDataDir: files });
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
