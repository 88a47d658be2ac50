import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import { openDb, type Db, type DbConfig } from '../../src/store/db.js';

/** Settings of a test's database besides where it is. */
export type TestDbOptions = Pick<DbConfig, 'queryTimeoutMs'>;

/** The machine's PostgreSQL (docs/development.md, "Services the tests use"). */
export const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Whether a TCP server answers at host:port within a second. */
export async function answers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(Number(port || 5432), hostname, () => done(true));
  });
}

/**
 * Whether PostgreSQL tests run: they do when it answers; when it does not, they are
 * skipped with a message, except under CI, where its absence is a failure.
 */
export const postgresAvailable = await (async () => {
  const ok = await answers(DATABASE_URL);
  if (!ok && process.env['CI'] === 'true') throw new Error(`PostgreSQL does not answer at ${DATABASE_URL} (CI needs it)`);
  if (!ok) console.warn(`PostgreSQL does not answer at ${DATABASE_URL}: its tests are skipped`);
  return ok;
})();

/** The URL of `schema` in the machine's PostgreSQL, for a process that takes only DATABASE_URL. */
export function schemaUrl(schema: string): string {
  return `${DATABASE_URL}${DATABASE_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

/** A private schema in the machine's PostgreSQL, dropped by `drop()`. */
export async function privatePostgres(url = DATABASE_URL, options: TestDbOptions = {}): Promise<{ db: Db; schema: string; drop(): Promise<void> }> {
  const schema = `tw_test_${randomBytes(6).toString('hex')}`;
  const admin = await openDb({ databaseUrl: DATABASE_URL });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  const db = await openDb({ ...options, databaseUrl: url, schema });
  return {
    db,
    schema,
    drop: async () => {
      await db.close().catch(() => undefined);
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
}

/** An in-memory PGlite database. */
export async function privatePglite(options: TestDbOptions = {}): Promise<{ db: Db; drop(): Promise<void> }> {
  const db = await openDb({ ...options, dataDir: 'memory://' });
  return { db, drop: () => db.close() };
}
