import { cpSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_STORE_TYPES } from '../../src/app/config.js';
import { startPersistence } from '../../src/app/persistence.js';
import { LOCK_FILE, openDb, StoreDamagedError } from '../../src/store/db.js';
import { EventStore } from '../../src/store/store.js';
import { killSpawned, spawnServer } from './server-process.js';

const work = mkdtempSync(join(tmpdir(), 'tickwire-damaged-'));
const pristine = join(work, 'pristine');
afterAll(() => {
  killSpawned();
  rmSync(work, { recursive: true, force: true });
});

beforeAll(async () => {
  // A real store with events in it, closed cleanly.
  const db = await openDb({ dataDir: pristine });
  const store = new EventStore(db);
  await store.migrate();
  await store.insert([{ id: 1, symbol: 'AAA', event: { type: 'RunnerStarted', runnerId: 'a', symbol: 'AAA', timestamp: 1 } }]);
  await db.close();
}, 60_000);

/** A copy of the store with `damage` done to its files. */
function damaged(name: string, damage: (dir: string) => void): string {
  const dir = join(work, name);
  cpSync(pristine, dir, { recursive: true });
  damage(dir);
  return dir;
}

const damages: [string, (dir: string) => void][] = [
  // Written by another PostgreSQL major version, as far as PGlite can tell.
  ['PG_VERSION overwritten', (dir) => writeFileSync(join(dir, 'PG_VERSION'), '99\n')],
  // What two processes on one directory left behind: PGlite aborts (`Aborted()`).
  ['global/pg_control truncated', (dir) => truncateSync(join(dir, 'global', 'pg_control'), 0)],
  [
    'files under base/ truncated',
    (dir) => {
      for (const db of readdirSync(join(dir, 'base'))) for (const file of readdirSync(join(dir, 'base', db))) truncateSync(join(dir, 'base', db, file), 0);
    },
  ],
];

/** What every refusal says: which directory, that nothing is lost yet, what to do. */
function expectActionable(message: string, dir: string): void {
  expect(message).toContain(`the embedded PGlite database in DATA_DIR ${dir} cannot be read (PGlite: `);
  expect(message).toContain('The events in it are not lost until the directory is deleted');
  expect(message).toMatch(new RegExp(`move it aside \\(mv ${dir} ${dir}\\.damaged-\\d{4}-\\d{2}-\\d{2}\\) and start again, or point DATA_DIR elsewhere`));
  // Emscripten's advice to rebuild PGlite helps nobody running tickwire.
  expect(message).not.toContain('-sASSERTIONS');
}

describe('a damaged PGlite directory', () => {
  it.each(damages)('%s: openDb and startPersistence refuse it with what to do, and leave no lock', async (_, damage) => {
    const dir = damaged(_.replace(/\W+/g, '-'), damage);
    const error = await openDb({ dataDir: dir }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(StoreDamagedError);
    expectActionable((error as Error).message, dir);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);

    const config = { databaseUrl: undefined, dataDir: dir, types: DEFAULT_STORE_TYPES, buffer: 100_000 };
    const started = await startPersistence(config, () => undefined).then(
      () => null,
      (err: unknown) => err,
    );
    expect(started).toBeInstanceOf(StoreDamagedError);
    expectActionable((started as Error).message, dir);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  }, 60_000);

  it('`npm start` on it exits 1 with that message; moved aside, the next start begins an empty store', async () => {
    const dir = damaged('npm-start', damages[1]![1]);
    const server = spawnServer({ DATA_DIR: dir });
    expect(await server.exited).toEqual({ code: 1, signal: null });
    expect(server.output()).toMatch(/^tickwire: cannot open the event store: the embedded PGlite database in DATA_DIR /m);
    expectActionable(server.output(), dir);

    // Doing what it says: the damaged files are kept aside, the server starts afresh.
    renameSync(dir, `${dir}.damaged`);
    const next = spawnServer({ DATA_DIR: dir, RUNNERS_FILE: '' });
    try {
      expect((await next.ready).continuesAfter).toBe(0);
    } finally {
      next.child.kill('SIGTERM');
    }
    expect(await next.exited).toEqual({ code: 0, signal: null });
    expect(readdirSync(`${dir}.damaged`)).toContain('PG_VERSION');
  }, 60_000);
});
