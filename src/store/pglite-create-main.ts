/**
 * A child process that creates an embedded PGlite database in a new directory, then
 * exits (started by pglite-create.ts). Creating one runs PostgreSQL's initdb, a second
 * WebAssembly program, and a PGlite instance of its own beside the one that stays open:
 * in the server's process what they left behind stayed resident (about 450 MB with
 * PGlite's defaults, 30 s after start), in a process of their own it goes with the process.
 */
import { openPglite, toWire, type PgliteCreateReply } from './pglite.js';

const dataDir = process.argv[2];
const send = (reply: PgliteCreateReply) => new Promise<void>((resolve) => process.send!(reply, () => resolve()));

if (process.send === undefined || dataDir === undefined) {
  throw new Error('pglite-create-main.ts is a child process: start it with createPgliteDir');
}
try {
  const db = await openPglite(dataDir, undefined);
  await db.close();
  await send({ kind: 'created' });
} catch (err) {
  await send({ kind: 'failed', error: toWire(err) });
}
process.disconnect();
