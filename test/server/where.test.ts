import type { ExecutionResult, FormattedExecutionResult } from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EventBus } from '../../src/log/bus.js';
import type { LogEntry } from '../../src/log/types.js';
import { TradingEngine } from '../../src/engine/engine.js';
import { startServer } from '../../src/app/server.js';
import type { RunnerEvent } from '../../src/events/types.js';
import { openDb, type Db } from '../../src/store/db.js';
import { EventStore } from '../../src/store/store.js';
import { startTestServer, until, type TestServer } from './harness.js';
import { post, TRANSPORTS, watch, type TransportName } from './transports.js';

const T = 1_700_000_000_000;
const tick = (runnerId: string, n: number, close: number): RunnerEvent => ({
  type: 'TickReceived',
  runnerId,
  symbol: 'BTCUSDT',
  data: { symbol: 'BTCUSDT', timestamp: T + n, open: close, high: close, low: close, close, volume: 1, bid: close, ask: close },
});
const closed = (runnerId: string, n: number, realizedPnl: number): RunnerEvent => ({
  type: 'PositionClosed', runnerId, exitPrice: 100, realizedPnl, reason: 'x', timestamp: T + n,
});
const stopped = (runnerId: string): RunnerEvent => ({ type: 'RunnerStopped', runnerId, reason: 'end', timestamp: T });

/**
 * A runner's script: ticks around 61,000, a win and a loss, a warning, and a stop at the
 * end that says everything before it was sent. Another runner's ticks come in between.
 */
function script(runnerId: string): RunnerEvent[] {
  const closes = [60_500, 61_000, 61_000.5, 59_000, 62_000, 61_500, 60_999.99];
  return [
    ...closes.map((c, i) => tick(runnerId, i, c)),
    tick('someone_else', 99, 70_000),
    closed(runnerId, 10, 12.5),
    closed(runnerId, 11, -3),
    { type: 'Error', runnerId, error: 'slow feed', severity: 'Warning', timestamp: T + 12 },
    stopped(runnerId),
  ];
}

const SELECTION = `__typename ... on TickReceived { data { close } } ... on PositionClosed { realizedPnl } ... on RunnerError { severity }`;

/** What a result shows of an event, for comparing. */
function shown(result: ExecutionResult): string {
  const e = (result.data as { events: Record<string, unknown> }).events;
  const data = e['data'] as { close: number } | undefined;
  return `${String(e['__typename'])}${data ? ` ${data.close}` : ''}${e['realizedPnl'] !== undefined ? ` ${String(e['realizedPnl'])}` : ''}`;
}

/**
 * Waits for the bus to have exactly `n` subscribers. Each test starts from none (the
 * last one's streams close asynchronously), so this says when its own are open.
 */
async function subscribers(n: number, what: string): Promise<void> {
  await until(() => t.bus.subscriberCount === n, what);
}

let t: TestServer;
let db: Db;
let store: EventStore;
beforeAll(async () => {
  db = await openDb({ dataDir: 'memory://' });
  store = new EventStore(db);
  await store.migrate();
  t = await startTestServer({ store });
}, 60_000); // PGlite's start-up is slow on a busy machine
afterAll(async () => {
  await t.close();
  await db.close();
});

describe('where on the live stream, over every transport', () => {
  it.each(TRANSPORTS)('%s: only ticks above X, and every non-tick event of its other filters', async (transport: TransportName) => {
    const runner = `w_${transport.replace(/\W/g, '_')}`;
    const query = `subscription ($runner: ID!) {
      events(runnerIds: [$runner], where: { tickReceived: { close: { gt: 61000 } } }) { ${SELECTION} }
    }`;
    await subscribers(0, 'the streams of earlier tests to close');
    const w = watch(transport, t.server, query, { runner });
    try {
      await until(() => t.bus.subscriberCount === 1 || w.errors.length > 0, 'the subscription');
      for (const event of script(runner)) t.bus.publish(event, 'BTCUSDT');
      await until(() => w.results.some((r) => shown(r) === 'RunnerStopped') || w.errors.length > 0, 'the stop');
      expect(w.errors).toEqual([]);
      expect(w.results.map(shown)).toEqual([
        'TickReceived 61000.5',
        'TickReceived 62000',
        'TickReceived 61500',
        'PositionClosed 12.5',
        'PositionClosed -3',
        'RunnerError',
        'RunnerStopped',
      ]);
    } finally {
      await w.close();
    }
  });

  it('rejects before execution: an event the predicate drops is never executed', async () => {
    const stats = () => t.server.tickwire.sharedExecution.stats();
    const runner = 'w_exec';
    await subscribers(0, 'the streams of earlier tests to close');
    const w = watch('graphql-ws', t.server, `subscription { events(runnerIds: ["${runner}"], where: { tickReceived: { close: { gt: 61000 } }, positionClosed: { realizedPnl: { lt: 0 } } }) { ${SELECTION} } }`);
    try {
      await until(() => stats().members === 1, 'the member');
      const before = stats().executions;
      for (const event of script(runner)) t.bus.publish(event, 'BTCUSDT');
      await until(() => w.results.some((r) => shown(r) === 'RunnerStopped'), 'the stop');
      expect(w.results.map(shown)).toEqual(['TickReceived 61000.5', 'TickReceived 62000', 'TickReceived 61500', 'PositionClosed -3', 'RunnerError', 'RunnerStopped']);
      // Six events sent, six executed: the four ticks at or below 61,000 and the win cost nothing.
      expect(stats().executions - before).toBe(6);
    } finally {
      await w.close();
    }
    await until(() => stats().members === 0, 'the member to leave');
  });

  it('eventBatches carries only the matches', async () => {
    const runner = 'w_batches';
    await subscribers(0, 'the streams of earlier tests to close');
    const w = watch('graphql-ws', t.server, `subscription { eventBatches(runnerIds: ["${runner}"], intervalMs: 10, where: { tickReceived: { close: { lte: 59000 } }, runnerError: { severity: { gte: ERROR } } }) { events { __typename ... on TickReceived { data { close } } } } }`);
    try {
      await subscribers(1, 'the subscription');
      for (const event of script(runner)) t.bus.publish(event, 'BTCUSDT');
      const events = () => w.results.flatMap((r) => (r.data as { eventBatches: { events: { __typename: string; data?: { close: number } }[] } }).eventBatches.events);
      await until(() => events().some((e) => e.__typename === 'RunnerStopped'), 'the stop');
      // The warning is below ERROR: dropped, like the ticks above 59,000.
      expect(events()).toEqual([
        { __typename: 'TickReceived', data: { close: 59_000 } },
        { __typename: 'PositionClosed' },
        { __typename: 'PositionClosed' },
        { __typename: 'RunnerStopped' },
      ]);
    } finally {
      await w.close();
    }
  });

  it('two subscribers of one document with different where variables each get only their own matches', async () => {
    const stats = () => t.server.tickwire.sharedExecution.stats();
    const runner = 'w_shared';
    // Variables only in the root field's arguments: the cohorts share executions across them.
    await subscribers(0, 'the streams of earlier tests to close');
    const query = `subscription ($where: EventWhere) { events(runnerIds: ["${runner}"], where: $where) { ${SELECTION} } }`;
    const high = watch('graphql-ws', t.server, query, { where: { tickReceived: { close: { gte: 61_500 } } } });
    const low = watch('graphql-sse distinct', t.server, query, { where: { tickReceived: { close: { lt: 60_000 } }, positionClosed: { realizedPnl: { gt: 0 } } } });
    const none = watch('graphql-ws', t.server, query, {});
    try {
      await until(() => stats().members === 3, 'three members');
      // The two graphql-ws streams are one execution group of the delivery core; the graphql-sse one a cohort of its own.
      expect(stats().cohorts).toBe(2);
      const saved = stats().executionsSaved;
      for (const event of script(runner)) t.bus.publish(event, 'BTCUSDT');
      for (const w of [high, low, none]) await until(() => w.results.some((r) => shown(r) === 'RunnerStopped'), 'the stop');
      expect(high.results.map(shown)).toEqual(['TickReceived 62000', 'TickReceived 61500', 'PositionClosed 12.5', 'PositionClosed -3', 'RunnerError', 'RunnerStopped']);
      expect(low.results.map(shown)).toEqual(['TickReceived 59000', 'PositionClosed 12.5', 'RunnerError', 'RunnerStopped']);
      expect(none.results).toHaveLength(11);
      // Still shared: what one cohort executed, another of the document did not execute again.
      expect(stats().executionsSaved - saved).toBeGreaterThan(0);
    } finally {
      for (const w of [high, low, none]) await w.close();
    }
  });
});

describe('where on the history queries', () => {
  it('recentEvents honours where, after the other filters', async () => {
    const runner = 'w_recent';
    for (const event of script(runner)) t.bus.publish(event, 'BTCUSDT');
    const res = await post(
      t.server,
      `query ($runner: ID!) { recentEvents(runnerIds: [$runner], types: [TICK_RECEIVED, POSITION_CLOSED], last: 10,
        where: { tickReceived: { close: { in: [61000, 59000, 1] } }, positionClosed: { realizedPnl: { lt: 0 } } }) {
          __typename ... on TickReceived { data { close } } ... on PositionClosed { realizedPnl } } }`,
      { runner },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.['recentEvents']).toEqual([
      { __typename: 'TickReceived', data: { close: 61_000 } },
      { __typename: 'TickReceived', data: { close: 59_000 } },
      { __typename: 'PositionClosed', realizedPnl: -3 },
    ]);
  });

  it('eventHistory honours where, and its pages stay full and in order when it rejects most rows', async () => {
    // 400 closes of one runner: one in 25 a loss.
    const base = (await store.maxId()) + 1_000_000;
    const entries: LogEntry[] = Array.from({ length: 400 }, (_, i) => ({ id: base + i, symbol: 'BTCUSDT', event: closed('w_history', i, i % 25 === 7 ? -i : i) }));
    entries.push({ id: base + 400, symbol: 'BTCUSDT', event: stopped('w_history') });
    await store.insert(entries);
    const query = `query ($after: ID) {
      eventHistory(runnerIds: ["w_history"], first: 3, after: $after, where: { positionClosed: { realizedPnl: { lt: 0 } } }) {
        edges { cursor node { __typename ... on PositionClosed { realizedPnl } } }
        pageInfo { hasNextPage endCursor }
      } }`;
    type Page = { edges: { cursor: string; node: { __typename: string; realizedPnl?: number } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
    const pages: Page[] = [];
    let after: string | null = null;
    do {
      const res = await post(t.server, query, { after });
      expect(res.errors).toBeUndefined();
      const page = res.data?.['eventHistory'] as Page;
      pages.push(page);
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after !== null && pages.length < 100);
    const losses = entries.filter((e) => e.event.type === 'PositionClosed' && e.event.realizedPnl < 0).map((e) => -(e.event as { realizedPnl: number }).realizedPnl);
    expect(losses).toHaveLength(16);
    // 16 losses and the stop (not a PositionClosed, so where does not touch it): 17 edges, pages of 3.
    expect(pages.map((p) => p.edges.length)).toEqual([3, 3, 3, 3, 3, 2]);
    const nodes = pages.flatMap((p) => p.edges.map((e) => e.node));
    expect(nodes).toEqual([...losses.map((l) => ({ __typename: 'PositionClosed', realizedPnl: -l })), { __typename: 'RunnerStopped' }]);
    // The cursor of every page is the last edge's: nothing skipped, nothing twice.
    for (const page of pages) expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor);
    const cursors = pages.flatMap((p) => p.edges.map((e) => Number(e.cursor)));
    expect(cursors).toEqual([...cursors].sort((a, b) => a - b));
    expect(new Set(cursors).size).toBe(cursors.length);
  });
});

describe('where when a resume point is older than memory', () => {
  it('fills from the store with the same predicate, then history, then live', async () => {
    // The same store (its ids from 1,000,000 up are the eventHistory test's), a bus of its own.
    const bus = new EventBus({ historySize: 10 });
    const server = await startServer({ engine: new TradingEngine(bus), bus, store, port: 0, host: '127.0.0.1' });
    try {
      // 60 closes, a loss every seventh; the store has them all, the bus only the last 10.
      const pnl = (n: number) => (n % 7 === 3 ? -n : n);
      const entries = Array.from({ length: 60 }, (_, n) => bus.publish(closed('w_resume', n, pnl(n)), 'BTCUSDT'));
      await store.insert(entries);
      const w = watch('graphql-ws', server, 'subscription { events(runnerIds: ["w_resume"], after: "0", where: { positionClosed: { realizedPnl: { lt: 0 } } }) { ... on PositionClosed { id realizedPnl } } }');
      await until(() => bus.subscriberCount === 1, 'the subscriber');
      for (let n = 60; n < 70; n++) bus.publish(closed('w_resume', n, pnl(n)), 'BTCUSDT');
      const losses = Array.from({ length: 70 }, (_, n) => n).filter((n) => pnl(n) < 0);
      const got = await w.take(losses.length);
      expect(got.map((r) => (r.data as { events: { realizedPnl: number } }).events.realizedPnl)).toEqual(losses.map((n) => -n));
      await w.close();
    } finally {
      await server.close();
      bus.close();
    }
  }, 30_000);
});

/** Bad `where` arguments: [name, argument, what the message must say]. */
const BAD: readonly [string, string, RegExp][] = [
  [
    'too many operators',
    `{ tickReceived: { open: { gt: 1, gte: 1, lt: 9, lte: 9 }, high: { gt: 1, gte: 1, lt: 9, lte: 9 }, low: { gt: 1, gte: 1, lt: 9, lte: 9 },
       close: { gt: 1, gte: 1, lt: 9, lte: 9 }, volume: { gt: 1, gte: 1, lt: 9, lte: 9 } }, positionClosed: { realizedPnl: { lt: 0 } } }`,
    /where\.positionClosed\.realizedPnl\.lt is operator 21; at most 20 are allowed in one where/,
  ],
  ['too many values in an in', `{ tickReceived: { close: { in: [${Array.from({ length: 51 }, (_, i) => i).join(', ')}] } } }`, /where\.tickReceived\.close\.in has 51 values; at most 50 are allowed in one in/],
  ['an operator on a field that has none', '{ runnerStarted: { symbol: { eq: "BTCUSDT" } } }', /Field .{0,4}symbol.{0,4} is not defined by type .{0,4}RunnerStartedWhere/],
  ['an order on an enum without one', '{ actionExecuted: { action: { gt: ENTER_LONG } } }', /Field .{0,4}gt.{0,4} is not defined by type .{0,4}ActionKindCondition/],
  ['an infinite number', '{ tickReceived: { close: { gt: 1e400 } } }', /where\.tickReceived\.close\.gt must be a finite number, got Infinity/],
];

describe('a bad where is a GraphQL error naming the place, on every transport, and the connection stays', () => {
  it.each(BAD)('over HTTP (recentEvents and eventHistory): %s', async (_, where, message) => {
    for (const field of ['recentEvents(where: %) { __typename }', 'eventHistory(where: %) { pageInfo { hasNextPage } }']) {
      const res = await post(t.server, `{ ${field.replace('%', where)} }`);
      expect(res.errors?.map((e) => e.message).join(' | ')).toMatch(message);
    }
  });

  it('in variables: GraphQL names the path, and a number too large for a double is refused', async () => {
    const query = 'query ($w: EventWhere) { recentEvents(where: $w) { __typename } }';
    const unknown = await post(t.server, query, { w: { runnerStarted: { symbol: { eq: 'BTCUSDT' } } } });
    expect(unknown.errors?.[0]?.message).toMatch(/Variable "\$w" got invalid value .* at "w\.runnerStarted"; Field "symbol" is not defined by type "RunnerStartedWhere"/);
    const tooMany = await post(t.server, query, { w: { tickReceived: { close: { in: Array.from({ length: 51 }, (_, i) => i) } } } });
    expect(tooMany.errors?.[0]?.message).toMatch(/where\.tickReceived\.close\.in has 51 values; at most 50/);
    expect(tooMany.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    // JSON.parse reads 1e400 as Infinity; Float refuses it before the resolver.
    const res = await fetch(t.server.urls.http, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: `{"query": ${JSON.stringify(query)}, "variables": {"w": {"tickReceived": {"close": {"gt": 1e400}}}}}`,
    });
    const body = (await res.json()) as { errors?: { message: string }[] };
    expect(body.errors?.[0]?.message).toMatch(/at "w\.tickReceived\.close\.gt"; Float cannot represent non numeric value: Infinity/);
  });

  it.each(BAD)('over every streaming transport: %s', async (_, where, message) => {
    for (const transport of TRANSPORTS) {
      const w = watch(transport, t.server, `subscription { events(where: ${where}) { __typename } }`);
      await w.settled();
      expect(JSON.stringify(w.errors), transport).toMatch(message);
      await w.close();
    }
  });

  it('graphql-ws: the socket survives a bad where, and the same client subscribes again', async () => {
    await subscribers(0, 'the streams of earlier tests to close');
    let closes = 0;
    const client = createWsClient({ url: t.server.urls.ws, webSocketImpl: WebSocket, retryAttempts: 0, on: { closed: () => void closes++ } });
    try {
      for (const [, where, message] of BAD) {
        const errors = await new Promise<unknown>((resolve) => {
          client.subscribe({ query: `subscription { events(where: ${where}) { __typename } }` }, { next: (v) => resolve(v.errors), error: resolve, complete: () => resolve('completed') });
        });
        expect(JSON.stringify(errors)).toMatch(message);
      }
      const runner = 'w_after_bad_ws';
      const got = new Promise<FormattedExecutionResult>((resolve, reject) => {
        client.subscribe({ query: `subscription { events(runnerIds: ["${runner}"], where: { tickReceived: { close: { gt: 0 } } }) { __typename } }` }, { next: resolve, error: reject, complete: () => undefined });
      });
      await subscribers(1, 'the good subscription');
      t.bus.publish(stopped(runner), 'X');
      expect((await got).data).toEqual({ events: { __typename: 'RunnerStopped' } });
      expect(closes).toBe(0);
    } finally {
      await client.dispose();
    }
  });

  it('graphql-sse single connection: the stream survives a bad where, and the same client subscribes again', async () => {
    await subscribers(0, 'the streams of earlier tests to close');
    const client = createSseClient({ url: t.server.urls.sse, singleConnection: true, retryAttempts: 0 });
    try {
      for (const [, where, message] of BAD) {
        const errors = await new Promise<unknown>((resolve) => {
          client.subscribe({ query: `subscription { events(where: ${where}) { __typename } }` }, {
            next: (v) => resolve(v.errors),
            error: (e) => {
              const response = (e as { response?: Response } | null)?.response;
              resolve(response ? response.text() : e);
            },
            complete: () => resolve('completed'),
          });
        });
        expect(JSON.stringify(await errors)).toMatch(message);
      }
      const runner = 'w_after_bad_sse';
      const got = new Promise<FormattedExecutionResult>((resolve, reject) => {
        client.subscribe({ query: `subscription { events(runnerIds: ["${runner}"]) { __typename } }` }, { next: resolve, error: reject, complete: () => undefined });
      });
      await subscribers(1, 'the good subscription');
      t.bus.publish(stopped(runner), 'X');
      expect((await got).data).toEqual({ events: { __typename: 'RunnerStopped' } });
    } finally {
      client.dispose();
    }
  });
});
