import { open } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import type { MarketData } from '../../domain/market-data.js';
import { pace, type FeedItem, type MarketFeed } from './feed.js';

/** Settings of a file replay feed. */
export interface ReplayFeedOptions {
  /** The runner's symbol: rows of other symbols are skipped, rows without one take it. */
  readonly symbol: string;
  /** A CSV file with a header row, or JSONL (one MarketData object per line). */
  readonly path: string;
  /** `csv` or `jsonl`; by default from the extension (.csv, else JSONL). */
  readonly format?: 'csv' | 'jsonl';
  /** Ticks per second; `Infinity` (the default) replays as fast as the runner takes them. */
  readonly ticksPerSecond?: number;
  /** Start again from the top at the end of the file (default false). */
  readonly loop?: boolean;
}

const NUMERIC_FIELDS = ['timestamp', 'open', 'high', 'low', 'close', 'volume', 'bid', 'ask'] as const;

/** One raw record of a recording, before it is known to be market data. */
type RawRow = Readonly<Record<string, unknown>>;

/**
 * Turns a record read from a file into market data, or says what is wrong with it.
 * Numbers may be JSON numbers or numeric strings (CSV has nothing else); range checks
 * are the domain's job and happen when the runner validates the tick.
 */
export function rowToMarketData(row: RawRow, symbol: string): MarketData | string {
  const rowSymbol = row['symbol'];
  if (rowSymbol !== undefined && rowSymbol !== '' && typeof rowSymbol !== 'string') {
    return `symbol must be a string, got ${JSON.stringify(rowSymbol)}`;
  }
  const values: Record<string, number> = {};
  for (const field of NUMERIC_FIELDS) {
    const raw = row[field];
    if (raw === undefined || raw === null || raw === '') return `missing field ${field}`;
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw.trim()) : Number.NaN;
    if (!Number.isFinite(value)) return `${field} is not a finite number: ${JSON.stringify(raw)}`;
    values[field] = value;
  }
  return {
    symbol: typeof rowSymbol === 'string' && rowSymbol !== '' ? rowSymbol : symbol,
    timestamp: values['timestamp']!,
    open: values['open']!,
    high: values['high']!,
    low: values['low']!,
    close: values['close']!,
    volume: values['volume']!,
    bid: values['bid']!,
    ask: values['ask']!,
  };
}

/** Rows of a file as records with their 1-based line numbers, or read errors. */
async function* readRows(
  path: string,
  format: 'csv' | 'jsonl',
  signal: AbortSignal,
): AsyncGenerator<{ row: RawRow; line: number } | { error: string; line: number }> {
  // Opening first turns a missing file into one clean error instead of a stream
  // error that a pipe would not forward.
  const handle = await open(path, 'r');
  const input = handle.createReadStream({ encoding: 'utf8', signal });
  try {
    if (format === 'csv') {
      // Rows come out as arrays and the header is applied here, so a row with the wrong
      // number of columns becomes an error at its own place in the sequence.
      const parser = parseCsv({ info: true, trim: true, skip_empty_lines: true, relax_column_count: true, relax_quotes: true });
      input.on('error', (err) => parser.destroy(err));
      input.pipe(parser);
      let header: string[] | null = null;
      for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
        if (header === null) {
          header = record;
          continue;
        }
        if (record.length !== header.length) {
          yield { error: `expected ${header.length} columns (${header.join(',')}), got ${record.length}`, line: info.lines };
          continue;
        }
        const row: Record<string, string> = {};
        header.forEach((column, i) => (row[column] = record[i] ?? ''));
        yield { row, line: info.lines };
      }
      return;
    }
    let line = 0;
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      line++;
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        yield { error: `invalid JSON: ${(err as Error).message}`, line };
        continue;
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        yield { error: 'expected a JSON object of market data', line };
        continue;
      }
      yield { row: value as RawRow, line };
    }
  } finally {
    input.destroy();
    await handle.close().catch(() => undefined);
  }
}

/**
 * Replays a recorded file of market data. Unreadable rows come out as errors naming
 * file and line, never silently skipped; a missing file is an error item too, so the
 * runner reports it instead of crashing.
 */
export function replayFeed(options: ReplayFeedOptions): MarketFeed {
  const format = options.format ?? (extname(options.path).toLowerCase() === '.csv' ? 'csv' : 'jsonl');
  const name = basename(options.path);
  return {
    description: `replay ${name}`,
    async *items(signal: AbortSignal): AsyncIterable<FeedItem> {
      const paced = pace(options.ticksPerSecond ?? Infinity, signal)[Symbol.asyncIterator]();
      let budget = 0;
      do {
        let rows = 0;
        try {
          for await (const item of readRows(options.path, format, signal)) {
            rows++;
            const where = `${name}:${item.line}`;
            if ('error' in item) {
              yield { error: item.error, where };
              continue;
            }
            const tick = rowToMarketData(item.row, options.symbol);
            if (typeof tick === 'string') {
              yield { error: tick, where };
              continue;
            }
            if (tick.symbol !== options.symbol) continue;
            while (budget <= 0) {
              const next = await paced.next();
              if (next.done) return;
              budget = next.value;
            }
            budget--;
            yield { tick, where };
          }
        } catch (err) {
          if (signal.aborted) return;
          yield { error: `cannot read ${options.path}: ${(err as Error).message}`, where: name };
          return;
        }
        // An empty file in loop mode would spin forever.
        if (rows === 0) return;
      } while (options.loop === true && !signal.aborted);
    },
  };
}
