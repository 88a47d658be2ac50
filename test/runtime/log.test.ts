import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { humanLine, isHumanLog } from '../../src/runtime/log.js';
import { loadServerConfig } from '../../src/app/config.js';

describe('the log', () => {
  it('is for people on a terminal and JSON elsewhere, unless LOG_FORMAT says', () => {
    expect(isHumanLog(undefined, true)).toBe(true);
    expect(isHumanLog('auto', true)).toBe(true);
    expect(isHumanLog(undefined, false)).toBe(false);
    expect(isHumanLog('json', true)).toBe(false);
    expect(isHumanLog('human', false)).toBe(true);
  });

  it('renders a JSON line as time, level, message and fields, and passes on what is not JSON', () => {
    const time = new Date(2026, 11, 7, 12, 4, 5).getTime();
    const line = JSON.stringify({ level: 40, time, pid: 1, name: 'tickwire', msg: 'slow client', transport: 'graphql-ws', queued: 12, reason: 'too far behind', err: { type: 'Error', message: 'boom' } });
    expect(humanLine(line)).toBe('12:04:05 warn  slow client transport=graphql-ws queued=12 reason="too far behind" err="boom"\n');
    expect(humanLine('not json')).toBe('not json\n');
  });

  it('LOG_FORMAT=human writes readable lines into a pipe; the default there is JSON', () => {
    const script = "import { log } from './src/runtime/log.ts'; log.warn({ n: 1 }, 'hello');";
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 }).stdout;
    expect(run({ LOG_FORMAT: 'human' })).toMatch(/^\d\d:\d\d:\d\d warn {2}hello n=1\n$/);
    expect(JSON.parse(run({ LOG_FORMAT: 'auto' }))).toMatchObject({ level: 40, msg: 'hello', n: 1 });
  });

  it('refuses an unknown LOG_FORMAT naming it', () => {
    expect(() => loadServerConfig({ LOG_FORMAT: 'pretty' })).toThrow(/LOG_FORMAT/);
    expect(loadServerConfig({ LOG_FORMAT: 'json' })).toBeDefined();
  });
});
