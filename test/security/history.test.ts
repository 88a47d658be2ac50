import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventHistory } from '../../src/log/history.js';
import type { RunnerEvent } from '../../src/events/types.js';
import { BOUNDS, gqlHttp, startTarget, TOKENS, underAttack, type Target } from './harness.js';

/**
 * Issue item 7: recentEvents and Runner.candles read the in-memory history. Each row is
 * one way to make them read all of it, many times per request, with the cost limit's
 * answer and a bound on the entries read (history lookups by id, counted below for the
 * old scan and the index alike) instead of a timing.
 */

const T = 1_700_000_000_000;
/** Ticks of `btc_main` in the fill: 10 ms apart, so 100 to a one-second candle. */
const BTC_TICKS = 20_000;
const FILL = 100_000;
const RARE_ERRORS = 30;

let target: Target;
/**
 * History entries read since the last reset, by id or by their place in the history (the
 * index's cursor and a replay's reader): the old scan's and the index's work alike.
 */
let reads = 0;
const counted = ['get', 'firstFrom', 'entryAt'] as const;
const originals = counted.map((name) => [name, EventHistory.prototype[name]] as const);

function tick(runnerId: string, timestamp: number, close: number): RunnerEvent {
  return { type: 'TickReceived', runnerId, symbol: 'X', data: { symbol: 'X', timestamp, open: close, high: close, low: close, close, volume: 1, bid: close, ask: close } };
}

beforeAll(async () => {
  target = await startTarget({ runners: [{ id: 'btc_main', symbol: 'BTCUSDT', feed: { kind: 'simulated', ticksPerSecond: 1 } }] });
  await target.engine.stopRunner('btc_main');
  // 100,000 events of 100 runners; btc_main's ticks among them, and a few btc errors mid-way
  // (the bystander's live ticks evict the oldest while the suite runs).
  let btc = 0;
  for (let i = 0; i < FILL; i++) {
    if (i >= FILL / 2 && i < FILL / 2 + RARE_ERRORS * 100 && i % 100 === 0) {
      target.bus.publish({ type: 'Error', runnerId: 'btc_main', error: `rare ${i}`, severity: 'Warning', timestamp: T + i }, 'BTCUSDT');
    } else if (i % 5 === 0 && btc < BTC_TICKS) {
      target.bus.publish(tick('btc_main', T + 10 * btc, 100 + (btc % 7)), 'BTCUSDT');
      btc++;
    } else {
      target.bus.publish(tick(`r${i % 99}`, T + i, 1), `SYM${i % 99}`);
    }
  }
  for (const [name, original] of originals) {
    EventHistory.prototype[name] = function (this: EventHistory, at: number) {
      reads++;
      return original.call(this, at);
    };
  }
}, 60_000);

afterAll(async () => {
  for (const [name, original] of originals) EventHistory.prototype[name] = original;
  await target?.close();
});

type Answer = Awaited<ReturnType<typeof gqlHttp>>;

/** One request of `aliases` copies of `field`; the answer and its wall time (for the report, not asserted). */
async function aliased(field: string, variables: Record<string, unknown>, varDefs: string, token: string, aliases = 15): Promise<{ answer: Answer; ms: number }> {
  const query = `query(${varDefs}) { ${Array.from({ length: aliases }, (_, i) => `a${i}: ${field}`).join(' ')} }`;
  const t0 = performance.now();
  const answer = await gqlHttp(target, query, token, variables);
  return { answer, ms: Math.round(performance.now() - t0) };
}

/** Events, or candles' ticks, the answer holds: what the request was given. */
function returned(answer: Answer): number {
  let n = 0;
  for (const value of Object.values(answer.body.data ?? {})) {
    if (Array.isArray(value)) n += value.length;
    else if (value !== null && typeof value === 'object') {
      for (const bar of (value as { candles?: { ticks: number }[] }).candles ?? []) n += bar.ticks;
    }
  }
  return n;
}

interface Row {
  readonly name: string;
  readonly expected: string;
  /** The attack; returns what the server gave back, summed. */
  readonly attack: () => Promise<{ refused: boolean; returned: number; requests: number }>;
  readonly refused: boolean;
  /** Most history entries the whole attack may read, given what it was returned. */
  readonly maxReads: (returned: number, requests: number) => number;
}

const RECENT = 'recentEvents(last: $n) { ... on Event { id } }';

const rows: Row[] = [
  {
    name: '7a 15 aliases of recentEvents(last: $n = 10000), operator',
    expected: 'refused by the cost limit: 15 × 10,000 is over MAX_COST',
    refused: true,
    attack: async () => {
      const { answer, ms } = await aliased(RECENT, { n: 10_000 }, '$n: Int', TOKENS.operator);
      console.log(`[7a] one 15-alias request: ${ms} ms, status ${answer.status}`);
      const refused = answer.body.data == null && /Query cost limit of 100000 exceeded, found 150000/.test(answer.body.errors?.[0]?.message ?? '');
      return { refused, returned: returned(answer), requests: 1 };
    },
    maxReads: () => 0,
  },
  {
    name: '7b 15 aliases of runner { candles(last: $n = 50) }, operator',
    expected: 'answered, each reading 50 candles of ticks, not the history',
    refused: false,
    attack: async () => {
      const { answer, ms } = await aliased('runner(id: "btc_main") { candles(last: $n) { ticks } }', { n: 50 }, '$n: Int', TOKENS.operator);
      console.log(`[7b] one 15-alias request: ${ms} ms, status ${answer.status}`);
      expect(answer.body.errors).toBeUndefined();
      expect((answer.body.data?.['a0'] as { candles: unknown[] }).candles).toHaveLength(50);
      return { refused: false, returned: returned(answer), requests: 1 };
    },
    // The ticks of its 50 candles, and the one that shows the 51st interval began.
    maxReads: (n) => n + 15,
  },
  {
    name: '7c 15 aliases of recentEvents(symbols: ["NOPE"], last: 100), operator',
    expected: 'answered (nothing matches), each alias reading at most RECENT_SCAN_FLOOR entries',
    refused: false,
    attack: async () => {
      const { answer, ms } = await aliased('recentEvents(symbols: ["NOPE"], last: $n) { ... on Event { id } }', { n: 100 }, '$n: Int', TOKENS.operator);
      console.log(`[7c] one 15-alias request: ${ms} ms, status ${answer.status}`);
      expect(answer.body.errors).toBeUndefined();
      return { refused: false, returned: returned(answer), requests: 1 };
    },
    maxReads: () => 15 * 10_000,
  },
  {
    name: '7d four looping scoped viewers, 15 aliases of recentEvents(types: [ERROR]) each, 3 s',
    expected: 'answered (the btc errors only), reading what they return',
    refused: false,
    attack: async () => {
      let total = 0;
      let requests = 0;
      const end = performance.now() + 3000;
      const viewer = async () => {
        while (performance.now() < end) {
          const { answer } = await aliased('recentEvents(types: [ERROR], last: $n) { ... on Event { runnerId } }', { n: 100 }, '$n: Int', TOKENS.btcViewer);
          expect(answer.body.errors).toBeUndefined();
          expect((answer.body.data?.['a0'] as unknown[]).length).toBe(RARE_ERRORS);
          total += returned(answer);
          requests++;
        }
      };
      await Promise.all([viewer(), viewer(), viewer(), viewer()]);
      console.log(`[7d] ${requests} requests in 3 s`);
      return { refused: false, returned: total, requests };
    },
    maxReads: (n) => n,
  },
];

describe('attack suite: reading the history (issue 7)', () => {
  it.each(rows)('$name', async (row) => {
    reads = 0;
    let result = { refused: false, returned: 0, requests: 0 };
    const report = await underAttack(target, row.name, row.expected, async () => {
      result = await row.attack();
    });
    const readsDuring = reads;
    console.log(`[${row.name.slice(0, 2)}] reads ${readsDuring}, returned ${result.returned}, requests ${result.requests}`, report);
    expect(result.refused).toBe(row.refused);
    expect(readsDuring).toBeLessThanOrEqual(row.maxReads(result.returned, result.requests));
    expect(report.bystanderMaxGapMs).toBeLessThan(BOUNDS.bystanderMaxGapMs);
    expect(report.peakRssGrowthMb).toBeLessThan(BOUNDS.peakRssGrowthMb);
  }, 60_000);
});
