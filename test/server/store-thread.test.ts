import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TradingEngine } from '../../src/engine/engine.js';
import { DEFAULT_STORE_TYPES } from '../../src/app/config.js';
import { startPersistence, SYSTEM_RUNNER_ID } from '../../src/app/persistence.js';
import { startServer } from '../../src/app/server.js';
import { pgliteWorkerOf } from '../../src/store/db.js';
import { SCRIPT, until } from './harness.js';
import { post, watch } from './transports.js';

const work = mkdtempSync(join(tmpdir(), 'tickwire-store-thread-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the store's worker thread behind the server", () => {
  it('when it dies, writes fail and are reported, the server goes on serving, and shutdown does not hang', async () => {
    const logs: string[] = [];
    const persistence = await startPersistence({ databaseUrl: undefined, dataDir: join(work, 'data'), types: DEFAULT_STORE_TYPES, buffer: 100_000 }, (line) => logs.push(line));
    const worker = pgliteWorkerOf(persistence.db!);
    expect(worker).not.toBeNull();
    const engine = new TradingEngine(persistence.bus);
    const server = await startServer({ engine, bus: persistence.bus, store: persistence.store, port: 0, host: '127.0.0.1' });
    const reports = watch('graphql-ws', server, `subscription { events(runnerIds: ["${SYSTEM_RUNNER_ID}"]) { ... on RunnerError { error } } }`);
    try {
      await until(() => persistence.bus.subscriberCount === 2, 'the writer and the watcher');
      persistence.bus.publish(SCRIPT[0]!.event, SCRIPT[0]!.symbol);
      await until(() => persistence.writer?.stats.written === 1, 'the first event stored');

      await worker!.terminate();
      for (const { event, symbol } of SCRIPT.slice(1)) persistence.bus.publish(event, symbol);
      const [report] = await reports.take(1, 15_000);
      expect((report!.data as { events: { error: string } }).events.error).toBe(
        'event store writes are failing (pglite); retrying, the events are buffered meanwhile (details in the server log)',
      );
      expect(logs.find((l) => l.includes('event store write failed'))).toMatch(
        /^tickwire: event store write failed \(attempt 1, retrying\): the embedded PGlite database .+ is unavailable: its worker thread stopped \(it was terminated or exited, code 1\)$/,
      );
      expect(persistence.writer!.stats.healthy).toBe(false);

      // The server answers: queries, and history with an error instead of a hang.
      const runners = await post(server, '{ runners { id } }');
      expect(runners).toEqual({ data: { runners: [] } });
      const history = await post(server, '{ eventHistory(first: 5) { pageInfo { hasNextPage } } }');
      expect(history.errors?.length).toBe(1);
      expect(history.data ?? null).toBeNull();
      const health = await fetch(new URL('/health', server.urls.http));
      expect(health.status).toBe(200);
    } finally {
      await reports.close();
      await server.close();
      // The writer gives up after a few tries at shutdown; the dead thread must not hold it.
      await persistence.close(1000);
    }
  }, 60_000);
});
