import { pino, type DestinationStream, type Logger } from 'pino';

/** The levels LOG_LEVEL may name, quietest last (`silent` turns the log off). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What LOG_FORMAT may name: `auto` (the default) is `human` on a terminal, `json` elsewhere. */
export const LOG_FORMATS = ['auto', 'json', 'human'] as const;

/** One of {@link LOG_FORMATS}. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * LOG_LEVEL when it names a level, else info. This module is loaded before the
 * configuration is validated, and pino throws on an unknown level: falling back here
 * lets the configuration report a bad LOG_LEVEL like any other setting, cleanly.
 */
function levelOf(value: string | undefined): LogLevel {
  return LOG_LEVELS.find((level) => level === value) ?? 'info';
}

/**
 * Whether the log is written for people: a terminal gets readable lines unless
 * LOG_FORMAT=json; a pipe or a file (a supervisor, a log shipper, a test) gets JSON
 * unless LOG_FORMAT=human. An unknown value counts as `auto` here: the configuration
 * refuses it with its name.
 */
export function isHumanLog(format: string | undefined, isTTY: boolean): boolean {
  if (format === 'json') return false;
  if (format === 'human') return true;
  return isTTY;
}

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** Fields every line has, which a person reading the line does not need again. */
const PLUMBING = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v']);

function valueText(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  if (value !== null && typeof value === 'object' && 'message' in value) return JSON.stringify((value as { message: unknown }).message);
  return JSON.stringify(value) ?? String(value);
}

/**
 * One JSON log line as a person reads it: `12:04:05 warn  message key=value …`. A line
 * that is not JSON (it never should be) is passed on as it is, never lost.
 */
export function humanLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const time = typeof entry['time'] === 'number' ? new Date(entry['time']).toTimeString().slice(0, 8) : '--:--:--';
  const level = (LEVEL_NAMES[entry['level'] as number] ?? String(entry['level'])).padEnd(5);
  const fields = Object.entries(entry)
    .filter(([key]) => !PLUMBING.has(key))
    .map(([key, value]) => `${key}=${valueText(value)}`);
  const message = typeof entry['msg'] === 'string' ? entry['msg'] : '';
  return `${time} ${level} ${[message, ...fields].filter((part) => part.length > 0).join(' ')}\n`;
}

/** A destination that writes each JSON line to stdout as {@link humanLine} renders it. */
function humanDestination(): DestinationStream {
  return { write: (line: string) => void process.stdout.write(humanLine(line)) };
}

/**
 * The server's structured log on stdout (pino), at LOG_LEVEL (default info; `silent`
 * turns it off): readable lines on a terminal, one JSON object per line elsewhere or with
 * LOG_FORMAT=json. Child loggers carry a request or connection id.
 */
export const log: Logger = pino(
  { name: 'tickwire', level: levelOf(process.env['LOG_LEVEL']), base: { pid: process.pid } },
  isHumanLog(process.env['LOG_FORMAT'], process.stdout.isTTY === true) ? humanDestination() : undefined,
);

/** A line logger (what the bus, store and Redis parts take) writing warnings to `logger`. */
export function warnTo(logger: Logger): (line: string) => void {
  return (line) => logger.warn(line.replace(/^tickwire: /, ''));
}
