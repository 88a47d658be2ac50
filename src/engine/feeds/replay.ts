import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { checkMarketData, type MarketData } from '../../domain/market-data.js';
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
  /** Longest line read, in bytes (default {@link MAX_LINE_BYTES}). */
  readonly maxLineBytes?: number;
}

/**
 * Longest line of a replay file, in bytes. A line of market data is under 200 bytes; the
 * cap is what keeps a file without newlines from being buffered whole.
 */
export const MAX_LINE_BYTES = 64 * 1024;

const NUMERIC_FIELDS = ['timestamp', 'open', 'high', 'low', 'close', 'volume', 'bid', 'ask'] as const;

/** One raw record of a recording, before it is known to be market data. */
type RawRow = Readonly<Record<string, unknown>>;

/**
 * Turns a record read from a file into market data, or says what is wrong with it.
 * Numbers may be JSON numbers or numeric strings (CSV has nothing else); range checks
 * are the domain's job and happen when the runner validates the tick. A message names
 * the field, never the value: the file may hold anything, and errors reach viewers.
 */
export function rowToMarketData(row: RawRow, symbol: string): MarketData | string {
  const rowSymbol = row['symbol'];
  if (rowSymbol !== undefined && rowSymbol !== '' && typeof rowSymbol !== 'string') {
    return `symbol must be a string, got a ${describeType(rowSymbol)}`;
  }
  const values: Record<string, number> = {};
  for (const field of NUMERIC_FIELDS) {
    const raw = row[field];
    if (raw === undefined || raw === null || raw === '') return `missing field ${field}`;
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw.trim()) : Number.NaN;
    if (!Number.isFinite(value)) return `${field} is not a finite number`;
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

/**
 * The domain's reason a tick is unusable, with the values taken out ("low 5 is above
 * high 4" → "low is above high"): for a row of a file, the field and the line say enough.
 */
export function withoutValues(reason: string): string {
  return reason
    .replace(/,? got .*$/, '')
    .replace(/ \([^)]*\)$/, '')
    .replace(/\b(timestamp|open|high|low|close|volume|bid|ask) [^ ]+(?= is |$)/g, '$1');
}

function describeType(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'list' : typeof value;
}

/** A line of a file with its 1-based number, or a line too long to be read. */
type Line = { readonly text: string; readonly line: number } | { readonly tooLong: true; readonly line: number };

/**
 * Splits a byte stream into lines without ever holding more than `maxBytes` of one: the
 * rest of a longer line is skipped up to its newline and the line comes out as
 * `tooLong`, so input without newlines (a device, a corrupt file) costs no memory.
 */
export async function* boundedLines(input: AsyncIterable<Buffer>, maxBytes: number): AsyncGenerator<Line> {
  let parts: Buffer[] = [];
  let size = 0;
  let overflow = false;
  let line = 0;
  const finish = (): Line => {
    line++;
    const out: Line = overflow ? { tooLong: true, line } : { text: decodeLine(parts, size), line };
    parts = [];
    size = 0;
    overflow = false;
    return out;
  };
  for await (const chunk of input) {
    let from = 0;
    for (;;) {
      const newline = chunk.indexOf(10, from);
      const end = newline === -1 ? chunk.length : newline;
      if (!overflow) {
        if (size + (end - from) > maxBytes) {
          overflow = true;
          parts = [];
          size = 0;
        } else if (end > from) {
          parts.push(chunk.subarray(from, end));
          size += end - from;
        }
      }
      if (newline === -1) break;
      yield finish();
      from = newline + 1;
    }
  }
  if (overflow || size > 0) yield finish();
}

function decodeLine(parts: readonly Buffer[], size: number): string {
  const text = (parts.length === 1 ? parts[0]! : Buffer.concat(parts as Buffer[], size)).toString('utf8');
  return text.endsWith('\r') ? text.slice(0, -1) : text;
}

/**
 * The fields of one CSV line (RFC 4180 within the line, fields trimmed; a quote inside an
 * unquoted field is taken literally), or null when its quoting is broken.
 */
export function splitCsvLine(text: string): string[] | null {
  if (!text.includes('"')) return text.split(',').map((field) => field.trim());
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (text[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const quote = text.indexOf('"', i);
        if (quote === -1) return null;
        value += text.slice(i, quote);
        if (text[quote + 1] === '"') {
          value += '"';
          i = quote + 2;
          continue;
        }
        i = quote + 1;
        break;
      }
      while (text[i] === ' ' || text[i] === '\t') i++;
      fields.push(value);
      if (i >= text.length) return fields;
      if (text[i] !== ',') return null;
      i++;
    } else {
      const comma = text.indexOf(',', i);
      fields.push((comma === -1 ? text.slice(i) : text.slice(i, comma)).trim());
      if (comma === -1) return fields;
      i = comma + 1;
    }
  }
}

/** What a failed read is called in an error: its code, never a message that may hold a path. */
function readFailure(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'no such file (ENOENT)';
  if (code === 'EACCES' || code === 'EPERM') return `permission denied (${code})`;
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? `read error (${code})` : 'read error';
}

/** A file that is not a regular file: refused before anything is read. */
class NotARegularFile extends Error {}

/**
 * Rows of a file as records with their 1-based line numbers, or read errors. Only a
 * regular file is read (a device or a FIFO is refused: one never ends, the other blocks),
 * and no line longer than `maxLineBytes` is held.
 */
async function* readRows(
  path: string,
  format: 'csv' | 'jsonl',
  maxLineBytes: number,
  signal: AbortSignal,
): AsyncGenerator<{ row: RawRow; line: number } | { error: string; line: number }> {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever,
  // in one of libuv's few threads. fstat then decides on the file actually opened.
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) throw new NotARegularFile();
    const input = handle.createReadStream({ signal, autoClose: false });
    try {
      let header: string[] | null = null;
      for await (const item of boundedLines(input, maxLineBytes)) {
        if ('tooLong' in item) {
          yield { error: `line longer than ${maxLineBytes} bytes; skipped`, line: item.line };
          continue;
        }
        if (item.text.trim() === '') continue;
        if (format === 'csv') {
          const record = splitCsvLine(item.text);
          if (record === null) {
            yield { error: 'invalid CSV quoting', line: item.line };
            continue;
          }
          if (header === null) {
            header = record;
            continue;
          }
          if (record.length !== header.length) {
            yield { error: `expected ${header.length} columns as in the header, got ${record.length}`, line: item.line };
            continue;
          }
          const row: Record<string, string> = {};
          header.forEach((column, i) => (row[column] = record[i] ?? ''));
          yield { row, line: item.line };
          continue;
        }
        let value: unknown;
        try {
          value = JSON.parse(item.text);
        } catch {
          // JSON.parse's message quotes the text it choked on.
          yield { error: 'invalid JSON', line: item.line };
          continue;
        }
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          yield { error: 'expected a JSON object of market data', line: item.line };
          continue;
        }
        yield { row: value as RawRow, line: item.line };
      }
    } finally {
      input.destroy();
    }
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * Replays a recorded file of market data. Unreadable rows come out as errors naming
 * file (its base name) and line, never silently skipped and never quoting the file; a
 * missing or unreadable file is one error item too, so the runner reports it instead of
 * crashing.
 */
export function replayFeed(options: ReplayFeedOptions): MarketFeed {
  const format = options.format ?? (extname(options.path).toLowerCase() === '.csv' ? 'csv' : 'jsonl');
  const name = basename(options.path);
  const maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
  return {
    description: `replay ${name}`,
    async *items(signal: AbortSignal): AsyncIterable<FeedItem> {
      const paced = pace(options.ticksPerSecond ?? Infinity, signal)[Symbol.asyncIterator]();
      let budget = 0;
      do {
        let rows = 0;
        try {
          for await (const item of readRows(options.path, format, maxLineBytes, signal)) {
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
            const invalid = checkMarketData(tick);
            if (invalid !== null) {
              yield { error: withoutValues(invalid), where };
              continue;
            }
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
          const why = err instanceof NotARegularFile ? 'not a regular file' : readFailure(err);
          yield { error: `cannot read ${name}: ${why}`, where: name };
          return;
        }
        // An empty file in loop mode would spin forever.
        if (rows === 0) return;
      } while (options.loop === true && !signal.aborted);
    },
  };
}
