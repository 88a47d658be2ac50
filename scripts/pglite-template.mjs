// The files of a new, empty PGlite database, made once by the build: a new store loads
// them instead of running PGlite's initdb, which took about 2 s of every first start and
// of every test that opens a new store (8 s on a busy machine); loading them, about 0.3 s.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the build writes the template: src/store/pglite.ts reads it from there. */
export const TEMPLATE = join('dist', 'pglite-template.tar');

/** Creates a database in memory and writes its files, as a tar archive, to `root`/{@link TEMPLATE}. */
export async function writePgliteTemplate(root) {
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create('memory://');
  try {
    const files = await db.dumpDataDir('none');
    writeFileSync(join(root, TEMPLATE), Buffer.from(await files.arrayBuffer()));
  } finally {
    await db.close();
  }
}
