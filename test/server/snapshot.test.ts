import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isGap, type LogEntry } from '../../src/log/types.js';
import { publishScript, startTestServer, until, type TestServer } from './harness.js';
import { TRANSPORTS, watch } from './transports.js';

interface Item {
  readonly id: string;
  readonly runnerId: string;
  readonly type: string;
  readonly snapshot: boolean;
}
const SELECTION = '... on Event { id runnerId type snapshot }';
const itemsOf = (results: readonly { data?: unknown }[]): Item[] => results.map((r) => (r.data as { events: Item }).events);

let t: TestServer;
beforeAll(async () => {
  // No age bound: these tests are about the seam between the snapshot and live events, and
  // a test process starved by a busy machine would otherwise see a runner's old ticks
  // conflated (a StreamGap, as the bound means to), not the seam.
  t = await startTestServer({ maxEventAgeMs: 0 });
});
afterAll(async () => {
  await t.close();
});
afterEach(async () => {
  await until(() => t.bus.subscriberCount === 0, 'subscribers of the last test to be removed');
});

describe.each(TRANSPORTS)('events(snapshot: true) over %s', (transport) => {
  it("first sends each runner's state, marked, then live events without a gap", async () => {
    publishScript(t.bus);
    const ids = publishScript(t.bus);
    const w = watch(transport, t.server, `subscription { events(snapshot: true, runnerIds: ["r1", "r2", "r3"]) { ${SELECTION} } }`);
    try {
      await until(() => t.bus.subscriberCount === 1, 'the subscriber');
      const live = publishScript(t.bus);
      const got = itemsOf(await w.take(4 + live.length));
      // Script positions (test/server/harness.ts): r1's tick (2) and stats (9), r2's tick (5;
      // its position was closed at 8), r3's state (6). Errors and lifecycle events are no state.
      expect(got.slice(0, 4)).toEqual([
        { id: String(ids[1]), runnerId: 'r1', type: 'TICK_RECEIVED', snapshot: true },
        { id: String(ids[4]), runnerId: 'r2', type: 'TICK_RECEIVED', snapshot: true },
        { id: String(ids[5]), runnerId: 'r3', type: 'STATE_TRANSITION', snapshot: true },
        { id: String(ids[8]), runnerId: 'r1', type: 'STATS_UPDATE', snapshot: true },
      ]);
      expect(got.slice(4).map((e) => [Number(e.id), e.snapshot])).toEqual(live.map((id) => [id, false]));
    } finally {
      await w.close();
    }
  });

  it('works on eventBatches: the first batch starts with the snapshot', async () => {
    const ids = publishScript(t.bus);
    const w = watch(transport, t.server, 'subscription { eventBatches(snapshot: true, runnerIds: ["r1"], intervalMs: 20) { events { ... on Event { id snapshot } } } }');
    try {
      const [first] = await w.take(1);
      const events = (first?.data as { eventBatches: { events: { id: string; snapshot: boolean }[] } }).eventBatches.events;
      expect(events.slice(0, 2)).toEqual([
        { id: String(ids[1]), snapshot: true },
        { id: String(ids[8]), snapshot: true },
      ]);
    } finally {
      await w.close();
    }
  });

  it('refuses snapshot with replay or after, saying why', async () => {
    for (const [args, message] of [
      ['snapshot: true, replay: 5', 'give snapshot or replay, not both'],
      ['snapshot: true, after: "3"', 'give snapshot or after, not both'],
    ] as const) {
      const w = watch(transport, t.server, `subscription { events(${args}) { __typename } }`);
      await w.settled();
      expect(JSON.stringify(w.errors)).toContain(message);
      await w.close();
    }
  });

  it('joins a runner ticking at 2,000/s with no gap and no duplicate between snapshot and live', async () => {
    const id = `snap-${transport.replace(/\W+/g, '-')}`;
    // Every tick of the runner, as the log has them, to compare with what the client got.
    const record = t.bus.subscribe({ filter: (event) => event.runnerId === id && event.type === 'TickReceived', capacity: 1_000_000 });
    const logged: number[] = [];
    void (async () => {
      for await (const item of record) if (!isGap(item)) logged.push((item as LogEntry).id);
    })();
    t.engine.addRunner({ id, symbol: 'SNAP', feed: { kind: 'simulated', ticksPerSecond: 2000 } });
    await until(() => logged.length > 100, 'the runner to tick');
    const w = watch(transport, t.server, `subscription ($id: ID!) { events(runnerIds: [$id], types: [TICK_RECEIVED], snapshot: true) { ${SELECTION} } }`, { id });
    try {
      const got = itemsOf(await w.take(300, 15_000));
      expect(got[0]?.snapshot).toBe(true);
      expect(got.slice(1).every((e) => !e.snapshot)).toBe(true);
      const start = logged.indexOf(Number(got[0]!.id));
      expect(start).toBeGreaterThanOrEqual(0);
      expect(got.map((e) => Number(e.id))).toEqual(logged.slice(start, start + got.length));
    } finally {
      await w.close();
      await t.engine.stopRunner(id);
      record.return?.();
    }
  });
});
