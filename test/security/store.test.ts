import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { Db } from '../../src/store/db.js';
import { EventStore } from '../../src/store/store.js';
import { DEFAULT_STORE_TYPES } from '../../src/app/config.js';
import { postgresAvailable, privatePglite, privatePostgres, type TestDbOptions } from '../store/databases.js';
import { BOUNDS, BYSTANDER_RUNNER, gqlHttp, startTarget, TOKENS, underAttack, waitFor, type Target } from './harness.js';

/**
 * Issue 21, item 3: a `where` that matches nothing read the whole store. `where` did not
 * count against MAX_COST (13 aliases of eventHistory(where:, first: 1000) fit in one
 * request), store reads had no timeout, and `events(after:, where:)` backfilled by
 * scanning the store once per subscription. Each case runs on the real PostgreSQL and the
 * real PGlite, with the bystander's stream watched, and a cheap history read of the
 * bystander beside the attack.
 */

const T = 1_700_000_000_000;
/**
 * The bounds docs/operations.md states (HISTORY_SCAN_ROWS, BACKFILL_SCAN_ROWS; test/store/read-bounds
 * checks they are the code's): literals here, so this suite runs, and fails, on code
 * without them.
 */
const HISTORY_SCAN_ROWS = 10_000;
const BACKFILL_SCAN_ROWS = 100_000;
/** Rows of the big store: StatsUpdate events of eth_main, ids 1..BIG, none with ticksProcessed ≥ 0. */
const BIG = BACKFILL_SCAN_ROWS + HISTORY_SCAN_ROWS;
/** A `where` no stored row matches (every stored ticksProcessed is negative); live StatsUpdates do. */
const NOTHING_STORED = '{ statsUpdate: { ticksProcessed: { gte: 0 } } }';
/** The query timeout of the slow-read case. */
const TIMEOUT_MS = 300;

/** StatsUpdate events of eth_main in one statement (the store's own insert would spend minutes on JSON here). */
async function fillBig(db: Db): Promise<void> {
  await db.query(
    `INSERT INTO tickwire_events (id, runner_id, symbol, type, severity, ts, event)
     SELECT g, 'eth_main', 'ETHUSDT', 'StatsUpdate', NULL, ${T} + g,
       jsonb_build_object('type', 'StatsUpdate', 'data', jsonb_build_object('runnerId', 'eth_main', 'ticksProcessed', -g, 'actionsExecuted', 0,
         'errorRate', 0, 'realizedPnl', 0, 'lastPrice', 1.5, 'ticksPerSecond', 100, 'openPosition', NULL, 'timestamp', ${T} + g))
     FROM generate_series(1, ${BIG}) g`,
  );
}

/**
 * Forty StatsUpdate events of 1 MB each (an open position whose symbol is 1 MB long: the
 * store keeps what the log gave it). PostgreSQL compresses them; every comparison of a
 * `where` decompresses the event again, so a `where` of many operators over these forty
 * rows takes seconds, well past {@link TIMEOUT_MS}, on any machine.
 */
async function fillHeavy(db: Db, fromId: number): Promise<void> {
  await db.query(
    `INSERT INTO tickwire_events (id, runner_id, symbol, type, severity, ts, event)
     SELECT g, 'heavy', 'HEAVY', 'StatsUpdate', NULL, ${T} + g,
       jsonb_build_object('type', 'StatsUpdate', 'data', jsonb_build_object('runnerId', 'heavy', 'ticksProcessed', g, 'actionsExecuted', 0,
         'errorRate', 0, 'realizedPnl', 0, 'lastPrice', 1.5, 'ticksPerSecond', 100, 'timestamp', ${T} + g,
         'openPosition', jsonb_build_object('symbol', repeat('x', 1000000), 'side', 'LONG', 'quantity', 1, 'entryPrice', 1, 'entryTime', ${T})))
     FROM generate_series(${fromId}, ${fromId + 39}) g`,
  );
}

/** Twenty operators on the heavy rows, each true but the last: every one is evaluated on every row. */
const HEAVY_WHERE = (() => {
  const all = '{ gt: -1e9, gte: -1e9, lt: 1e12, lte: 1e12 }';
  return `{ statsUpdate: { ticksProcessed: ${all}, actionsExecuted: ${all}, errorRate: ${all}, realizedPnl: ${all}, ticksPerSecond: { gt: -1e9, gte: -1e9, lt: 1e12, lte: -1 } } }`;
})();

/** A few small events of the bystander's runner after `fromId`: what its cheap read returns. */
async function fillBystander(store: EventStore, fromId: number): Promise<void> {
  await store.insert(
    Array.from({ length: 5 }, (_, i) => ({
      id: fromId + i,
      symbol: 'SOLUSDT',
      event: { type: 'RunnerStarted' as const, runnerId: BYSTANDER_RUNNER, symbol: 'SOLUSDT', timestamp: T + i },
    })),
  );
}

/** The bystander's cheap read of the store: five of its own events through the runner index. */
const CHEAP_HISTORY = `{ eventHistory(runnerIds: ["${BYSTANDER_RUNNER}"], first: 5) { edges { cursor } } }`;

async function timed<R>(work: () => Promise<R>): Promise<{ value: R; ms: number }> {
  const t0 = performance.now();
  const value = await work();
  return { value, ms: Math.round(performance.now() - t0) };
}

/** The bystander's cheap read; fails the test on any error. */
async function cheapRead(target: Target): Promise<number> {
  const { value, ms } = await timed(() => gqlHttp(target, CHEAP_HISTORY, TOKENS.bystander));
  expect(value.body.errors, JSON.stringify(value.body.errors)).toBeUndefined();
  expect((value.body.data?.['eventHistory'] as { edges: unknown[] }).edges).toHaveLength(5);
  return ms;
}

/**
 * `n` aliases of eventHistory with a where that matches nothing stored, selecting little,
 * as the attack did: GraphQL Armor's cost (which multiplies what is selected by `first`)
 * let 13 of these through.
 */
const aliases = (n: number, selection = '{ pageInfo { hasNextPage } }') =>
  `{ ${Array.from({ length: n }, (_, i) => `a${i}: eventHistory(where: ${NOTHING_STORED}, first: 1000) ${selection}`).join(' ')} }`;

interface Streamed {
  readonly items: Record<string, unknown>[];
  readonly errors: unknown[];
  dispose(): void;
}

/** A graphql-ws subscription of `token`, collecting what it receives. */
function subscribe(target: Target, token: string, query: string): Streamed {
  const client = createClient({ url: target.server.urls.ws, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { token } });
  const items: Record<string, unknown>[] = [];
  const errors: unknown[] = [];
  client.subscribe(
    { query },
    {
      next: (r) => void (r.errors ? errors.push(r.errors) : items.push((r.data as { events: Record<string, unknown> }).events)),
      error: (err) => void errors.push(err),
      complete: () => undefined,
    },
  );
  return { items, errors, dispose: () => void client.dispose() };
}

describe.each([
  ['PostgreSQL', postgresAvailable, (options: TestDbOptions) => privatePostgres(undefined, options)],
  ['PGlite', true, (options: TestDbOptions) => privatePglite(options)],
] as const)('attack suite: reading the store (issue 21, item 3) on %s', (backend, available, open) => {
  /** The big store (default query timeout) and the heavy one (TIMEOUT_MS). */
  let big: { db: Db; drop(): Promise<void> };
  let heavy: { db: Db; drop(): Promise<void> };
  let bigStore: EventStore;
  let heavyStore: EventStore;

  beforeAll(async () => {
    if (!available) return;
    big = await open({});
    bigStore = new EventStore(big.db, DEFAULT_STORE_TYPES);
    await bigStore.migrate();
    await fillBig(big.db);
    await fillBystander(bigStore, BIG + 1);
    // What the store does itself every 50,000 rows it inserts (this fill went around it).
    await big.db.query('ANALYZE tickwire_events');
    heavy = await open({ queryTimeoutMs: TIMEOUT_MS });
    heavyStore = new EventStore(heavy.db, DEFAULT_STORE_TYPES);
    await heavyStore.migrate();
    await fillHeavy(heavy.db, 1);
    await fillBystander(heavyStore, 41);
  }, 240_000);

  afterAll(async () => {
    await big?.drop();
    await heavy?.drop();
  });

  it.runIf(available)(`3a three parallel requests of 13 aliases of eventHistory(where: matches nothing, first: 1000) over ${BIG} stored events`, async () => {
    const target = await startTarget({ server: { store: bigStore }, bus: { startAfter: BIG + 5 } });
    try {
      const alone = await cheapRead(target);
      let cheapDuring = 0;
      let attackMs = 0;
      const report = await underAttack(target, `3a ${backend}: 3 × 13 aliases of eventHistory(where), operator`, 'refused by the cost limit: each where-read counts the 10,000 stored events it may read', async () => {
        const attack = timed(() => Promise.all([0, 1, 2].map(() => gqlHttp(target, aliases(13), TOKENS.operator))));
        cheapDuring = await cheapRead(target);
        const { value: answers, ms } = await attack;
        attackMs = ms;
        console.log(`[3a ${backend}] three 13-alias requests: ${attackMs} ms; bystander's cheap eventHistory ${alone} ms alone, ${cheapDuring} ms during`);
        for (const answer of answers) {
          expect(answer.body.data ?? null).toBeNull();
          expect(answer.body.errors?.[0]?.extensions?.['code'], JSON.stringify(answer.body.errors)).toBe('COST_LIMIT');
          expect(answer.body.errors?.[0]?.message).toMatch(/^Query cost limit of 100000 exceeded, found 130000: .*eventHistory with where or minSeverity.* the 10000 stored events it may read \(MAX_COST\)/);
        }
      });
      console.log(`[3a ${backend}]`, report);
      expect(report.bystanderMaxGapMs).toBeLessThan(BOUNDS.bystanderMaxGapMs);
      expect(report.peakRssGrowthMb).toBeLessThan(BOUNDS.peakRssGrowthMb);

      // What the limit still allows reads 10,000 rows per alias and says where to go on.
      // (Three aliases, not the ten allowed: PGlite reads one at a time, and ten on a busy
      // machine may take longer than STORE_QUERY_TIMEOUT_MS together.)
      const allowed = await timed(() => gqlHttp(target, aliases(3, '{ pageInfo { hasNextPage endCursor } }'), TOKENS.operator));
      const cheapAfter = await cheapRead(target);
      console.log(`[3a ${backend}] one 3-alias request (allowed): ${allowed.ms} ms; then the cheap eventHistory ${cheapAfter} ms`);
      expect(allowed.value.body.errors).toBeUndefined();
      const pages = Object.values(allowed.value.body.data ?? {});
      expect(pages).toHaveLength(3);
      for (const page of pages) expect(page).toEqual({ pageInfo: { hasNextPage: true, endCursor: String(HISTORY_SCAN_ROWS) } });
    } finally {
      await target.close();
    }
  }, 120_000);

  it.runIf(available)('3b a where of twenty operators over forty 1 MB events: a read far slower than STORE_QUERY_TIMEOUT_MS', async () => {
    // A socket worker serves graphql-ws: its reads go through the server process's store.
    // The log goes on after the stored ids, so a resume from 0 is filled from the store.
    const target = await startTarget({ server: { store: heavyStore, workers: 1 }, bus: { startAfter: 45 } });
    const resume = subscribe(target, TOKENS.operator, `subscription { events(after: "0", runnerIds: ["heavy"], where: ${HEAVY_WHERE}) { __typename ... on StreamGap { missed fromId toId reason } } }`);
    try {
      const query = `{ eventHistory(runnerIds: ["heavy"], where: ${HEAVY_WHERE}, first: 1) { edges { cursor } } }`;
      let cheapDuring: number | null = null;
      const report = await underAttack(target, `3b ${backend}: a read slower than the query timeout, over HTTP and graphql-ws`, 'STORE_TIMEOUT after the timeout, naming STORE_QUERY_TIMEOUT_MS, and a StreamGap saying so to a resume; the server goes on', async () => {
        const overHttp = gqlHttp(target, query, TOKENS.operator);
        const overWs = wsQuery(target, query);
        // Beside the slow reads: a query that needs no store answers, and on PostgreSQL (a
        // pool of readers, each statement ended by the server) the bystander's cheap read too.
        const [runners, cheap] = await Promise.all([gqlHttp(target, '{ runners { id } }', TOKENS.bystander), backend === 'PostgreSQL' ? cheapRead(target) : null]);
        expect(runners.body.errors).toBeUndefined();
        cheapDuring = cheap;
        for (const answer of [(await overHttp).body, await overWs]) {
          expect(answer.errors?.[0]?.extensions?.['code'], JSON.stringify(answer)).toBe('STORE_TIMEOUT');
          expect(answer.errors?.[0]?.message).toMatch(new RegExp(`^the event store did not answer within ${TIMEOUT_MS} ms \\(STORE_QUERY_TIMEOUT_MS\\); narrow the query`));
        }
        // The resume's backfill read the same way: its StreamGap says why it stopped.
        await waitFor(() => resume.items.length > 0 || resume.errors.length > 0, "the resume's notice", 60_000);
        expect(resume.errors).toEqual([]);
        // From the resume point to where the history of the socket worker serving it begins.
        expect(resume.items[0]).toMatchObject({ __typename: 'StreamGap', fromId: '1' });
        expect(resume.items[0]!['missed']).toBe(Number(resume.items[0]!['toId']));
        expect(resume.items[0]!['missed']).toBeGreaterThanOrEqual(45);
        expect(resume.items[0]!['reason']).toMatch(new RegExp(`could not fill it \\(the event store did not answer within ${TIMEOUT_MS} ms \\(STORE_QUERY_TIMEOUT_MS\\)\\)$`));
      });
      console.log(`[3b ${backend}] cheap eventHistory during the slow read: ${cheapDuring ?? 'not tried (PGlite runs one statement at a time)'} ms`, report);
      expect(report.bystanderMaxGapMs).toBeLessThan(BOUNDS.bystanderMaxGapMs);
      expect(report.peakRssGrowthMb).toBeLessThan(BOUNDS.peakRssGrowthMb);
      // PGlite cannot end a statement that has started: the cheap read answers again once
      // the thread is done with it (each try is a read with its own deadline).
      let answered = false;
      const deadline = Date.now() + 90_000;
      while (!answered && Date.now() < deadline) {
        const answer = await gqlHttp(target, CHEAP_HISTORY, TOKENS.bystander);
        answered = answer.body.errors === undefined;
        if (!answered) expect(answer.body.errors?.[0]?.extensions?.['code']).toBe('STORE_TIMEOUT');
      }
      expect(answered).toBe(true);
    } finally {
      resume.dispose();
      await target.close();
    }
  }, 180_000);

  it.runIf(available)(`3c events(after: "0", where: matches nothing) and a scoped resume over ${BIG} stored events of another runner`, async () => {
    const target = await startTarget({
      server: { store: bigStore },
      bus: { startAfter: BIG + 5 },
      runners: [{ id: 'btc_main', symbol: 'BTCUSDT', feed: { kind: 'simulated', ticksPerSecond: 20 }, statsIntervalMs: 200 }],
    });
    try {
      const operator = subscribe(target, TOKENS.operator, `subscription { events(after: "0", types: [STATS_UPDATE], where: ${NOTHING_STORED}) { __typename ... on StreamGap { missed fromId toId reason } ... on StatsUpdate { id runnerId } } }`);
      const viewer = subscribe(target, TOKENS.btcViewer, 'subscription { events(after: "0", types: [STATS_UPDATE]) { __typename ... on StreamGap { missed fromId toId reason } ... on StatsUpdate { id runnerId } } }');
      const live = (s: Streamed) => s.items.some((item) => item['__typename'] === 'StatsUpdate');
      try {
        const report = await underAttack(target, `3c ${backend}: resumes from 0 whose filters reject ${BIG} stored events`, `stop after ${BACKFILL_SCAN_ROWS} rejected, a StreamGap naming the rest, then live events`, async () => {
          await waitFor(() => (live(operator) && live(viewer)) || operator.errors.length + viewer.errors.length > 0, 'live events after the backfills', 120_000);
        });
        console.log(`[3c ${backend}]`, report);
        expect(operator.errors).toEqual([]);
        expect(viewer.errors).toEqual([]);
        // Before any live event: the notice of the search that stopped, with the range it left.
        expect(operator.items[0]).toMatchObject({ __typename: 'StreamGap', missed: BIG + 5 - BACKFILL_SCAN_ROWS, fromId: String(BACKFILL_SCAN_ROWS + 1), toId: String(BIG + 5) });
        expect(operator.items[0]!['reason']).toMatch(new RegExp(`rejected ${BACKFILL_SCAN_ROWS} stored events.*events ${BACKFILL_SCAN_ROWS + 1}\\.\\.${BIG + 5} were not searched; eventHistory\\(after: "${BACKFILL_SCAN_ROWS}"\\)`));
        // The scoped reader is told in words, without the shared log's numbers.
        expect(viewer.items[0]).toMatchObject({ __typename: 'StreamGap', missed: null, fromId: null, toId: null });
        expect(viewer.items[0]!['reason']).toMatch(/^the event store search for this resume stopped at its bound/);
        expect(viewer.items.filter((i) => i['__typename'] === 'StatsUpdate').every((i) => String(i['runnerId']).startsWith('btc_'))).toBe(true);
        expect(report.bystanderMaxGapMs).toBeLessThan(BOUNDS.bystanderMaxGapMs);
        expect(report.peakRssGrowthMb).toBeLessThan(BOUNDS.peakRssGrowthMb);
      } finally {
        operator.dispose();
        viewer.dispose();
      }
    } finally {
      await target.close();
    }
  }, 180_000);
});

/** One query over graphql-ws (a socket worker where the server has them), as the operator. */
function wsQuery(target: Target, query: string): Promise<{ data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] }> {
  const client = createClient({ url: target.server.urls.ws, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { token: TOKENS.operator } });
  return new Promise((resolve, reject) => {
    let result: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] } = {};
    client.subscribe(
      { query },
      {
        next: (r) => void (result = r as typeof result),
        error: (err) => reject(err instanceof Error ? err : new Error(JSON.stringify(err))),
        complete: () => resolve(result),
      },
    );
  }).finally(() => void client.dispose()) as Promise<{ data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] }>;
}
