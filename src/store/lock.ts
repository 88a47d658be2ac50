import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** The lock file's name inside a PGlite directory. */
export const LOCK_FILE = 'tickwire.lock';

/** Who holds a directory, as its lock file says. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** ISO time the holder took the lock. */
  readonly startedAt: string;
}

/** What the lock file holds: the holder, and what tells a live holder from a reused pid. */
interface LockRecord extends LockHolder {
  /** Tells our own lock from one written after it (a takeover) when releasing. */
  readonly token: string;
  /** Linux: the kernel's boot id; a lock from before a reboot is stale whatever its pid. */
  readonly bootId?: string;
  /** Linux: the holder's start time in clock ticks since boot; a different one means the pid was reused. */
  readonly procStart?: string;
}

/**
 * Another live process (or this one, through an earlier `openDb`) holds the directory.
 * PGlite is a single-process database: two writers on one directory corrupt it.
 */
export class StoreLockedError extends Error {
  constructor(
    /** The directory asked for. */
    readonly dataDir: string,
    readonly holder: LockHolder,
    /** The lock file, to delete by hand when its holder is known to be gone. */
    readonly lockFile: string,
  ) {
    const ownProcess = holder.pid === process.pid && holder.host === hostname();
    super(
      ownProcess
        ? `this process (pid ${holder.pid}) already has the PGlite directory ${dataDir} (DATA_DIR) open; ` +
            'PGlite allows one database per directory and process: share that Db instead of opening it again'
        : `another tickwire process (pid ${holder.pid} on host ${holder.host}, since ${holder.startedAt}) holds DATA_DIR ${dataDir}; ` +
            'stop it, or give this process its own DATA_DIR, or use DATABASE_URL for a shared PostgreSQL. ' +
            `If that process is known to be gone (${holder.host === hostname() ? 'its pid now belongs to another program' : 'for example its host or container no longer exists'}), ` +
            `delete ${lockFile} and start again`,
    );
    this.name = 'StoreLockedError';
  }
}

/** A held directory lock. */
export interface DirLock {
  /** The stale lock taken over (its holder had died), or null. */
  readonly tookOver: LockHolder | null;
  /** Removes the lock file if it is still ours; idempotent. */
  release(): void;
}

/** Lock files held by this process, by the directory's real path. */
const held = new Map<string, { readonly file: string; readonly token: string }>();
let exitHookInstalled = false;

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

function readOptional(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

function bootId(): string | undefined {
  return readOptional('/proc/sys/kernel/random/boot_id') ?? undefined;
}

/** Field 22 of /proc/<pid>/stat (starttime), read after the command name, which may hold spaces. */
function procStart(pid: number): string | undefined {
  const stat = readOptional(`/proc/${pid}/stat`);
  if (stat === null) return undefined;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

function parseRecord(text: string): LockRecord | null {
  try {
    const value = JSON.parse(text) as Partial<LockRecord>;
    if (!Number.isInteger(value.pid) || (value.pid ?? 0) <= 0 || typeof value.host !== 'string' || typeof value.startedAt !== 'string') return null;
    return value as LockRecord;
  } catch {
    return null;
  }
}

/** Whether the holder may still run. Another host cannot be asked, so it counts as alive. */
function holderAlive(holder: LockRecord): boolean {
  if (holder.host !== hostname()) return true;
  const boot = bootId();
  if (holder.bootId !== undefined && boot !== undefined && holder.bootId !== boot) return false;
  // Not in `held`, so not ours: a container restarted with the same pid (often 1) left it.
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    if (errno(err) === 'ESRCH') return false;
  }
  const start = procStart(holder.pid);
  return holder.procStart === undefined || start === undefined || start === holder.procStart;
}

function releaseFile(file: string, token: string): void {
  // Only our own lock: after a (wrong) takeover by another process, its lock stays.
  if (parseRecord(readOptional(file) ?? '')?.token !== token) return;
  try {
    unlinkSync(file);
  } catch {
    // Already gone.
  }
}

/**
 * Creates the lock file whole or not at all: written under a private name, then linked
 * into place (link fails if the name exists), so nobody reads a half-written lock.
 */
function create(file: string, text: string): boolean {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temp, text, { flag: 'wx' });
  try {
    linkSync(temp, file);
    return true;
  } catch (err) {
    if (errno(err) === 'EEXIST') return false;
    // A file system without hard links: exclusive create, with a moment of an empty file.
    try {
      writeFileSync(file, text, { flag: 'wx' });
      return true;
    } catch (err2) {
      if (errno(err2) === 'EEXIST') return false;
      throw err2;
    }
  } finally {
    unlinkSync(temp);
  }
}

/**
 * Takes the exclusive lock of a PGlite directory for this process: `<dir>/tickwire.lock`
 * with the holder's pid, host and start time. A lock whose holder died (same host, pid
 * gone or reused, or a reboot since) is stale and taken over; a live holder, or an
 * earlier lock of this process on the same directory, is a {@link StoreLockedError}.
 * The lock is released by `release()`, or when the process exits; a killed process
 * leaves a stale lock, which the next start takes over.
 */
export function lockDataDir(dataDir: string): DirLock {
  const real = realpathSync(dataDir);
  const file = join(real, LOCK_FILE);
  const mine = held.get(real);
  if (mine !== undefined) {
    const record = parseRecord(readOptional(mine.file) ?? '');
    throw new StoreLockedError(dataDir, record ?? { pid: process.pid, host: hostname(), startedAt: 'earlier' }, file);
  }
  const token = randomBytes(8).toString('hex');
  const boot = bootId();
  const start = procStart(process.pid);
  const record: LockRecord = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    token,
    ...(boot !== undefined ? { bootId: boot } : {}),
    ...(start !== undefined ? { procStart: start } : {}),
  };
  const text = `${JSON.stringify(record)}\n`;
  let tookOver: LockHolder | null = null;
  for (let attempt = 0; ; attempt++) {
    if (create(file, text)) break;
    const existing = readOptional(file);
    const holder = existing === null ? null : parseRecord(existing);
    if (holder !== null && holderAlive(holder)) throw new StoreLockedError(dataDir, holder, file);
    // Other processes keep taking and dropping it: give up rather than spin.
    if (attempt >= 5) throw new StoreLockedError(dataDir, holder ?? { pid: 0, host: 'unknown', startedAt: 'unknown' }, file);
    if (existing === null) continue; // released meanwhile: try again
    // Remove the stale lock only if it is still the one judged: another starting process
    // may have taken it over a moment ago.
    if (readOptional(file) === existing) {
      try {
        unlinkSync(file);
      } catch {
        // Removed by that other process: the next attempt decides.
      }
    }
    tookOver = holder ?? { pid: 0, host: 'unknown (an unreadable lock file)', startedAt: 'unknown' };
  }
  held.set(real, { file, token });
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // process.exit() skips close(); the lock still goes with the process.
    process.on('exit', () => {
      for (const lock of held.values()) releaseFile(lock.file, lock.token);
    });
  }
  return {
    tookOver,
    release: () => {
      if (held.get(real)?.token !== token) return;
      held.delete(real);
      releaseFile(file, token);
    },
  };
}
