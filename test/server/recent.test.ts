import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/log/bus.js';
import { TradingEngine } from '../../src/engine/engine.js';
import type { RunnerEvent } from '../../src/events/types.js';
import { hashToken, TokenStore } from '../../src/graphql/auth.js';
import { startServer, type TickwireServer } from '../../src/app/server.js';

type Body = { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] };

describe('recentEvents and Runner.candles: the in-memory history as queries', () => {
  const bus = new EventBus({ historySize: 5000 });
  const engine = new TradingEngine(bus);
  let server: TickwireServer;
  const T = 1_700_000_000_000;

  const tick = (runnerId: string, timestamp: number, close: number): RunnerEvent => ({
    type: 'TickReceived',
    runnerId,
    symbol: 'X',
    data: { symbol: 'X', timestamp, open: close, high: close, low: close, close, volume: 1, bid: close, ask: close },
  });

  async function gql(query: string, token = 'ops'): Promise<Body> {
    const res = await fetch(server.urls.http, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
    });
    return (await res.json()) as Body;
  }

  beforeAll(async () => {
    const tokens = new TokenStore([
      { name: 'ops', sha256: hashToken('ops'), role: 'operator', runners: ['*'] },
      { name: 'btc', sha256: hashToken('btc'), role: 'viewer', runners: ['btc_*'] },
    ]);
    server = await startServer({ engine, bus, port: 0, host: '127.0.0.1', tokens });
    // Runners that exist (so `runner(id)` answers) but stopped: the test publishes their ticks.
    for (const id of ['btc_x', 'eth_x']) {
      engine.addRunner({ id, symbol: id.toUpperCase(), feed: { kind: 'simulated', ticksPerSecond: 1 } });
      await engine.stopRunner(id);
    }
  });
  afterAll(async () => {
    await engine.stopAll('test over');
    await server.close();
    bus.close();
  });

  it('returns the last N matching events, oldest first, like replay', async () => {
    for (let i = 0; i < 30; i++) bus.publish(tick(i % 2 === 0 ? 'btc_x' : 'eth_x', T + i, i), 'X');
    bus.publish({ type: 'Error', runnerId: 'eth_x', error: 'feed lag', severity: 'Warning', timestamp: T + 40 }, 'X');
    bus.publish({ type: 'Error', runnerId: 'eth_x', error: 'bad tick', severity: 'Error', timestamp: T + 41 }, 'X');
    const body = await gql('{ recentEvents(runnerIds: ["btc_x"], types: [TICK_RECEIVED], last: 3) { ... on TickReceived { data { close } } } }');
    expect(body.data).toEqual({ recentEvents: [{ data: { close: 24 } }, { data: { close: 26 } }, { data: { close: 28 } }] });
    const errors = await gql('{ recentEvents(types: [ERROR], minSeverity: ERROR) { ... on RunnerError { error } } }');
    expect(errors.data).toEqual({ recentEvents: [{ error: 'bad tick' }] });
  });

  it('never shows a scoped token another runner, whatever it asks', async () => {
    const body = await gql('{ recentEvents(runnerIds: ["eth_x", "btc_x"], last: 10000) { ... on Event { runnerId } } }', 'btc');
    const runners = new Set((body.data?.['recentEvents'] as { runnerId: string }[]).map((e) => e.runnerId));
    expect([...runners]).toEqual(['btc_x']);
  });

  it('refuses bad arguments with a message naming them', async () => {
    expect((await gql('{ recentEvents(last: 0) { __typename } }')).errors?.[0]).toMatchObject({ message: 'last must be within 1..10000, got 0', extensions: { code: 'BAD_USER_INPUT' } });
    expect((await gql('{ runner(id: "btc_x") { candles(intervalMs: 10) { start } } }')).errors?.[0]?.message).toBe('intervalMs must be within 1000..86400000, got 10');
    expect((await gql('{ runner(id: "btc_x") { candles(last: 5001) { start } } }')).errors?.[0]?.message).toBe('last must be within 1..5000, got 5001');
  });

  it('builds candles of one runner from its ticks in the history, the newest `last` of them', async () => {
    // 2.5 s of btc ticks, 4 a second, closes 100 101 102 100 | 101 102 100 101 | 102 100,
    // with an eth tick between each that must not count.
    const base = T + 10_000;
    for (let i = 0; i < 10; i++) {
      bus.publish(tick('btc_x', base + i * 250, 100 + (i % 3)), 'X');
      bus.publish(tick('eth_x', base + i * 250, 5000), 'X');
    }
    const body = await gql('{ runner(id: "btc_x") { candles(last: 3) { start open high low close ticks } } }');
    expect(body.errors).toBeUndefined();
    expect((body.data?.['runner'] as { candles: unknown[] }).candles).toEqual([
      { start: base, open: 100, high: 102, low: 100, close: 100, ticks: 4 },
      { start: base + 1000, open: 101, high: 102, low: 100, close: 101, ticks: 4 },
      { start: base + 2000, open: 102, high: 102, low: 100, close: 100, ticks: 2 },
    ]);
    const minute = await gql('{ runner(id: "btc_x") { candles(intervalMs: 60000) { ticks } } }');
    // Every btc tick this file published so far (15 + 10) falls in one or two minutes.
    const counts = (minute.data?.['runner'] as { candles: { ticks: number }[] }).candles.map((c) => c.ticks);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(25);
  });
});
