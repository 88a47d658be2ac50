import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventsClient, type ClientEvent } from '../../src/client/client.js';
import type { DashboardQuery } from '../../src/client/generated/graphql.js';
import { DashboardDocument } from '../../src/client/operations.js';
import { DashboardModel } from '../../src/dashboard/model.js';
import { startTestServer, until, type TestServer } from '../server/harness.js';

/** A whole second, so that T + 0..999 ms fall in one candle. */
const T = 1_700_000_000_000;

function runner(id: string, extra: Partial<DashboardQuery['runners'][number]> = {}): DashboardQuery['runners'][number] {
  return {
    id,
    symbol: `${id.toUpperCase()}USDT`,
    strategy: 'ema_crossover',
    state: 'ANALYZING',
    params: [],
    quantity: 1,
    feeRate: 0,
    lastPrice: null,
    realizedPnl: 0,
    unrealizedPnl: 0,
    position: null,
    canManage: true,
    ...extra,
  };
}

let nextId = 1;
const head = (runnerId: string, timestamp: number) => ({ id: String(nextId++), runnerId, timestamp, snapshot: false });
const tick = (runnerId: string, timestamp: number, close: number): ClientEvent => ({
  __typename: 'TickReceived',
  ...head(runnerId, timestamp),
  type: 'TICK_RECEIVED',
  symbol: 'X',
  data: { symbol: 'X', timestamp, open: close, high: close, low: close, close, volume: 1, bid: close, ask: close },
});
const opened = (runnerId: string, timestamp: number, side: 'LONG' | 'SHORT', entryPrice: number): ClientEvent => ({
  __typename: 'PositionOpened',
  ...head(runnerId, timestamp),
  type: 'POSITION_OPENED',
  position: { symbol: 'X', side, quantity: 2, entryPrice, entryTime: timestamp },
});
const closed = (runnerId: string, timestamp: number, exitPrice: number, realizedPnl: number): ClientEvent => ({
  __typename: 'PositionClosed',
  ...head(runnerId, timestamp),
  type: 'POSITION_CLOSED',
  exitPrice,
  realizedPnl,
  reason: 'exit signal',
});
const mark = (runnerId: string, id: string, unrealizedPnl: number): ClientEvent => ({
  __typename: 'PositionUpdated',
  id,
  runnerId,
  timestamp: T,
  snapshot: false,
  type: 'POSITION_UPDATED',
  currentPrice: 100 + unrealizedPnl,
  unrealizedPnl,
});

describe('DashboardModel', () => {
  it('builds one-second candles from ticks, merging within a second and ignoring late ticks', () => {
    const model = new DashboardModel();
    model.load([runner('a')]);
    model.apply(tick('a', T + 100, 10));
    model.apply(tick('a', T + 400, 12));
    const merged = model.apply(tick('a', T + 900, 9));
    expect(merged).toMatchObject({ runnerId: 'a', row: true, bar: { start: T, open: 10, high: 12, low: 9, close: 9, ticks: 3 } });
    model.apply(tick('a', T + 1000, 11));
    expect(model.apply(tick('a', T + 500, 50)).bar).toBeNull();
    expect(model.barsOf('a')).toEqual([
      { start: T, open: 10, high: 12, low: 9, close: 9, ticks: 3 },
      { start: T + 1000, open: 11, high: 11, low: 11, close: 11, ticks: 1 },
    ]);
    expect(model.runner('a')?.lastPrice).toBe(50);
  });

  it('keeps at most the configured bars and marks per runner', () => {
    const model = new DashboardModel({ bars: 5, marks: 3 });
    model.load([runner('a')]);
    for (let i = 0; i < 20; i++) model.apply(tick('a', T + i * 1000, i));
    for (let i = 0; i < 10; i++) model.apply(i % 2 === 0 ? opened('a', T + i, 'LONG', i) : closed('a', T + i, i, 1));
    expect(model.barsOf('a').map((b) => b.close)).toEqual([15, 16, 17, 18, 19]);
    expect(model.marksOf('a')).toHaveLength(3);
  });

  it('tracks position, marks and P&L through a trade, and marks entries and exits', () => {
    const model = new DashboardModel();
    model.load([runner('a', { realizedPnl: 5 })]);
    const entry = opened('a', T, 'SHORT', 100);
    model.apply(entry);
    expect(model.runner('a')).toMatchObject({ position: { side: 'SHORT', quantity: 2, entryPrice: 100 }, unrealizedPnl: 0 });
    const updateId = String(nextId++);
    model.apply(mark('a', updateId, -3));
    expect(model.runner('a')).toMatchObject({ unrealizedPnl: -3, lastPrice: 97 });
    const exit = closed('a', T + 2000, 101, -2);
    expect(model.apply(exit)).toMatchObject({ mark: true, row: true });
    expect(model.runner('a')).toMatchObject({ position: null, unrealizedPnl: 0, realizedPnl: 3 });
    expect(model.marksOf('a')).toEqual([
      { id: (entry as { id: string }).id, time: T, kind: 'entry', side: 'SHORT', price: 100, pnl: null },
      { id: (exit as { id: string }).id, time: T + 2000, kind: 'exit', side: 'SHORT', price: 101, pnl: -2 },
    ]);
  });

  it('puts the server\'s candles and trades behind what the stream brought, without doubles', () => {
    const model = new DashboardModel();
    model.load([runner('a')]);
    // Live since the page opened: a sampled tick in T+2s and one in T+3s.
    model.apply(tick('a', T + 2100, 20));
    model.apply(tick('a', T + 3100, 21));
    const entry = opened('a', T + 500, 'LONG', 10) as Extract<ClientEvent, { __typename: 'PositionOpened' }>;
    model.apply(entry); // the stream's replay brought this trade too
    model.backfill('a', {
      runner: {
        id: 'a',
        candles: [
          { start: T, open: 10, high: 11, low: 9, close: 10.5, ticks: 100 },
          { start: T + 1000, open: 10.5, high: 12, low: 10, close: 11, ticks: 100 },
          { start: T + 2000, open: 11, high: 19, low: 11, close: 19, ticks: 10 }, // read while forming
        ],
      },
      recentEvents: [
        { __typename: 'PositionOpened', id: entry.id, timestamp: entry.timestamp, position: { side: 'LONG', entryPrice: 10 } },
        { __typename: 'PositionClosed', id: String(nextId++), timestamp: T + 1500, exitPrice: 11.5, realizedPnl: 1.5 },
      ],
    });
    expect(model.barsOf('a')).toEqual([
      { start: T, open: 10, high: 11, low: 9, close: 10.5, ticks: 100 },
      { start: T + 1000, open: 10.5, high: 12, low: 10, close: 11, ticks: 100 },
      { start: T + 2000, open: 11, high: 20, low: 11, close: 20, ticks: 10 },
      { start: T + 3000, open: 21, high: 21, low: 21, close: 21, ticks: 1 },
    ]);
    expect(model.marksOf('a').map((m) => [m.kind, m.side, m.time])).toEqual([
      ['entry', 'LONG', T + 500],
      ['exit', 'LONG', T + 1500],
    ]);
    // Live ticks go on after the backfill.
    expect(model.apply(tick('a', T + 3500, 22)).bar).toMatchObject({ start: T + 3000, close: 22, high: 22 });
  });

  it('drops a throttled PositionUpdated that arrives after its position was closed', () => {
    const model = new DashboardModel();
    model.load([runner('a')]);
    model.apply(opened('a', T, 'LONG', 100));
    const staleId = String(nextId++);
    model.apply(closed('a', T + 1, 99, -1));
    // Conflated marks come at the end of their window, after newer events.
    expect(model.apply(mark('a', staleId, -1.5)).row).toBe(false);
    expect(model.runner('a')).toMatchObject({ position: null, unrealizedPnl: 0 });
  });

  it('takes StatsUpdate as the authority on realized P&L and the open position', () => {
    const model = new DashboardModel();
    model.load([runner('a')]);
    model.apply(opened('a', T, 'LONG', 100));
    model.apply({
      __typename: 'StatsUpdate',
      ...head('a', T + 1000),
      type: 'STATS_UPDATE',
      ticksProcessed: 10,
      actionsExecuted: 2,
      errorRate: 0,
      realizedPnl: 7.5,
      lastPrice: 101,
      ticksPerSecond: 10,
      openPosition: null,
    });
    expect(model.runner('a')).toMatchObject({ realizedPnl: 7.5, lastPrice: 101, position: null, unrealizedPnl: 0 });
  });

  it('follows state transitions and stops, and asks for a reload for runners it does not know', () => {
    const model = new DashboardModel();
    model.load([runner('a')]);
    model.apply({ __typename: 'StateTransition', ...head('a', T), type: 'STATE_TRANSITION', from: 'ANALYZING', to: 'ENTERING', reason: 'signal' });
    expect(model.runner('a')?.state).toBe('ENTERING');
    model.apply({ __typename: 'RunnerStopped', ...head('a', T), type: 'RUNNER_STOPPED', reason: 'by request' });
    expect(model.runner('a')?.state).toBe('STOPPED');
    expect(model.apply(tick('b', T, 1))).toMatchObject({ runnerId: 'b', reload: true, row: false });
    expect(model.apply({ __typename: 'RunnerStarted', ...head('a', T), type: 'RUNNER_STARTED', symbol: 'X' }).reload).toBe(true);
    expect(model.apply({ __typename: 'StreamGap', missed: 3, fromId: '1', toId: '3', reason: 'slow', epoch: null })).toMatchObject({ runnerId: null, reload: false });
  });
});

describe('DashboardModel on a real throttled stream', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.close();
  });

  it('ends where the server ends: state, position and realized P&L of every runner', async () => {
    const client = createEventsClient({ url: t.server.urls.ws });
    const ids = ['m1', 'm2'];
    // The page's first frame, before the runners trade: every trade then reaches the stream,
    // so the model's P&L does not depend on when its query ran against the trading.
    const model = new DashboardModel();
    model.load(ids.map((id) => runner(id, { strategy: 'mean_reversion', state: 'IDLE' })));
    const control = new AbortController();
    let stopped = 0;
    let closedTrades = 0;
    const stream = (async () => {
      for await (const event of client.events({ throttleMs: 50 }, control.signal)) {
        model.apply(event);
        if (event.__typename === 'PositionClosed') closedTrades++;
        if (event.__typename === 'RunnerStopped' && ++stopped === ids.length) break;
      }
    })();
    await until(() => t.bus.subscriberCount === 1, 'the stream to be live');
    for (const id of ids) {
      t.engine.addRunner({ id, symbol: `${id.toUpperCase()}USDT`, strategy: 'mean_reversion', feed: { kind: 'simulated', ticksPerSecond: 400, seed: id.length + 7 }, statsIntervalMs: 200 });
    }
    await until(() => closedTrades >= 4, 'a few closed trades', 15_000);
    await t.engine.stopAll('done');
    await stream;
    const server = (await client.request(DashboardDocument)).runners;
    for (const r of server) {
      const view = model.runner(r.id);
      expect(view?.state).toBe('STOPPED');
      expect(view?.position).toBeNull();
      expect(view?.realizedPnl).toBeCloseTo(r.realizedPnl, 6);
      expect(model.barsOf(r.id).length).toBeGreaterThan(0);
    }
    expect(ids.flatMap((id) => model.marksOf(id)).filter((m) => m.kind === 'exit').length).toBeGreaterThanOrEqual(4);
    control.abort();
    await client.close();
  });
});
