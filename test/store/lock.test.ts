import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_STORE_TYPES } from '../../src/app/config.js';
import { startPersistence } from '../../src/app/persistence.js';
import { LOCK_FILE, openDb, StoreLockedError } from '../../src/store/db.js';
import { killSpawned, spawnServer, writeRunnersFile } from './server-process.js';

const work = mkdtempSync(join(tmpdir(), 'tickwire-lock-'));
afterAll(() => {
  killSpawned();
  rmSync(work, { recursive: true, force: true });
});
let n = 0;
const freshDir = () => join(work, `data${n++}`);

/** A pid that surely ran on this host and is gone now. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid!;
}

describe('one owner per PGlite directory', () => {
  it('refuses a second open of the directory in the same process, and allows it again after close', async () => {
    const dir = freshDir();
    const db = await openDb({ dataDir: dir });
    const lock = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as { pid: number; host: string; startedAt: string };
    expect(lock).toMatchObject({ pid: process.pid, host: hostname() });
    expect(Number.isNaN(Date.parse(lock.startedAt))).toBe(false);
    const second = openDb({ dataDir: dir });
    await expect(second).rejects.toBeInstanceOf(StoreLockedError);
    await expect(second).rejects.toThrow(`this process (pid ${process.pid}) already has the PGlite directory ${dir} (DATA_DIR) open`);
    await db.close();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    const again = await openDb({ dataDir: dir });
    expect(again.description).toBe(`embedded PGlite in ${dir}`);
    await again.close();
  }, 60_000);

  it('refuses a directory another live process holds, naming it, and takes it over once that process is SIGKILLed', async () => {
    const dir = freshDir();
    const db = fileURLToPath(new URL('../../src/store/db.ts', import.meta.url));
    // Another process with the directory open, as `npm start` would have it.
    const holder = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', `const { openDb } = await import(${JSON.stringify(db)}); await openDb({ dataDir: ${JSON.stringify(dir)} }); console.log('open'); setInterval(() => {}, 1000);`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((r) => holder.once('exit', r));
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('open') && resolve());
        holder.once('exit', (code) => reject(new Error(`the holder exited (${code}) before opening`)));
      });
      const refused = openDb({ dataDir: dir });
      await expect(refused).rejects.toBeInstanceOf(StoreLockedError);
      await expect(refused).rejects.toThrow(
        new RegExp(
          `^another tickwire process \\(pid ${holder.pid} on host ${hostname()}, since [^)]+\\) holds DATA_DIR ${dir}; ` +
            'stop it, or give this process its own DATA_DIR, or use DATABASE_URL for a shared PostgreSQL',
        ),
      );
      // The refused open changed nothing: the holder's lock stays.
      expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toContain(`"pid":${holder.pid},`);
    } finally {
      holder.kill('SIGKILL');
      await exited;
    }
    const db2 = await openDb({ dataDir: dir });
    expect(db2.description).toMatch(new RegExp(`^embedded PGlite in ${dir} \\(took over the stale lock of pid ${holder.pid} on host ${hostname()}, since .+, which is no longer running\\)$`));
    await db2.close();
  }, 60_000);

  it('takes over a stale lock (dead pid, pid reused by a restarted container, unreadable file) and refuses one from another host', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    const lockFile = join(dir, LOCK_FILE);
    const write = (holder: object | string) => writeFileSync(lockFile, typeof holder === 'string' ? holder : JSON.stringify(holder));
    const dead = deadPid();
    write({ pid: dead, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z' });
    let db = await openDb({ dataDir: dir });
    expect(db.description).toContain(`took over the stale lock of pid ${dead} on host ${hostname()}, since 2026-01-01T00:00:00.000Z`);
    expect(JSON.parse(readFileSync(lockFile, 'utf8'))).toMatchObject({ pid: process.pid });
    await db.close();

    // A process with our pid that is not us: a container's pid 1 before a restart.
    write({ pid: process.pid, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z' });
    db = await openDb({ dataDir: dir });
    expect(db.description).toContain(`took over the stale lock of pid ${process.pid}`);
    await db.close();

    write('');
    db = await openDb({ dataDir: dir });
    expect(db.description).toContain('took over the stale lock of pid 0 on host unknown (an unreadable lock file)');
    await db.close();

    // Another host cannot be asked whether its process lives.
    write({ pid: dead, host: 'elsewhere.example', startedAt: '2026-01-01T00:00:00.000Z' });
    await expect(openDb({ dataDir: dir })).rejects.toThrow(
      `another tickwire process (pid ${dead} on host elsewhere.example, since 2026-01-01T00:00:00.000Z) holds DATA_DIR ${dir}; ` +
        'stop it, or give this process its own DATA_DIR, or use DATABASE_URL for a shared PostgreSQL. ' +
        `If that process is known to be gone (for example its host or container no longer exists), delete ${lockFile} and start again`,
    );
  }, 60_000);

  it('startPersistence gives the lock back when it fails after opening', async () => {
    const dir = freshDir();
    const db = await openDb({ dataDir: dir });
    // A table in the way of the first migration makes start-up fail after the open.
    await db.exec('CREATE TABLE tickwire_events (x int)');
    await db.close();
    const config = { databaseUrl: undefined, dataDir: dir, types: DEFAULT_STORE_TYPES, buffer: 100_000 };
    await expect(startPersistence(config, () => undefined)).rejects.toThrow(/tickwire_events/);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  }, 60_000);

  it('a second `npm start` on the same DATA_DIR exits 1 naming the first; the first stops gracefully and gives the directory back', async () => {
    const dir = freshDir();
    const env = { DATA_DIR: dir, RUNNERS_FILE: writeRunnersFile(work, 50) };
    const first = spawnServer(env);
    try {
      await first.ready;
      const second = spawnServer(env);
      const outcome = await Promise.race([second.exited, second.ready.then(() => 'ready' as const)]);
      if (outcome === 'ready') second.child.kill('SIGKILL');
      expect(outcome, 'the second server must not start').toEqual({ code: 1, signal: null });
      expect(second.output()).toContain(
        `tickwire: cannot open the event store: another tickwire process (pid ${first.pid} on host ${hostname()}, since `,
      );
      expect(second.output()).toContain(`holds DATA_DIR ${dir}; stop it, or give this process its own DATA_DIR, or use DATABASE_URL for a shared PostgreSQL`);
    } finally {
      first.child.kill('SIGTERM');
    }
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  }, 60_000);
});
