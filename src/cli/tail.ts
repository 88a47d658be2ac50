import { createEventsClient, OperationError, type ClientEvent } from '../client/client.js';
import { describeEvent, formatTime, type Tone } from '../client/describe.js';
import { LogEpochDocument } from '../client/operations.js';
import type { TailOptions } from './args.js';

const paint = (on: boolean, code: number, text: string) => (on ? `\u001b[${code}m${text}\u001b[0m` : text);

/** Terminal colours of each tone (0: none). */
const TONE_COLOR: Record<Tone, number> = { plain: 0, lifecycle: 1, action: 35, profit: 32, loss: 31, warning: 33, error: 31, critical: 41, gap: 33 };

/** One readable line for an event. */
export function formatEvent(event: ClientEvent, color: boolean): string {
  const { label, text, tone } = describeEvent(event);
  const on = color && TONE_COLOR[tone] !== 0;
  if (event.__typename === 'StreamGap') return paint(on, TONE_COLOR[tone], `-- ${label}: ${text}`);
  const time = formatTime(event.timestamp);
  const head = `${paint(color, 2, `#${event.id}`)} ${time} ${paint(color, 36, event.runnerId.padEnd(12))}`;
  return `${head} ${paint(on, TONE_COLOR[tone], label.padEnd(10))} ${text}`;
}

/** First wait before reconnecting, in ms; it doubles with each failed attempt. */
const FIRST_DELAY_MS = 500;
/** Longest wait between attempts, in ms. */
const MAX_DELAY_MS = 10_000;

/**
 * The wait before reconnection attempt `attempt` (1, 2, …): 0.5 s doubling up to 10 s,
 * each moved by up to 20 % either way so that the clients of a restarted server do not
 * all come back in the same instant.
 */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(Math.min(MAX_DELAY_MS, base * (0.8 + 0.4 * random())));
}

/** 0.5 s, 1.1 s, 10 s: precise where it matters, short where it does not. */
function seconds(ms: number): string {
  const s = ms / 1000;
  return `${s >= 10 ? Math.round(s) : Number(s.toFixed(1))} s`;
}

/** The later of two log ids (ids are whole numbers past 2^53 in long-lived logs). */
function later(a: string | null, b: string): string {
  return a === null || BigInt(b) > BigInt(a) ? b : a;
}

/**
 * What the server said when it refused us, or null when the connection was lost. A
 * refusal is an answer, not an accident: retrying would only repeat it.
 */
function refusalOf(error: unknown): string | null {
  if (error instanceof OperationError) return `the server refused the subscription: ${error.message}`;
  const close = error as { code?: unknown; reason?: unknown } | null;
  if (typeof close?.code === 'number' && close.code >= 4400 && close.code < 4500) {
    const reason = typeof close.reason === 'string' && close.reason !== '' ? `: ${close.reason}` : '';
    const hint = close.code === 4403 ? '; check --token or TICKWIRE_TOKEN' : '';
    return `the server refused the connection (close ${close.code}${reason})${hint}`;
  }
  // graphql-sse: an HTTP answer of 4xx (401/403: the token; 429: too many subscriptions).
  const status = (error as { response?: { status?: unknown; statusText?: unknown } } | null)?.response?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const hint = status === 401 || status === 403 ? '; check --token or TICKWIRE_TOKEN' : '';
    return `the server refused the request (HTTP ${status})${hint}`;
  }
  return null;
}

/** A lost connection in a few words: its close code, HTTP status or system error. */
function lossOf(error: unknown): string {
  const e = error as { code?: unknown; response?: { status?: unknown }; cause?: { code?: unknown }; message?: unknown } | null;
  if (typeof e?.code === 'number') return `code ${e.code}`;
  if (typeof e?.response?.status === 'number') return `HTTP ${e.response.status}`;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  if (typeof e?.code === 'string') return e.code;
  return typeof e?.message === 'string' && e.message !== '' ? e.message : String(error);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Where `tail` reports its connection, and how it waits (tests replace them). */
export interface TailReporting {
  /** One line about the connection (default: stderr). */
  readonly notice?: (line: string) => void;
  /** 0 ≤ x < 1 for the jitter of the waits (default Math.random). */
  readonly random?: () => number;
}

/**
 * Runs `tail` until `signal` aborts; writes lines to `out`. A lost connection, or a
 * stream the server ended (it is shutting down), is not the end: like `tail -F` it
 * reconnects with backoff, saying so on `notice`, and resumes after the last id it
 * printed, so nothing is missed or printed twice. It gives up only after
 * `options.retries` failed attempts in a row, or at once when the server refuses it
 * (a 44xx close, a 4xx answer, GraphQL errors): those throw with a message.
 */
export async function tail(options: TailOptions, out: (line: string) => void, signal?: AbortSignal, reporting: TailReporting = {}): Promise<void> {
  const notice = reporting.notice ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const random = reporting.random ?? Math.random;
  let after: string | null = options.after ?? null;
  // The epoch of the log `after` belongs to: asked once, on the first connection, then
  // taken from a reset notice. A server with another log then says so on resume.
  let epoch: string | null = null;
  let failures = 0;
  let reconnecting = false;
  let connectedOnce = false;
  // Called when the connection is known to be up again: graphql-ws says so itself;
  // over graphql-sse the first event is the first sign.
  const connected = () => {
    if (reconnecting) {
      reconnecting = false;
      notice(connectedOnce ? `tickwire: reconnected${after === null ? '' : `, resuming after id ${after}`}` : `tickwire: connected to ${options.url}`);
    }
    connectedOnce = true;
    failures = 0;
  };
  const client = createEventsClient({
    url: options.url,
    transport: options.sse ? 'sse' : 'ws',
    ...(options.token !== undefined ? { token: options.token } : {}),
    // Reconnecting is ours, so that each attempt can be reported and counted.
    retryAttempts: 0,
    onConnection: (status) => {
      if (status.state === 'connected') connected();
    },
  });
  const filters = {
    ...(options.runnerIds ? { runnerIds: options.runnerIds } : {}),
    ...(options.types ? { types: options.types } : {}),
    ...(options.minSeverity ? { minSeverity: options.minSeverity } : {}),
    ...(options.throttleMs !== undefined ? { throttleMs: options.throttleMs } : {}),
  };
  // A function, not a property read: TypeScript would keep the loop condition's narrowing.
  const stopped = (): boolean => signal?.aborted === true;
  try {
    while (!stopped()) {
      let why: string;
      try {
        if (epoch === null && !connectedOnce) epoch = await client.request(LogEpochDocument).then((d) => d.log.epoch, () => null);
        const resume: { after?: string; epoch?: string } = after === null ? {} : { after, ...(epoch === null ? {} : { epoch }) };
        for await (const event of client.events({ ...filters, ...resume }, signal)) {
          connected();
          if (event.__typename === 'StreamGap' && event.epoch !== null) {
            // Another epoch (a reset on resume, or the log recreated under a running
            // stream): ids printed before mean nothing in it, and its own may be lower.
            epoch = event.epoch;
            after = null;
          }
          // With --throttle a conflated event may come after higher ids: resuming from
          // the highest one printed is what avoids printing any twice.
          if ('id' in event) after = later(after, event.id);
          out(options.json ? JSON.stringify(event) : formatEvent(event, options.color));
        }
        if (stopped()) return;
        why = 'the server ended the stream';
      } catch (err) {
        if (stopped()) return;
        const refusal = refusalOf(err);
        if (refusal !== null) throw new Error(refusal);
        why = connectedOnce ? `connection lost (${lossOf(err)})` : `cannot connect to ${options.url} (${lossOf(err)})`;
      }
      failures++;
      if (failures > options.retries) {
        throw new Error(options.retries === 0 ? `${why}; not trying again (--retries 0)` : `${why}; gave up after ${options.retries} ${options.retries === 1 ? 'attempt' : 'attempts'} to ${connectedOnce ? 'reconnect' : 'connect'}`);
      }
      const delay = backoffDelay(failures, random);
      notice(`tickwire: ${why}; ${connectedOnce ? 'reconnecting' : 'retrying'} in ${seconds(delay)}…`);
      reconnecting = true;
      await sleep(delay, signal);
    }
  } finally {
    await client.close();
  }
}
