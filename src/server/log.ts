import { pino, type Logger } from 'pino';

/**
 * The server's structured log: one JSON object per line on stdout (pino), at LOG_LEVEL
 * (default info; `silent` turns it off). Child loggers carry a request or connection id.
 */
export const log: Logger = pino({
  name: 'tickwire',
  level: process.env['LOG_LEVEL'] ?? 'info',
  base: { pid: process.pid },
});

/** A line logger (what the bus, store and Redis parts take) writing warnings to `logger`. */
export function warnTo(logger: Logger): (line: string) => void {
  return (line) => logger.warn(line.replace(/^tickwire: /, ''));
}
