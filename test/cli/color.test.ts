import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTailArgs } from '../../src/cli/args.js';
import { shouldColor } from '../../src/cli/color.js';
import { publishScript, startTestServer, until, type TestServer } from '../server/harness.js';

const ESC = '\u001b[';

describe('whether tail colours its lines', () => {
  it.each<[string, boolean, Record<string, string>, boolean, boolean]>([
    ['a terminal', false, {}, true, true],
    ['a pipe or a file', false, {}, false, false],
    ['--no-color on a terminal', true, {}, true, false],
    ['--no-color with FORCE_COLOR', true, { FORCE_COLOR: '1' }, false, false],
    ['NO_COLOR=1 on a terminal', false, { NO_COLOR: '1' }, true, false],
    ['NO_COLOR=0 (any non-empty value) on a terminal', false, { NO_COLOR: '0' }, true, false],
    ['an empty NO_COLOR on a terminal', false, { NO_COLOR: '' }, true, true],
    ['FORCE_COLOR=1 into a pipe', false, { FORCE_COLOR: '1' }, false, true],
    ['FORCE_COLOR=3 into a pipe', false, { FORCE_COLOR: '3' }, false, true],
    ['FORCE_COLOR=true into a pipe', false, { FORCE_COLOR: 'true' }, false, true],
    ['FORCE_COLOR=0 on a terminal', false, { FORCE_COLOR: '0' }, true, false],
    ['FORCE_COLOR=false on a terminal', false, { FORCE_COLOR: 'false' }, true, false],
    ['an empty FORCE_COLOR into a pipe', false, { FORCE_COLOR: '' }, false, false],
    ['FORCE_COLOR=1 with NO_COLOR=1 (FORCE_COLOR wins, as in Node)', false, { FORCE_COLOR: '1', NO_COLOR: '1' }, false, true],
  ])('%s', (_, noColorFlag, env, isTTY, expected) => {
    expect(shouldColor({ noColorFlag, env, isTTY })).toBe(expected);
  });

  it('is decided by parseTailArgs from the flags, the environment and the terminal; never with --json', () => {
    expect(parseTailArgs([], {}, true).color).toBe(true);
    expect(parseTailArgs([], {}, false).color).toBe(false);
    expect(parseTailArgs(['--no-color'], {}, true).color).toBe(false);
    expect(parseTailArgs([], { FORCE_COLOR: '1' }, false).color).toBe(true);
    expect(parseTailArgs(['--json'], { FORCE_COLOR: '1' }, true).color).toBe(false);
  });
});

describe('tickwire tail into a pipe', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.close();
  });

  /** Runs the CLI with `env` (without the test runner's own colour settings) and returns its first lines. */
  async function firstLines(env: Record<string, string>, count: number): Promise<string[]> {
    const { NO_COLOR: _n, FORCE_COLOR: _f, ...base } = process.env;
    const child = spawn(process.execPath, ['bin/tickwire.mjs', 'tail', '--url', t.server.urls.ws, '--runner', 'r1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...base, ...env },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    const subscribers = t.bus.subscriberCount;
    try {
      await until(() => t.bus.subscriberCount > subscribers, 'the tail to subscribe', 15_000);
      publishScript(t.bus);
      await until(() => out.split('\n').length > count, `${count} lines`, 15_000);
      return out.split('\n').slice(0, count);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill();
        await exited;
      }
      // The next run counts subscribers from here: this one's must be gone first.
      await until(() => t.bus.subscriberCount === subscribers, 'the tail to unsubscribe', 15_000);
    }
  }

  it('has no ANSI escapes by default', async () => {
    const lines = await firstLines({}, 3);
    expect(lines[0]).toMatch(/^#\d+ .* r1 +started +AAA$/);
    expect(lines.join('\n')).not.toContain(ESC);
  }, 30_000);

  it('has them with FORCE_COLOR=1', async () => {
    const lines = await firstLines({ FORCE_COLOR: '1' }, 3);
    expect(lines.join('\n')).toContain(ESC);
  }, 30_000);
});
