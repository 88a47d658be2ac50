import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTailArgs, UsageError } from '../../src/cli/args.js';
import { formatEvent, tail } from '../../src/cli/tail.js';
import { publishScript, startTestServer, until, type TestServer } from '../server/harness.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

describe('tickwire tail', () => {
  it('parses its flags into the subscription arguments', () => {
    const o = parseTailArgs(['--runner', 'a', '--runner', 'b', '--type', 'tick_received', '--min-severity', 'error', '--throttle', '100', '--after', '42', '--json'], {});
    expect(o).toMatchObject({ runnerIds: ['a', 'b'], types: ['TICK_RECEIVED'], minSeverity: 'ERROR', throttleMs: 100, after: '42', json: true, url: 'ws://127.0.0.1:4000/graphql' });
    expect(parseTailArgs([], { TICKWIRE_TOKEN: 'secret' }).token).toBe('secret');
    expect(parseTailArgs(['--sse'], {}).url).toBe('http://127.0.0.1:4000/graphql/stream');
  });

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--type', 'TICKS'], /--type TICKS: unknown event type; accepted: /],
    [['--min-severity', 'loud'], /--min-severity loud: unknown severity; accepted: WARNING, ERROR, CRITICAL/],
    [['--throttle', '0'], /--throttle 0: must be a whole number of ms within 1..60000/],
    [['--after', 'yesterday'], /--after yesterday: must be an event id/],
    [['--url', 'ftp://x'], /--url ftp:\/\/x: must start with/],
    [['extra'], /Unexpected argument 'extra'/],
  ])('refuses %j with a clear message', (argv, message) => {
    expect(() => parseTailArgs(argv, {})).toThrow(UsageError);
    expect(() => parseTailArgs(argv, {})).toThrow(message);
  });

  it('prints the live stream of a server, as JSON lines or readable ones', async () => {
    const lines: string[] = [];
    const abort = new AbortController();
    const running = tail({ ...parseTailArgs(['--url', t.server.urls.ws, '--runner', 'r1', '--json'], {}) }, (l) => lines.push(l), abort.signal);
    await until(() => t.bus.subscriberCount === 1, 'the tail subscriber');
    publishScript(t.bus);
    await until(() => lines.length === 4, 'the four r1 events');
    abort.abort();
    await running;
    const events = lines.map((l) => JSON.parse(l) as { __typename: string; runnerId: string });
    expect(events.map((e) => e.__typename)).toEqual(['RunnerStarted', 'TickReceived', 'RunnerError', 'StatsUpdate']);
    expect(events.every((e) => e.runnerId === 'r1')).toBe(true);
    expect(formatEvent(events[2] as never, false)).toMatch(/^#\d+ \d\d:\d\d:\d\d\.\d{3} r1 +CRITICAL +strategy exploded$/);
  });

  it('stops quietly with exit code 0 when its reader goes away (tickwire tail | head)', async () => {
    const child = spawn(process.execPath, ['bin/tickwire.mjs', 'tail', '--url', t.server.urls.ws, '--no-color'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const firstLine = new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    await until(() => t.bus.subscriberCount >= 1, 'the tail to subscribe', 15_000);
    const timer = setInterval(() => publishScript(t.bus), 20);
    try {
      await firstLine;
      child.stdout.destroy(); // what head does after its lines
      expect(await exited).toBe(0);
    } finally {
      clearInterval(timer);
      child.kill();
    }
    expect(stderr).not.toMatch(/EPIPE|Error/);
  }, 30_000);

  it('exits 2 with a message on a bad command line, from npx tickwire', () => {
    const result = spawnSync(process.execPath, ['bin/tickwire.mjs', 'tail', '--throttle', 'soon'], { encoding: 'utf8', timeout: 15_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/tickwire: --throttle soon: must be a whole number/);
    const help = spawnSync(process.execPath, ['bin/tickwire.mjs', '--help'], { encoding: 'utf8', timeout: 15_000 });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/tail +watch the live event stream/);
  });
});
