import Negotiator from 'negotiator';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CODE, errorBody } from '../graphql/errors.js';

/**
 * Accept headers with a media type of quality 0 ("not acceptable", RFC 9110 §12.4.2):
 * Yoga's and graphql-sse's own tests read Accept as a plain list and would serve exactly
 * that type. Only these headers are rewritten, so every other request is decided by Yoga's
 * rules unchanged.
 */
const REFUSES_A_TYPE = /;\s*q\s*=\s*0(?:\.0{0,3})?\s*(?:[,;]|$)/i;

/** What Yoga answers at /graphql, in utf-8 (the only charset it serves). */
const YOGA_TYPES = ['application/graphql-response+json', 'application/json', 'multipart/mixed', 'text/event-stream'].map((t) => `${t};charset=utf-8`);

const PAGE_TYPE = 'text/html;charset=utf-8';

/**
 * The Accept header Yoga should see: `accept` itself unless it refuses a type with q=0;
 * then the types Yoga serves that it does accept, best first (text/html, GraphiQL's page,
 * only where it was named, as Yoga's own page test asks), or null when it accepts none
 * of them (answer 406).
 */
export function yogaAccept(accept: string | undefined): string | undefined | null {
  if (accept === undefined || !REFUSES_A_TYPE.test(accept)) return accept;
  const offered = accept.toLowerCase().includes('text/html') ? [PAGE_TYPE, ...YOGA_TYPES] : YOGA_TYPES;
  const acceptable = new Negotiator({ headers: { accept } }).mediaTypes(offered);
  return acceptable.length === 0 ? null : acceptable.join(', ');
}

/**
 * True when a graphql-sse request asks for an event stream: `Accept` names
 * text/event-stream (graphql-sse's rule) and does not refuse it (q=0), in utf-8.
 */
export function acceptsEventStream(accept: string | undefined): boolean {
  if (accept === undefined || !accept.toLowerCase().includes('text/event-stream')) return false;
  return !REFUSES_A_TYPE.test(accept) || new Negotiator({ headers: { accept } }).mediaType(['text/event-stream;charset=utf-8']) !== undefined;
}

/**
 * Gives Yoga the Accept header of {@link yogaAccept}; when the request accepts nothing
 * Yoga serves, answers 406 itself and returns false.
 */
export function negotiateYogaAccept(req: IncomingMessage, res: ServerResponse): boolean {
  const accept = yogaAccept(req.headers.accept);
  if (accept === null) {
    const message = `Accept ${JSON.stringify(req.headers.accept)} refuses every media type served here (q=0 means not acceptable): ${YOGA_TYPES.join(', ')}`;
    res.writeHead(406, { 'content-type': 'application/json; charset=utf-8' }).end(errorBody(CODE.NOT_ACCEPTABLE, message));
    return false;
  }
  if (accept !== req.headers.accept) req.headers.accept = accept;
  return true;
}
