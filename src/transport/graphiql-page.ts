import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Worker } from 'node:worker_threads';
import fresh from 'fresh';
import type { GraphiQLOptions } from 'graphql-yoga';
import Negotiator from 'negotiator';
import { startWorker, workerModule } from '../runtime/thread.js';
import { clientAddressOf } from '../graphql/admission.js';
import type { GraphiqlBuildMessage, PageEncoding } from './graphiql-thread-main.js';
import { log } from '../runtime/log.js';
import { TokenBuckets } from './token-bucket.js';

/** What {@link GraphiqlPage} serves, and to whom how often. */
export interface GraphiqlPageOptions {
  /** Yoga's GraphiQL options for this server (see graphiqlOptions in graphiql.ts). */
  readonly options: GraphiQLOptions;
  /** Page requests without a token one client address (IPv6: one /64) may make at once (GRAPHIQL_BURST). */
  readonly burst: number;
  /** Page requests without a token per minute and address once the burst is spent (GRAPHIQL_PER_MINUTE). */
  readonly perMinute: number;
}

/** One built variant of the page. */
interface Variant {
  readonly encoding: PageEncoding;
  readonly body: Buffer;
  /** A strong ETag of its own per content coding: the bytes differ. */
  readonly etag: string;
}

/** Sizes (bytes) and build times (ms, in the worker) of the page's variants. */
export interface PageBuild {
  readonly bytes: Partial<Record<PageEncoding, number>>;
  readonly ms: Partial<Record<PageEncoding, number>>;
  /** Why the page could not be built, or null. */
  readonly error: string | null;
}

/** Best first: what a client that accepts several gets. */
const ENCODINGS: readonly PageEncoding[] = ['br', 'gzip', 'identity'];

/**
 * The page is the same for every request of this server, so it is validated by each
 * load (no-cache) and answered 304 when the browser has it; its bytes are not hashed
 * static files with long caching because render-graphiql inlines every script in the page
 * (which is what makes it work without a CDN), and the page names this server's runner.
 */
const CACHE_CONTROL = 'no-cache';

/**
 * The key of a client's bucket: its address (see clientAddressOf), and for IPv6 its /64,
 * the block one host usually holds whole: one client cannot get a bucket per address.
 */
export function pageClientKey(remoteAddress: string | undefined): string {
  const address = (clientAddressOf(remoteAddress) ?? 'unknown').split('%', 1)[0]!;
  if (!address.includes(':')) return address;
  const double = address.indexOf('::');
  const head = (double < 0 ? address : address.slice(0, double)).split(':').filter((g) => g !== '');
  const tail = double < 0 ? [] : address.slice(double + 2).split(':').filter((g) => g !== '');
  const groups = double < 0 ? head : [...head, ...Array<string>(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail];
  return `${groups
    .slice(0, 4)
    .map((g) => (Number.parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}

/** negotiator 1.x's `encodings`, with the `preferred` order its types (0.6) do not know yet. */
interface EncodingNegotiator {
  encodings(available: readonly string[], options: { readonly preferred: readonly string[] }): string[];
}

/** A promise and its resolver. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * The GraphiQL page, served by the HTTP router before Yoga. Built once, on the first
 * request, in a worker thread (graphiql-thread-main.ts: render, brotli, gzip), and kept as
 * immutable bytes: each request is a choice of variant by Accept-Encoding and one write,
 * where Yoga encoded the 9 MB page anew each time (about 120 ms of the main thread).
 * Requests without a token take a token of their client's bucket first: a flood is
 * answered 429 with Retry-After.
 */
export class GraphiqlPage {
  private readonly buckets: TokenBuckets;
  private variants: Map<PageEncoding, { promise: Promise<Variant | null>; resolve: (v: Variant | null) => void }> | null = null;
  private worker: Worker | null = null;
  private readonly build: PageBuild = { bytes: {}, ms: {}, error: null };
  private readonly finished = deferred<void>();
  private closing = false;

  constructor(private readonly options: GraphiqlPageOptions) {
    this.buckets = new TokenBuckets({ burst: options.burst, perMinute: options.perMinute });
  }

  /**
   * Answers a page request (GraphiQL on, Yoga's shouldRenderGraphiQL, at the GraphQL
   * path). `limited`: the request carries no valid token, and counts against its client's
   * bucket.
   */
  serve(req: IncomingMessage, res: ServerResponse, limited: boolean): void {
    if (limited) {
      const key = pageClientKey(req.socket.remoteAddress);
      const verdict = this.buckets.take(key);
      if (!verdict.ok) {
        res
          .writeHead(429, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': String(verdict.retryAfterSeconds), 'cache-control': 'no-store' })
          .end(
            `too many GraphiQL page requests from ${key}: at most ${this.options.burst} at once, then ${this.options.perMinute} a minute ` +
              `(GRAPHIQL_BURST, GRAPHIQL_PER_MINUTE); retry in ${verdict.retryAfterSeconds} s\n`,
          );
        return;
      }
    }
    void this.respond(req, res).catch((err: unknown) => {
      log.error({ err }, 'the GraphiQL page could not be sent');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('internal server error');
    });
  }

  /** Resolves once the build has ended: every variant made, or the error that stopped it. Does not start it. */
  async built(): Promise<PageBuild> {
    await this.finished.promise;
    return this.build;
  }

  /** Stops a build still running. */
  async close(): Promise<void> {
    this.closing = true;
    await this.worker?.terminate();
  }

  private async respond(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The client's order, br first among equals; identity last of all, whatever it said:
    // refusing every coding the page has is better answered with the page than with nothing.
    const ranked = (new Negotiator(req) as unknown as EncodingNegotiator).encodings(ENCODINGS, { preferred: ENCODINGS }) as PageEncoding[];
    let variant: Variant | null = null;
    for (const encoding of [...ranked, 'identity' as const]) {
      variant = await this.variant(encoding);
      if (variant !== null) break;
    }
    if (res.destroyed) return;
    if (variant === null) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`the GraphiQL page could not be built: ${this.build.error ?? 'unknown error'}\n`);
      return;
    }
    const headers = { etag: variant.etag, vary: 'Accept-Encoding', 'cache-control': CACHE_CONTROL, 'x-content-type-options': 'nosniff' };
    if (fresh(req.headers, { etag: variant.etag })) {
      res.writeHead(304, headers).end();
      return;
    }
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/html; charset=utf-8',
      'content-length': variant.body.length,
      ...(variant.encoding === 'identity' ? {} : { 'content-encoding': variant.encoding }),
    });
    res.end(variant.body);
  }

  /** A variant once built (the first call starts the build), or null when it could not be. */
  private variant(encoding: PageEncoding): Promise<Variant | null> {
    this.variants ??= this.startBuild();
    return this.variants.get(encoding)!.promise;
  }

  private startBuild(): Map<PageEncoding, { promise: Promise<Variant | null>; resolve: (v: Variant | null) => void }> {
    const variants = new Map(ENCODINGS.map((encoding) => [encoding, deferred<Variant | null>()]));
    // Whatever was not built by the end never will be: its waiters fall back to another variant.
    const end = (error: string | null) => {
      if (error !== null && this.build.error === null && !this.closing) {
        (this.build as { error: string | null }).error = error;
        log.error({ err: error }, 'the GraphiQL page could not be built');
      }
      for (const pending of variants.values()) pending.resolve(null);
      this.worker = null;
      this.finished.resolve();
    };
    let worker: Worker;
    try {
      worker = startWorker(workerModule('./graphiql-thread-main.js', import.meta.url), { workerData: { options: this.options.options } });
    } catch (err) {
      end((err as Error).message);
      return variants;
    }
    this.worker = worker;
    // It must not keep a process alive that is otherwise done; close() stops it.
    worker.unref();
    worker.on('message', (message: GraphiqlBuildMessage) => {
      if (message.kind === 'done') return end(null);
      const body = Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength);
      const etag = message.encoding === 'identity' ? `"${message.hash}"` : `"${message.hash}-${message.encoding}"`;
      this.build.bytes[message.encoding] = body.length;
      this.build.ms[message.encoding] = Math.round(message.ms);
      variants.get(message.encoding)!.resolve({ encoding: message.encoding, body, etag });
    });
    worker.once('error', (err) => end(err.message));
    worker.once('exit', (code) => end(code === 0 ? null : `the build worker exited with code ${code}`));
    return variants;
  }
}
