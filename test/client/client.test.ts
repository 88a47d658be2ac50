import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventsClient, OperationError, RunnersDocument, StartRunnerDocument, StopRunnerDocument, type EventWhere } from '../../src/client/index.js';
import { publishScript, startTestServer, until, type TestServer } from '../server/harness.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

describe.each([
  ['graphql-ws', () => createEventsClient({ url: t.server.urls.ws })],
  ['graphql-sse', () => createEventsClient({ url: t.server.urls.sse, transport: 'sse' })],
  ['graphql-sse single connection', () => createEventsClient({ url: t.server.urls.sse, transport: 'sse', singleConnection: true })],
])('the typed client over %s', (_, create) => {
  it('yields typed members of the RunnerEvent union', async () => {
    const client = create();
    try {
      const events = client.events({ runnerIds: ['r1'], types: ['TICK_RECEIVED', 'ERROR'] });
      const first = events.next();
      await until(() => t.bus.subscriberCount === 1, 'the subscriber');
      publishScript(t.bus);
      const tick = (await first).value;
      if (tick?.__typename !== 'TickReceived') throw new Error(`expected a tick, got ${tick?.__typename}`);
      // Typed access: these lines only compile because the union member is narrowed.
      expect(tick.data.close).toBe(10.5);
      expect(tick.type).toBe('TICK_RECEIVED');
      const error = (await events.next()).value;
      if (error?.__typename !== 'RunnerError') throw new Error('expected a RunnerError');
      expect([error.severity, error.error]).toEqual(['CRITICAL', 'strategy exploded']);
      await events.return?.();
      await until(() => t.bus.subscriberCount === 0, 'the subscriber to go');
    } finally {
      await client.close();
    }
  });

  it('passes a typed where: the server sends only what it matches', async () => {
    const where: EventWhere = { tickReceived: { close: { gt: 15 } }, runnerError: { severity: { eq: 'CRITICAL' } } };
    // @ts-expect-error: ActionKind has no order, so its condition has no gt.
    const unordered: EventWhere = { actionExecuted: { action: { gt: 'ENTER_LONG' } } };
    expect(unordered).toBeDefined();
    const client = create();
    try {
      const events = client.events({ types: ['TICK_RECEIVED', 'ERROR'], where });
      const first = events.next();
      await until(() => t.bus.subscriberCount === 1, 'the subscriber');
      publishScript(t.bus);
      // The script's first tick (10.5) and its WARNING and ERROR are not sent.
      const critical = (await first).value;
      if (critical?.__typename !== 'RunnerError') throw new Error(`expected a RunnerError, got ${critical?.__typename}`);
      expect(critical.severity).toBe('CRITICAL');
      const tick = (await events.next()).value;
      if (tick?.__typename !== 'TickReceived') throw new Error(`expected a tick, got ${tick?.__typename}`);
      expect(tick.data.close).toBe(20.5);
      await events.return?.();
      await until(() => t.bus.subscriberCount === 0, 'the subscriber to go');
    } finally {
      await client.close();
    }
  });

  it('runs typed queries and mutations, and reports GraphQL errors', async () => {
    const client = create();
    const id = `client-${Math.random().toString(36).slice(2, 8)}`;
    try {
      const started = await client.request(StartRunnerDocument, { input: { id, symbol: 'SOLUSDT', strategy: 'mean_reversion' } });
      expect(started.startRunner).toEqual({ id, symbol: 'SOLUSDT', strategy: 'mean_reversion', state: 'ANALYZING' });
      const { runners } = await client.request(RunnersDocument);
      const mine = runners.find((r) => r.id === id);
      expect(mine?.params).toEqual([
        { name: 'window', value: 12 },
        { name: 'entryZ', value: 2 },
        { name: 'exitZ', value: 0.5 },
        { name: 'barSeconds', value: 5 },
      ]);
      await expect(client.request(StartRunnerDocument, { input: { id, symbol: 'SOLUSDT' } })).rejects.toThrow(OperationError);
      const stopped = await client.request(StopRunnerDocument, { id, reason: 'test over' });
      expect(stopped.stopRunner).toEqual({ id, state: 'STOPPED', stopReason: 'test over' });
    } finally {
      await client.close();
    }
  });
});
