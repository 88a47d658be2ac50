import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { answers } from '../store/databases.js';

/** The machine's Redis (docs/development.md, "Services the tests use"). */
export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/**
 * Whether Redis tests run: they do when it answers; when it does not, they are skipped
 * with a message, except under CI, where its absence is a failure.
 */
export const redisAvailable = await (async () => {
  const ok = await answers(REDIS_URL.replace(/^rediss?:/, 'http:'));
  if (!ok && process.env['CI'] === 'true') throw new Error(`Redis does not answer at ${REDIS_URL} (CI needs it)`);
  if (!ok) console.warn(`Redis does not answer at ${REDIS_URL}: its tests are skipped`);
  return ok;
})();

/** A stream key of its own for one test, and a cleanup that removes every key under it. */
export function privateStream(): { key: string; drop(): Promise<void> } {
  const key = `tickwire:test:${randomBytes(5).toString('hex')}`;
  return {
    key,
    drop: async () => {
      const r = new Redis(REDIS_URL);
      const keys = await r.keys(`${key}*`);
      if (keys.length > 0) await r.del(...keys);
      r.disconnect();
    },
  };
}
