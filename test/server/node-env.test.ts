import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

/**
 * Runs `node scripts/start.mjs` (what `npm start` runs; test/global-setup.ts keeps dist/
 * current, so it starts the build as it is) and returns the `tickwire_info` line of its
 * /metrics. `nodeEnv` undefined: the variable is not set at all.
 */
async function infoLineOf(nodeEnv: string | undefined): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', DASHBOARD: 'false', DATA_DIR: mkdtempSync(join(tmpdir(), 'tickwire-env-')), REDIS_URL: '', DATABASE_URL: '', RUNNERS_FILE: '', TOKENS_FILE: '' };
  // vitest sets NODE_ENV=test for itself; the server must see what a user's shell has.
  delete env['NODE_ENV'];
  if (nodeEnv !== undefined) env['NODE_ENV'] = nodeEnv;
  const child = spawn(process.execPath, ['scripts/start.mjs'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const base = await new Promise<string>((resolve, reject) => {
      let out = '';
      const seen = (d: Buffer) => {
        out += String(d);
        const match = /(http:\/\/[^ \n]+)\/metrics /.exec(out);
        if (match !== null) resolve(match[1]!);
      };
      child.stdout.on('data', seen);
      child.stderr.on('data', seen);
      child.once('exit', (code) => reject(new Error(`the server exited (${code}) before it listened:\n${out}`)));
    });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    return metrics.split('\n').find((line) => line.startsWith('tickwire_info{')) ?? '(no tickwire_info)';
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  }
}

describe('npm start', () => {
  it('runs the server with NODE_ENV=production unless the user set it', async () => {
    expect(await infoLineOf(undefined)).toBe(`tickwire_info{node_env="production",version="${version}"} 1`);
    expect(await infoLineOf('development')).toBe(`tickwire_info{node_env="development",version="${version}"} 1`);
  }, 60_000);
});
