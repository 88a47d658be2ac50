import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TradingEngine } from '../../src/engine/engine.js';
import { DEFAULT_STORE_TYPES } from '../../src/server/config.js';
import { startPersistence } from '../../src/server/persistence.js';
import { startServer } from '../../src/server/server.js';
import { SCRIPT, startTestServer, until } from './harness.js';
import { post } from './transports.js';

const storeConfig = (dataDir: string) => ({ databaseUrl: undefined, dataDir, types: DEFAULT_STORE_TYPES, buffer: 100_000 });

describe('the event store behind the server (PGlite in DATA_DIR)', () => {
  it('answers eventHistory with filters and pages, and continues ids after a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tickwire-data-'));
    const first = await startPersistence(storeConfig(dataDir), () => undefined);
    const engine = new TradingEngine(first.bus);
    const server = await startServer({ engine, bus: first.bus, store: first.store, port: 0, host: '127.0.0.1' });
    let lastId: number;
    try {
      const ids = SCRIPT.map(({ event, symbol }) => first.bus.publish(event, symbol).id);
      lastId = ids.at(-1)!;
      // Ticks are not stored by default: 8 of the 10 scripted events are.
      await until(() => first.writer?.stats.written === 8, 'the stored events');
      const query = `query ($after: ID) {
        eventHistory(symbols: ["AAA"], types: [ERROR, RUNNER_STARTED, RUNNER_STOPPED, STATE_TRANSITION], first: 2, after: $after) {
          edges { cursor node { __typename ... on Event { id runnerId } } }
          pageInfo { hasNextPage endCursor }
        } }`;
      const page1 = await post(server, query);
      expect(page1.errors).toBeUndefined();
      const h1 = page1.data?.['eventHistory'] as { edges: { cursor: string; node: { __typename: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
      expect(h1.edges.map((e) => e.node.__typename)).toEqual(['RunnerStarted', 'RunnerError']);
      expect(h1.pageInfo.hasNextPage).toBe(true);
      const page2 = await post(server, query, { after: h1.pageInfo.endCursor });
      const h2 = page2.data?.['eventHistory'] as typeof h1;
      expect(h2.edges.map((e) => e.node.__typename)).toEqual(['StateTransition', 'RunnerError']);
      const page3 = await post(server, query, { after: h2.pageInfo.endCursor });
      const h3 = page3.data?.['eventHistory'] as typeof h1;
      expect(h3.edges.map((e) => e.node.__typename)).toEqual(['RunnerStopped']);
      expect(h3.pageInfo.hasNextPage).toBe(false);
      const bad = await post(server, '{ eventHistory(first: 5000) { pageInfo { hasNextPage } } }');
      expect(bad.errors?.[0]?.message).toMatch(/first must be within 1..1000, got 5000/);
    } finally {
      await server.close();
      await first.close();
    }
    const second = await startPersistence(storeConfig(dataDir), () => undefined);
    try {
      // Ids are unique across restarts: the log continues after the largest stored id.
      // (The last scripted event, a RunnerStopped, is stored, so the largest stored id is the last one.)
      expect(second.bus.lastId).toBe(lastId);
      expect(second.bus.publish(SCRIPT[0]!.event, 'AAA').id).toBe(lastId + 1);
    } finally {
      await second.close();
    }
  }, 60_000);

  it('says so when there is no store', async () => {
    const t = await startTestServer();
    try {
      const res = await post(t.server, '{ eventHistory { pageInfo { hasNextPage } } }');
      expect(res.errors?.[0]).toMatchObject({ message: 'this server keeps no event store', extensions: { code: 'NOT_AVAILABLE' } });
    } finally {
      await t.close();
    }
  });
});
