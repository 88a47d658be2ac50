import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { publishScript, startTestServer, until, type TestServer } from './harness.js';
import { TRANSPORTS, watch } from './transports.js';

const SELECTION = `__typename ... on Event { id runnerId }`;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});
// Every test starts with no subscriber left over from the one before.
afterEach(async () => {
  await until(() => t.bus.subscriberCount === 0, 'subscribers of the last test to be removed');
});

/** Subscribes, waits until the server has the subscriber, publishes the script, returns the ids received. */
async function idsFor(transport: (typeof TRANSPORTS)[number], args: string, expected: number): Promise<number[]> {
  const w = watch(transport, t.server, `subscription { events${args} { ${SELECTION} } }`);
  try {
    await until(() => t.bus.subscriberCount === 1, 'the server-side subscriber');
    const ids = publishScript(t.bus);
    const first = ids[0]!;
    // The last expected event arrives last (publish order), so nothing unmatched can follow
    // unseen: when it is in, every earlier event has been decided.
    const results = await w.take(expected);
    return results.map((r) => Number((r.data as { events: { id: string } }).events.id) - first + 1);
  } finally {
    await w.close();
  }
}

// Ids are 1-based positions in SCRIPT (test/server/harness.ts): r1/r3 trade AAA, r2 BBB.
const CASES: readonly [string, string, number[]][] = [
  ['runnerIds', '(runnerIds: ["r1"])', [1, 2, 4, 9]],
  ['symbols', '(symbols: ["AAA"])', [1, 2, 4, 6, 7, 9, 10]],
  ['types', '(types: [TICK_RECEIVED, ERROR])', [2, 3, 4, 5, 7]],
  ['minSeverity', '(minSeverity: ERROR)', [1, 2, 4, 5, 6, 7, 8, 9, 10]],
  ['combined', '(symbols: ["AAA"], types: [ERROR, TICK_RECEIVED], minSeverity: CRITICAL)', [2, 4]],
  ['OR inside a list', '(runnerIds: ["r2", "r3", "nobody-yet"])', [3, 5, 6, 7, 8, 10]],
  ['no arguments', '', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]],
];

describe.each(TRANSPORTS)('subscriptions over %s', (transport) => {
  it.each(CASES)('filters by %s: only matching events, in publish order', async (_, args, expected) => {
    expect(await idsFor(transport, args, expected.length)).toEqual(expected);
  });

  it('sends only the selected fields', async () => {
    const w = watch(transport, t.server, 'subscription { events(types: [TICK_RECEIVED]) { ... on TickReceived { data { close } } } }');
    try {
      await until(() => t.bus.subscriberCount === 1, 'the subscriber');
      publishScript(t.bus);
      const [a, b] = await w.take(2);
      expect(a).toEqual({ data: { events: { data: { close: 10.5 } } } });
      expect(b).toEqual({ data: { events: { data: { close: 20.5 } } } });
    } finally {
      await w.close();
    }
  });

  it('serves two clients with different filters at once', async () => {
    const a = watch(transport, t.server, `subscription { events(runnerIds: ["r2"]) { ${SELECTION} } }`);
    const b = watch(transport, t.server, `subscription { events(types: [RUNNER_STARTED, RUNNER_STOPPED]) { ${SELECTION} } }`);
    try {
      await until(() => t.bus.subscriberCount === 2, 'both subscribers');
      publishScript(t.bus);
      const ra = await a.take(3);
      const rb = await b.take(2);
      const runners = (rs: typeof ra) => rs.map((r) => (r.data as { events: { runnerId: string; __typename: string } }).events);
      expect(runners(ra).map((e) => [e.runnerId, e.__typename])).toEqual([
        ['r2', 'RunnerError'],
        ['r2', 'TickReceived'],
        ['r2', 'PositionClosed'],
      ]);
      expect(runners(rb).map((e) => e.__typename)).toEqual(['RunnerStarted', 'RunnerStopped']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('removes the server-side subscriber when the client goes away', async () => {
    const w = watch(transport, t.server, `subscription { events { ${SELECTION} } }`);
    await until(() => t.bus.subscriberCount === 1, 'the subscriber');
    await w.close();
    await until(() => t.bus.subscriberCount === 0, 'the subscriber to be removed');
    expect(t.bus.subscriberCount).toBe(0);
  });

  it('answers invalid arguments with a GraphQL error, not a stream', async () => {
    const ids = Array.from({ length: 1001 }, (_, i) => `r${i}`);
    const tooMany = watch(transport, t.server, 'subscription ($ids: [ID!]) { events(runnerIds: $ids) { __typename } }', { ids });
    await tooMany.settled();
    expect(JSON.stringify(tooMany.errors)).toContain('runnerIds has 1001 entries; at most 1000 are allowed');
    await tooMany.close();

    const badEnum = watch(transport, t.server, 'subscription { events(types: [NOPE]) { __typename } }');
    await badEnum.settled();
    expect(JSON.stringify(badEnum.errors)).toMatch(/NOPE/);
    await badEnum.close();
    expect(t.bus.subscriberCount).toBe(0);
  });

  it('replays the last N matching events, then goes on live', async () => {
    const first = publishScript(t.bus)[0]!;
    const w = watch(transport, t.server, `subscription { events(runnerIds: ["r1"], replay: 2) { ${SELECTION} } }`);
    try {
      await until(() => t.bus.subscriberCount === 1, 'the subscriber');
      publishScript(t.bus);
      const ids = (await w.take(6)).map((r) => Number((r.data as { events: { id: string } }).events.id) - first + 1);
      // r1's events are script positions 1, 2, 4, 9: the last two kept, then the next run live.
      expect(ids).toEqual([4, 9, 11, 12, 14, 19]);
    } finally {
      await w.close();
    }
  });

  it('resumes after an id with no gap and no duplicate', async () => {
    const ids = publishScript(t.bus);
    const w = watch(transport, t.server, 'subscription ($after: ID) { events(after: $after) { ... on Event { id } } }', { after: String(ids[6]) });
    try {
      await until(() => t.bus.subscriberCount === 1, 'the subscriber');
      const more = publishScript(t.bus);
      const got = (await w.take(13)).map((r) => Number((r.data as { events: { id: string } }).events.id));
      expect(got).toEqual([ids[7], ids[8], ids[9], ...more]);
    } finally {
      await w.close();
    }
  });

  it('refuses nonsensical history arguments', async () => {
    for (const [args, message] of [
      ['replay: -1', 'replay must be within 0..100000, got -1'],
      ['replay: 5, after: "3"', 'give replay or after, not both'],
      ['after: "soon"', 'after must be an event id'],
    ] as const) {
      const w = watch(transport, t.server, `subscription { events(${args}) { __typename } }`);
      await w.settled();
      expect(JSON.stringify(w.errors)).toContain(message);
      await w.close();
    }
  });

  it('shows startRunner / stopRunner live as lifecycle events', async () => {
    const id = `live-${transport.replace(/\W+/g, '-')}`;
    const w = watch(
      transport,
      t.server,
      `subscription ($id: ID!) { events(runnerIds: [$id], types: [RUNNER_STARTED, RUNNER_STOPPED]) {
        __typename ... on RunnerStarted { symbol } ... on RunnerStopped { reason } } }`,
      { id },
    );
    try {
      await until(() => t.bus.subscriberCount === 1, 'the subscriber');
      const { post } = await import('./transports.js');
      const started = await post(t.server, 'mutation ($id: ID!) { startRunner(input: { id: $id, symbol: "ETHUSDT" }) { id state } }', { id });
      expect(started.errors).toBeUndefined();
      const stopped = await post(t.server, 'mutation ($id: ID!) { stopRunner(id: $id, reason: "enough") { id state } }', { id });
      expect(stopped.data).toEqual({ stopRunner: { id, state: 'STOPPED' } });
      const events = (await w.take(2)).map((r) => (r.data as { events: unknown }).events);
      expect(events).toEqual([
        { __typename: 'RunnerStarted', symbol: 'ETHUSDT' },
        { __typename: 'RunnerStopped', reason: 'enough' },
      ]);
    } finally {
      await w.close();
    }
  });
});
