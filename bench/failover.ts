/**
 * Failover in Redis mode: an active `npm run engine` (the compiled one) with one runner
 * and a standby with the same settings; the active one is SIGKILLed, and the time is
 * taken until the first TickReceived the standby appends (an entry under a newer fencing
 * token). Each round on a stream of its own; the figure is the median of the rounds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { entryEvents } from '../src/log/redis.js';
import { build, buildIsStale, ROOT } from '../scripts/build-state.mjs';

/** Seconds from the SIGKILL of the active engine to the standby's first tick. */
export interface FailoverResult {
  /** The median, in seconds. */
  readonly seconds: number;
  /** Every round's, in seconds. */
  readonly rounds: readonly number[];
  /** ENGINE_LEASE_MS of the engines. */
  readonly leaseMs: number;
}

interface Engine {
  readonly child: ChildProcess;
  readonly printed: (pattern: RegExp) => Promise<RegExpMatchArray>;
  readonly exited: Promise<unknown>;
}

function engine(env: NodeJS.ProcessEnv): Engine {
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'engine-main.js')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += String(d)));
  child.stderr!.on('data', (d) => (output += String(d)));
  const exited = new Promise((r) => child.once('exit', r));
  const printed = async (pattern: RegExp) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const match = pattern.exec(output);
      if (match !== null) return match;
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the engine did not print ${pattern}:\n${output}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { child, printed, exited };
}

/** The first TickReceived appended under a fencing token above `oldToken`, read from `after` on. */
async function firstTickAbove(redis: Redis, stream: string, oldToken: number): Promise<void> {
  let after = '0';
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const read = await redis.xread('COUNT', 1000, 'BLOCK', 1000, 'STREAMS', stream, after);
    for (const [, entries] of read ?? []) {
      for (const [id, fields] of entries) {
        after = id;
        const fence = fields.includes('fence') ? Number(fields[fields.indexOf('fence') + 1]) : 0;
        if (fence > oldToken && entryEvents(fields).some(({ event }) => event.type === 'TickReceived')) return;
      }
    }
  }
  throw new Error('no tick from the standby within 60 s');
}

async function round(url: string, leaseMs: number, dir: string): Promise<number> {
  const stream = `tickwire:bench:failover:${randomBytes(5).toString('hex')}`;
  const env = { ...process.env, REDIS_URL: url, REDIS_STREAM: stream, RUNNERS_FILE: join(dir, 'runners.json'), DATA_DIR: 'memory://', ENGINE_LEASE_MS: String(leaseMs), LOG_LEVEL: 'warn' };
  const redis = new Redis(url);
  const active = engine(env);
  let standby: Engine | null = null;
  try {
    const oldToken = Number((await active.printed(/lease token (\d+)/))[1]);
    standby = engine(env);
    await standby.printed(/standby: engine/);
    // The active engine's runner ticks.
    await firstTickAbove(redis, stream, oldToken - 1);
    const killedAt = performance.now();
    active.child.kill('SIGKILL');
    await firstTickAbove(redis, stream, oldToken);
    return (performance.now() - killedAt) / 1000;
  } finally {
    active.child.kill('SIGKILL');
    standby?.child.kill('SIGKILL');
    await Promise.all([active.exited, standby?.exited]);
    const keys = await redis.keys(`${stream}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
}

/** `rounds` failovers with ENGINE_LEASE_MS `leaseMs`; null when Redis does not answer. */
export async function benchFailover(rounds: number, leaseMs: number): Promise<FailoverResult | null> {
  const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const probe = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  probe.on('error', () => undefined);
  const up = await probe.connect().then(() => true, () => false);
  probe.disconnect();
  if (!up) {
    console.warn(`failover bench: Redis at ${url} does not answer`);
    return null;
  }
  if (buildIsStale() && (await build()) !== 0) throw new Error('npm run build failed');
  const dir = mkdtempSync(join(tmpdir(), 'tickwire-bench-failover-'));
  writeFileSync(join(dir, 'runners.json'), JSON.stringify({ runners: [{ id: 'f1', symbol: 'AAA', feed: { kind: 'simulated', ticksPerSecond: 100, seed: 1 } }] }));
  try {
    const times: number[] = [];
    for (let i = 0; i < rounds; i++) times.push(Number((await round(url, leaseMs, dir)).toFixed(2)));
    const sorted = [...times].sort((a, b) => a - b);
    return { seconds: sorted[Math.floor(sorted.length / 2)]!, rounds: times, leaseMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Alone: `npx tsx bench/failover.ts [rounds] [leaseMs]`.
if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await benchFailover(Number(process.argv[2] ?? 5), Number(process.argv[3] ?? 5000));
  console.log(JSON.stringify(result));
}
