import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkReplayFile, resolveReplayPath } from '../../src/engine/feeds/replay-path.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'tickwire-confine-')));
const dir = join(root, 'replays');
const outside = join(root, 'outside');
mkdirSync(dir);
mkdirSync(outside);
mkdirSync(join(dir, 'day1'));
writeFileSync(join(dir, 'ticks.csv'), 'timestamp\n');
writeFileSync(join(dir, 'day1', 'btc.jsonl'), '{}\n');
writeFileSync(join(outside, 'secret.csv'), 'secret\n');
symlinkSync(join(outside, 'secret.csv'), join(dir, 'out-link.csv'));
symlinkSync(join(outside, 'gone.csv'), join(dir, 'dangling.csv'));
symlinkSync(outside, join(dir, 'out-dir'));
symlinkSync(join(dir, 'day1', 'btc.jsonl'), join(dir, 'in-link.jsonl'));
symlinkSync(join(dir, 'day1'), join(dir, 'in-dir'));
symlinkSync('/dev/zero', join(dir, 'zero'));
execFileSync('mkfifo', [join(dir, 'pipe')]);

/** The refusal's message, or 'ok: <path>' for a path that resolves. */
async function outcome(path: string): Promise<string> {
  try {
    return `ok: ${await resolveReplayPath(dir, path)}`;
  } catch (err) {
    expect(err).toMatchObject({ name: 'EngineError', code: 'INVALID_CONFIG' });
    return (err as Error).message;
  }
}

describe('replay paths from the API stay inside REPLAY_DIR', () => {
  it.each([
    ['ticks.csv', join(dir, 'ticks.csv')],
    ['./day1/btc.jsonl', join(dir, 'day1', 'btc.jsonl')],
    ['day1//btc.jsonl', join(dir, 'day1', 'btc.jsonl')],
    ['in-link.jsonl', join(dir, 'day1', 'btc.jsonl')],
    ['in-dir/btc.jsonl', join(dir, 'day1', 'btc.jsonl')],
  ])('%s resolves to the real file inside', async (path, real) => {
    expect(await outcome(path)).toBe(`ok: ${real}`);
  });

  it.each([
    ['/etc/passwd', 'feed.path: must be relative to REPLAY_DIR (an absolute path is refused)'],
    [join(dir, 'ticks.csv'), 'feed.path: must be relative to REPLAY_DIR (an absolute path is refused)'],
    ['C:\\windows\\win.ini', 'feed.path: must be relative to REPLAY_DIR (an absolute path is refused)'],
    ['../outside/secret.csv', 'feed.path: must not contain ".." (it names a file inside REPLAY_DIR)'],
    ['day1/../../outside/secret.csv', 'feed.path: must not contain ".." (it names a file inside REPLAY_DIR)'],
    ['day1\\..\\ticks.csv', 'feed.path: must not contain ".." (it names a file inside REPLAY_DIR)'],
    ['.', 'feed.path: names no file'],
    ['ticks\0.csv', 'feed.path: must not contain a NUL character'],
    ['x'.repeat(1025), 'feed.path: must be at most 1024 characters'],
    ['out-link.csv', 'feed.path: "out-link.csv" is not a file inside REPLAY_DIR'],
    ['dangling.csv', 'feed.path: "dangling.csv" is not a file inside REPLAY_DIR'],
    ['out-dir/secret.csv', 'feed.path: "out-dir/secret.csv" is not a file inside REPLAY_DIR'],
    ['out-dir/missing.csv', 'feed.path: "out-dir/missing.csv" is not a file inside REPLAY_DIR'],
    ['zero', 'feed.path: "zero" is not a file inside REPLAY_DIR'],
    ['nope.csv', 'feed.path: no such file "nope.csv" in REPLAY_DIR'],
    ['day1/nope/x.csv', 'feed.path: no such file "day1/nope/x.csv" in REPLAY_DIR'],
    ['ticks.csv/x', 'feed.path: no such file "ticks.csv/x" in REPLAY_DIR'],
    ['day1', 'feed.path: "day1" is not a regular file'],
    ['pipe', 'feed.path: "pipe" is not a regular file'],
  ])('%s is refused: %s', async (path, message) => {
    const got = await outcome(path);
    expect(got).toBe(message);
    // Never a server path in the answer.
    expect(got).not.toContain(root);
  });

  it('answers alike for existing and missing files outside, whatever the route', async () => {
    const norm = (m: string) => m.replace(/secret|missing/, '<f>');
    expect(norm(await outcome('out-dir/secret.csv'))).toBe(norm(await outcome('out-dir/missing.csv')));
    expect(await outcome('../outside/secret.csv')).toBe(await outcome('../outside/missing.csv'));
    expect(await outcome(join(outside, 'secret.csv'))).toBe(await outcome(join(outside, 'missing.csv')));
  });

  it('a REPLAY_DIR that is gone refuses without naming it', async () => {
    expect(await resolveReplayPath(join(root, 'gone'), 'x.csv').catch((e: Error) => e.message)).toBe('feed.path: REPLAY_DIR cannot be read on this server');
  });
});

describe('checkReplayFile (a start, runners file or API, checks the file first)', () => {
  it.each([
    [join(dir, 'ticks.csv'), null],
    [join(dir, 'nope.csv'), 'no such file "nope.csv"'],
    [join(dir, 'day1'), '"day1" is not a regular file'],
    [join(dir, 'pipe'), '"pipe" is not a regular file'],
    ['/dev/zero', '"zero" is not a regular file'],
  ])('%s → %s', (path, problem) => {
    expect(checkReplayFile(path)).toBe(problem);
  });
});
