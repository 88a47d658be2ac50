/**
 * `npx tsx bench/footprint.ts [--settle S] [--runs N] [config…]`: the server's RSS (all
 * its processes) S seconds (default 30) after /ready, with a fresh DATA_DIR, for each
 * named configuration (default: all of them), N runs each (default 1), one at a time.
 * The table in docs/performance.md ("Memory") is made with it. Needs a build
 * (`npm run build`); `pg` needs PostgreSQL at DATABASE_URL (default the local one), in a
 * schema of its own.
 */
import { writeFileSync } from 'node:fs';
import { measureStartRss } from './memory.js';

const PG_SCHEMA = 'tickwire_footprint';
const pgUrl = () => {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  url.searchParams.set('options', `-c search_path=${PG_SCHEMA}`);
  return url.toString();
};

/** Configurations by name: the environment each sets over the defaults. */
const CONFIGS: Record<string, () => Record<string, string>> = {
  defaults: () => ({}),
  'workers=0': () => ({ WORKERS: '0' }),
  // The workers' cost once started (WORKERS_START_CONNECTIONS=0: with the server); at the
  // default they start only at 100 connections, and `workers=2 at rest` is what that holds.
  'workers=1': () => ({ WORKERS: '1', WORKERS_START_CONNECTIONS: '0' }),
  'workers=2': () => ({ WORKERS: '2', WORKERS_START_CONNECTIONS: '0' }),
  'workers=2 at rest': () => ({ WORKERS: '2' }),
  'engine_threads=0': () => ({ WORKERS: '0', ENGINE_THREADS: '0' }),
  'store_thread=false': () => ({ WORKERS: '0', STORE_THREAD: 'false' }),
  'store_types=none': () => ({ WORKERS: '0', STORE_TYPES: 'none' }),
  'graphiql=false': () => ({ WORKERS: '0', GRAPHIQL: 'false' }),
  'dashboard=false': () => ({ WORKERS: '0', DASHBOARD: 'false' }),
  'no runners': () => ({ WORKERS: '0', RUNNERS_FILE: emptyRunners() }),
  pg: () => ({ WORKERS: '0', DATABASE_URL: pgUrl() }),
  'pg, no threads, no graphiql': () => ({ WORKERS: '0', DATABASE_URL: pgUrl(), ENGINE_THREADS: '0', GRAPHIQL: 'false' }),
};

let emptyFile: string | null = null;
function emptyRunners(): string {
  if (emptyFile === null) {
    emptyFile = `${process.env.TMPDIR ?? '/tmp'}/tickwire-footprint-runners-${process.pid}.json`;
    writeFileSync(emptyFile, JSON.stringify({ runners: [] }));
  }
  return emptyFile;
}


async function ensureSchema(): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${PG_SCHEMA}`);
  } finally {
    await client.end();
  }
}

const argv = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(argv.splice(at, 2)[1]);
  if (!(value > 0)) throw new Error(`--${name} needs a positive number`);
  return value;
};
const settle = option('settle', 30);
const runs = option('runs', 1);
const names = argv.length > 0 ? argv : Object.keys(CONFIGS);
for (const name of names) if (!(name in CONFIGS)) throw new Error(`unknown configuration ${name}; one of ${Object.keys(CONFIGS).join(', ')}`);
if (names.some((n) => n.startsWith('pg'))) await ensureSchema();

for (const name of names) {
  const totals: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await measureStartRss(CONFIGS[name]!(), settle * 1000);
    totals.push(r.sample.totalRssMb);
    const each = r.sample.processes.map((p) => `${p.role} ${p.rssMb}`).join(', ');
    console.log(`${name.padEnd(28)} ${String(r.sample.totalRssMb).padStart(7)} MB  (${each}; ready in ${r.readyMs} ms, sampled ${r.afterReadyMs} ms after)`);
  }
  if (runs > 1) {
    const sorted = [...totals].sort((a, b) => a - b);
    console.log(`${name.padEnd(28)} median ${sorted[Math.floor(sorted.length / 2)]} MB, min ${sorted[0]}, max ${sorted.at(-1)} over ${runs} runs`);
  }
}
