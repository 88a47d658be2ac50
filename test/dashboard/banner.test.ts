import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { entry } from '../support/processes.js';

/** Runs `node dist/main.js` with `env` and resolves with its stdout up to the banner's last line. */
function banner(env: Record<string, string>, started: ChildProcess[]): Promise<string> {
  const child = spawn(process.execPath, entry('main'), { env: { ...process.env, LOG_LEVEL: 'silent', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      // The suggestion is the banner's last line: the line after "Try …:", ended.
      if (/\nTry [^\n]*:\n[^\n]+\n/.test(out)) resolve(out);
    });
    child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`tickwire exited (${code}) before its banner:\n${out}${err}`)));
  });
}

describe('the start-up banner', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tickwire-banner-'));
  const started: ChildProcess[] = [];

  afterAll(() => {
    for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts one runner as one and suggests a subscription of a runner that exists', async () => {
    const runners = join(dir, 'runners.json');
    writeFileSync(runners, JSON.stringify({ runners: [{ id: 'only_one', symbol: 'ONEUSDT', feed: { kind: 'simulated', ticksPerSecond: 5 } }] }));
    const out = await banner({ RUNNERS_FILE: runners, PORT: '0', DASHBOARD: 'false', DATA_DIR: join(dir, 'data'), GRAPHIQL: 'true' }, started);
    expect(out).toContain(`tickwire is running 1 runner from ${runners};`);
    expect(out).not.toContain('1 runners');
    expect(out).toContain('Try in GraphiQL:\n  subscription { events(runnerIds: ["only_one"]) { __typename ... on TickReceived { data { close } } } }\n');
    expect(out).not.toContain('btc_ema');
  }, 30_000);

  it('with no runner at all, suggests a subscription that needs none', async () => {
    const runners = join(dir, 'none.json');
    writeFileSync(runners, JSON.stringify({ runners: [] }));
    const out = await banner({ RUNNERS_FILE: runners, PORT: '0', DASHBOARD: 'false', DATA_DIR: join(dir, 'data-none'), GRAPHIQL: 'false' }, started);
    expect(out).toContain(`tickwire is running no runners (none in ${runners});`);
    expect(out).not.toMatch(/\b0 runners|from nowhere/);
    expect(out).toMatch(/Try over graphql-ws:\n {2}subscription \{ events\(throttleMs: 1000\) \{[^\n]*\}\n/);
    expect(out).not.toContain('runnerIds');
    expect(out).not.toContain('GraphiQL');
  }, 30_000);
});
