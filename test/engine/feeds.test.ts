import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FeedItem } from '../../src/engine/feeds/feed.js';
import { boundedLines, MAX_LINE_BYTES, replayFeed, rowToMarketData, splitCsvLine, withoutValues } from '../../src/engine/feeds/replay.js';
import { perTickVolatility, RandomWalk, SECONDS_PER_YEAR, simulatedFeed } from '../../src/engine/feeds/simulated.js';
import { parseRunnerConfig } from '../../src/engine/config.js';
import { checkMarketData } from '../../src/domain/market-data.js';

const dir = mkdtempSync(join(tmpdir(), 'tickwire-feeds-'));

async function collect(items: AsyncIterable<FeedItem>, limit = Infinity): Promise<FeedItem[]> {
  const out: FeedItem[] = [];
  for await (const item of items) {
    out.push(item);
    if (out.length >= limit) break;
  }
  return out;
}

describe('simulated feed', () => {
  it('is deterministic for a seed and different across seeds', () => {
    const clock = () => 1_700_000_000_000;
    const a = new RandomWalk({ symbol: 'BTCUSDT', seed: 7, clock });
    const b = new RandomWalk({ symbol: 'BTCUSDT', seed: 7, clock });
    const c = new RandomWalk({ symbol: 'BTCUSDT', seed: 8, clock });
    const sa = Array.from({ length: 100 }, () => a.next());
    const sb = Array.from({ length: 100 }, () => b.next());
    const sc = Array.from({ length: 100 }, () => c.next());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
  });

  it('produces only valid market data', () => {
    const walk = new RandomWalk({ symbol: 'SOLUSDT', seed: 3, volatility: 0.01 });
    for (let i = 0; i < 10_000; i++) expect(checkMarketData(walk.next())).toBeNull();
  });

  it('paces ticks at the configured rate (generous bounds)', async () => {
    const abort = new AbortController();
    const feed = simulatedFeed({ symbol: 'ETHUSDT', ticksPerSecond: 1000 });
    setTimeout(() => abort.abort(), 500);
    const items = await collect(feed.items(abort.signal));
    // 500 ms at 1000/s is ~500 ticks; a loaded CI machine may deliver fewer, never many more.
    expect(items.length).toBeGreaterThan(50);
    expect(items.length).toBeLessThanOrEqual(1100);
  });

  it('stops at once when aborted', async () => {
    const abort = new AbortController();
    abort.abort();
    expect(await collect(simulatedFeed({ symbol: 'X', ticksPerSecond: 10 }).items(abort.signal))).toEqual([]);
  });
});

describe('a simulated market that looks real', () => {
  /** Standard deviation of the log returns over `seconds`-second steps of a walk at `rate` ticks/s. */
  function realized(options: { symbol: string; ticksPerSecond: number; speed?: number; annualVolatility?: number }, seconds: number, steps: number): number {
    let now = 0;
    const walk = new RandomWalk({ ...options, seed: 11, clock: () => now });
    const perStep = Math.round(options.ticksPerSecond * seconds);
    const returns: number[] = [];
    let price = walk.next().close;
    for (let s = 0; s < steps; s++) {
      let close = price;
      for (let i = 0; i < perStep; i++) close = walk.next().close;
      returns.push(Math.log(close / price));
      price = close;
      now += seconds * 1000;
    }
    const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
    return Math.sqrt(returns.reduce((a, r) => a + (r - mean) ** 2, 0) / (returns.length - 1));
  }

  it.each([10, 100, 1000])('moves BTC at 60 %% a year whatever the tick rate (%i ticks/s)', (rate) => {
    // Per second, σ = 0.6 / √(seconds a year); 4,000 one-second returns estimate it within a few %.
    const expected = 0.6 / Math.sqrt(SECONDS_PER_YEAR);
    expect(realized({ symbol: 'BTCUSDT', ticksPerSecond: rate }, 1, 4000) / expected).toBeGreaterThan(0.9);
    expect(realized({ symbol: 'BTCUSDT', ticksPerSecond: rate }, 1, 4000) / expected).toBeLessThan(1.1);
  });

  it('has each symbol its own volatility, and a speed that compresses time', () => {
    const sol = realized({ symbol: 'SOLUSDT', ticksPerSecond: 100 }, 1, 4000);
    const eth = realized({ symbol: 'ETHUSDT', ticksPerSecond: 100 }, 1, 4000);
    expect(sol / (1.0 / Math.sqrt(SECONDS_PER_YEAR))).toBeCloseTo(1, 0);
    expect(eth / (0.75 / Math.sqrt(SECONDS_PER_YEAR))).toBeCloseTo(1, 0);
    // At speed 60 a second moves like a minute: σ grows by √60.
    const fast = realized({ symbol: 'BTCUSDT', ticksPerSecond: 100, speed: 60 }, 1, 4000);
    expect(fast / (0.6 * Math.sqrt(60 / SECONDS_PER_YEAR))).toBeGreaterThan(0.9);
    expect(fast / (0.6 * Math.sqrt(60 / SECONDS_PER_YEAR))).toBeLessThan(1.1);
    expect(perTickVolatility(0.6, 100)).toBeCloseTo(0.6 / Math.sqrt(100 * SECONDS_PER_YEAR), 12);
  });

  it('quotes a spread in basis points of the price', () => {
    const spreadOf = (options: { symbol: string; spreadBps?: number }) => {
      const t = new RandomWalk({ ...options, seed: 1 }).next();
      return ((t.ask - t.bid) / t.close) * 10_000;
    };
    expect(spreadOf({ symbol: 'BTCUSDT' })).toBeCloseTo(1, 6);
    expect(spreadOf({ symbol: 'SOLUSDT' })).toBeCloseTo(3, 6);
    expect(spreadOf({ symbol: 'XYZ' })).toBeCloseTo(5, 6);
    expect(spreadOf({ symbol: 'BTCUSDT', spreadBps: 25 })).toBeCloseTo(25, 6);
  });

  it.each([
    [{ annualVolatility: 6 }, /feed\.annualVolatility: Too big/],
    [{ spreadBps: -1 }, /feed\.spreadBps: Too small/],
    [{ speed: 0 }, /feed\.speed: Too small/],
    [{ speed: 1e6 }, /feed\.speed: Too big/],
    [{ volatility: 0.001, annualVolatility: 0.5 }, /feed\.volatility: give volatility \(per tick\) or annualVolatility, not both/],
    [{ volatility: 0.001, speed: 10 }, /feed\.speed: speed scales annualVolatility/],
  ])('refuses feed %j, naming the key', (feed, message) => {
    expect(() => parseRunnerConfig({ id: 'x', symbol: 'BTCUSDT', feed: { kind: 'simulated', ...feed } })).toThrow(message);
  });

  it('keeps a tick inside the engine bounds at the fastest speed and highest volatility', () => {
    // 1 tick/s, 500 % a year, a day a second: still far below the 0.1 a tick the walk allows.
    expect(perTickVolatility(5, 1, 10_000)).toBeLessThan(0.1);
  });
});

describe('replay feed', () => {
  const csv = [
    'timestamp,symbol,open,high,low,close,volume,bid,ask',
    '1700000000000,BTCUSDT,100,101,99,100.5,3,100.4,100.6',
    '1700000000001,BTCUSDT,abc,101,99,100.5,3,100.4,100.6',
    '1700000000002,ETHUSDT,10,11,9,10,1,9.9,10.1',
    '1700000000003,BTCUSDT,100,101',
    '1700000000004,BTCUSDT,100,101,99,100,3,99.9,100.1',
  ].join('\n');

  it('replays CSV rows in order and reports bad rows with their line numbers', async () => {
    const path = join(dir, 'ticks.csv');
    writeFileSync(path, csv);
    const items = await collect(replayFeed({ symbol: 'BTCUSDT', path }).items(new AbortController().signal));
    expect(items).toHaveLength(4);
    expect(items[0]).toMatchObject({ tick: { close: 100.5, timestamp: 1_700_000_000_000 }, where: 'ticks.csv:2' });
    expect(items[1]).toMatchObject({ where: 'ticks.csv:3' });
    expect('error' in items[1]! && items[1].error).toBe('open is not a finite number');
    expect(items[2]).toMatchObject({ where: 'ticks.csv:5' });
    expect('error' in items[2]! && items[2].error).toMatch(/column|record/i);
    expect(items[3]).toMatchObject({ tick: { close: 100 }, where: 'ticks.csv:6' });
  });

  it('replays JSONL and reports invalid JSON and missing fields with line numbers', async () => {
    const path = join(dir, 'ticks.jsonl');
    writeFileSync(
      path,
      [
        JSON.stringify({ symbol: 'SOLUSDT', timestamp: 1, open: 1, high: 2, low: 1, close: 2, volume: 0, bid: 1.9, ask: 2.1 }),
        '{not json',
        '',
        JSON.stringify({ symbol: 'SOLUSDT', timestamp: 2, open: 1, high: 2, low: 1, volume: 0, bid: 1.9, ask: 2.1 }),
        '[1,2]',
      ].join('\n'),
    );
    const items = await collect(replayFeed({ symbol: 'SOLUSDT', path }).items(new AbortController().signal));
    expect(items.map((i) => i.where)).toEqual(['ticks.jsonl:1', 'ticks.jsonl:2', 'ticks.jsonl:4', 'ticks.jsonl:5']);
    expect('error' in items[1]! && items[1].error).toMatch(/invalid JSON/);
    expect('error' in items[2]! && items[2].error).toBe('missing field close');
    expect('error' in items[3]! && items[3].error).toMatch(/JSON object/);
  });

  it('is deterministic: two replays of a file give the same items', async () => {
    const path = join(dir, 'again.csv');
    writeFileSync(path, csv);
    const a = await collect(replayFeed({ symbol: 'BTCUSDT', path }).items(new AbortController().signal));
    const b = await collect(replayFeed({ symbol: 'BTCUSDT', path }).items(new AbortController().signal));
    expect(a).toEqual(b);
  });

  it('loops when asked to', async () => {
    const path = join(dir, 'loop.csv');
    writeFileSync(path, csv);
    const items = await collect(replayFeed({ symbol: 'BTCUSDT', path, loop: true }).items(new AbortController().signal), 10);
    expect(items.map((i) => i.where)).toEqual([
      'ticks.csv:2', 'ticks.csv:3', 'ticks.csv:5', 'ticks.csv:6',
      'ticks.csv:2', 'ticks.csv:3', 'ticks.csv:5', 'ticks.csv:6',
      'ticks.csv:2', 'ticks.csv:3',
    ].map((w) => w.replace('ticks', 'loop')));
  });

  it('turns a missing file into an error item instead of throwing', async () => {
    const items = await collect(replayFeed({ symbol: 'X', path: join(dir, 'nope.csv') }).items(new AbortController().signal));
    expect(items).toHaveLength(1);
    expect('error' in items[0]! && items[0].error).toMatch(/cannot read .*nope\.csv/);
  });

  it('converts rows strictly', () => {
    expect(rowToMarketData({ timestamp: '5', open: '1', high: '1', low: '1', close: '1', volume: '1', bid: '1', ask: '1' }, 'S')).toMatchObject({ symbol: 'S', timestamp: 5 });
    expect(rowToMarketData({ timestamp: true, open: 1 }, 'S')).toBe('timestamp is not a finite number');
    expect(rowToMarketData({ symbol: 5 }, 'S')).toBe('symbol must be a string, got a number');
  });
});

describe('replay feed against hostile files', () => {
  const signal = () => new AbortController().signal;
  const errors = (items: FeedItem[]) => items.flatMap((i) => ('error' in i ? [`${i.where}: ${i.error}`] : []));

  async function lines(chunks: string[], max: number) {
    const out: unknown[] = [];
    async function* input() {
      for (const c of chunks) yield Buffer.from(c);
    }
    for await (const line of boundedLines(input(), max)) out.push(line);
    return out;
  }

  it('splits lines across chunks, CRLF too, and caps each line', async () => {
    expect(await lines(['ab', 'c\r\nde', 'f\n', '\nlast'], 10)).toEqual([
      { text: 'abc', line: 1 },
      { text: 'def', line: 2 },
      { text: '', line: 3 },
      { text: 'last', line: 4 },
    ]);
    expect(await lines(['12345', '67890', '1\nok\n', 'x'.repeat(30)], 10)).toEqual([
      { tooLong: true, line: 1 },
      { text: 'ok', line: 2 },
      { tooLong: true, line: 3 },
    ]);
    // Exactly at the cap is fine; a multi-byte character split across chunks survives.
    const euro = Buffer.from('€');
    async function* split() {
      yield euro.subarray(0, 1);
      yield Buffer.concat([euro.subarray(1), Buffer.from('\n')]);
    }
    const out: unknown[] = [];
    for await (const line of boundedLines(split(), 3)) out.push(line);
    expect(out).toEqual([{ text: '€', line: 1 }]);
  });

  it('one over-long line is one error naming file:line, and the rows after it still play', async () => {
    const path = join(dir, 'long.jsonl');
    const good = JSON.stringify({ symbol: 'SOLUSDT', timestamp: 1, open: 1, high: 2, low: 1, close: 2, volume: 0, bid: 1.9, ask: 2.1 });
    writeFileSync(path, [good, `{"note":"${'s'.repeat(MAX_LINE_BYTES)}"}`, good].join('\n'));
    const items = await collect(replayFeed({ symbol: 'SOLUSDT', path }).items(signal()));
    expect(items.map((i) => i.where)).toEqual(['long.jsonl:1', 'long.jsonl:2', 'long.jsonl:3']);
    expect(errors(items)).toEqual([`long.jsonl:2: line longer than ${MAX_LINE_BYTES} bytes; skipped`]);
  });

  it('a 300 MB file without a newline is read in bounded memory: one error', async () => {
    const path = join(dir, 'zeros.jsonl');
    const fd = openSync(path, 'w');
    ftruncateSync(fd, 300 * 1024 * 1024);
    closeSync(fd);
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    const items = await collect(replayFeed({ symbol: 'X', path }).items(signal()));
    clearInterval(sampler);
    expect(errors(items)).toEqual([`zeros.jsonl:1: line longer than ${MAX_LINE_BYTES} bytes; skipped`]);
    expect((peak - before) / 1e6).toBeLessThan(100);
  });

  it.each([
    ['a FIFO', () => {
      const path = join(dir, 'fifo.csv');
      execFileSync('mkfifo', [path]);
      return path;
    }],
    ['a folder', () => dir],
    ['/dev/zero', () => '/dev/zero'],
  ])('%s is one error, read never (no block, no endless read)', async (_, make) => {
    const path = make();
    const items = await collect(replayFeed({ symbol: 'X', path }).items(signal()));
    expect(items).toHaveLength(1);
    expect('error' in items[0]! && items[0].error).toMatch(/^cannot read [^/]+: not a regular file$/);
  });

  it('errors never quote the file: not the header, not the JSON, not a value', async () => {
    const path = join(dir, 'secret.csv');
    writeFileSync(path, 'SECRET_A,SECRET_B\nSECRET_C\n"SECRET_D,\n');
    const jsonl = join(dir, 'secret.jsonl');
    writeFileSync(jsonl, '{SECRET_E\n{"timestamp":"SECRET_F"}\n{"symbol":["SECRET_G"]}\n{"timestamp":1,"open":31337,"high":2,"low":1,"close":2,"volume":0,"bid":1,"ask":2}\n');
    const all = [
      ...errors(await collect(replayFeed({ symbol: 'X', path }).items(signal()))),
      ...errors(await collect(replayFeed({ symbol: 'X', path: jsonl }).items(signal()))),
      ...errors(await collect(replayFeed({ symbol: 'X', path: join(dir, 'missing', 'gone.csv') }).items(signal()))),
    ];
    expect(all).toEqual([
      'secret.csv:2: expected 2 columns as in the header, got 1',
      'secret.csv:3: invalid CSV quoting',
      'secret.jsonl:1: invalid JSON',
      'secret.jsonl:2: timestamp is not a finite number',
      'secret.jsonl:3: symbol must be a string, got a list',
      'secret.jsonl:4: open is outside low..high',
      'gone.csv: cannot read gone.csv: no such file (ENOENT)',
    ]);
    expect(all.join('\n')).not.toMatch(/SECRET|31337|\//);
  });

  it('splits CSV lines like RFC 4180 within a line', () => {
    expect(splitCsvLine(' a , b ,c')).toEqual(['a', 'b', 'c']);
    expect(splitCsvLine('"a,1", "b""q" ,c')).toEqual(['a,1', 'b"q', 'c']);
    expect(splitCsvLine('a,"b')).toBeNull();
    expect(splitCsvLine('"a"x,b')).toBeNull();
    expect(splitCsvLine('a"b,c')).toEqual(['a"b', 'c']);
    expect(splitCsvLine('a,')).toEqual(['a', '']);
  });
});

describe('withoutValues', () => {
  it.each([
    ['low 5 is above high 4', 'low is above high'],
    ['open 1e+300 is outside low..high (1..4)', 'open is outside low..high'],
    ['bid 1.2 is above ask 1.1', 'bid is above ask'],
    ['open must be positive, got -1', 'open must be positive'],
    ['timestamp must be whole milliseconds since the Unix epoch, got 1.5', 'timestamp must be whole milliseconds since the Unix epoch'],
    ['volume must be a finite number ≥ 0, got -3', 'volume must be a finite number ≥ 0'],
  ])('%s → %s', (reason, expected) => {
    expect(withoutValues(reason)).toBe(expected);
  });
});
