import { pino, type Logger } from 'pino';

/** The levels LOG_LEVEL may name, quietest last (`silent` turns the log off). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * LOG_LEVEL when it names a level, else info. This module is loaded before the
 * configuration is validated, and pino throws on an unknown level: falling back here
 * lets the configuration report a bad LOG_LEVEL like any other setting, cleanly.
 */
function levelOf(value: string | undefined): LogLevel {
  return LOG_LEVELS.find((level) => level === value) ?? 'info';
}

/**
 * The server's structured log: one JSON object per line on stdout (pino), at LOG_LEVEL
 * (default info; `silent` turns it off). Child loggers carry a request or connection id.
 */
export const log: Logger = pino({
  name: 'tickwire',
  level: levelOf(process.env['LOG_LEVEL']),
  base: { pid: process.pid },
});

/** A line logger (what the bus, store and Redis parts take) writing warnings to `logger`. */
export function warnTo(logger: Logger): (line: string) => void {
  return (line) => logger.warn(line.replace(/^tickwire: /, ''));
}
