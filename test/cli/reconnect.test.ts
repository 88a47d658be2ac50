import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/log/bus.js';
import { parseTailArgs } from '../../src/cli/args.js';
import { backoffDelay, tail } from '../../src/cli/tail.js';
import { TradingEngine } from '../../src/engine/engine.js';
import { hashToken, TokenStore } from '../../src/graphql/auth.js';
import { startServer, type TickwireServer } from '../../src/app/server.js';
import { publishScript, SCRIPT, startTestServer, until } from '../server/harness.js';

/** The CLI as a child process, its output gathered line by line. */
interface Cli {
  readonly child: ChildProcess;
  readonly out: string[];
  readonly err: string[];
  readonly exited: Promise<number | null>;
}

const running: Cli[] = [];
afterEach(async () => {
  for (const cli of running.splice(0)) {
    if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill();
    await cli.exited;
  }
});

function cli(...args: string[]): Cli {
  const child = spawn(process.execPath, ['bin/tickwire.mjs', 'tail', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  const err: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => out.push(l));
  createInterface({ input: child.stderr! }).on('line', (l) => err.push(l));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = { child, out, err, exited };
  running.push(started);
  return started;
}

const idsOf = (lines: readonly string[]) => lines.map((l) => (JSON.parse(l) as { id: string }).id);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

describe('tail retries by default', () => {
  it('waits 0.5 s doubling to 10 s, with up to 20 % jitter', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map((n) => backoffDelay(n, () => 0.5))).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
    expect(backoffDelay(1, () => 0)).toBe(400);
    expect(backoffDelay(1, () => 0.9999)).toBe(600);
    expect(backoffDelay(6, () => 0.9999)).toBe(10_000);
    expect(backoffDelay(6, () => 0)).toBe(8000);
  });

  it('parses --retries; without it, never gives up', () => {
    expect(parseTailArgs([], {}).retries).toBe(Infinity);
    expect(parseTailArgs(['--retries', '3'], {}).retries).toBe(3);
    expect(parseTailArgs(['--retries', '0'], {}).retries).toBe(0);
    expect(() => parseTailArgs(['--retries', 'lots'], {})).toThrow(/--retries lots: must be a whole number/);
    expect(() => parseTailArgs(['--retries', '-1'], {})).toThrow(/--retries/);
  });

  it.each([
    ['graphql-ws', [] as string[], /^tickwire: connection lost \(code 1001\); reconnecting in \d+(\.\d)? s…$/],
    ['graphql-sse', ['--sse'], /^tickwire: (connection lost \(.+\)|the server ended the stream); reconnecting in \d+(\.\d)? s…$/],
  ])('survives a restart of the server (%s): says so on stderr and goes on after the last id it printed, no gap, no duplicate', async (_, flags, lost) => {
    const t = await startTestServer();
    const port = t.server.port;
    let second: TickwireServer | null = null;
    try {
      const { out, err } = cli('--url', flags.includes('--sse') ? t.server.urls.sse : t.server.urls.ws, ...flags, '--json');
      await until(() => t.bus.subscriberCount === 1, 'the tail to subscribe', 15_000);
      publishScript(t.bus);
      await until(() => out.length === SCRIPT.length, 'the first events', 15_000);

      await t.server.close();
      await until(() => err.some((l) => lost.test(l)), 'the reconnecting line', 15_000);
      // Published while the tail is away: the bus keeps them, and the resumed subscription must bring them.
      publishScript(t.bus);
      second = await startServer({ engine: t.engine, bus: t.bus, port, host: '127.0.0.1' });
      await until(() => err.includes(`tickwire: reconnected, resuming after id ${SCRIPT.length}`), 'the reconnected line', 15_000);
      await until(() => out.length === 2 * SCRIPT.length, 'the events published while away', 15_000);
      publishScript(t.bus);
      await until(() => out.length === 3 * SCRIPT.length, 'the events after the restart', 15_000);

      expect(idsOf(out)).toEqual(range(1, 3 * SCRIPT.length));
      expect(err.filter((l) => /reconnected/.test(l))).toHaveLength(1);
    } finally {
      await second?.close();
      await t.close();
    }
  }, 60_000);

  it('gives up after --retries attempts with exit code 1 and a clear message', async () => {
    const gone = await startTestServer();
    const url = gone.server.urls.ws;
    await gone.close();
    const { err, exited } = cli('--url', url, '--retries', '2');
    expect(await exited).toBe(1);
    expect(err.filter((l) => /; retrying in \d+(\.\d)? s…$/.test(l))).toHaveLength(2);
    expect(err.at(-1)).toMatch(/^tickwire: cannot connect to ws:\/\/127\.0\.0\.1:\d+\/graphql \(.*ECONNREFUSED.*\); gave up after 2 attempts to connect$/);
  }, 30_000);

  it.each([
    ['graphql-ws', [] as string[], /^tickwire: the server refused the connection \(close 4403[^)]*\); check --token or TICKWIRE_TOKEN$/],
    ['graphql-sse', ['--sse'], /^tickwire: the server refused the request \(HTTP 40[13]\); check --token or TICKWIRE_TOKEN$/],
  ])('ends at once with exit code 1 when the server refuses the token (%s)', async (_, flags, message) => {
    const bus = new EventBus();
    const tokens = new TokenStore([{ name: 'ops', sha256: hashToken('right'), role: 'operator', runners: ['*'] }]);
    const server = await startServer({ engine: new TradingEngine(bus), bus, port: 0, host: '127.0.0.1', tokens });
    try {
      const url = flags.includes('--sse') ? server.urls.sse : server.urls.ws;
      const { err, exited } = cli('--url', url, ...flags, '--token', 'wrong');
      expect(await exited).toBe(1);
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(message);
    } finally {
      await server.close();
      bus.close();
    }
  }, 30_000);

  it('reconnects when the server ends the stream (a graceful shutdown), after the last id printed', async () => {
    const first = await startTestServer();
    const port = first.server.port;
    const lines: string[] = [];
    const notices: string[] = [];
    const abort = new AbortController();
    const options = parseTailArgs(['--url', first.server.urls.ws, '--json'], {});
    const done = tail(options, (l) => lines.push(l), abort.signal, { notice: (l) => notices.push(l), random: () => 0 });
    let next: { bus: EventBus; server: TickwireServer } | null = null;
    try {
      await until(() => first.bus.subscriberCount === 1, 'the tail to subscribe');
      publishScript(first.bus);
      await until(() => lines.length === SCRIPT.length, 'the first events');
      // What `npm start` does on SIGTERM: every subscription completes, then the server goes.
      first.bus.close();
      await until(() => notices.some((l) => l.startsWith('tickwire: the server ended the stream; reconnecting in')), 'the reconnecting line');
      await first.server.close();
      // The next process continues the ids (its store says where the log stood, and keeps its epoch).
      const bus = new EventBus({ epoch: first.bus.epoch });
      bus.advanceTo(SCRIPT.length);
      next = { bus, server: await startServer({ engine: new TradingEngine(bus), bus, port, host: '127.0.0.1' }) };
      await until(() => bus.subscriberCount === 1, 'the tail to subscribe again', 15_000);
      publishScript(bus);
      await until(() => lines.length === 2 * SCRIPT.length, 'the events of the new server');
      expect(idsOf(lines)).toEqual(range(1, 2 * SCRIPT.length));
      expect(notices).toContain(`tickwire: reconnected, resuming after id ${SCRIPT.length}`);
    } finally {
      abort.abort();
      await done;
      await next?.server.close();
      next?.bus.close();
    }
  }, 30_000);

  it('says so when the server it reconnects to has another log, and goes on with live events', async () => {
    const first = await startTestServer();
    const port = first.server.port;
    const lines: string[] = [];
    const abort = new AbortController();
    const options = parseTailArgs(['--url', first.server.urls.ws, '--json'], {});
    const done = tail(options, (l) => lines.push(l), abort.signal, { notice: () => undefined, random: () => 0 });
    let next: { bus: EventBus; server: TickwireServer } | null = null;
    try {
      await until(() => first.bus.subscriberCount === 1, 'the tail to subscribe');
      publishScript(first.bus);
      await until(() => lines.length === SCRIPT.length, 'the first events');
      first.bus.close();
      await first.server.close();
      // A new store: a new log whose ids only happen to go on past the ones printed.
      const bus = new EventBus({ epoch: 'another-log' });
      bus.advanceTo(2);
      next = { bus, server: await startServer({ engine: new TradingEngine(bus), bus, port, host: '127.0.0.1' }) };
      await until(() => bus.subscriberCount === 1, 'the tail to subscribe again', 15_000);
      const live = publishScript(bus);
      await until(() => lines.length === 2 * SCRIPT.length + 1, 'the notice and the live events');
      const after = lines.slice(SCRIPT.length).map((l) => JSON.parse(l) as { __typename: string; id?: string; epoch?: string; reason?: string });
      expect(after[0]).toMatchObject({ __typename: 'StreamGap', epoch: 'another-log', reason: expect.stringMatching(/the event log was reset/) });
      // Live only: events 3..10 of the new log are not what followed id 10 of the old one.
      expect(after.slice(1).map((e) => Number(e.id))).toEqual(live);
    } finally {
      abort.abort();
      await done;
      await next?.server.close();
      next?.bus.close();
    }
  }, 30_000);

  it('follows a log recreated under its stream: resumes after the new epoch\'s ids, which restarted below those printed', async () => {
    const first = await startTestServer();
    const port = first.server.port;
    const lines: string[] = [];
    const abort = new AbortController();
    const options = parseTailArgs(['--url', first.server.urls.ws, '--json'], {});
    const done = tail(options, (l) => lines.push(l), abort.signal, { notice: () => undefined, random: () => 0 });
    let next: { bus: EventBus; server: TickwireServer } | null = null;
    try {
      await until(() => first.bus.subscriberCount === 1, 'the tail to subscribe');
      publishScript(first.bus);
      publishScript(first.bus);
      await until(() => lines.length === 2 * SCRIPT.length, 'the first events');
      // What a reader of a flushed Redis does: the new log's ids start at 1 again.
      first.bus.restartEpoch('recreated', 0);
      const restarted = publishScript(first.bus).slice(0, 3);
      expect(restarted).toEqual([1, 2, 3]);
      await until(() => lines.length === 3 * SCRIPT.length + 1, 'the notice and the new epoch\'s events');
      first.bus.close();
      await first.server.close();
      // Another instance of the same (new) log, where it stands.
      const bus = new EventBus({ epoch: 'recreated' });
      bus.advanceTo(SCRIPT.length);
      next = { bus, server: await startServer({ engine: new TradingEngine(bus), bus, port, host: '127.0.0.1' }) };
      await until(() => bus.subscriberCount === 1, 'the tail to subscribe again', 15_000);
      publishScript(bus);
      await until(() => lines.length >= 4 * SCRIPT.length + 1, 'the events after the resume');
      const parsed = lines.slice(2 * SCRIPT.length).map((l) => JSON.parse(l) as { __typename: string; id?: string; epoch?: string });
      expect(parsed[0]).toMatchObject({ __typename: 'StreamGap', epoch: 'recreated' });
      // Resumed after id 10 of the new epoch: no notice that the resume point is ahead, nothing twice.
      expect(parsed.slice(1).map((e) => e.id)).toEqual(range(1, 2 * SCRIPT.length));
    } finally {
      abort.abort();
      await done;
      await next?.server.close();
      next?.bus.close();
    }
  }, 30_000);
});
