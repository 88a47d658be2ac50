import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import type { ExecutionResult } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTailArgs } from '../../src/cli/args.js';
import type { EventVariant, RunnerEvent } from '../../src/events/types.js';
import { EVENT_TYPE_NAMES } from '../../src/graphql/schema/enums.js';
import { startTestServer, type TestServer } from '../server/harness.js';
import { post, watch } from '../server/transports.js';

/**
 * Every subscription the README and docs/ show runs here against a real server, over a
 * real graphql-ws client, and receives what its text says: a marker before each block
 * (`<!-- example: where -->`) names the check below. The events are published by the test,
 * so that what each example must receive, and must not, is known.
 */
const root = join(import.meta.dirname, '..', '..');
const documents = ['README.md', ...readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

interface Example {
  readonly file: string;
  readonly name: string | null;
  readonly block: string;
}

/** The subscription blocks and the marker before each (null: none). */
function examples(): Example[] {
  return documents.flatMap((file) => {
    const text = readFileSync(join(root, file), 'utf8');
    return [...text.matchAll(/(?:<!-- example: ([\w-]+) -->\s*\n)?```graphql\n([\s\S]*?)```/g)]
      .filter((m) => /\bsubscription\b/.test(m[2]!))
      .map((m) => ({ file, name: m[1] ?? null, block: m[2]! }));
  });
}

const T = 1_800_000_000_000;
const tick = (runnerId: string, symbol: string, close: number): RunnerEvent => ({
  type: 'TickReceived',
  runnerId,
  symbol,
  data: { symbol, timestamp: T, open: close, high: close, low: close, close, volume: 1, bid: close - 1, ask: close + 1 },
});
const closed = (realizedPnl: number): RunnerEvent => ({ type: 'PositionClosed', runnerId: 'btc_ema', exitPrice: 60500, realizedPnl, reason: 'signal', timestamp: T });
const action = (kind: 'EnterLong' | 'Exit'): RunnerEvent => ({ type: 'ActionExecuted', runnerId: 'btc_ema', action: { kind, symbol: 'BTCUSDT', price: 60500, quantity: 1, reason: 'cross' }, timestamp: T });
const opened: RunnerEvent = { type: 'PositionOpened', runnerId: 'btc_ema', position: { symbol: 'BTCUSDT', side: 'LONG', quantity: 1, entryPrice: 60500, entryTime: T }, timestamp: T };
const updated: RunnerEvent = { type: 'PositionUpdated', runnerId: 'btc_ema', currentPrice: 60600, unrealizedPnl: 100, timestamp: T };
const state: RunnerEvent = { type: 'StateTransition', runnerId: 'eth_ema', from: 'Idle', to: 'Analyzing', reason: 'runner started', timestamp: T };
const stats: RunnerEvent = {
  type: 'StatsUpdate',
  runnerId: 'eth_ema',
  ticksProcessed: 1,
  actionsExecuted: 0,
  errorRate: 0,
  realizedPnl: 0,
  lastPrice: 3000,
  ticksPerSecond: 1,
  openPosition: null,
  timestamp: T,
};

/** What every live example is shown, after it has subscribed: each kind, matching and not. */
const SCRIPT: readonly { readonly event: RunnerEvent; readonly symbol: string }[] = [
  { event: tick('btc_ema', 'BTCUSDT', 59_000), symbol: 'BTCUSDT' },
  { event: tick('btc_ema', 'BTCUSDT', 61_000), symbol: 'BTCUSDT' },
  { event: tick('eth_ema', 'ETHUSDT', 61_000), symbol: 'ETHUSDT' },
  { event: closed(-5), symbol: 'BTCUSDT' },
  { event: closed(5), symbol: 'BTCUSDT' },
  { event: action('EnterLong'), symbol: 'BTCUSDT' },
  { event: action('Exit'), symbol: 'BTCUSDT' },
  { event: opened, symbol: 'BTCUSDT' },
  { event: updated, symbol: 'BTCUSDT' },
  { event: state, symbol: 'ETHUSDT' },
  { event: stats, symbol: 'ETHUSDT' },
];

type Data = Record<string, unknown> & { __typename?: string };
const events = (results: readonly ExecutionResult[]): Data[] => results.map((r) => (r.data as { events: Data }).events);
/** An event's kind, by `__typename` or by `type` (STATE_TRANSITION → StateTransition), whichever the example selects. */
const kindOf = (e: Data): string | undefined => e.__typename ?? (typeof e['type'] === 'string' ? pascal(e['type']) : undefined);
const pascal = (name: string): string => name.toLowerCase().replace(/(^|_)(\w)/g, (_, __: string, c: string) => c.toUpperCase());

let test: TestServer;
beforeAll(async () => {
  test = await startTestServer();
});
afterAll(async () => {
  await test.close();
});

/**
 * Subscribes `block`, publishes `probe` until the first result arrives (the subscription
 * is live), then {@link SCRIPT} and `probe` again, and returns the events between the
 * two probes.
 */
async function live(block: string, probe: { event: RunnerEvent; symbol: string }): Promise<Data[]> {
  const w = watch('graphql-ws', test.server, block);
  try {
    const timer = setInterval(() => test.bus.publish(probe.event, probe.symbol), 50);
    try {
      await w.take(1, 30_000);
    } finally {
      clearInterval(timer);
    }
    const before = w.results.length;
    for (const { event, symbol } of SCRIPT) test.bus.publish(event, symbol);
    const end = test.bus.publish(probe.event, probe.symbol).id;
    // The probe again ends the script: everything the example receives of it came before.
    for (;;) {
      const got = events(w.results.slice(before));
      const last = got.at(-1);
      if (last !== undefined && (last['id'] === undefined || Number(last['id']) >= end) && got.length > 0 && isProbe(last, probe.event)) return got.slice(0, -1);
      await w.take(w.results.length + 1, 30_000);
    }
  } finally {
    await w.close();
  }
}

function isProbe(data: Data, probe: RunnerEvent): boolean {
  return probe.type === 'TickReceived' && data.__typename === 'TickReceived' && (data['data'] as { close: number }).close === probe.data.close;
}

const probeTick = { event: tick('btc_ema', 'BTCUSDT', 61_234), symbol: 'BTCUSDT' };

/** What each marked example must receive. */
const CHECKS: Record<string, (block: string) => Promise<void>> = {
  // "events(runnerIds: ["btc_ema"])": every event of that runner, of every kind, and no other runner's.
  'first-subscription': async (block) => {
    const got = await live(block, probeTick);
    expect(got.map((e) => e.__typename)).toEqual(['TickReceived', 'TickReceived', 'PositionClosed', 'PositionClosed', 'ActionExecuted', 'ActionExecuted', 'PositionOpened', 'PositionUpdated']);
  },
  // Losing closes, BTC ticks above 60,000 and entries: nothing else.
  where: async (block) => {
    const got = await live(block, probeTick);
    expect(got).toEqual([
      { __typename: 'TickReceived', data: { close: 61_000 } },
      { __typename: 'PositionClosed', realizedPnl: -5 },
      { __typename: 'ActionExecuted', action: { kind: 'ENTER_LONG', price: 60_500 } },
    ]);
  },
  // First each runner's current state (snapshot: true), of the kinds asked for, then live ones of those kinds.
  snapshot: async (block) => {
    const types = new Set([...(/types:\s*\[([^\]]*)\]/.exec(block)?.[1] ?? '').matchAll(/[A-Z_]+/g)].map((m) => pascal(m[0]!)));
    for (const { event, symbol } of SCRIPT) test.bus.publish(event, symbol);
    const w = watch('graphql-ws', test.server, block);
    try {
      const first = events(await w.take(2, 30_000));
      expect(first.every((e) => e['snapshot'] === true)).toBe(true);
      expect(types.size).toBeGreaterThan(0);
      for (const e of first) expect(types).toContain(kindOf(e));
      expect(new Set(first.map((e) => e['runnerId']))).toEqual(new Set(['btc_ema', 'eth_ema']));
    } finally {
      await w.close();
    }
  },
  // From the id after `after`, in the log's epoch; with an epoch of another log, a StreamGap says so.
  resume: async (block) => {
    for (const { event, symbol } of SCRIPT) test.bus.publish(event, symbol);
    const { data } = await post(test.server, '{ log { epoch lastId } }');
    const log = (data as { log: { epoch: string; lastId: string } }).log;
    const after = Number(log.lastId) - SCRIPT.length;
    const subscription = block.slice(block.indexOf('subscription'));
    const resumed = subscription.replace(/after: "\d+"/, `after: "${after}"`).replace(/epoch: "[^"]*"/, `epoch: "${log.epoch}"`);
    const w = watch('graphql-ws', test.server, resumed);
    try {
      const got = events(await w.take(2, 30_000));
      expect(got.every((e) => e['id'] !== undefined && Number(e['id']) > after)).toBe(true);
    } finally {
      await w.close();
    }
    const other = watch('graphql-ws', test.server, subscription.replace(/after: "\d+"/, `after: "${after}"`).replace(/epoch: "[^"]*"/, 'epoch: "0000000000000000"'));
    try {
      // A StreamGap (selected by its fields where the example does not ask for __typename): no id, a reason naming the epoch.
      const [gap] = events(await other.take(1, 30_000));
      expect(gap?.['id']).toBeUndefined();
      expect(String(gap?.['reason'])).toMatch(/epoch/);
      expect(gap?.__typename ?? 'StreamGap').toBe('StreamGap');
    } finally {
      await other.close();
    }
  },
};

describe('the subscriptions of the README and docs/, live', () => {
  const all = examples();

  it('has a check for every subscription example', () => {
    expect(all.length).toBeGreaterThanOrEqual(5);
    expect(all.filter((e) => e.name === null || !(e.name in CHECKS)).map((e) => `${e.file}: ${e.block.split('\n')[0]}`)).toEqual([]);
  });

  it.each(all.map((e) => ({ ...e, title: `${e.file}: ${e.name ?? 'unmarked'}` })))('$title receives what its text says', async ({ name, block }) => {
    await CHECKS[name ?? '']!(block);
  }, 90_000);
});

/** The `tail` lines of the README and docs/, as a shell splits their simple quoting. */
function tailLines(): { file: string; line: string; args: string[] }[] {
  return documents.flatMap((file) =>
    [...readFileSync(join(root, file), 'utf8').matchAll(/```sh\n([\s\S]*?)```/g)]
      .flatMap((m) => m[1]!.split('\n'))
      .filter((line) => line.startsWith('node bin/tickwire.mjs tail'))
      .map((line) => ({ file, line, args: [...line.replace(/\s+#.*$/, '').matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!).slice(3) })),
  );
}

/** Runs `tail` with `args` against the test server (its --url, --token replaced) until it printed `n` JSON lines. */
async function tailLive(args: readonly string[], n: number): Promise<Record<string, unknown>[]> {
  const own: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--url' || args[i] === '--token') i++;
    else if (args[i] !== '--json') own.push(args[i]!);
  }
  const url = own.includes('--sse') ? test.server.urls.sse : test.server.urls.ws;
  const child = spawn(process.execPath, ['bin/tickwire.mjs', 'tail', ...own, '--json', '--url', url, '--retries', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setInterval(() => {
    for (const { event, symbol } of SCRIPT) test.bus.publish(event, symbol);
    test.bus.publish({ type: 'Error', runnerId: 'btc_ema', error: 'feed stalled', severity: 'Warning', timestamp: T }, 'BTCUSDT');
    test.bus.publish({ type: 'Error', runnerId: 'btc_ema', error: 'order refused', severity: 'Error', timestamp: T }, 'BTCUSDT');
  }, 100);
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      lines.push(JSON.parse(line) as Record<string, unknown>);
      if (lines.length >= n) break;
    }
  } finally {
    clearInterval(timer);
    child.kill();
  }
  if (lines.length < n) throw new Error(`tail ${own.join(' ')} printed ${lines.length} lines:\n${stderr}`);
  return lines;
}

const SEVERITIES = ['WARNING', 'ERROR', 'CRITICAL'];

describe('the tail command lines of the README and docs/, live', () => {
  const lines = tailLines();

  it('has tail lines to run', () => {
    expect(lines.length).toBeGreaterThanOrEqual(3);
  });

  // What a line promises is what its flags mean (docs/cli.md): every event printed is of
  // a runner and a type it names (--min-severity alone: runner errors), at the severity asked.
  it.each(lines.map((l) => ({ ...l, title: `${l.file}: ${l.line}` })))('$title prints what it says', async ({ args }) => {
    const options = parseTailArgs(args, {});
    const printed = await tailLive(args, 12);
    for (const event of printed) {
      const type = EVENT_TYPE_NAMES[(event['__typename'] === 'RunnerError' ? 'Error' : event['__typename']) as EventVariant];
      expect(type, JSON.stringify(event)).toBeDefined();
      if (options.runnerIds !== undefined) expect(options.runnerIds).toContain(event['runnerId']);
      if (options.types !== undefined) expect(options.types).toContain(type);
      // Runner errors below the severity asked for are not printed (the test publishes WARNING ones too).
      if (options.minSeverity !== undefined && event['__typename'] === 'RunnerError') {
        expect(SEVERITIES.indexOf(String(event['severity']))).toBeGreaterThanOrEqual(SEVERITIES.indexOf(options.minSeverity));
      }
    }
  }, 90_000);
});
