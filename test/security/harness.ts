import { appendFileSync, mkdirSync } from 'node:fs';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { EventBus, type EventBusOptions } from '../../src/log/bus.js';
import type { LocalEngine } from '../../src/engine/engine.js';
import { createEngine, type ThreadedEngineOptions } from '../../src/engine/thread/threaded.js';
import { hashToken, TokenStore } from '../../src/graphql/auth.js';
import { DEFAULT_LIMITS, type Limits } from '../../src/graphql/limits.js';
import { startServer, type ServerOptions, type TickwireServer } from '../../src/app/server.js';

/**
 * The attack suite's server: real sockets on loopback, the four principals of the
 * adversarial review, and a bystander — a client of another principal watching a runner
 * of its own — whose stream must keep flowing whatever an attacker does.
 */

/** Tokens of the review: a viewer and an operator scoped to `btc_*`, an unscoped operator. */
export const TOKENS = {
  btcViewer: 'btc-viewer-secret',
  btcOperator: 'btc-operator-secret',
  operator: 'operator-secret',
  bystander: 'bystander-secret',
} as const;

/** The token store of {@link TOKENS}. */
export function reviewTokens(): TokenStore {
  return new TokenStore([
    { name: 'btc-viewer', sha256: hashToken(TOKENS.btcViewer), role: 'viewer', runners: ['btc_*'] },
    { name: 'btc-operator', sha256: hashToken(TOKENS.btcOperator), role: 'operator', runners: ['btc_*'] },
    { name: 'operator', sha256: hashToken(TOKENS.operator), role: 'operator', runners: ['*'] },
    { name: 'bystander', sha256: hashToken(TOKENS.bystander), role: 'viewer', runners: ['bystander*'] },
  ]);
}

/** The runner the bystander watches (simulated, 200 ticks/s). */
export const BYSTANDER_RUNNER = 'bystander_sol';

/** Options of {@link startTarget}. */
export interface TargetOptions {
  /** Tokens on (the default) or an open server (`open: true`). */
  readonly open?: boolean;
  readonly limits?: Partial<Limits>;
  /** The engine's options; `threads` as ENGINE_THREADS (default 0: runners on the test's thread). */
  readonly engine?: ThreadedEngineOptions;
  /** Anything else the server takes (store, dashboardDir, …). */
  readonly server?: Partial<ServerOptions>;
  /** Runners started besides the bystander's. */
  readonly runners?: readonly unknown[];
  /**
   * Tokens other than the review's (ignored with `open`); they must still accept
   * `TOKENS.bystander` for a principal that sees `bystander*`.
   */
  readonly tokens?: TokenStore;
  /** The bus to serve (a persistence's, say), or options of a new one (a small historySize). */
  readonly bus?: EventBus | EventBusOptions;
}

/** A server under attack and what watches it. */
export interface Target {
  readonly server: TickwireServer;
  readonly bus: EventBus;
  readonly engine: LocalEngine;
  readonly bystander: Bystander;
  close(): Promise<void>;
}

/** Starts a server with the review's tokens, a bystander runner and its subscriber. */
export async function startTarget(options: TargetOptions = {}): Promise<Target> {
  const bus = options.bus instanceof EventBus ? options.bus : new EventBus(options.bus);
  const engine = createEngine(bus, { threads: 0, ...options.engine });
  const tokens = options.open === true ? null : (options.tokens ?? reviewTokens());
  const server = await startServer({
    engine,
    bus,
    port: 0,
    host: '127.0.0.1',
    tokens,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    ...options.server,
  });
  // Socket workers start after the server listens: the attacks meant for them wait for them.
  await server.workers?.ready();
  await engine.addRunner({ id: BYSTANDER_RUNNER, symbol: 'SOLUSDT', feed: { kind: 'simulated', ticksPerSecond: 200 } });
  for (const runner of options.runners ?? []) await engine.addRunner(runner);
  const bystander = await watchAsBystander(server, tokens === null ? undefined : TOKENS.bystander);
  return {
    server,
    bus,
    engine,
    bystander,
    close: async () => {
      bystander.close();
      await engine.stopAll('attack over');
      await engine.close();
      await server.close();
      bus.close();
    },
  };
}

/** A client that is not attacking anything, and what it received when. */
export interface Bystander {
  /** Arrival times (ms) of its events. */
  readonly arrivals: number[];
  close(): void;
}

async function watchAsBystander(server: TickwireServer, token: string | undefined): Promise<Bystander> {
  const client: Client = createClient({
    url: server.urls.ws,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    ...(token !== undefined ? { connectionParams: { token } } : {}),
  });
  const arrivals: number[] = [];
  let first: () => void = () => undefined;
  const started = new Promise<void>((r) => (first = r));
  client.subscribe(
    { query: `subscription { events(runnerIds: ["${BYSTANDER_RUNNER}"], types: [TICK_RECEIVED]) { ... on TickReceived { id } } }` },
    {
      next: () => {
        arrivals.push(performance.now());
        first();
      },
      error: (err) => arrivals.push(Number.NaN) && console.error('bystander failed', err),
      complete: () => undefined,
    },
  );
  await started;
  return { arrivals, close: () => void client.dispose() };
}

/** What one attack did to the server, for the assertions and the suite's table. */
export interface AttackReport {
  /** The case, e.g. `1 GET subscription, Accept: image/png`. */
  readonly name: string;
  /** What the attacker should get. */
  readonly expected: string;
  /** Bystander events per second while the attack ran. */
  readonly bystanderPerSec: number;
  /** Longest wait between two bystander events during the attack (ms). */
  readonly bystanderMaxGapMs: number;
  /** Peak RSS growth over the start of the attack (MB). */
  readonly peakRssGrowthMb: number;
  /** Peak RSS during the attack (MB). */
  readonly peakRssMb: number;
  /** How long the attack ran (ms). */
  readonly durationMs: number;
}

/**
 * Runs `attack` while sampling RSS and timing the bystander; afterwards waits for the
 * bystander's next event (a server the attack stalled fails here). The report is also
 * appended to `test-results/attack-suite.jsonl`, the table of the closing note.
 */
export async function underAttack(target: Target, name: string, expected: string, attack: () => Promise<void>): Promise<AttackReport> {
  if (global.gc !== undefined) global.gc();
  const rssStart = process.memoryUsage().rss;
  let rssPeak = rssStart;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 25);
  const seenBefore = target.bystander.arrivals.length;
  const t0 = performance.now();
  try {
    await attack();
  } finally {
    clearInterval(sampler);
  }
  const t1 = performance.now();
  rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  // The bystander still hears its runner after the attack.
  const countAfter = target.bystander.arrivals.length;
  await waitFor(() => target.bystander.arrivals.length > countAfter, `the bystander's next event after "${name}"`, 15_000);
  const during = target.bystander.arrivals.filter((t) => t >= t0 && t <= t1);
  const times = [t0, ...during, target.bystander.arrivals[countAfter] ?? t1];
  let maxGap = 0;
  for (let i = 1; i < times.length; i++) maxGap = Math.max(maxGap, times[i]! - times[i - 1]!);
  const report: AttackReport = {
    name,
    expected,
    bystanderPerSec: Math.round((during.length / Math.max(1, t1 - t0)) * 1000),
    bystanderMaxGapMs: Math.round(maxGap),
    peakRssGrowthMb: Math.round((rssPeak - rssStart) / 1e5) / 10,
    peakRssMb: Math.round(rssPeak / 1e5) / 10,
    durationMs: Math.round(t1 - t0),
  };
  if (target.bystander.arrivals.slice(seenBefore).some(Number.isNaN)) throw new Error(`the bystander's stream failed during "${name}"`);
  mkdirSync('test-results', { recursive: true });
  appendFileSync('test-results/attack-suite.jsonl', `${JSON.stringify(report)}\n`);
  return report;
}

/**
 * The bounds every attack is held to: the bystander never waits more than this for its
 * next event (it gets 200 a second), and the process never grows by more than this.
 * Generous for a busy two-core machine; the attacks they catch cost seconds and gigabytes.
 */
export const BOUNDS = { bystanderMaxGapMs: 5000, peakRssGrowthMb: 300 } as const;

/** Polls until `cond` holds; fails naming `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A GraphQL request over HTTP with a token; the status and the parsed body (or text). */
export async function gqlHttp(
  target: Target,
  query: string,
  token: string | undefined,
  variables?: Record<string, unknown>,
): Promise<{ status: number; body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] } }> {
  const res = await fetch(target.server.urls.http, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let body: never;
  try {
    body = JSON.parse(text) as never;
  } catch {
    body = { errors: [{ message: text }] } as never;
  }
  return { status: res.status, body };
}
