import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishScript, startTestServer, until, type TestServer } from './harness.js';
import { post, watch } from './transports.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

describe('queries and mutations over HTTP', () => {
  it('starts a runner with defaults and shows it in runners / runner(id)', async () => {
    const started = await post(t.server, 'mutation { startRunner(input: { id: "q1", symbol: "BTCUSDT" }) { id strategy quantity feed stopOnError params { name value } } }');
    expect(started.errors).toBeUndefined();
    expect(started.data?.['startRunner']).toEqual({
      id: 'q1',
      strategy: 'ema_crossover',
      quantity: 1,
      feed: expect.stringMatching(/simulated/),
      stopOnError: false,
      params: [
        { name: 'fastPeriod', value: 12 },
        { name: 'slowPeriod', value: 26 },
        { name: 'barSeconds', value: 5 },
      ],
    });
    const list = await post(t.server, '{ runners { id state } runner(id: "q1") { symbol stats { ticksProcessed } } missing: runner(id: "nope") { id } }');
    expect(list.data?.['runners']).toEqual([{ id: 'q1', state: expect.stringMatching(/ANALYZING|ENTERING|IN_POSITION|EXITING/) }]);
    expect(list.data?.['runner']).toMatchObject({ symbol: 'BTCUSDT' });
    expect(list.data?.['missing']).toBeNull();
    await post(t.server, 'mutation { stopRunner(id: "q1") { id } }');
  });

  it.each([
    ['a duplicate id', 'mutation { a: startRunner(input: { id: "dup", symbol: "X" }) { id } b: startRunner(input: { id: "dup", symbol: "X" }) { id } }', 'DUPLICATE_RUNNER', /already running/],
    ['an unknown strategy', 'mutation { startRunner(input: { id: "s1", symbol: "X", strategy: "moon" }) { id } }', 'INVALID_CONFIG', /unknown strategy "moon"/],
    ['a bad parameter', 'mutation { startRunner(input: { id: "s2", symbol: "X", params: [{ name: "fastPeriod", value: 0 }] }) { id } }', 'INVALID_CONFIG', /fastPeriod .* must be within/],
    ['a bad id', 'mutation { startRunner(input: { id: "has space", symbol: "X" }) { id } }', 'INVALID_CONFIG', /id: must be 1-64 characters/],
    ['a tick rate out of range', 'mutation { startRunner(input: { id: "s3", symbol: "X", feed: { ticksPerSecond: 0 } }) { id } }', 'INVALID_CONFIG', /feed.ticksPerSecond/],
    ['stopping an unknown runner', 'mutation { stopRunner(id: "ghost") { id } }', 'UNKNOWN_RUNNER', /ghost/],
  ])('refuses %s with a clear GraphQL error', async (_, query, code, message) => {
    const res = await post(t.server, query);
    const error = res.errors?.[0];
    expect(error?.extensions?.['code']).toBe(code);
    expect(error?.message).toMatch(message);
    await post(t.server, 'mutation { stopRunner(id: "dup") { id } }');
  });

  it('serves GraphiQL to a browser, wired to graphql-ws for subscriptions', async () => {
    const res = await fetch(t.server.urls.http, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<title>tickwire</title>');
    expect(html).toMatch(/subscriptionsProtocol[^,]*WS/);
    // The first page request waits for the page's build in a thread (see test/security/pages).
  }, 60_000);
});

describe('throttleMs', () => {
  it('conflates ticks to the latest per runner and window, and passes other events at once', async () => {
    const w = watch('graphql-ws', t.server, 'subscription { events(runnerIds: ["hf"], throttleMs: 100) { __typename ... on TickReceived { data { close } } } }');
    try {
      await until(() => t.bus.subscriberCount === 1, 'the subscriber');
      const tickOf = (close: number) => ({
        type: 'TickReceived' as const,
        runnerId: 'hf',
        symbol: 'HF',
        data: { symbol: 'HF', timestamp: close, open: close, high: close, low: close, close, volume: 1, bid: close, ask: close },
      });
      for (let i = 1; i <= 1000; i++) t.bus.publish(tickOf(i), 'HF');
      t.bus.publish({ type: 'RunnerStopped', runnerId: 'hf', reason: 'done', timestamp: 1 }, 'HF');
      const [first, second] = await w.take(2);
      // The stop is not held back by the window; the ticks collapse into the last one.
      expect(first).toEqual({ data: { events: { __typename: 'RunnerStopped' } } });
      expect(second).toEqual({ data: { events: { __typename: 'TickReceived', data: { close: 1000 } } } });
      // A marker after the window: whatever else the window had sent would arrive before it.
      t.bus.publish({ type: 'RunnerStopped', runnerId: 'hf', reason: 'marker', timestamp: 2 }, 'HF');
      await w.take(3);
      expect(w.results[2]).toEqual({ data: { events: { __typename: 'RunnerStopped' } } });
    } finally {
      await w.close();
    }
    await until(() => t.bus.subscriberCount === 0, 'the subscriber to go');
  });
});

describe('eventBatches', () => {
  it('delivers the same events in batches: early when full, then on the interval', async () => {
    const w = watch(
      'graphql-ws',
      t.server,
      'subscription { eventBatches(runnerIds: ["bt"], intervalMs: 50, maxSize: 400) { firstId lastId dropped events { ... on Event { id } } } }',
    );
    try {
      await until(() => t.bus.subscriberCount === 1, 'the subscriber');
      const ids: number[] = [];
      for (let i = 0; i < 1000; i++) ids.push(t.bus.publish({ type: 'RunnerStarted', runnerId: 'bt', symbol: 'BT', timestamp: i }, 'BT').id);
      const batches = (await w.take(3)).map(
        (r) => (r.data as { eventBatches: { firstId: string; lastId: string; dropped: number; events: { id: string }[] } }).eventBatches,
      );
      expect(batches.map((b) => b.events.length)).toEqual([400, 400, 200]);
      expect(batches.map((b) => [Number(b.firstId), Number(b.lastId), b.dropped])).toEqual([
        [ids[0], ids[399], 0],
        [ids[400], ids[799], 0],
        [ids[800], ids[999], 0],
      ]);
      expect(batches.flatMap((b) => b.events.map((e) => Number(e.id)))).toEqual(ids);
    } finally {
      await w.close();
    }
    await until(() => t.bus.subscriberCount === 0, 'the subscriber to go');
  });

  it('refuses a nonsensical interval or size', async () => {
    for (const [args, message] of [
      ['intervalMs: 1', 'intervalMs must be within 10..60000, got 1'],
      ['maxSize: 0', 'maxSize must be within 1..10000, got 0'],
    ] as const) {
      const w = watch('graphql-ws', t.server, `subscription { eventBatches(${args}) { dropped } }`);
      await w.settled();
      expect(JSON.stringify(w.errors)).toContain(message);
      await w.close();
    }
  });
});

describe('shared execution', () => {
  it('executes each event once for subscribers with the same document and variables', async () => {
    const stats = () => t.server.tickwire.sharedExecution.stats();
    const query = 'subscription { events(runnerIds: ["r1"]) { ... on Event { id } } }';
    const clients = [watch('graphql-ws', t.server, query), watch('graphql-ws', t.server, query), watch('graphql-ws', t.server, query)];
    const other = watch('graphql-ws', t.server, 'subscription { events(runnerIds: ["r2"]) { ... on Event { id } } }');
    try {
      await until(() => stats().members === 4, 'four members');
      expect(stats().cohorts).toBe(2);
      const before = stats().executions;
      publishScript(t.bus);
      const received = await Promise.all(clients.map((c) => c.take(4)));
      await other.take(3);
      // r1 has 4 events in the script and r2 has 3: seven executions serve all four clients.
      expect(stats().executions - before).toBe(7);
      expect(received[1]).toEqual(received[0]);
      expect(received[2]).toEqual(received[0]);
    } finally {
      for (const c of [...clients, other]) await c.close();
    }
    await until(() => stats().cohorts === 0 && t.bus.subscriberCount === 0, 'every cohort to be gone');
  });

  it('sends a member that joins a busy cohort only what was published after it joined', async () => {
    const stats = () => t.server.tickwire.sharedExecution.stats();
    const query = 'subscription { events(runnerIds: ["burst"]) { ... on Event { id } ... on RunnerStopped { reason } } }';
    // The cohort path (graphql-sse): a graphql-ws member of the delivery core has no
    // backlog of its group to skip, its log subscription starts where it joined.
    const first = watch('graphql-sse distinct', t.server, query);
    let late: ReturnType<typeof watch> | null = null;
    try {
      await until(() => stats().members === 1, 'the first member');
      const burst = 8000; // under the queue capacity of 10,000: nothing is dropped
      for (let i = 0; i < burst; i++) t.bus.publish({ type: 'StateTransition', runnerId: 'burst', from: 'Idle', to: 'Analyzing', reason: String(i), timestamp: i }, 'B');
      const lastOfBurst = t.bus.lastId;
      late = watch('graphql-sse distinct', t.server, query);
      await until(() => stats().members === 2, 'the late member', 10_000);
      // The case this test is about: the cohort still had the burst to work through.
      expect(first.results.length).toBeLessThan(burst);
      t.bus.publish({ type: 'RunnerStopped', runnerId: 'burst', reason: 'marker', timestamp: 1 }, 'B');
      const [only] = await late.take(1, 10_000);
      await first.take(burst + 1, 20_000);
      expect(only?.data).toEqual({ events: { id: String(lastOfBurst + 1), reason: 'marker' } });
      expect(late.results).toHaveLength(1);
    } finally {
      await first.close();
      await late?.close();
    }
  }, 30_000);
});
