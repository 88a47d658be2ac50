import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { openDb } from '../../src/store/db.js';
import { DATABASE_URL, postgresAvailable } from '../store/databases.js';
import { entry } from '../support/processes.js';
import { privateStream, REDIS_URL, redisAvailable } from '../support/redis.js';

/**
 * The scale-out recipe of docs/operations.md, as written: `npm run engine` and two `npm start` API
 * instances, all with REDIS_URL and DATABASE_URL. Observed before: every instance wrote
 * the whole stream, two of them shared one PGlite directory and lost all but 240 of
 * 40,000 events, and a restart handed out ids clients already had.
 */

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A process of the recipe, with what it printed; `ready` resolves when `pattern` appears. */
function start(name: 'main' | 'engine-main', env: Record<string, string>, pattern: RegExp): { child: ChildProcess; output: () => string; ready: Promise<RegExpMatchArray>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, entry(name), { env: { ...process.env, LOG_LEVEL: 'warn', DASHBOARD: 'false', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const ready = new Promise<RegExpMatchArray>((resolve, reject) => {
    const look = (chunk: Buffer) => {
      output += String(chunk);
      const match = pattern.exec(output);
      if (match !== null) resolve(match);
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', look);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it was ready:\n${output}`)));
  });
  ready.catch(() => undefined);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  cleanups.push(() => child.kill('SIGKILL'));
  return { child, output: () => output, ready, exited };
}

async function gql(port: number, query: string): Promise<{ data?: Record<string, unknown>; errors?: unknown[] }> {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  return (await res.json()) as never;
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
}

describe.runIf(redisAvailable && postgresAvailable)("the scale-out recipe of docs/operations.md", () => {
  it('one engine writes the store, two API instances serve it and write nothing, ids continue across an engine restart', async () => {
    const { key: stream, drop } = privateStream();
    cleanups.push(drop);
    const schema = `tw_recipe_${Math.random().toString(16).slice(2, 10)}`;
    const admin = await openDb({ databaseUrl: DATABASE_URL });
    await admin.exec(`CREATE SCHEMA ${schema}`);
    cleanups.push(async () => {
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    });
    const databaseUrl = `${DATABASE_URL}${DATABASE_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    const dir = mkdtempSync(join(tmpdir(), 'tickwire-recipe-'));
    const runners = join(dir, 'runners.json');
    writeFileSync(runners, JSON.stringify({ runners: [
      { id: 'r1', symbol: 'AAA', feed: { kind: 'simulated', ticksPerSecond: 300 } },
      { id: 'r2', symbol: 'BBB', strategy: 'mean_reversion', feed: { kind: 'simulated', ticksPerSecond: 300 } },
    ] }));
    const env = { REDIS_URL, REDIS_STREAM: stream, DATABASE_URL: databaseUrl };
    // Each in a folder of its own, with no DATA_DIR: an API instance must not need one.
    const engine = start('engine-main', { ...env, RUNNERS_FILE: runners, DATA_DIR: join(dir, 'must-not-be-used') }, /tickwire engine: .*events stored in PostgreSQL/);
    await engine.ready;
    const instance = () => start('main', { ...env, PORT: '0' }, /graphql-ws\s+ws:\/\/127\.0\.0\.1:(\d+)\/graphql/);
    const [a, b] = [instance(), instance()];
    const portA = Number((await a.ready)[1]);
    const portB = Number((await b.ready)[1]);
    expect(a.output()).toMatch(/history read from PostgreSQL/);

    // A client on A sees the stored kinds of event live.
    const seen: number[] = [];
    const client = createClient({ url: `ws://127.0.0.1:${portA}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    cleanups.push(() => client.dispose());
    client.subscribe(
      { query: 'subscription { events(types: [STATE_TRANSITION, STATS_UPDATE, ACTION_EXECUTED, POSITION_OPENED, POSITION_CLOSED]) { ... on Event { id } } }' },
      { next: (r) => void seen.push(Number((r.data as { events: { id: string } }).events.id)), error: () => undefined, complete: () => undefined },
    );
    await until(() => seen.length >= 20, '20 stored-kind events on A');
    const upTo = seen[19]!;
    // B reads every one of them from the store: written once, by the engine.
    await until(async () => {
      const page = await gql(portB, `{ eventHistory(types: [STATE_TRANSITION, STATS_UPDATE, ACTION_EXECUTED, POSITION_OPENED, POSITION_CLOSED], after: "${seen[0]! - 1}", first: 1000) { edges { cursor } } }`);
      const ids = ((page.data?.['eventHistory'] as { edges: { cursor: string }[] } | undefined)?.edges ?? []).map((e) => Number(e.cursor));
      return seen.slice(0, 20).every((id) => ids.includes(id));
    }, 'the events A saw in the store, read through B');
    expect(await metric(portA, 'tickwire_store_written_total')).toBe(0);
    expect(await metric(portB, 'tickwire_store_written_total')).toBe(0);

    // The engine restarts: ids go on past everything a client received, ticks included.
    const ticks: number[] = [];
    client.subscribe({ query: 'subscription { events(types: [TICK_RECEIVED]) { ... on Event { id } } }' }, {
      next: (r) => void ticks.push(Number((r.data as { events: { id: string } }).events.id)),
      error: () => undefined,
      complete: () => undefined,
    });
    await until(() => ticks.length > 0, 'ticks on A');
    engine.child.kill('SIGTERM');
    expect(await engine.exited).toBe(0);
    const lastBefore = Math.max(...ticks, ...seen);
    const again = start('engine-main', { ...env, RUNNERS_FILE: runners }, /tickwire engine: .*events stored in PostgreSQL/);
    await again.ready;
    const count = ticks.length;
    await until(() => ticks.length > count + 10, 'ticks after the restart');
    const after = ticks.slice(count);
    expect(Math.min(...after)).toBeGreaterThan(lastBefore);
    expect(upTo).toBeLessThan(Math.min(...after));

    // Nothing was stored twice: every stored id is unique and every row decodes.
    const db = await openDb({ databaseUrl });
    const { rows } = await db.query<{ n: number; distinct: number }>('SELECT count(*)::int AS n, count(DISTINCT (runner_id, type, ts, event::text))::int AS distinct FROM tickwire_events');
    await db.close();
    expect(rows[0]!.n).toBe(rows[0]!.distinct);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  }, 120_000);
});
