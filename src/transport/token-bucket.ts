/** What {@link TokenBuckets} allow each key. */
export interface TokenBucketOptions {
  /** Requests a key may make at once, after a quiet spell (the bucket's size, at least 1). */
  readonly burst: number;
  /** Tokens added back per minute, up to `burst` (above 0). */
  readonly perMinute: number;
  /** Keys remembered at most (default 10,000): beyond, the least recently seen is forgotten. */
  readonly maxKeys?: number;
}

/** A request taken from its bucket, or refused with the seconds until a token is back. */
export type BucketVerdict = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  /** performance.now() when `tokens` was last brought up to date. */
  at: number;
}

/**
 * A token bucket per key (a client address): each request takes a token, tokens come back
 * at `perMinute`, and an empty bucket refuses until one is back. Refills are computed when
 * a key is seen, so an idle key costs no timer; the keys are a bounded LRU map, so a
 * client with many addresses cannot grow it. Forgetting a key gives it a full bucket again
 * when it returns, which only a client with more than `maxKeys` addresses in play can use.
 *
 * Hand-written rather than a rate-limit package: the ones that fit keep a timer per key
 * or count fixed windows (twice the rate across a window's edge), and this is the whole of it.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  private readonly maxKeys: number;

  constructor(private readonly options: TokenBucketOptions) {
    if (!(options.burst >= 1) || !(options.perMinute > 0)) throw new RangeError(`a token bucket needs burst >= 1 and perMinute > 0 (got ${options.burst}, ${options.perMinute})`);
    this.perMs = options.perMinute / 60_000;
    this.maxKeys = options.maxKeys ?? 10_000;
  }

  /** Keys remembered now. */
  get size(): number {
    return this.buckets.size;
  }

  /** Takes a token of `key`'s bucket at time `now` (ms, performance.now()'s clock). */
  take(key: string, now: number = performance.now()): BucketVerdict {
    const bucket = this.buckets.get(key) ?? { tokens: this.options.burst, at: now };
    bucket.tokens = Math.min(this.options.burst, bucket.tokens + Math.max(0, now - bucket.at) * this.perMs);
    bucket.at = now;
    // Seen now: to the end of the map's order, so the first key is always the least recent.
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000)) };
  }
}
