/**
 * Creating an embedded PGlite database in a child process of its own
 * (pglite-create-main.ts), before the server opens it: what creating one costs in memory
 * leaves with that process (see there).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startProcess, workerModule } from '../runtime/thread.js';
import { fromWire, type PgliteCreateReply } from './pglite.js';

/**
 * Creates a PGlite database in `dataDir` unless it holds one (PGlite's own test: a
 * PG_VERSION file), in a child process, and waits for it to exit. A failure throws what
 * PGlite threw there, rebuilt with its fields, as opening the directory here would have.
 */
export async function createPgliteDir(dataDir: string): Promise<void> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  // Its output is PGlite's and initdb's chatter, not the server's log; what it printed
  // last on stderr says why, when it died without answering.
  const child = startProcess(workerModule('./pglite-create-main.js', import.meta.url), { args: [dataDir], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let reply: PgliteCreateReply | null = null;
  let stderr = '';
  child.on('message', (message: PgliteCreateReply) => (reply ??= message));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-2000)));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c, s) => resolve([c, s]));
  });
  const answer = reply as PgliteCreateReply | null;
  if (answer?.kind === 'created') return;
  if (answer?.kind === 'failed') throw fromWire(answer.error);
  const said = stderr.trim() === '' ? '' : `: ${stderr.trim()}`;
  throw new Error(`creating the PGlite database in ${dataDir} failed: its process ended (${signal ?? `exit code ${code}`}) before it answered${said}`);
}
