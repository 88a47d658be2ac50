/**
 * Start-up figures, each the median of several runs of the whole process as a user runs it:
 * `npm start` with a current build until /ready answers 200, `npm start` refusing a bad
 * configuration, `node dist/main.js` until ready (without npm's own start), and the CLI's
 * `--help` (what an installed `tickwire` runs).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, buildIsStale, ROOT } from '../scripts/build-state.mjs';

/** Start-up figures in milliseconds (medians) and how many runs each is of. */
export interface StartupResult {
  readonly startMs: number;
  readonly nodeStartMs: number;
  readonly badConfigMs: number;
  readonly cliHelpMs: number;
  readonly runs: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)]!);
};

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function ready(port: number, deadline: number): Promise<void> {
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.status === 200, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`no /ready on port ${port}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Milliseconds from spawning `command` until the server answers /ready; then stops it. */
async function timeToReady(command: string, args: string[], dataDir: string): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  // A group of its own: npm does not pass SIGTERM on to the server it started.
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn' }, stdio: 'ignore', detached: true });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    await ready(port, Date.now() + 30_000);
    return performance.now() - started;
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
    // The server itself outlives npm by its graceful shutdown, holding the store's lock
    // after it closed its port: the next start waits until no process of the group is left.
    const alive = () => {
      try {
        process.kill(-child.pid!, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 800 && alive(); i++) await new Promise((r) => setTimeout(r, 25));
  }
}

/** Milliseconds until `command` exits (with any code). */
async function timeToExit(command: string, args: string[], env: Record<string, string> = {}): Promise<number> {
  const started = performance.now();
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'ignore' });
  await new Promise((r) => child.once('exit', r));
  return performance.now() - started;
}

/** Runs each start-up `runs` times (after one warm-up) and returns the medians. */
export async function benchStartup(runs = 5): Promise<StartupResult> {
  if (buildIsStale() && (await build()) !== 0) throw new Error('npm run build failed');
  const dataDir = mkdtempSync(join(tmpdir(), 'tickwire-startup-'));
  try {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    // The warm-up creates the store: later starts open an existing one, as a restart does.
    await timeToReady(npm, ['start'], join(dataDir, 'data'));
    const start: number[] = [];
    const node: number[] = [];
    const bad: number[] = [];
    const help: number[] = [];
    for (let i = 0; i < runs; i++) {
      start.push(await timeToReady(npm, ['start'], join(dataDir, 'data')));
      node.push(await timeToReady(process.execPath, [join(ROOT, 'dist', 'main.js')], join(dataDir, 'data')));
      bad.push(await timeToExit(npm, ['start'], { PORT: 'not-a-port' }));
      help.push(await timeToExit(process.execPath, [join(ROOT, 'bin', 'tickwire.mjs'), '--help']));
    }
    return { startMs: median(start), nodeStartMs: median(node), badConfigMs: median(bad), cliHelpMs: median(help), runs };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
