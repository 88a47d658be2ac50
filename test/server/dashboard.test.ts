import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/log/bus.js';
import { TradingEngine } from '../../src/engine/engine.js';
import { hashToken, TokenStore } from '../../src/graphql/auth.js';
import { startServer, type TickwireServer } from '../../src/app/server.js';

describe('the dashboard at /', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tickwire-dashboard-'));
  const bus = new EventBus();
  const engine = new TradingEngine(bus);
  let server: TickwireServer;
  let unbuilt: TickwireServer;
  let base: string;

  beforeAll(async () => {
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>tickwire</title><script type="module" src="/assets/app-1234.js"></script>');
    writeFileSync(join(dir, 'assets', 'app-1234.js'), 'console.log("hi")');
    const tokens = new TokenStore([{ name: 'ops', sha256: hashToken('ops-secret'), role: 'operator', runners: ['*'] }]);
    server = await startServer({ engine, bus, port: 0, host: '127.0.0.1', tokens, dashboardDir: dir });
    unbuilt = await startServer({ engine, bus, port: 0, host: '127.0.0.1', dashboardDir: join(dir, 'missing') });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server.close();
    await unbuilt.close();
    bus.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page without a token, revalidated, under a content security policy', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'; connect-src 'self'/);
    expect(await res.text()).toContain('/assets/app-1234.js');
  });

  it('serves hashed assets for good, and 404 for what is not there', async () => {
    const asset = await fetch(`${base}/assets/app-1234.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const etag = asset.headers.get('etag');
    expect(etag).toBeTruthy();
    expect((await fetch(`${base}/assets/app-1234.js`, { headers: { 'if-none-match': etag! } })).status).toBe(304);
    const missing = await fetch(`${base}/assets/nope.js`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('not found: /assets/nope.js');
    // fetch would resolve a literal ../ itself; encoded, it reaches the server as sent.
    const escape = await fetch(`${base}/assets/..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd`);
    expect(escape.status).toBe(404);
    expect(await escape.text()).not.toContain('root:');
  });

  it('leaves GraphQL to the API: still behind the token', async () => {
    const res = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ runners { id } }"}' });
    expect(res.status).toBe(401);
    const ok = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ops-secret' },
      body: '{"query":"{ me { name role } }"}',
    });
    expect(await ok.json()).toEqual({ data: { me: { name: 'ops', role: 'OPERATOR' } } });
  });

  it('says how to build the dashboard when there is no build', async () => {
    const res = await fetch(`http://127.0.0.1:${unbuilt.port}/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build');
  });
});
