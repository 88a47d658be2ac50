import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import sirv from 'sirv';

/**
 * The page's policy: its own scripts and styles only, and connections back to this
 * server (graphql-ws). The chart library sets element styles, hence inline styles.
 */
const CONTENT_SECURITY_POLICY = "default-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";

/** Answers a request, or returns false when it is not the dashboard's. */
export type DashboardHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Paths that belong to the dashboard rather than to GraphQL or operations. */
function isDashboardPath(path: string): boolean {
  return path === '/' || path === '/index.html' || path.startsWith('/assets/');
}

const notBuilt = (dir: string): string => `<!doctype html><meta charset="utf-8"><title>tickwire</title>
<h1>The dashboard is not built</h1>
<p>There is no build in <code>${dir.replace(/[<>&]/g, '')}</code>. <code>npm start</code> builds it; so does <code>npm run build</code>.</p>
<p>GraphiQL is at <a href="/graphql">/graphql</a>.</p>`;

/** What the page needs to know about the server it came from. */
export interface DashboardFacts {
  /** GraphiQL is served at /graphql (GRAPHIQL): the page links to it only then. */
  readonly graphiql: boolean;
  /**
   * TRUSTED_DOCUMENTS (default `off`): with `off` the page sends its documents' text from
   * the start, instead of learning from a refused hash on every load.
   */
  readonly trustedDocuments?: 'off' | 'allow' | 'only';
}

/** The name of the `<meta>` through which the page learns whether GraphiQL is served. */
export const GRAPHIQL_META = 'tickwire-graphiql';

/** The name of the `<meta>` through which the page learns TRUSTED_DOCUMENTS. */
export const TRUSTED_DOCUMENTS_META = 'tickwire-trusted-documents';

/** index.html with the facts the page reads at start, as `<meta>` elements in its head. */
function withFacts(html: string, facts: DashboardFacts): string {
  const meta =
    `<meta name="${GRAPHIQL_META}" content="${facts.graphiql ? 'on' : 'off'}">` +
    `<meta name="${TRUSTED_DOCUMENTS_META}" content="${facts.trustedDocuments ?? 'off'}">`;
  const head = /<head[^>]*>/i.exec(html);
  if (head !== null) return `${html.slice(0, head.index + head[0].length)}${meta}${html.slice(head.index + head[0].length)}`;
  const doctype = /^\s*<!doctype[^>]*>/i.exec(html);
  return doctype === null ? `${meta}${html}` : `${doctype[0]}${meta}${html.slice(doctype[0].length)}`;
}

/**
 * Serves the built dashboard (index.html and its hashed assets) from `dir`. Hashed
 * assets are cached for good; the page itself is revalidated, so a new build shows on
 * the next load. Without a build, / says how to make one.
 */
export function createDashboardHandler(dir: string, facts: DashboardFacts = { graphiql: true }): DashboardHandler {
  const index = join(dir, 'index.html');
  // sirv lists the build once, here: a new build shows after a restart (npm start builds first).
  const files = existsSync(index) ? sirv(dir, { etag: true, dev: false, setHeaders }) : null;
  // The page carries this server's facts, so it is not sirv's file: read once, like sirv's listing.
  const page = files === null ? null : withFacts(readFileSync(index, 'utf8'), facts);
  const pageTag = page === null ? '' : `"${createHash('sha256').update(page).digest('base64url').slice(0, 27)}"`;
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (!isDashboardPath(path)) return false;
    if (files === null || page === null) {
      res.writeHead(503, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }).end(notBuilt(dir));
      return true;
    }
    if (path === '/' || path === '/index.html') {
      res.setHeader('etag', pageTag);
      setHeaders(res, path);
      if (req.headers['if-none-match'] === pageTag) {
        res.writeHead(304).end();
        return true;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(page) });
      res.end(req.method === 'HEAD' ? undefined : page);
      return true;
    }
    files(req, res, () => {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
    });
    return true;
  };
}

/** Hashed assets never change under their name; the page itself is checked every load. */
function setHeaders(res: ServerResponse, pathname: string): void {
  res.setHeader('x-content-type-options', 'nosniff');
  if (pathname.startsWith('/assets/')) {
    res.setHeader('cache-control', 'public, max-age=31536000, immutable');
  } else {
    res.setHeader('cache-control', 'no-cache');
    res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
  }
}
