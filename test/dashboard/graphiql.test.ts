import { parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { EventBus } from '../../src/log/bus.js';
import { TradingEngine } from '../../src/engine/engine.js';
import { schema } from '../../src/graphql/schema/index.js';
import { hashToken, TokenStore } from '../../src/graphql/auth.js';
import { defaultGraphiqlQuery, suggestedSubscription } from '../../src/transport/graphiql.js';
import { startServer, type TickwireServer } from '../../src/app/server.js';
import { launchChromium } from './chromium.js';

/** The README's Quick-start subscription. */
const QUICK_START = 'subscription { events(runnerIds: ["btc_ema"]) { __typename ... on TickReceived { data { close } } } }';

describe('what GraphiQL and the banner suggest', () => {
  it('is valid against the schema, with a runner and without one', () => {
    for (const document of [defaultGraphiqlQuery('btc_ema'), defaultGraphiqlQuery(null), suggestedSubscription('only_one'), suggestedSubscription(null)]) {
      expect(validate(schema, parse(document))).toEqual([]);
    }
    expect(defaultGraphiqlQuery(null)).not.toContain('runnerIds');
    // An id that is not a runner id is never quoted into the page's script.
    expect(defaultGraphiqlQuery('</script><script>alert(1)</script>')).toBe(defaultGraphiqlQuery(null));
  });
});

describe('GraphiQL in Chromium without internet access', () => {
  const bus = new EventBus();
  const engine = new TradingEngine(bus);
  let open: TickwireServer;
  let guarded: TickwireServer;
  let browser: Browser;

  beforeAll(async () => {
    engine.addRunner({ id: 'btc_ema', symbol: 'BTCUSDT', strategy: 'ema_crossover', feed: { kind: 'simulated', ticksPerSecond: 20, seed: 7 } });
    open = await startServer({ engine, bus, port: 0, host: '127.0.0.1', suggestedRunnerId: 'btc_ema' });
    const tokens = new TokenStore([{ name: 'ops', sha256: hashToken('ops-secret'), role: 'operator', runners: ['*'] }]);
    guarded = await startServer({ engine, bus, port: 0, host: '127.0.0.1', tokens });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await engine.stopAll('test over');
    await open?.close();
    await guarded?.close();
    bus.close();
  });

  /** A page of its own whose requests may reach `server` and nothing else; what tried another origin is kept. */
  async function offline(server: TickwireServer): Promise<{ context: BrowserContext; page: Page; origin: string; elsewhere: string[]; errors: string[] }> {
    const origin = `http://127.0.0.1:${server.port}`;
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const elsewhere: string[] = [];
    const errors: string[] = [];
    const local = (url: string): boolean => url.startsWith('data:') || url.startsWith('blob:') || new URL(url).origin === origin;
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (local(url)) return route.continue();
      elsewhere.push(url);
      return route.abort('internetdisconnected');
    });
    context.on('request', (request) => {
      if (!local(request.url())) elsewhere.push(request.url());
    });
    const page = await context.newPage();
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('websocket', (ws) => {
      if (new URL(ws.url()).host !== new URL(origin).host) elsewhere.push(ws.url());
    });
    return { context, page, origin, elsewhere, errors };
  }

  /** What an editor shows (Monaco draws spaces as non-breaking ones). */
  const text = (page: Page, selector: string) => page.locator(selector).last().innerText().then((t) => t.replace(/\u00a0/g, ' '));
  const result = (page: Page) => text(page, '.graphiql-response');

  /** The `close` prices the result pane has shown so far. */
  async function watchCloses(page: Page, seen: Set<string>): Promise<number> {
    const match = /"close":\s*([\d.]+)/.exec(await result(page));
    if (match?.[1] !== undefined) seen.add(match[1]);
    return seen.size;
  }

  it('serves its own scripts and streams the Quick-start subscription over graphql-ws', async () => {
    const { context, page, origin, elsewhere, errors } = await offline(open);
    const response = await page.goto(`${origin}/graphql?query=${encodeURIComponent(QUICK_START)}`);
    expect(response?.status()).toBe(200);
    await page.locator('.graphiql-execute-button').waitFor({ state: 'visible', timeout: 20_000 });
    expect(await page.title()).toBe('tickwire');
    await page.click('.graphiql-execute-button');
    // Ticks arrive: the pane shows a TickReceived, then another price, and another.
    const seen = new Set<string>();
    await expect.poll(() => watchCloses(page, seen), { timeout: 15_000, interval: 100 }).toBeGreaterThanOrEqual(3);
    expect(await result(page)).toContain('"__typename": "TickReceived"');
    expect(elsewhere).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('opens with a subscription of a runner that exists', async () => {
    const { context, page, origin, elsewhere } = await offline(open);
    await page.goto(`${origin}/graphql`);
    await page.locator('.graphiql-execute-button').waitFor({ state: 'visible', timeout: 20_000 });
    await expect.poll(() => text(page, '.graphiql-query-editor'), { timeout: 10_000 }).toContain('runnerIds: ["btc_ema"]');
    await page.click('.graphiql-execute-button');
    await expect.poll(() => watchCloses(page, new Set()), { timeout: 15_000, interval: 100 }).toBe(1);
    expect(elsewhere).toEqual([]);
    await context.close();
  }, 60_000);

  it('with tokens: loads without one, and streams once the token is in the headers', async () => {
    const { context, page, origin, elsewhere, errors } = await offline(guarded);
    const response = await page.goto(`${origin}/graphql?query=${encodeURIComponent(QUICK_START)}`);
    expect(response?.status()).toBe(200);
    await page.locator('.graphiql-execute-button').waitFor({ state: 'visible', timeout: 20_000 });
    // The headers editor offers the field to fill in.
    await page.getByRole('button', { name: 'Headers' }).click();
    const headers = page.locator('.graphiql-editor-tool .graphiql-editor').last();
    await expect.poll(() => text(page, '.graphiql-editor-tool .graphiql-editor'), { timeout: 10_000 }).toContain('"Authorization": "Bearer <your token>"');
    await headers.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Backspace');
    // Typed key by key, as a person does: Monaco closes brackets and quotes, then types over them.
    await page.keyboard.type('{"Authorization": "Bearer ops-secret"}');
    await expect.poll(() => text(page, '.graphiql-editor-tool .graphiql-editor')).toMatch(/^1\s+\{"Authorization": "Bearer ops-secret"\}$/);
    const sent: string[] = [];
    page.on('websocket', (ws) => ws.on('framesent', (frame) => sent.push(String(frame.payload))));
    await page.click('.graphiql-execute-button');
    const seen = new Set<string>();
    await expect.poll(() => watchCloses(page, seen), { timeout: 15_000, interval: 100 }).toBeGreaterThanOrEqual(3);
    // The token reached graphql-ws where the server reads it: the connection's params.
    expect(sent.map((m) => JSON.parse(m) as { type: string; payload?: unknown }).find((m) => m.type === 'connection_init')?.payload).toEqual({ authorization: 'Bearer ops-secret' });
    expect(elsewhere).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);
});
