import { existsSync } from 'node:fs';
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

/**
 * Serves the built dashboard (index.html and its hashed assets) from `dir`. Hashed
 * assets are cached for good; the page itself is revalidated, so a new build shows on
 * the next load. Without a build, / says how to make one.
 */
export function createDashboardHandler(dir: string): DashboardHandler {
  // sirv lists the build once, here: a new build shows after a restart (npm start builds first).
  const files = existsSync(join(dir, 'index.html')) ? sirv(dir, { etag: true, dev: false, setHeaders }) : null;
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (!isDashboardPath(path)) return false;
    if (files === null) {
      res.writeHead(503, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }).end(notBuilt(dir));
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
