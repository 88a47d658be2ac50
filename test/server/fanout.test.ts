import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunnerEvent } from '../../src/events/types.js';
import { variablesOnlyInRootArguments } from '../../src/graphql/shared-execution.js';
import { startTestServer, until, type TestServer } from './harness.js';
import { watch, type Watch } from './transports.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

const stats = () => t.server.tickwire.sharedExecution.stats();

const RUNNERS = ['fa', 'fb', 'fc', 'fd'] as const;
type GqlType = 'TICK_RECEIVED' | 'STATE_TRANSITION' | 'RUNNER_STARTED' | 'RUNNER_STOPPED';
const GQL_TYPE: Record<string, GqlType> = {
  TickReceived: 'TICK_RECEIVED',
  StateTransition: 'STATE_TRANSITION',
  RunnerStarted: 'RUNNER_STARTED',
  RunnerStopped: 'RUNNER_STOPPED',
};
// Every list but `null` holds RUNNER_STOPPED, so the closing markers reach every subscriber.
const TYPE_SETS: readonly (readonly GqlType[] | null)[] = [
  null,
  ['TICK_RECEIVED', 'RUNNER_STOPPED'],
  ['TICK_RECEIVED', 'STATE_TRANSITION', 'RUNNER_STOPPED'],
  ['STATE_TRANSITION', 'RUNNER_STARTED', 'RUNNER_STOPPED'],
  ['RUNNER_STARTED', 'RUNNER_STOPPED'],
];

interface Filter {
  readonly runnerIds: readonly string[];
  readonly types: readonly GqlType[] | null;
}

/** Subscriber i: a pair of neighbouring runners and one of the type sets; 20 distinct pairs. */
const filterOf = (i: number): Filter => ({
  runnerIds: [RUNNERS[i % 4]!, RUNNERS[(i + 1) % 4]!],
  types: TYPE_SETS[Math.floor(i / 4)]!,
});

const accepts = (filter: Filter, event: RunnerEvent) =>
  filter.runnerIds.includes(event.runnerId) && (filter.types === null || filter.types.includes(GQL_TYPE[event.type]!));

function eventOf(i: number, runnerId: string): RunnerEvent {
  switch (i % 3) {
    case 0:
      return {
        type: 'TickReceived',
        runnerId,
        symbol: 'FAN',
        data: { symbol: 'FAN', timestamp: i, open: i, high: i, low: i, close: i, volume: 1, bid: i, ask: i },
      };
    case 1:
      return { type: 'StateTransition', runnerId, from: 'Idle', to: 'Analyzing', reason: `step ${i}`, timestamp: i };
    default:
      return { type: 'RunnerStarted', runnerId, symbol: 'FAN', timestamp: i };
  }
}

const QUERY = `subscription Fan($runnerIds: [ID!], $types: [EventType!]) {
  events(runnerIds: $runnerIds, types: $types) {
    __typename
    ... on Event { id runnerId type }
    ... on TickReceived { data { close } }
    ... on StateTransition { reason }
  }
}`;

interface Received {
  readonly id: string;
  readonly runnerId: string;
  readonly type: GqlType;
}

const idsOf = (w: Watch, n: number) => w.results.slice(0, n).map((r) => Number((r.data as { events: Received }).events.id));

describe('execution shared across variables', () => {
  it('executes each event once for 20 subscribers with their own filters, and each gets exactly its own events', async () => {
    const published: { id: number; event: RunnerEvent }[] = [];
    const publish = (event: RunnerEvent) => published.push({ id: t.bus.publish(event, 'FAN').id, event });
    // Published before anyone subscribed: nobody may see these.
    for (let i = 0; i < 30; i++) publish(eventOf(i, RUNNERS[i % 4]!));

    const watches: { w: Watch; filter: Filter; joinedAfter: number }[] = [];
    const join = async (from: number, to: number) => {
      const joinedAfter = t.bus.lastId;
      for (let i = from; i < to; i++) watches.push({ w: watch('graphql-ws', t.server, QUERY, { ...filterOf(i) }), filter: filterOf(i), joinedAfter });
      await until(() => stats().members === to, `${to} members`);
    };
    try {
      await join(0, 10);
      const before = stats();
      const firstPublished = published.length;
      for (let i = 0; i < 120; i++) publish(eventOf(i, RUNNERS[(i * 7) % 4]!));
      // A second wave joins while the first is being served: it must not see the first wave's events.
      await join(10, 20);
      // Variables that only choose the stream: one execution group for all twenty.
      expect(stats().cohorts).toBe(1);
      for (let i = 0; i < 120; i++) publish(eventOf(i + 1, RUNNERS[(i * 5) % 4]!));
      // Every subscriber's runner pair holds fa or fc, and every type set RUNNER_STOPPED.
      for (const runnerId of ['fa', 'fc']) publish({ type: 'RunnerStopped', runnerId, reason: 'marker', timestamp: 1 });

      let expectedDeliveries = 0;
      for (const { w, filter, joinedAfter } of watches) {
        const expected = published.filter((p) => p.id > joinedAfter && accepts(filter, p.event));
        expectedDeliveries += expected.length;
        await w.take(expected.length, 10_000);
        expect(idsOf(w, expected.length)).toEqual(expected.map((p) => p.id));
        const last = w.results.at(-1)?.data as { events: Received };
        expect(last.events.type).toBe('RUNNER_STOPPED');
        for (const r of w.results) {
          const e = (r.data as { events: Received }).events;
          expect(filter.runnerIds).toContain(e.runnerId);
          if (filter.types !== null) expect(filter.types).toContain(e.type);
        }
      }
      const after = stats();
      const sinceFirstJoin = published.length - firstPublished;
      expect(after.deliveries - before.deliveries).toBe(expectedDeliveries);
      // Each event executed once, whichever cohorts received it; per cohort it would be
      // several times this (every event reaches 5 to 10 of the 20).
      expect(after.executions - before.executions).toBeLessThanOrEqual(sinceFirstJoin);
      expect(expectedDeliveries).toBeGreaterThan(4 * sinceFirstJoin);
      expect(after.executionsSaved - before.executionsSaved).toBe(after.deliveries - before.deliveries - (after.executions - before.executions));
    } finally {
      for (const { w } of watches) await w.close();
    }
    await until(() => stats().cohorts === 0 && t.bus.subscriberCount === 0, 'every cohort to be gone');
  }, 30_000);

  it('keeps per-variables cohorts when a variable is used below the root field (a directive)', async () => {
    const query = `subscription Flag($runnerIds: [ID!], $withData: Boolean!) {
      events(runnerIds: $runnerIds) { __typename ... on TickReceived { id data @include(if: $withData) { close } } }
    }`;
    const withData = watch('graphql-ws', t.server, query, { runnerIds: ['flag'], withData: true });
    const without = watch('graphql-ws', t.server, query, { runnerIds: ['flag'], withData: false });
    try {
      await until(() => stats().members === 2, 'both subscribers');
      const before = stats();
      const ids: number[] = [];
      for (let close = 1; close <= 3; close++) {
        const event = eventOf(0, 'flag');
        ids.push(t.bus.publish({ ...event, data: { ...(event as Extract<RunnerEvent, { type: 'TickReceived' }>).data, close } } as RunnerEvent, 'F').id);
      }
      const [a, b] = await Promise.all([withData.take(3), without.take(3)]);
      expect(a.map((r) => r.data)).toEqual(ids.map((id, i) => ({ events: { __typename: 'TickReceived', id: String(id), data: { close: i + 1 } } })));
      expect(b.map((r) => r.data)).toEqual(ids.map((id) => ({ events: { __typename: 'TickReceived', id: String(id) } })));
      expect(stats().executions - before.executions).toBe(6);
      expect(stats().executionsSaved - before.executionsSaved).toBe(0);
    } finally {
      await withData.close();
      await without.close();
    }
    await until(() => stats().cohorts === 0, 'the cohorts to be gone');
  });

  it('shares with a subscriber that replays: its history first, then live results executed once', async () => {
    const query = 'subscription ($runnerIds: [ID!], $replay: Int) { events(runnerIds: $runnerIds, replay: $replay) { ... on Event { id } } }';
    const early = t.bus.publish(eventOf(1, 'rp'), 'R').id;
    const live = watch('graphql-ws', t.server, query, { runnerIds: ['rp'] });
    const replaying = watch('graphql-ws', t.server, query, { runnerIds: ['rp', 'other'], replay: 5 });
    try {
      await until(() => stats().members === 2, 'both subscribers');
      const before = stats();
      const ids = [1, 2, 3].map((i) => t.bus.publish(eventOf(i, 'rp'), 'R').id);
      const [a, b] = await Promise.all([live.take(3), replaying.take(4)]);
      expect(a.map((r) => r.data)).toEqual(ids.map((id) => ({ events: { id: String(id) } })));
      expect(b.map((r) => r.data)).toEqual([early, ...ids].map((id) => ({ events: { id: String(id) } })));
      expect(stats().executions - before.executions).toBeLessThanOrEqual(4);
      expect(stats().executionsSaved - before.executionsSaved).toBeGreaterThanOrEqual(2);
    } finally {
      await live.close();
      await replaying.close();
    }
  });
});

describe('variablesOnlyInRootArguments', () => {
  const fields = new Set(['events', 'eventBatches']);
  it.each([
    ['root arguments only', 'subscription ($r: [ID!], $n: Int) { events(runnerIds: $r, throttleMs: $n) { ... on Event { id } } }', true],
    ['no variables', 'subscription { events { ... on Event { id } } }', true],
    ['a variable in a nested directive', 'subscription ($r: [ID!], $f: Boolean!) { events(runnerIds: $r) { ... on Event { id @include(if: $f) } } }', false],
    ['a variable in a directive of the root field', 'subscription ($f: Boolean!) { events @include(if: $f) { ... on Event { id } } }', false],
    ['a variable in a fragment', 'subscription ($f: Boolean!) { events { ...E } } fragment E on Event { id @skip(if: $f) }', false],
    ['another root field', 'subscription ($r: [ID!]) { other(runnerIds: $r) { id } }', false],
  ])('%s', (_, source, expected) => {
    expect(variablesOnlyInRootArguments(parse(source), undefined, fields)).toBe(expected);
  });
});
