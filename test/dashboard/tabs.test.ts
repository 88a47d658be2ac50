import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/log/bus.js';
import { TradingEngine } from '../../src/engine/engine.js';
import { startServer, type TickwireServer } from '../../src/app/server.js';
import { launchChromium } from './chromium.js';

/** Seconds of history the server holds before any tab opens: "four minutes". */
const HISTORY_S = 240;
/** Ticks per second of that history: a server that has run for a while, with a large log. */
const HISTORY_TICKS_PER_S = 50;
const RUNNER = 'alpha';
const SYMBOL = 'ALPHAUSDT';

/**
 * Publishes four minutes of a runner's ticks and stats, timed before now, as a server
 * that has run for a while holds them: what every tab's chart and equity curve must
 * start from, whichever process serves the tab. Returns the first candle's start and
 * the first equity point (realized + unrealized P&L of the first stats).
 */
function publishHistory(bus: EventBus, now: number): { firstCandle: number; firstEquity: { time: number; value: number } } {
  const start = Math.floor((now - HISTORY_S * 1000) / 1000) * 1000;
  let price = 100;
  for (let s = 0; s < HISTORY_S; s++) {
    for (let k = 0; k < HISTORY_TICKS_PER_S; k++) {
      const timestamp = start + s * 1000 + Math.floor((k * 1000) / HISTORY_TICKS_PER_S);
      price += Math.sin(s + k) * 0.05;
      bus.publish({ type: 'TickReceived', runnerId: RUNNER, symbol: SYMBOL, data: { symbol: SYMBOL, timestamp, open: price, high: price, low: price, close: price, volume: 1, bid: price, ask: price } }, SYMBOL);
    }
    // Realized P&L that grows, and from the minute on a long position marked at the price.
    const openPosition = s >= 60 ? { symbol: SYMBOL, side: 'LONG' as const, quantity: 2, entryPrice: 99, entryTime: start + 60_000 } : null;
    bus.publish(
      { type: 'StatsUpdate', runnerId: RUNNER, ticksProcessed: (s + 1) * HISTORY_TICKS_PER_S, actionsExecuted: 0, errorRate: 0, realizedPnl: 12.5 + s / 10, lastPrice: price, ticksPerSecond: HISTORY_TICKS_PER_S, openPosition, timestamp: start + s * 1000 + 999 },
      SYMBOL,
    );
  }
  return { firstCandle: start, firstEquity: { time: start, value: 12.5 } };
}

const outDir = mkdtempSync(join(tmpdir(), 'tickwire-dashboard-tabs-'));
let browser: Browser;

beforeAll(async () => {
  await build({ configFile: fileURLToPath(new URL('../../src/dashboard/vite.config.ts', import.meta.url)), build: { outDir }, logLevel: 'error' });
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  rmSync(outDir, { recursive: true, force: true });
});

/** What a tab's chart starts with: its first candle and first equity point, as the page says. */
const firsts = (page: Page) =>
  page.evaluate(() => {
    const chart = document.querySelector<HTMLElement>('#chart-caption');
    const equity = document.querySelector<HTMLElement>('#equity-caption');
    return {
      candle: Number(chart?.dataset['first'] ?? Number.NaN),
      equityTime: Number(equity?.dataset['first'] ?? Number.NaN),
      equityValue: Number(equity?.dataset['firstValue'] ?? Number.NaN),
      notice: document.querySelector<HTMLElement>('#notice')?.hidden === false ? document.querySelector('#notice')?.textContent : null,
    };
  });

/**
 * Tabs opened at the same moment against a server that has run for a while (issue 24):
 * each must draw the runner's candles and equity curve from the server's history, not
 * from when it loaded. Served by the server process (WORKERS=0, the default on two cores)
 * and by socket workers (WORKERS=2, as on four cores or more), which each mirror the log.
 */
describe.each([0, 2])('three dashboard tabs opened at once (WORKERS=%i)', (workers) => {
  const bus = new EventBus();
  const engine = new TradingEngine(bus);
  let server: TickwireServer;
  let history: ReturnType<typeof publishHistory>;

  beforeAll(async () => {
    history = publishHistory(bus, Date.now());
    engine.addRunner({ id: RUNNER, symbol: SYMBOL, strategy: 'ema_crossover', feed: { kind: 'simulated', ticksPerSecond: 50, seed: 1 }, statsIntervalMs: 250 });
    server = await startServer({ engine, bus, port: 0, host: '127.0.0.1', dashboardDir: outDir, workers });
    await server.workers?.ready();
  }, 180_000);

  afterAll(async () => {
    await engine.stopAll('test over');
    await server?.close();
    bus.close();
  }, 60_000);

  it('gives every tab the candles and the equity curve of the history, the same first candle and first point', async () => {
    // The server itself holds the history: a direct query returns it.
    const direct = (await (
      await fetch(server.urls.http, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: `{ runner(id: "${RUNNER}") { candles(intervalMs: 1000, last: 900) { start } } }` }),
      })
    ).json()) as { data: { runner: { candles: { start: number }[] } } };
    expect(direct.data.runner.candles[0]?.start).toBe(history.firstCandle);

    const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
    try {
      const pages = await Promise.all([0, 1, 2].map(() => context.newPage()));
      const errors: string[] = [];
      for (const page of pages) page.on('pageerror', (err) => errors.push(err.message));
      // At the same moment: no tab waits for another.
      await Promise.all(pages.map((page) => page.goto(server.urls.http.replace(/graphql$/, ''))));
      const expected = { candle: history.firstCandle, equityTime: history.firstEquity.time, equityValue: history.firstEquity.value, notice: null };
      await Promise.all(pages.map((page) => expect.poll(() => firsts(page), { timeout: 90_000, interval: 250 }).toEqual(expected)));
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 180_000);
});
