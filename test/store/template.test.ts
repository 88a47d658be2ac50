import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newDatabaseFiles, openPglite } from '../../src/store/pglite.js';

// A new store loads the files the build made (scripts/pglite-template.mjs) instead of
// running PGlite's initdb: 2 s of every first start, 8 s on a busy machine.
describe("a new PGlite store starts from the build's template", () => {
  it('is offered for a database not created yet (in memory, or a directory without PG_VERSION), and not for one that exists', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickwire-template-'));
    const files = newDatabaseFiles(dir);
    expect(files).toBeInstanceOf(Blob);
    // A tar archive of PostgreSQL's files, PG_VERSION among them.
    expect(Buffer.from(await files!.arrayBuffer()).toString('latin1')).toContain('/PG_VERSION\0');
    expect(newDatabaseFiles('memory://')).toBeInstanceOf(Blob);
    const db = await openPglite(dir, undefined);
    try {
      await db.query('CREATE TABLE t (a int)');
      await db.query('INSERT INTO t VALUES (7)');
    } finally {
      await db.close();
    }
    expect(newDatabaseFiles(dir)).toBeUndefined();
    const again = await openPglite(dir, undefined);
    try {
      expect((await again.query<{ a: number }>('SELECT a FROM t')).rows).toEqual([{ a: 7 }]);
    } finally {
      await again.close();
    }
  }, 120_000);
});
