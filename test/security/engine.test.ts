import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { BOUNDS, BYSTANDER_RUNNER, gqlHttp, startTarget, TOKENS, underAttack, waitFor, type Target } from './harness.js';

/**
 * Attacks on the engine through the API (review items 2, 4 and 9): replay paths that
 * read the server's files, numbers that poison P&L and history, and tick rates that
 * starve every client. Each row: the attacker is refused (or, for a legitimate file
 * that is hostile, gets one error event), the refusal quotes no file and no absolute
 * path, the bystander keeps flowing, memory stays bounded, and `runners` still answers
 * for every token.
 */

const replayDir = realpathSync(mkdtempSync(join(tmpdir(), 'tickwire-replay-')));
const outside = realpathSync(mkdtempSync(join(tmpdir(), 'tickwire-outside-')));
/** What a file outside REPLAY_DIR holds: it must never show up in an answer or an event. */
const SECRET = 'TOPSECRET=hunter2';
writeFileSync(join(outside, 'secret.csv'), `${SECRET}\n${SECRET}\n`);
symlinkSync(join(outside, 'secret.csv'), join(replayDir, 'link.csv'));
symlinkSync(outside, join(replayDir, 'outdir'));
mkdirSync(join(replayDir, 'ok'));
// 400 MB of zero bytes and no newline, sparse: what /dev/zero is, as a regular file.
const huge = openSync(join(replayDir, 'huge.jsonl'), 'w');
ftruncateSync(huge, 400 * 1024 * 1024);
closeSync(huge);
const outsideName = basename(outside);

/** Pieces that an answer or an event must never contain. */
const FORBIDDEN = [SECRET, replayDir, outside, tmpdir(), '/proc/', '/dev/', process.env['PATH'] ?? SECRET, process.env['HOME'] ?? SECRET];

interface GqlAnswer {
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

function startRunner(t: Target, input: string, token: string = TOKENS.btcOperator): Promise<GqlAnswer> {
  return gqlHttp(t, `mutation { startRunner(input: ${input}) { id } }`, token);
}

const replay = (id: string, path: string) => `{ id: "${id}", symbol: "BTCUSDT", feed: { kind: REPLAY, path: ${JSON.stringify(path)} } }`;

/** What a row expects: a refusal with this code and message, or an error event of its runner. */
type Expected = { readonly code: string; readonly message: RegExp } | { readonly event: RegExp; readonly runner: string };

interface Row {
  readonly case: string;
  /** Runs the attack; returns the answer to judge (the last refusal the attacker got). */
  readonly attack: (t: Target) => Promise<GqlAnswer>;
  readonly expected: Expected;
}

/** Waits a little when a start that should have been refused was accepted, so its harm shows in the report. */
async function linger(answer: GqlAnswer): Promise<GqlAnswer> {
  if (answer.body.errors === undefined) await new Promise((r) => setTimeout(r, 1500));
  return answer;
}

const ROWS: readonly Row[] = [
  {
    case: 'replay path /proc/self/environ',
    attack: async (t) => linger(await startRunner(t, replay('btc_env', '/proc/self/environ'))),
    expected: { code: 'INVALID_CONFIG', message: /feed\.path: must be relative to REPLAY_DIR/ },
  },
  {
    case: 'replay path escaping with ../',
    attack: async (t) => linger(await startRunner(t, replay('btc_up', `../${outsideName}/secret.csv`))),
    expected: { code: 'INVALID_CONFIG', message: /feed\.path: must not contain "\.\."/ },
  },
  {
    case: 'replay path absolute, to a file outside',
    attack: async (t) => linger(await startRunner(t, replay('btc_abs', join(outside, 'secret.csv')))),
    expected: { code: 'INVALID_CONFIG', message: /feed\.path: must be relative to REPLAY_DIR/ },
  },
  {
    case: 'replay path through a symlink out of REPLAY_DIR',
    attack: async (t) => linger(await startRunner(t, replay('btc_link', 'link.csv'))),
    expected: { code: 'INVALID_CONFIG', message: /feed\.path: "link\.csv" is not a file inside REPLAY_DIR/ },
  },
  {
    case: 'replay path /dev/zero',
    attack: async (t) => linger(await startRunner(t, replay('btc_zero', '/dev/zero'))),
    expected: { code: 'INVALID_CONFIG', message: /feed\.path: must be relative to REPLAY_DIR/ },
  },
  {
    case: 'replay path of a missing file inside REPLAY_DIR',
    attack: async (t) => linger(await startRunner(t, replay('btc_nope', 'ok/nope.csv'))),
    expected: { code: 'INVALID_CONFIG', message: /feed\.path: no such file "ok\/nope\.csv" in REPLAY_DIR/ },
  },
  {
    case: 'replay paths outside, one existing and one missing: the same answer',
    attack: async (t) => {
      const there = await linger(await startRunner(t, replay('btc_there', 'outdir/secret.csv')));
      const missing = await linger(await startRunner(t, replay('btc_missing', 'outdir/missing.csv')));
      const errorOf = (a: GqlAnswer, name: string) => JSON.stringify(a.body.errors ?? null).replaceAll(name, '<file>').replace(/btc_(there|missing)/g, '<id>');
      expect(errorOf(there, 'secret.csv')).toBe(errorOf(missing, 'missing.csv'));
      return there;
    },
    expected: { code: 'INVALID_CONFIG', message: /feed\.path: "outdir\/secret\.csv" is not a file inside REPLAY_DIR/ },
  },
  {
    case: 'replay of a 400 MB line without a newline inside REPLAY_DIR',
    attack: async (t) => {
      const answer = await startRunner(t, `{ id: "btc_huge", symbol: "BTCUSDT", feed: { kind: REPLAY, path: "huge.jsonl", ticksPerSecond: 1000 } }`);
      if (answer.body.errors === undefined) await waitFor(() => t.engine.getRunner('btc_huge')?.state === 'Stopped', 'the huge-line runner to stop', 30_000);
      return answer;
    },
    expected: { runner: 'btc_huge', event: /^bad feed row \(huge\.jsonl:1\): line longer than 65536 bytes; skipped$/ },
  },
  {
    case: 'quantity 1e308',
    attack: async (t) => linger(await startRunner(t, '{ id: "btc_inf", symbol: "BTCUSDT", quantity: 1e308, feed: { ticksPerSecond: 1000 } }')),
    expected: { code: 'INVALID_CONFIG', message: /quantity: Too big: expected number to be <=1000000/ },
  },
  {
    case: 'feeRate 0.5',
    attack: async (t) => linger(await startRunner(t, '{ id: "btc_fee", symbol: "BTCUSDT", feeRate: 0.5 }')),
    expected: { code: 'INVALID_CONFIG', message: /feeRate: Too big: expected number to be <0\.1/ },
  },
  {
    case: 'mean_reversion window 50000',
    attack: async (t) => linger(await startRunner(t, '{ id: "btc_win", symbol: "BTCUSDT", strategy: "mean_reversion", params: [{ name: "window", value: 50000 }] }')),
    expected: { code: 'INVALID_CONFIG', message: /parameter window of mean_reversion must be within 2\.\.10000, got 50000/ },
  },
  {
    case: 'startPrice 1e308 with volatility 0.1',
    attack: async (t) => linger(await startRunner(t, '{ id: "btc_big", symbol: "BTCUSDT", feed: { startPrice: 1e308, volatility: 0.1, ticksPerSecond: 1000 } }')),
    expected: { code: 'INVALID_CONFIG', message: /feed\.startPrice: Too big/ },
  },
  {
    case: 'ticksPerSecond 100000 (the documented maximum)',
    attack: async (t) => linger(await startRunner(t, '{ id: "btc_fast", symbol: "BTCUSDT", feed: { ticksPerSecond: 100000 } }')),
    expected: { code: 'INVALID_CONFIG', message: /feed\.ticksPerSecond 100000 is over the engine's limit of 20000 ticks\/s .*MAX_TOTAL_TICKS_PER_SECOND/ },
  },
  {
    case: 'two runners at 15000 ticks/s: over the total',
    attack: async (t) => {
      const first = await startRunner(t, '{ id: "btc_half1", symbol: "BTCUSDT", feed: { ticksPerSecond: 15000 } }');
      expect(first.body.errors).toBeUndefined();
      return linger(await startRunner(t, '{ id: "btc_half2", symbol: "BTCUSDT", feed: { ticksPerSecond: 15000 } }'));
    },
    expected: { code: 'INVALID_CONFIG', message: /would take the engine to 30200 ticks\/s, over its limit of 20000 \(MAX_TOTAL_TICKS_PER_SECOND\)/ },
  },
  {
    case: 'more runners than MAX_RUNNERS',
    attack: async (t) => {
      let last: GqlAnswer | null = null;
      for (let i = 0; i < 12; i++) {
        last = await startRunner(t, `{ id: "btc_many${i}", symbol: "BTCUSDT", feed: { ticksPerSecond: 10 } }`);
        if (last.body.errors !== undefined) break;
      }
      return linger(last!);
    },
    expected: { code: 'INVALID_CONFIG', message: /the engine already runs 8 runners, its limit \(MAX_RUNNERS=8\)/ },
  },
];

function expectClean(text: string): void {
  for (const piece of FORBIDDEN) expect(text).not.toContain(piece);
}

// The same attacks whether the runners live on the thread that serves the API
// (ENGINE_THREADS=0) or on an engine thread (the default): refused alike, before any thread sees them.
describe.each([0, 1])('attacks on the engine through the API (ENGINE_THREADS=%i)', (threads) => {
  let target: Target;
  let viewer: Client;
  /** Every RunnerError the btc viewer received: `runnerId: error`. */
  const viewerErrors: string[] = [];

  beforeAll(async () => {
    target = await startTarget({ engine: { maxRunners: 8, threads }, server: { replayDir } });
    const before = target.bus.subscriberCount;
    viewer = createClient({ url: target.server.urls.ws, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { token: TOKENS.btcViewer } });
    viewer.subscribe(
      { query: 'subscription { events(types: [ERROR]) { ... on RunnerError { runnerId error } } }' },
      {
        next: (result) => {
          const event = (result.data as { events: { runnerId: string; error: string } }).events;
          viewerErrors.push(`${event.runnerId}: ${event.error}`);
        },
        error: () => undefined,
        complete: () => undefined,
      },
    );
    await waitFor(() => target.bus.subscriberCount > before, 'the btc viewer to subscribe');
  }, 30_000);

  afterAll(async () => {
    await viewer?.dispose();
    await target?.close();
  });

  it.each(ROWS)('$case', async (row) => {
    const errorsBefore = viewerErrors.length;
    let answer: GqlAnswer | null = null;
    const report = await underAttack(target, `engine: ${row.case}`, 'code' in row.expected ? `${row.expected.code}: ${row.expected.message.source}` : `one RunnerError: ${row.expected.event.source}`, async () => {
      try {
        answer = await row.attack(target);
      } finally {
        // Whatever the attack started stops here, so rows do not add up (and an unfixed server recovers).
        for (const runner of target.engine.listRunners()) {
          if (runner.id !== BYSTANDER_RUNNER && runner.state !== 'Stopped') await target.engine.stopRunner(runner.id);
        }
      }
    });
    const got = answer as GqlAnswer | null;
    expect(got).not.toBeNull();
    if ('code' in row.expected) {
      expect(got!.body.errors?.[0]?.extensions?.['code']).toBe(row.expected.code);
      expect(got!.body.errors?.[0]?.message).toMatch(row.expected.message);
      expectClean(JSON.stringify(got!.body));
    } else {
      expect(got!.body.errors).toBeUndefined();
      const expected = row.expected;
      await waitFor(() => viewerErrors.slice(errorsBefore).some((e) => e.startsWith(`${expected.runner}: `)), `the RunnerError of ${expected.runner}`);
      const ofRunner = viewerErrors.slice(errorsBefore).filter((e) => e.startsWith(`${expected.runner}: `));
      expect(ofRunner).toHaveLength(1);
      expect(ofRunner[0]!.slice(expected.runner.length + 2)).toMatch(expected.event);
    }
    // Nothing the viewer was sent quotes a file or names a server path.
    expectClean(viewerErrors.slice(errorsBefore).join('\n'));
    expect(report.bystanderMaxGapMs).toBeLessThan(BOUNDS.bystanderMaxGapMs);
    expect(report.peakRssGrowthMb).toBeLessThan(BOUNDS.peakRssGrowthMb);
    // Every principal can still read every runner it sees, numbers and all.
    for (const token of Object.values(TOKENS)) {
      const runners = await gqlHttp(target, '{ runners { id realizedPnl unrealizedPnl lastPrice } }', token);
      expect(runners.status).toBe(200);
      expect(runners.body.errors).toBeUndefined();
      expect(Array.isArray(runners.body.data?.['runners'])).toBe(true);
    }
  }, 90_000);

  it('a server without REPLAY_DIR refuses every replay feed through the API, saying why', async () => {
    const plain = await startTarget({ engine: { threads } });
    try {
      const inside = await startRunner(plain, replay('btc_plain', 'ticks.csv'));
      expect(inside.body.errors?.[0]).toMatchObject({ extensions: { code: 'INVALID_CONFIG' } });
      expect(inside.body.errors?.[0]?.message).toMatch(/REPLAY_DIR is not set/);
      const environ = await startRunner(plain, replay('btc_plain', '/proc/self/environ'));
      expect(environ.body.errors?.[0]?.message).toBe(inside.body.errors?.[0]?.message);
    } finally {
      await plain.close();
    }
  }, 30_000);
});
