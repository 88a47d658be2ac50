import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEFAULT_STORE_TYPES } from '../../src/app/config.js';
import { startPersistence } from '../../src/app/persistence.js';
import { startTestServer, until } from './harness.js';
import { entry } from '../support/processes.js';

describe('faults', () => {
  it('1000 clients that subscribe and vanish without a close frame leave nothing behind', async () => {
    const t = await startTestServer();
    try {
      global.gc?.();
      const heapBefore = process.memoryUsage().heapUsed;
      for (let round = 0; round < 10; round++) {
        const sockets = await Promise.all(
          Array.from(
            { length: 100 },
            () =>
              new Promise<WebSocket>((resolve, reject) => {
                const socket = new WebSocket(t.server.urls.ws, 'graphql-transport-ws');
                socket.once('error', reject);
                socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
                socket.on('message', (data) => {
                  if (String(data).includes('connection_ack')) {
                    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { events { __typename } }' } }));
                    resolve(socket);
                  }
                });
              }),
          ),
        );
        // The same document and variables: one execution group of 100 members, each its own log subscriber.
        await until(() => t.server.tickwire.sharedExecution.stats().members === 100, `round ${round}: 100 subscribers`);
        expect(t.server.tickwire.sharedExecution.stats().cohorts).toBe(1);
        expect(t.bus.subscriberCount).toBe(100);
        // terminate(): the TCP connection is destroyed, no close frame is sent.
        for (const s of sockets) s.terminate();
        await until(
          () => t.server.tickwire.sharedExecution.stats().members === 0 && t.bus.subscriberCount === 0 && t.server.ws!.wss.clients.size === 0,
          `round ${round}: cleanup`,
        );
      }
      expect(t.server.tickwire.sharedExecution.stats()).toMatchObject({ cohorts: 0, members: 0 });
      global.gc?.();
      // Generous: 1000 connections came and went; what remains is noise, not their state.
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(50 * 1024 * 1024);
    } finally {
      await t.close();
    }
  }, 60_000);

  it('SIGTERM: subscriptions complete, stored events are flushed, exit 0 within 5 s', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tickwire-term-'));
    const child = spawn(process.execPath, entry('main'), {
      env: { ...process.env, PORT: '0', DATA_DIR: dataDir, REDIS_URL: '', DATABASE_URL: '', RUNNERS_FILE: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (out += String(d)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await until(() => /ws:\/\/[^ ]+:(\d+)\/graphql/.test(out), 'the server to start', 30_000);
    const url = /(ws:\/\/[^ \n]+\/graphql)/.exec(out)![1]!;
    const socket = new WebSocket(url, 'graphql-transport-ws');
    const messages: string[] = [];
    let closeCode = 0;
    socket.on('close', (code) => (closeCode = code));
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
    socket.on('message', (data) => {
      const text = String(data);
      messages.push(text);
      if (text.includes('connection_ack')) {
        socket.send(JSON.stringify({ id: 's', type: 'subscribe', payload: { query: 'subscription { events(types: [RUNNER_STOPPED]) { ... on RunnerStopped { runnerId reason } } }' } }));
      }
    });
    await until(() => messages.length > 0, 'the ack');
    await new Promise((r) => setTimeout(r, 300));
    const sentAt = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - sentAt).toBeLessThan(5000);
    // Every runner's RunnerStopped reached the open subscription before it was closed.
    const stopped = messages.filter((m) => m.includes('RunnerStopped') || m.includes('"reason"'));
    expect(stopped.length).toBeGreaterThanOrEqual(3);
    // The subscription was completed with a message before the socket closed (1001).
    expect(messages.some((m) => m.includes('"type":"complete"') && m.includes('"id":"s"'))).toBe(true);
    expect(closeCode).toBe(1001);
    // And they were written to the store before the process went.
    const again = await startPersistence({ databaseUrl: undefined, dataDir, types: DEFAULT_STORE_TYPES, buffer: 1000 }, () => undefined);
    try {
      const page = await again.store!.history({ types: ['RunnerStopped'], first: 10 });
      expect(page.entries.map((e) => e.event.runnerId).sort()).toEqual(['btc_ema', 'eth_ema', 'sol_meanrev']);
    } finally {
      await again.close();
    }
  }, 60_000);
});
