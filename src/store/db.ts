import { mkdirSync } from 'node:fs';

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
  /** PGlite's directory (default ./data); 'memory://' keeps it in memory. */
  readonly dataDir?: string | undefined;
  /** A PostgreSQL schema for the tables (default public); tests use one each. */
  readonly schema?: string | undefined;
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

/** Opens the database the configuration names. */
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
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create(dataDir);
  if (config.schema !== undefined) {
    await db.exec(`CREATE SCHEMA IF NOT EXISTS "${config.schema}"; SET search_path TO "${config.schema}"`);
  }
  return {
    kind: 'pglite',
    description: `embedded PGlite in ${dataDir}`,
    query: async <R,>(sql: string, params?: readonly unknown[]) => {
      const result = await db.query<R>(sql, params as unknown[] | undefined);
      return { rows: result.rows };
    },
    exec: async (sql: string) => {
      await db.exec(sql);
    },
    close: () => db.close(),
  };
}
