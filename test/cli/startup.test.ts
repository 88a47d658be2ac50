import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

// A module hook that refuses the packages that make a start slow: whatever imports one
// fails loudly, so the test sees which runs load them instead of timing them (timings
// on a shared machine vary more than the difference).
const dir = mkdtempSync(join(tmpdir(), 'tickwire-startup-'));
const HEAVY = ['graphql', 'graphql-ws', 'graphql-sse', 'ws', 'graphql-yoga', 'pino', '@pothos/core', 'zod'];

/**
 * Writes a hook that refuses `heavy` packages, and our own modules whose URL ends with one
 * of `heavyFiles` (the server's build is bundled: its packages are inside its files), and
 * the file that registers it; returns that file's URL.
 */
function refusing(name: string, heavy: readonly string[], heavyFiles: readonly string[] = []): string {
  writeFileSync(
    join(dir, `${name}-hooks.mjs`),
    `const heavy = new Set(${JSON.stringify(heavy)});
const heavyFiles = ${JSON.stringify(heavyFiles)};
export async function resolve(specifier, context, next) {
  const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
  if (heavy.has(name)) throw new Error('heavy import at start-up: ' + specifier);
  const resolved = await next(specifier, context);
  if (heavyFiles.some((file) => resolved.url.endsWith(file))) throw new Error('heavy import at start-up: ' + resolved.url);
  return resolved;
}
`,
  );
  const register = join(dir, `${name}-register.mjs`);
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, `${name}-hooks.mjs`)).href)});\n`);
  return pathToFileURL(register).href;
}
const CLI_HOOK = refusing('cli', HEAVY);

const run = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', CLI_HOOK, 'bin/tickwire.mjs', ...args], {
    encoding: 'utf8',
    timeout: 15_000,
    env: { ...process.env, NO_COLOR: '1' },
  });

describe('tickwire starts at once', () => {
  it.each([
    [['--help'], 0],
    [['tail', '--help'], 0],
    [['record', '--help'], 0],
    [['replay', '--help'], 0],
    [['tail', '--throttle', 'soon'], 2],
    [['replay'], 2],
    [['nope'], 2],
  ])('answers %j without loading the client, graphql, ws or the server', (args, status) => {
    const result = run(...args);
    expect(result.stderr).not.toMatch(/heavy import/);
    expect(result.status).toBe(status);
  });

  it('does load them for a command that runs (the hook above does catch them)', () => {
    const result = run('tail', '--url', 'ws://127.0.0.1:9/graphql');
    expect(result.stderr).toMatch(/heavy import at start-up/);
  });
});

// The server's own heavy parts: a configuration it refuses must load none of them. The
// build bundles the server (scripts/bundle.mjs): its GraphQL, sockets and database
// clients are in dist/app/main.js and what it imports, and the store's thread and the
// engine's are started from dist/app/early's chunk.
const SERVER_HEAVY = ['graphql', 'graphql-yoga', '@pothos/core', 'ws', 'graphql-ws', 'graphql-sse', '@electric-sql/pglite', 'pg', 'ioredis'];
const SERVER_HOOK = refusing('server', SERVER_HEAVY, ['/dist/app/main.js', '/dist/store/pglite-thread-main.js', '/dist/engine/thread/main.js']);

describe('npm start refuses a bad configuration at once', () => {
  const start = (env: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', SERVER_HOOK, 'dist/main.js'], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, DATA_DIR: join(dir, 'data'), ...env },
    });

  it.each([[{ PORT: 'abc' }, /tickwire: invalid environment: PORT/], [{ RUNNERS_FILE: join(dir, 'none.yaml') }, /tickwire: cannot read runners file/]])(
    'refuses %j before it loads GraphQL, the sockets or a database client',
    (env, message) => {
      const result = start(env);
      expect(result.stderr).not.toMatch(/heavy import/);
      expect(result.stderr).toMatch(message);
      expect(result.status).toBe(1);
    },
  );

  it('does load them for a good configuration (the hook above does catch them)', () => {
    const result = start({ PORT: '0', STORE_TYPES: 'none', WORKERS: '0' });
    expect(result.stderr).toMatch(/heavy import at start-up/);
  });
});
