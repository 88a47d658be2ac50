/**
 * Crash safety of the event store: a real server process (`node --import tsx src/main.ts`)
 * writing every event of three fast runners is killed with SIGKILL at random moments —
 * during start-up, while it writes, during a graceful shutdown — and restarted on the same
 * store, round after round. What eventHistory showed before a kill is the record of what
 * was written: it must all be there after the restart, ids must continue past it, and
 * nothing may be stored twice. CRASH_SEED=<n> replays one schedule.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../src/store/db.js';
import { DATABASE_URL, postgresAvailable } from './databases.js';
import { mulberry32 } from '../../src/engine/feeds/simulated.js';
import { followLiveIds, historyPage, killSpawned, spawnServer, writeRunnersFile, type SeenEvent, type ServerProcess } from './server-process.js';

const SEED = Number(process.env['CRASH_SEED'] ?? Math.floor(Math.random() * 2 ** 31));


/** The writer's rows in flight at most (3 batches of 5,000): a crash can leave holes only that far below the last stored id. */
const IN_FLIGHT = 15_000;

type Kind = 'startup' | 'running' | 'shutdown';
const kindOf = (round: number): Kind => (round % 4 === 1 ? 'startup' : round % 4 === 3 ? 'shutdown' : 'running');

const work = mkdtempSync(join(tmpdir(), 'tickwire-crash-'));
const runnersFile = writeRunnersFile(work);
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  killSpawned();
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

interface Findings {
  rounds: { kind: Kind; killedAfterMs: number; ready: boolean; exit: string }[];
  /** Ids of events published but not stored while a later one was: the crash's loss, below the last stored id. */
  holes: number;
  /** Events seen through eventHistory before kills, all checked after. */
  seen: number;
  stored: number;
  /** Starts that took over the lock a SIGKILLed process left. */
  takeovers: number;
  /**
   * Per kill while writing: events a client received live beyond the last one stored,
   * lost with the process; the restart gives their ids again.
   */
  unstored: number[];
}

/**
 * Runs `rounds` kill-and-restart rounds on one store, then a last start and a graceful
 * stop, and checks the store's rows directly.
 */
async function crashRounds(label: string, rounds: number, env: Record<string, string>, lockFile: string | null, direct: () => Promise<Db>): Promise<Findings> {
  const rand = mulberry32(SEED + rounds);
  const between = (lo: number, hi: number) => Math.round(lo + rand() * (hi - lo));
  const context = (round: number) => `${label}, round ${round}, CRASH_SEED=${SEED}`;
  const seen = new Map<number, SeenEvent>();
  /** Seen, not yet checked after a restart. */
  let pending: SeenEvent[] = [];
  /** Where the log continued at every start ("the next event id is N+1"), with the start's time. */
  const boundaries: { continuesAfter: number; spawnedAt: number }[] = [];
  const findings: Findings = { rounds: [], holes: 0, seen: 0, stored: 0, takeovers: 0, unstored: [] };
  let liveMax = 0;
  /** The fastest start so far, from spawn to ready: start-up kills land before it. */
  let readyMs = 3000;
  let lastKilled: { pid: number; lockLeft: boolean } | null = null;

  const check = async (round: number, server: ServerProcess, url: string, continuesAfter: number, banner: string): Promise<number> => {
    const where = context(round);
    boundaries.push({ continuesAfter, spawnedAt: server.spawnedAt });
    const maxSeen = Math.max(0, ...seen.keys());
    if (liveMax > 0) findings.unstored.push(Math.max(0, liveMax - continuesAfter));
    liveMax = 0;
    expect(continuesAfter, `${where}: ids continue after the largest id seen stored`).toBeGreaterThanOrEqual(maxSeen);
    if (lockFile !== null && lastKilled?.lockLeft === true) {
      expect(banner, `${where}: the killed holder's lock is stale and taken over`).toContain(`took over the stale lock of pid ${lastKilled.pid}`);
      findings.takeovers++;
    }
    // Read again from the oldest event not yet checked: every one is still there, unchanged.
    let cursor = pending.length === 0 ? continuesAfter : Math.min(...pending.map((e) => e.id)) - 1;
    const want = new Map(pending.map((e) => [e.id, e]));
    while (want.size > 0) {
      const page = await historyPage(url, cursor);
      for (const event of page.events) {
        const before = want.get(event.id);
        if (before !== undefined) {
          expect(event, `${where}: event ${event.id} as seen before the kill`).toEqual(before);
          want.delete(event.id);
        }
        record(round, server, continuesAfter, event);
      }
      if (page.events.length === 0) break;
      cursor = page.events.at(-1)!.id;
    }
    expect([...want.keys()].slice(0, 10), `${where}: events seen stored before the kill and missing after the restart`).toEqual([]);
    pending = [];
    return cursor;
  };

  const record = (round: number, server: ServerProcess, continuesAfter: number, event: SeenEvent) => {
    const where = context(round);
    // Ids past the stored ones belong to this process, the others to earlier ones.
    if (event.id > continuesAfter) expect(event.timestamp, `${where}: event ${event.id} is new`).toBeGreaterThanOrEqual(server.spawnedAt);
    else expect(event.timestamp, `${where}: event ${event.id} is from before the restart`).toBeLessThan(server.spawnedAt);
    if (!seen.has(event.id)) pending.push(event);
    seen.set(event.id, event);
  };

  /** Reads eventHistory after `cursor` until `deadline`, recording what it shows. */
  const watch = async (round: number, server: ServerProcess, url: string, continuesAfter: number, cursor: number, deadline: number): Promise<number> => {
    while (Date.now() < deadline) {
      const page = await historyPage(url, cursor).catch(() => null);
      if (page === null) break;
      for (const event of page.events) record(round, server, continuesAfter, event);
      if (page.events.length > 0) cursor = page.events.at(-1)!.id;
      // Caught up: wait for the next batch, at most until the deadline.
      if (!page.hasNextPage) await new Promise((r) => setTimeout(r, Math.max(0, Math.min(30, deadline - Date.now()))));
    }
    return cursor;
  };

  for (let round = 0; round <= rounds; round++) {
    const kind: Kind | 'last' = round === rounds ? 'last' : kindOf(round);
    const server = spawnServer(env);
    let killedAfterMs = 0;
    let ready = false;
    let live: ReturnType<typeof followLiveIds> | null = null;
    if (kind === 'startup') {
      // Anywhere in start-up: opening the store, migrating, starting runners and the server.
      killedAfterMs = between(50, readyMs * 0.9);
      const outcome = await Promise.race([server.ready.then(() => 'ready' as const, () => 'exited' as const), new Promise<'kill'>((r) => setTimeout(() => r('kill'), killedAfterMs))]);
      ready = outcome === 'ready';
      if (outcome === 'ready') {
        const { url, continuesAfter, banner } = await server.ready;
        await check(round, server, url, continuesAfter, banner);
        await new Promise((r) => setTimeout(r, Math.max(0, server.spawnedAt + killedAfterMs - Date.now())));
      }
    } else {
      const { url, continuesAfter, banner } = await server.ready.catch((err: Error) => {
        throw new Error(`${context(round)}: the server did not start on the store after the kill: ${err.message}`);
      });
      ready = true;
      readyMs = Math.min(readyMs, Date.now() - server.spawnedAt);
      let cursor = await check(round, server, url, continuesAfter, banner);
      if (kind === 'last') {
        server.child.kill('SIGTERM');
        const exit = await server.exited;
        expect(exit, `${context(round)}: a graceful stop`).toEqual({ code: 0, signal: null });
        if (lockFile !== null) expect(existsSync(lockFile), `${context(round)}: the lock is released at a graceful stop`).toBe(false);
        break;
      }
      live = followLiveIds(url);
      cursor = await watch(round, server, url, continuesAfter, cursor, Date.now() + between(300, kind === 'running' ? 1500 : 1000));
      killedAfterMs = Date.now() - server.spawnedAt;
      if (kind === 'shutdown') {
        // Somewhere in the shutdown: stopping runners, flushing the writer, closing the store.
        server.child.kill('SIGTERM');
        const delay = between(0, 350);
        await Promise.race([server.exited, new Promise((r) => setTimeout(r, delay))]);
        killedAfterMs = Date.now() - server.spawnedAt;
      }
    }
    server.child.kill('SIGKILL');
    const exit = await server.exited;
    if (live !== null) {
      // Only kills while writing: a graceful stop stores what it published.
      if (kind === 'running') liveMax = live.max();
      live.close();
    }
    findings.rounds.push({ kind, killedAfterMs, ready, exit: exit.signal ?? `code ${exit.code}` } as Findings['rounds'][number]);
    // A process stopped in its shutdown has released the lock; a killed one leaves it.
    lastKilled = { pid: server.pid, lockLeft: lockFile !== null && existsSync(lockFile) && readFileSync(lockFile, 'utf8').includes(`"pid":${server.pid},`) };
  }

  // The rows themselves, with the server gone.
  const db = await direct();
  try {
    const { rows } = await db.query<{ id: number; type: string; runner_id: string; ts: number }>(
      'SELECT id::float8 AS id, type, runner_id, ts::float8 AS ts FROM tickwire_events ORDER BY id',
    );
    findings.stored = rows.length;
    findings.seen = seen.size;
    const byId = new Map(rows.map((r) => [Number(r.id), r]));
    for (const event of seen.values()) {
      const row = byId.get(event.id);
      expect(row && { id: Number(row.id), type: row.type, runnerId: row.runner_id, timestamp: Number(row.ts) }, `${label}: event ${event.id} (CRASH_SEED=${SEED})`).toEqual(event);
    }
    // Each start's boundary splits the rows by time: a row of an earlier process stored
    // again under a later id, or an id given twice, would cross it.
    for (const { continuesAfter, spawnedAt } of boundaries) {
      const crossing = rows.filter((r) => (Number(r.id) > continuesAfter) !== (Number(r.ts) >= spawnedAt));
      expect(crossing.slice(0, 5), `${label}: rows on the wrong side of the start after id ${continuesAfter} (CRASH_SEED=${SEED})`).toEqual([]);
    }
    const { rows: twice } = await db.query<{ min: number; max: number }>(
      'SELECT min(id)::float8 AS min, max(id)::float8 AS max FROM tickwire_events GROUP BY runner_id, type, ts, event HAVING count(*) > 1',
    );
    const across = twice.filter((g) => boundaries.some((b) => Number(g.min) <= b.continuesAfter && Number(g.max) > b.continuesAfter));
    expect(across, `${label}: the same event stored on both sides of a restart (CRASH_SEED=${SEED})`).toEqual([]);
    // Holes (ids given but not stored) only where a start skipped ahead of the process
    // before it: from within the writer's in-flight rows at the kill up to where the next
    // start continued, which after a kill is past every id the killed process may have handed out.
    const storedIds = rows.map((r) => Number(r.id));
    const spans = boundaries.map(({ continuesAfter }) => {
      let below = 0;
      for (const id of storedIds) if (id <= continuesAfter) below = id;
      return { from: below - IN_FLIGHT, to: continuesAfter };
    });
    let expected = 1;
    for (const row of rows) {
      if (Number(row.id) > expected && !spans.some((s) => expected > s.from && Number(row.id) - 1 <= s.to)) {
        expect.fail(`${label}: ids ${expected}..${Number(row.id) - 1} missing far from any crash (CRASH_SEED=${SEED})`);
      }
      findings.holes += Number(row.id) - expected;
      expected = Number(row.id) + 1;
    }
  } finally {
    await db.close();
  }
  return findings;
}

const report = (label: string, f: Findings) => {
  const kinds = (k: Kind) => f.rounds.filter((r) => r.kind === k).length;
  console.log(
    `crash test ${label} (CRASH_SEED=${SEED}): ${f.rounds.length} kills (${kinds('startup')} in start-up, ${kinds('running')} while writing, ${kinds('shutdown')} in a graceful shutdown); ` +
      `${f.seen} events seen before kills, all there after; ${f.stored} stored; ${f.holes} ids never stored below a stored one; ` +
      `${f.takeovers} starts took over a killed process's lock; events delivered live but not stored at a kill while writing: ` +
      `${f.unstored.join(', ')} (max ${Math.max(0, ...f.unstored)}; their ids are not given again: the next start skips past them)\n` +
      f.rounds.map((r, i) => `  round ${i}: ${r.kind}, killed ${r.killedAfterMs} ms after spawn${r.ready ? '' : ' (before ready)'}, ${r.exit}`).join('\n'),
  );
};

describe('crash safety: SIGKILL at random moments, restart on the same store', () => {
  it('PGlite (DATA_DIR): 12 rounds', async () => {
    const dataDir = join(work, 'data');
    const f = await crashRounds('PGlite', 12, { DATA_DIR: dataDir, STORE_TYPES: 'all', RUNNERS_FILE: runnersFile }, join(dataDir, 'tickwire.lock'), () => openDb({ dataDir }));
    report('PGlite', f);
    expect(f.seen).toBeGreaterThan(1000);
    expect(f.takeovers).toBeGreaterThan(0);
  }, 400_000);

  it.runIf(postgresAvailable)('PostgreSQL (DATABASE_URL, a private schema): 10 rounds', async () => {
    const schema = `tw_crash_${process.pid}_${Date.now() % 1_000_000}`;
    const admin = await openDb({ databaseUrl: DATABASE_URL });
    await admin.exec(`CREATE SCHEMA ${schema}`);
    cleanups.push(async () => {
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    });
    // The schema travels in the URL (libpq's `options`), as an operator would set it.
    const url = `${DATABASE_URL}${DATABASE_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    const f = await crashRounds('PostgreSQL', 10, { DATABASE_URL: url, STORE_TYPES: 'all', RUNNERS_FILE: runnersFile }, null, () => openDb({ databaseUrl: DATABASE_URL, schema }));
    report('PostgreSQL', f);
    expect(f.seen).toBeGreaterThan(1000);
  }, 300_000);
});
