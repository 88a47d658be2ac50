import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventsClient, type ClientEvent } from '../../src/client/client.js';
import type { DashboardQuery } from '../../src/client/generated/graphql.js';
import { DashboardDocument } from '../../src/client/operations.js';
import { candlesCaption, count, DashboardModel, decimalsOf, duration, equityOfStats, formatMoney, formatPrice, groupMarks, markBucketMs, tickSizeOf, warmUpOf, type TradeMark } from '../../src/dashboard/model.js';
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
    startedAt: T,
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
const mark = (runnerId: string, id: string, unrealizedPnl: number, timestamp = T): ClientEvent => ({
  __typename: 'PositionUpdated',
  id,
  runnerId,
  timestamp,
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
        feeRate: 0,
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
      stats: [],
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

  it('draws every runner from the snapshot alone, before the query answers and before any live event', () => {
    const model = new DashboardModel();
    const snap = { snapshot: true };
    const events: ClientEvent[] = [
      { __typename: 'StateTransition', ...head('a', T), ...snap, type: 'STATE_TRANSITION', from: 'ENTERING', to: 'IN_POSITION', reason: 'filled' },
      { ...opened('a', T + 1, 'LONG', 100), ...snap },
      { ...tick('b', T + 2, 55), ...snap },
      { ...mark('a', String(nextId++), 4), ...snap },
      { __typename: 'StateTransition', ...head('b', T + 3), ...snap, type: 'STATE_TRANSITION', from: 'IDLE', to: 'ANALYZING', reason: 'started' },
      { ...tick('a', T + 4, 104), ...snap },
      {
        __typename: 'StatsUpdate',
        ...head('b', T + 5),
        ...snap,
        type: 'STATS_UPDATE',
        ticksProcessed: 9,
        actionsExecuted: 2,
        errorRate: 0,
        realizedPnl: -1.5,
        lastPrice: 55,
        ticksPerSecond: 1,
        openPosition: null,
      },
    ];
    const changes = events.map((e) => model.apply(e));
    // New rows, but no reload: the query that names them is on its way.
    expect(changes.filter((c) => c.added).map((c) => c.runnerId)).toEqual(['a', 'b']);
    expect(changes.some((c) => c.reload)).toBe(false);
    expect(model.runners().map((r) => r.id)).toEqual(['a', 'b']);
    expect(model.runner('a')).toMatchObject({ symbol: 'X', strategy: null, canManage: false, state: 'IN_POSITION', lastPrice: 104, position: { side: 'LONG', quantity: 2, entryPrice: 100 }, unrealizedPnl: 4 });
    expect(model.runner('b')).toMatchObject({ state: 'ANALYZING', lastPrice: 55, lastPriceAt: T + 2, realizedPnl: -1.5, position: null });

    // The query adds who may do what; what the stream told stands over its (older) values.
    model.load([runner('b', { strategy: 'mean_reversion', state: 'IDLE', lastPrice: 50, realizedPnl: 0 }), runner('a', { canManage: false, state: 'ANALYZING' })]);
    expect(model.runners().map((r) => r.id)).toEqual(['b', 'a']);
    expect(model.runner('b')).toMatchObject({ symbol: 'BUSDT', strategy: 'mean_reversion', canManage: true, state: 'ANALYZING', lastPrice: 55, realizedPnl: -1.5 });
    expect(model.runner('a')).toMatchObject({ strategy: 'ema_crossover', canManage: false, state: 'IN_POSITION', unrealizedPnl: 4 });
    // Loaded: a runner the list lacks is news.
    expect(model.apply(tick('c', T, 1))).toMatchObject({ added: true, reload: true });
  });

  it('shows a runner stopped with a position flat, with the query\'s final realized P&L', () => {
    const model = new DashboardModel();
    const snap = { snapshot: true };
    // No stats follow a stop: the snapshot's StatsUpdate still holds the position its stop closed.
    model.apply({
      __typename: 'StatsUpdate',
      ...head('a', T),
      ...snap,
      type: 'STATS_UPDATE',
      ticksProcessed: 9,
      actionsExecuted: 1,
      errorRate: 0,
      realizedPnl: 2,
      lastPrice: 10,
      ticksPerSecond: 1,
      openPosition: { symbol: 'X', side: 'LONG', quantity: 1, entryPrice: 9, entryTime: T },
    });
    model.apply({ __typename: 'StateTransition', ...head('a', T + 1), ...snap, type: 'STATE_TRANSITION', from: 'EXITING', to: 'STOPPED', reason: 'by request' });
    expect(model.runner('a')).toMatchObject({ state: 'STOPPED', position: null, unrealizedPnl: 0 });
    model.load([runner('a', { state: 'STOPPED', realizedPnl: 2.8 })]);
    expect(model.runner('a')?.realizedPnl).toBe(2.8);
  });

  it('draws an equity curve of realized plus unrealized P&L, one point per second, last value winning', () => {
    const model = new DashboardModel({ equity: 3 });
    model.load([runner('a', { realizedPnl: 1 })]);
    expect(model.apply(opened('a', T + 100, 'LONG', 100)).equity).toEqual({ time: T, value: 1 });
    const m1 = mark('a', String(nextId++), 2, T + 1200);
    expect(model.apply(m1).equity).toEqual({ time: T + 1000, value: 3 });
    model.apply(mark('a', String(nextId++), -0.5, T + 1900));
    model.apply(closed('a', T + 2500, 99.5, -0.5));
    expect(model.equityOf('a')).toEqual([
      { time: T, value: 1 },
      { time: T + 1000, value: 0.5 },
      { time: T + 2000, value: 0.5 },
    ]);
    // Stats run on the wall clock; the curve stays on the market time of the ticks.
    model.apply(tick('a', T + 3100, 99));
    const stats = model.apply({
      __typename: 'StatsUpdate',
      ...head('a', Date.now()),
      type: 'STATS_UPDATE',
      ticksProcessed: 9,
      actionsExecuted: 2,
      errorRate: 0,
      realizedPnl: 0.25,
      lastPrice: 99,
      ticksPerSecond: 1,
      openPosition: null,
    });
    expect(stats.equity).toEqual({ time: T + 3000, value: 0.25 });
    // A time before the last point counts for the last point; at most `equity` points are kept.
    expect(model.apply(mark('a', String(nextId++), 9, T)).equity).toEqual({ time: T + 3000, value: 9.25 });
    expect(model.equityOf('a').map((p) => p.time)).toEqual([T + 1000, T + 2000, T + 3000]);
  });

  it('follows state transitions and stops, and asks for a reload for runners it does not know', () => {
    const model = new DashboardModel();
    model.load([runner('a')]);
    model.apply({ __typename: 'StateTransition', ...head('a', T), type: 'STATE_TRANSITION', from: 'ANALYZING', to: 'ENTERING', reason: 'signal' });
    expect(model.runner('a')?.state).toBe('ENTERING');
    model.apply({ __typename: 'RunnerStopped', ...head('a', T), type: 'RUNNER_STOPPED', reason: 'by request' });
    expect(model.runner('a')?.state).toBe('STOPPED');
    // A runner the loaded list lacks started since: a row now, and the list again for its strategy.
    expect(model.apply(tick('b', T, 1))).toMatchObject({ runnerId: 'b', reload: true, added: true });
    expect(model.apply({ __typename: 'RunnerStarted', ...head('a', T), type: 'RUNNER_STARTED', symbol: 'X' }).reload).toBe(true);
    expect(model.apply({ __typename: 'StreamGap', missed: 3, fromId: '1', toId: '3', reason: 'slow', epoch: null })).toMatchObject({ runnerId: null, reload: false });
  });
});

describe('the equity curve from history', () => {
  const stats = (timestamp: number, realizedPnl: number, lastPrice: number | null, openPosition: { side: 'LONG' | 'SHORT'; quantity: number; entryPrice: number } | null = null) =>
    ({ __typename: 'StatsUpdate' as const, timestamp, realizedPnl, lastPrice, openPosition });

  it('draws realized plus the open position at the last price after fees, one point per second, the last stats winning', () => {
    const points = equityOfStats(
      [
        stats(T + 100, 5, 100),
        stats(T + 600, 6, 100),
        // Long 2 from 100 at 103 with a 0.1 % fee on both sides: 6 - 0.001 * 2 * 203 = 5.594.
        stats(T + 1200, 1, 103, { side: 'LONG', quantity: 2, entryPrice: 100 }),
        stats(T + 3000, 1, 98, { side: 'SHORT', quantity: 1, entryPrice: 100 }),
      ],
      0.001,
    );
    expect(points.map((p) => [p.time, Number(p.value.toFixed(6))])).toEqual([
      [T, 6],
      [T + 1000, 6.594],
      [T + 3000, 2.802],
    ]);
  });

  it('puts the history in front of the live curve, which wins from its first point on', () => {
    const model = new DashboardModel();
    model.load([runner('a')]);
    // Live since the page opened: stats at T+5s and T+6s.
    model.apply({ __typename: 'StatsUpdate', ...head('a', T + 5100), type: 'STATS_UPDATE', ticksProcessed: 1, actionsExecuted: 0, errorRate: 0, realizedPnl: 7, lastPrice: null, ticksPerSecond: 1, openPosition: null });
    model.apply({ __typename: 'StatsUpdate', ...head('a', T + 6100), type: 'STATS_UPDATE', ticksProcessed: 1, actionsExecuted: 0, errorRate: 0, realizedPnl: 8, lastPrice: null, ticksPerSecond: 1, openPosition: null });
    model.backfill('a', {
      runner: { id: 'a', feeRate: 0, candles: [{ start: T, open: 1, high: 1, low: 1, close: 1, ticks: 1 }] },
      recentEvents: [],
      stats: [stats(T + 10, 1, null), stats(T + 2010, 2, null), stats(T + 5010, 99, null)],
    });
    expect(model.equityOf('a').map((p) => [p.time - T, p.value])).toEqual([
      [0, 1],
      [2000, 2],
      [5000, 7],
      [6000, 8],
    ]);
  });

  it('keeps no more history points than the curve keeps', () => {
    const model = new DashboardModel({ equity: 3 });
    model.load([runner('a')]);
    model.backfill('a', { runner: { id: 'a', feeRate: 0, candles: [] }, recentEvents: [], stats: [0, 1, 2, 3, 4].map((i) => stats(T + i * 1000, i, null)) });
    expect(model.equityOf('a').map((p) => p.value)).toEqual([2, 3, 4]);
  });
});

describe('prices in a symbol\'s steps', () => {
  it('knows the simulated market\'s symbols, and takes a step from the price for others', () => {
    expect(tickSizeOf('BTCUSDT', null)).toBe(0.01);
    expect(tickSizeOf('solusdt', 150.09964)).toBe(0.01);
    expect(tickSizeOf('XYZ', null)).toBeNull();
    expect(tickSizeOf('XYZ', 60000)).toBe(0.01);
    expect(tickSizeOf('XYZ', 2.5)).toBe(0.01);
    expect(tickSizeOf('XYZ', 99.5)).toBe(0.01);
    expect(tickSizeOf('XYZ', 0.5)).toBe(0.0001);
    expect(tickSizeOf('XYZ', 0.00001234)).toBe(1e-8);
    expect([0.01, 0.5, 0.25, 1, 0.0001, 1e-9].map(decimalsOf)).toEqual([2, 1, 2, 0, 4, 9]);
  });

  it('shows prices in those steps with thousands separators, and money with its sign', () => {
    expect(formatPrice(60010.814, 0.01)).toBe('60,010.81');
    expect(formatPrice(150.09964, 0.01)).toBe('150.10');
    expect(formatPrice(3000, 0.5)).toBe('3,000.0');
    expect(formatPrice(1234567.891, 1)).toBe('1,234,568');
    expect(formatPrice(0.00001234, 1e-9)).toBe('0.000012340');
    expect(formatMoney(1234.5)).toBe('+1,234.50');
    expect(formatMoney(-3.2)).toBe('-3.20');
    expect(formatMoney(0)).toBe('+0.00');
  });

  it('formats a runner\'s prices by its symbol, or by its first price until the query names a symbol it knows', () => {
    const model = new DashboardModel();
    model.load([runner('btc', { symbol: 'BTCUSDT' }), runner('x', { symbol: 'XUSDT' })]);
    expect(model.priceText('btc', 60010.814)).toBe('60,010.81');
    model.apply(tick('x', T, 0.5));
    expect(model.runner('x')?.tickSize).toBe(0.0001);
    expect(model.priceText('x', 0.512345)).toBe('0.5123');
    // The step stays once known: a price that grows does not change its decimals.
    model.apply(tick('x', T + 1000, 2.5));
    expect(model.priceText('x', 2.512345)).toBe('2.5123');
  });
});

describe('words', () => {
  it('says one candle, or candles', () => {
    expect(count(1, 'one-second candle')).toBe('1 one-second candle');
    expect(count(2, 'one-second candle')).toBe('2 one-second candles');
    expect(count(0, 'bar')).toBe('0 bars');
    expect(candlesCaption([])).toBe('waiting for ticks…');
    expect(candlesCaption([{ start: T, open: 1, high: 1, low: 1, close: 1, ticks: 1 }])).toBe('1 one-second candle since 22:13:20.000 UTC');
    expect(duration(45)).toBe('45 s');
    expect(duration(120)).toBe('2 min');
    expect(duration(80)).toBe('1 min 20 s');
  });
});

describe('the warm-up hint', () => {
  const params = (entries: Record<string, number>) => Object.entries(entries).map(([name, value]) => ({ name, value }));

  it('knows how long each strategy warms up: its slowest average\'s bars', () => {
    expect(warmUpOf({ strategy: 'ema_crossover', params: params({ fastPeriod: 12, slowPeriod: 26, barSeconds: 5 }), startedAt: T })).toEqual({ since: T, bars: 26, barSeconds: 5, readyAt: T + 130_000 });
    expect(warmUpOf({ strategy: 'mean_reversion', params: params({ window: 12, barSeconds: 5 }), startedAt: T })?.readyAt).toBe(T + 60_000);
    // Bars of ticks fill at once; an unknown strategy says nothing.
    expect(warmUpOf({ strategy: 'ema_crossover', params: params({ slowPeriod: 26, barSeconds: 0 }), startedAt: T })).toBeNull();
    expect(warmUpOf({ strategy: 'mine', params: params({ barSeconds: 5 }), startedAt: T })).toBeNull();
  });

  it('says why a runner does not trade while it warms up, and nothing once it may or holds a position', () => {
    const model = new DashboardModel();
    model.load([runner('a', { params: params({ fastPeriod: 12, slowPeriod: 26, barSeconds: 5 }) })]);
    expect(model.warmUpHint('a', T + 50_000)).toBe('warming up: ema_crossover needs 26 5-second bars before it trades, about 1 min 20 s more (until 22:15:30 UTC)');
    expect(model.warmUpHint('a', T + 130_000)).toBeNull();
    model.apply(opened('a', T + 1000, 'LONG', 10));
    expect(model.warmUpHint('a', T + 50_000)).toBeNull();
    expect(model.warmUpHint('nobody', T)).toBeNull();
  });
});

describe('groupMarks', () => {
  const m = (id: number, time: number, kind: 'entry' | 'exit', side: 'LONG' | 'SHORT' = 'LONG', pnl: number | null = null): TradeMark => ({ id: String(id), time, kind, side, price: 1, pnl: kind === 'exit' ? (pnl ?? 0) : null });

  it('keeps one marker per bar and kind, saying how many trades it stands for', () => {
    const marks = [m(1, T + 10, 'entry'), m(2, T + 300, 'exit', 'LONG', 1), m(3, T + 400, 'entry', 'SHORT'), m(4, T + 600, 'exit', 'SHORT', -0.25), m(5, T + 700, 'entry'), m(6, T + 1500, 'exit', 'LONG', 2)];
    expect(groupMarks(marks, 1000)).toEqual([
      { time: T, kind: 'entry', count: 3, side: 'LONG', pnl: null, text: '×3' },
      { time: T, kind: 'exit', count: 2, side: 'SHORT', pnl: 0.75, text: '×2' },
      { time: T + 1000, kind: 'exit', count: 1, side: 'LONG', pnl: 2, text: '' },
    ]);
  });

  it('groups over several bars when zoomed out, at the bar of the latest mark, in time order', () => {
    const marks = [m(1, T + 100, 'entry'), m(2, T + 1100, 'exit', 'LONG', -1), m(3, T + 2100, 'entry'), m(4, T + 3100, 'exit', 'LONG', -1)];
    // T is a multiple of 4 s: T..T+3999 is one bucket of four one-second bars.
    expect(groupMarks(marks, 4000).map((g) => [g.kind, g.time, g.text])).toEqual([
      ['entry', T + 2000, '×2'],
      ['exit', T + 3000, '×2'],
    ]);
    expect(groupMarks([], 1000)).toEqual([]);
  });

  it('takes as many bars per marker as one marker covers at the bar spacing', () => {
    expect(markBucketMs(20)).toBe(1000);
    expect(markBucketMs(16)).toBe(1000);
    expect(markBucketMs(6)).toBe(3000);
    expect(markBucketMs(0.5)).toBe(32_000);
    expect(markBucketMs(0)).toBe(1000);
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
      // Per-tick decisions: closed trades within seconds.
      t.engine.addRunner({ id, symbol: `${id.toUpperCase()}USDT`, strategy: 'mean_reversion', params: { barSeconds: 0 }, feed: { kind: 'simulated', ticksPerSecond: 400, seed: id.length + 7 }, statsIntervalMs: 200 });
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

  it('draws stopped runners from a snapshot alone as the server has them; the query completes their P&L', async () => {
    const ids = ['s1', 's2'];
    for (const id of ids) {
      t.engine.addRunner({ id, symbol: `${id.toUpperCase()}USDT`, strategy: 'mean_reversion', params: { barSeconds: 0 }, feed: { kind: 'simulated', ticksPerSecond: 400, seed: id.length + 3 }, statsIntervalMs: 100 });
    }
    await until(() => ids.every((id) => (t.engine.getRunner(id)?.stats.actionsExecuted ?? 0) >= 3), 'a few trades of each', 15_000);
    for (const id of ids) await t.engine.stopRunner(id);
    const client = createEventsClient({ url: t.server.urls.ws });
    const model = new DashboardModel();
    const control = new AbortController();
    const got: ClientEvent[] = [];
    for await (const event of client.events({ snapshot: true, throttleMs: 50, runnerIds: ids }, control.signal)) {
      // Stopped runners publish nothing more: a live event of our own marks where the snapshot ended.
      if (got.length === 0) t.bus.publish({ type: 'Error', runnerId: 's1', error: 'end of snapshot', severity: 'Warning', timestamp: Date.now() }, 'S1USDT');
      if (event.__typename === 'RunnerError') break;
      got.push(event);
      model.apply(event);
    }
    control.abort();
    expect(got.length).toBeGreaterThan(0);
    expect(got.every((e) => e.__typename !== 'StreamGap' && e.snapshot)).toBe(true);
    const server = (await client.request(DashboardDocument)).runners.filter((r) => ids.includes(r.id));
    expect(server).toHaveLength(ids.length);
    for (const r of server) {
      expect(model.runner(r.id)).toMatchObject({ state: 'STOPPED', position: null, lastPrice: r.lastPrice, strategy: null });
    }
    model.load(server);
    for (const r of server) expect(model.runner(r.id)?.realizedPnl).toBeCloseTo(r.realizedPnl, 6);
    await client.close();
  });
});
