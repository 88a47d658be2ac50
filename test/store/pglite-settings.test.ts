import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../src/store/db.js';
import { PGLITE_SETTINGS } from '../../src/store/pglite.js';
import { createPgliteDir } from '../../src/store/pglite-create.js';

const work = mkdtempSync(join(tmpdir(), 'tickwire-pglite-settings-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** What PostgreSQL says each of tickwire's settings is. */
async function shown(db: Db): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(PGLITE_SETTINGS)) {
    const { rows } = await db.query<Record<string, string>>(`SHOW ${name}`);
    out[name] = rows[0]![name]!;
  }
  return out;
}

describe("embedded PGlite's PostgreSQL settings", () => {
  it('are tickwire\'s, not what PGlite\'s initdb wrote (160 MB of shared buffers), in its thread, on the caller\'s thread, in memory and on disk', async () => {
    expect(PGLITE_SETTINGS.shared_buffers).toBe('16MB');
    for (const [dataDir, thread] of [
      ['memory://', true],
      [join(work, 'threaded'), true],
      [join(work, 'unthreaded'), false],
    ] as const) {
      const db = await openDb({ dataDir, thread });
      try {
        expect(await shown(db), `${dataDir}, thread ${thread}`).toEqual(PGLITE_SETTINGS);
      } finally {
        await db.close();
      }
    }
  }, 120_000);

  it('a new directory is created by a process of its own and then opened; an existing one is opened as it is', async () => {
    const dir = join(work, 'created');
    await createPgliteDir(dir);
    expect(existsSync(join(dir, 'PG_VERSION'))).toBe(true);
    const db = await openDb({ dataDir: dir });
    try {
      await db.exec('CREATE TABLE kept (x INT); INSERT INTO kept VALUES (7)');
    } finally {
      await db.close();
    }
    // Created already: left alone (the row is still there).
    await createPgliteDir(dir);
    const again = await openDb({ dataDir: dir });
    try {
      expect((await again.query<{ x: number }>('SELECT x FROM kept')).rows).toEqual([{ x: 7 }]);
    } finally {
      await again.close();
    }
  }, 120_000);

  it("a directory that cannot be created fails with PGlite's error from that process", async () => {
    // A file where the directory should be: nothing can be created under it.
    const file = join(work, 'a-file');
    writeFileSync(file, 'not a directory');
    const failure = await createPgliteDir(join(file, 'data')).then(
      () => null,
      (err: unknown) => err as Error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect(failure!.message).not.toMatch(/before it answered/);
  }, 120_000);
});
