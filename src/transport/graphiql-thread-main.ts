/**
 * The worker thread that builds the GraphiQL page once (see graphiql-page.ts): renders it,
 * encodes it, hashes it, and compresses it with brotli and gzip, posting each variant as
 * soon as it is ready. All of it is CPU work of a second or two that the server's own
 * thread never does; the buffers are transferred, not copied.
 */
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { GraphiQLOptions } from 'graphql-yoga';
import { renderTickwireGraphiQL } from './graphiql-render.js';

/** The page's content codings, as Content-Encoding names them. */
export type PageEncoding = 'br' | 'gzip' | 'identity';

/** What the worker posts: each variant once, then `done`. */
export type GraphiqlBuildMessage =
  | {
      readonly kind: 'variant';
      readonly encoding: PageEncoding;
      /** SHA-256 of the page (base64url, 27 characters): the ETag's core. */
      readonly hash: string;
      readonly bytes: Uint8Array;
      /** Milliseconds the worker spent making this variant. */
      readonly ms: number;
    }
  | { readonly kind: 'done' };

/**
 * Brotli quality 5: on the 9 MB page about 0.6 s for 1.95 MB, where quality 9 took 4.5 s
 * for 1.86 MB and 11 took 49 s for 1.71 MB (a busy 2-core machine). gzip level 6 (the
 * default): 0.4 s for 2.44 MB; level 9 saves 10 KB for twice the time.
 */
const BROTLI_QUALITY = 5;
const GZIP_LEVEL = 6;

const port = parentPort;
if (port === null) throw new Error('graphiql-thread-main.ts runs as a worker thread (see graphiql-page.ts)');

const post = (encoding: PageEncoding, hash: string, bytes: Buffer, since: number) => {
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const message: GraphiqlBuildMessage = { kind: 'variant', encoding, hash, bytes: view, ms: performance.now() - since };
  port.postMessage(message, [view.buffer as ArrayBuffer]);
};

let started = performance.now();
const page = Buffer.from(renderTickwireGraphiQL((workerData as { options: GraphiQLOptions }).options), 'utf8');
const hash = createHash('sha256').update(page).digest('base64url').slice(0, 27);
// The page's own buffer is transferred away with its message: the compressions read a copy.
const source = Buffer.from(page);
post('identity', hash, page, started);
// Browsers ask for br first: it is made first, then gzip for the rest.
started = performance.now();
const br = brotliCompressSync(source, {
  params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT, [constants.BROTLI_PARAM_SIZE_HINT]: source.length },
});
post('br', hash, br, started);
started = performance.now();
post('gzip', hash, gzipSync(source, { level: GZIP_LEVEL }), started);
port.postMessage({ kind: 'done' } satisfies GraphiqlBuildMessage);
