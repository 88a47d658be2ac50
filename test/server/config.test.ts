import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { autoWorkers, ConfigError, DEFAULT_DASHBOARD_DIR, loadServerConfig } from '../../src/app/config.js';
import { entry } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'tickwire-config-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('server configuration', () => {
  it('defaults to port 4000 on 127.0.0.1 with the three default runners', () => {
    const config = loadServerConfig({});
    expect([config.port, config.host]).toEqual([4000, '127.0.0.1']);
    expect(config.runners.map((r) => [r.id, r.symbol, r.strategy])).toEqual([
      ['btc_ema', 'BTCUSDT', 'ema_crossover'],
      ['eth_ema', 'ETHUSDT', 'ema_crossover'],
      ['sol_meanrev', 'SOLUSDT', 'mean_reversion'],
    ]);
  });

  it('WORKERS: auto (two fewer than the cores) by default, 0 to 64, anything else an error naming it and what it takes', () => {
    expect(loadServerConfig({}).workers).toBe(autoWorkers(availableParallelism()));
    expect(loadServerConfig({ WORKERS: 'auto' }).workers).toBe(autoWorkers(availableParallelism()));
    expect(loadServerConfig({ WORKERS: '0' }).workers).toBe(0);
    expect(loadServerConfig({ WORKERS: '64' }).workers).toBe(64);
    for (const bad of ['65', '-1', '1.5', 'many', 'Infinity']) {
      expect(() => loadServerConfig({ WORKERS: bad })).toThrow(/WORKERS: must be auto \(two fewer than the cores, 0 on two cores\) or a whole number from 0 .* to 64/);
    }
  });

  it('on four cores the defaults ask for two socket workers that start only at 100 open graphql-ws connections (WORKERS_START_CONNECTIONS)', () => {
    const four = loadServerConfig({}, 4);
    expect([four.workers, four.workersStartConnections]).toEqual([2, 100]);
    expect(loadServerConfig({ WORKERS_START_CONNECTIONS: '0' }, 4).workersStartConnections).toBe(0);
    expect(loadServerConfig({ WORKERS_START_CONNECTIONS: '5000' }, 4).workersStartConnections).toBe(5000);
    for (const bad of ['-1', '1.5', 'soon', '1000001']) {
      expect(() => loadServerConfig({ WORKERS_START_CONNECTIONS: bad })).toThrow(/WORKERS_START_CONNECTIONS: must be a whole number of open graphql-ws connections from 0 \(start the workers with the server\) to 1000000/);
    }
  });

  it('autoWorkers: none on one or two cores (a worker delivered less than none there), then two fewer than the cores', () => {
    // Measured on 2 cores, 1,000 distinct subscribers: 0 workers 53,122/s, 1 19,690/s, 2 35,787/s.
    expect([1, 2, 3, 4, 8, 16].map(autoWorkers)).toEqual([0, 0, 1, 2, 6, 14]);
    expect(autoWorkers(0)).toBe(0);
    expect(autoWorkers(1000)).toBe(64);
    expect(autoWorkers(Number.NaN)).toBe(0);
  });

  it('serves the dashboard from dist/dashboard unless told otherwise', () => {
    expect(loadServerConfig({}).dashboardDir).toBe(DEFAULT_DASHBOARD_DIR);
    expect(DEFAULT_DASHBOARD_DIR).toBe(resolve(fileURLToPath(new URL('../../dist/dashboard', import.meta.url))));
    expect(loadServerConfig({ DASHBOARD_DIR: 'build/page' }).dashboardDir).toBe(resolve('build/page'));
    expect(loadServerConfig({ DASHBOARD: 'false' }).dashboardDir).toBeNull();
    expect(() => loadServerConfig({ DASHBOARD: 'no' })).toThrow('invalid environment: DASHBOARD: Invalid option: expected one of "true"|"false"');
  });

  it('reads runners from YAML and JSON files', () => {
    const yaml = file('runners.yaml', 'runners:\n  - id: a\n    symbol: BTCUSDT\n    feed: { kind: simulated, ticksPerSecond: 5 }\n');
    expect(loadServerConfig({ RUNNERS_FILE: yaml, PORT: '5000' })).toMatchObject({ port: 5000, runners: [{ id: 'a' }] });
    const json = file('runners.json', JSON.stringify({ runners: [{ id: 'b', symbol: 'ETHUSDT', strategy: 'mean_reversion' }] }));
    expect(loadServerConfig({ RUNNERS_FILE: json }).runners).toMatchObject([{ id: 'b', strategy: 'mean_reversion' }]);
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ['a bad port', { PORT: 'eighty' }, /invalid environment: PORT/],
    ['a port out of range', { PORT: '70000' }, /PORT/],
    ['a missing file', { RUNNERS_FILE: join(dir, 'nope.yaml') }, /cannot read runners file .*nope.yaml/],
    ['broken YAML', { RUNNERS_FILE: file('broken.yaml', 'runners: [\n') }, /broken.yaml is not valid \.yaml/],
    ['a typo in a key', { RUNNERS_FILE: file('typo.yaml', 'runners:\n  - id: a\n    symbol: X\n    quantty: 2\n') }, /runners\.0: Unrecognized key: "quantty"/],
    ['a bad value', { RUNNERS_FILE: file('bad.json', '{"runners":[{"id":"a","symbol":"X"},{"id":"b","symbol":"X","quantity":-1}]}') }, /runners\.1\.quantity/],
    ['a duplicate id', { RUNNERS_FILE: file('dup.json', '{"runners":[{"id":"a","symbol":"X"},{"id":"a","symbol":"Y"}]}') }, /runners\.1\.id: duplicate runner id "a"/],
  ])('stops on %s with a message naming it', (_, env, message) => {
    expect(() => loadServerConfig(env)).toThrow(ConfigError);
    expect(() => loadServerConfig(env)).toThrow(message);
  });

  it('runs PGlite in a worker thread unless STORE_THREAD=false, and refuses anything else', () => {
    expect(loadServerConfig({}).store.thread).toBe(true);
    expect(loadServerConfig({ STORE_THREAD: 'true' }).store.thread).toBe(true);
    expect(loadServerConfig({ STORE_THREAD: 'false' }).store.thread).toBe(false);
    expect(() => loadServerConfig({ STORE_THREAD: 'no' })).toThrow(ConfigError);
    expect(() => loadServerConfig({ STORE_THREAD: 'no' })).toThrow(/^invalid environment: STORE_THREAD: /);
  });

  it('reads STORE_QUERY_TIMEOUT_MS (default 5000, 0 for no limit) and refuses anything but whole ms up to ten minutes', () => {
    expect(loadServerConfig({}).store.queryTimeoutMs).toBe(5000);
    expect(loadServerConfig({ STORE_QUERY_TIMEOUT_MS: '250' }).store.queryTimeoutMs).toBe(250);
    expect(loadServerConfig({ STORE_QUERY_TIMEOUT_MS: '0' }).store.queryTimeoutMs).toBe(0);
    for (const bad of ['-1', '1.5', 'soon', '600001']) {
      expect(() => loadServerConfig({ STORE_QUERY_TIMEOUT_MS: bad })).toThrow(ConfigError);
      expect(() => loadServerConfig({ STORE_QUERY_TIMEOUT_MS: bad })).toThrow(
        /^invalid environment: STORE_QUERY_TIMEOUT_MS: must be a whole number of milliseconds from 0 \(no limit\) to 600000/,
      );
    }
  });

  it('reads ENGINE_LEASE_MS (default 5000) and refuses anything but whole ms from 1000 to ten minutes', () => {
    expect(loadServerConfig({}).engineLeaseMs).toBe(5000);
    expect(loadServerConfig({ ENGINE_LEASE_MS: '1500' }).engineLeaseMs).toBe(1500);
    for (const bad of ['0', '999', '1.5', 'soon', '600001']) {
      expect(() => loadServerConfig({ ENGINE_LEASE_MS: bad })).toThrow(/^invalid environment: ENGINE_LEASE_MS: must be a whole number of milliseconds from 1000 to 600000/);
    }
  });

  it('validates LOG_LEVEL with the rest of the environment', () => {
    expect(() => loadServerConfig({})).not.toThrow();
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']) expect(() => loadServerConfig({ LOG_LEVEL: level })).not.toThrow();
    expect(() => loadServerConfig({ LOG_LEVEL: 'loud' })).toThrow(ConfigError);
    expect(() => loadServerConfig({ LOG_LEVEL: 'loud' })).toThrow(/^invalid environment: LOG_LEVEL: /);
  });

  it('npm start refuses a bad LOG_LEVEL like any other setting: the message, no stack trace, exit code 1', () => {
    const result = spawnSync(process.execPath, entry('main'), {
      env: { ...process.env, LOG_LEVEL: 'loud', PORT: '0' },
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toMatch(/^tickwire: invalid environment: LOG_LEVEL: .*"silent"$/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('reads MAX_EVENT_AGE_MS: 1000 by default, 0 turns it off, anything else is refused naming it', () => {
    expect(loadServerConfig({}).maxEventAgeMs).toBe(1000);
    expect(loadServerConfig({ MAX_EVENT_AGE_MS: '0' }).maxEventAgeMs).toBe(0);
    expect(loadServerConfig({ MAX_EVENT_AGE_MS: '250' }).maxEventAgeMs).toBe(250);
    expect(() => loadServerConfig({ MAX_EVENT_AGE_MS: 'soon' })).toThrow('invalid environment: MAX_EVENT_AGE_MS: must be a whole number of milliseconds (0 turns the bound off)');
    expect(() => loadServerConfig({ MAX_EVENT_AGE_MS: '1.5' })).toThrow('invalid environment: MAX_EVENT_AGE_MS: must be a whole number of milliseconds');
    expect(() => loadServerConfig({ MAX_EVENT_AGE_MS: '-5' })).toThrow('invalid environment: MAX_EVENT_AGE_MS: must be 0 (off) or more');
    expect(() => loadServerConfig({ MAX_EVENT_AGE_MS: '600001' })).toThrow('invalid environment: MAX_EVENT_AGE_MS: must be at most 600000 (ten minutes); 0 turns the bound off');
  });

  it('npm start refuses a bad configuration with the message and exit code 1, before it touches DATA_DIR', () => {
    const cases: [string, string, RegExp][] = [
      ['strategy.yaml', 'runners:\n  - id: a\n    symbol: X\n    strategy: moon\n', /tickwire: runners file .*strategy\.yaml: runner "a": unknown strategy "moon"/],
      ['replay.yaml', 'runners:\n  - id: r\n    symbol: X\n    feed: { kind: replay, path: /nowhere/ticks.csv }\n', /tickwire: runners file .*replay\.yaml: runner "r": feed\.path: /],
      ['rate.yaml', 'runners:\n  - { id: a, symbol: X, feed: { kind: simulated, ticksPerSecond: 600 } }\n  - { id: b, symbol: Y, feed: { kind: simulated, ticksPerSecond: 600 } }\n', /runner "b": feed\.ticksPerSecond 600 would take the engine to 1200 ticks\/s/],
    ];
    for (const [name, text, message] of cases) {
      const dataDir = join(dir, `data-${name}`);
      const result = spawnSync(process.execPath, entry('main'), {
        env: { ...process.env, RUNNERS_FILE: file(name, text), PORT: '0', DATA_DIR: dataDir, MAX_TOTAL_TICKS_PER_SECOND: '1000' },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(result.status, name).toBe(1);
      expect(result.stderr, name).toMatch(message);
      // Refused before the store opened: no lock, no unclean mark, so no id skip next time.
      expect(existsSync(dataDir), `${name}: DATA_DIR created`).toBe(false);
    }
  });
});
