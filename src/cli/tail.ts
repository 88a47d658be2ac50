import { parseArgs } from 'node:util';
import { createEventsClient, type ClientEvent } from '../client/client.js';
import type { ErrorSeverity, EventType } from '../client/generated/graphql.js';
import { describeEvent, type Tone } from '../client/describe.js';

/** Thrown for a bad command line: the message says what and how to fix it. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const TAIL_HELP = `Usage: tickwire tail [options]

Watch the live event stream of a tickwire server.

Options:
  --url <url>             server (default ws://127.0.0.1:4000/graphql; http(s)://…/graphql/stream with --sse)
  --sse                   use graphql-sse instead of graphql-ws
  --token <token>         API token (or TICKWIRE_TOKEN)
  --runner <id>           only this runner (repeatable)
  --type <type>           only this event type, e.g. TICK_RECEIVED (repeatable)
  --min-severity <level>  drop RUNNER_ERRORs below WARNING, ERROR or CRITICAL
  --throttle <ms>         conflate ticks and position marks per runner (1..60000)
  --after <id>            resume after this event id
  --json                  one JSON object per line instead of readable lines
  --no-color              no colours
  -h, --help              this help
`;

const TYPES: readonly EventType[] = [
  'RUNNER_STARTED', 'RUNNER_STOPPED', 'TICK_RECEIVED', 'STATE_TRANSITION', 'ACTION_EXECUTED',
  'POSITION_OPENED', 'POSITION_UPDATED', 'POSITION_CLOSED', 'ERROR', 'STATS_UPDATE',
];
const SEVERITIES: readonly ErrorSeverity[] = ['WARNING', 'ERROR', 'CRITICAL'];

/** The parsed options of `tail`. */
export interface TailOptions {
  readonly url: string;
  readonly sse: boolean;
  readonly token: string | undefined;
  readonly runnerIds: string[] | undefined;
  readonly types: EventType[] | undefined;
  readonly minSeverity: ErrorSeverity | undefined;
  readonly throttleMs: number | undefined;
  readonly after: string | undefined;
  readonly json: boolean;
  readonly color: boolean;
  readonly help: boolean;
}

/** Parses `tail`'s arguments; throws {@link UsageError} naming the bad flag or value. */
export function parseTailArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): TailOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        sse: { type: 'boolean', default: false },
        token: { type: 'string' },
        runner: { type: 'string', multiple: true },
        type: { type: 'string', multiple: true },
        'min-severity': { type: 'string' },
        throttle: { type: 'string' },
        after: { type: 'string' },
        json: { type: 'boolean', default: false },
        'no-color': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see tickwire tail --help)`);
  }
  const v = parsed.values;
  const types = v.type?.map((t) => t.toUpperCase());
  for (const t of types ?? []) {
    if (!(TYPES as readonly string[]).includes(t)) throw new UsageError(`--type ${t}: unknown event type (one of ${TYPES.join(', ')})`);
  }
  const severity = v['min-severity']?.toUpperCase();
  if (severity !== undefined && !(SEVERITIES as readonly string[]).includes(severity)) {
    throw new UsageError(`--min-severity ${severity}: must be WARNING, ERROR or CRITICAL`);
  }
  let throttleMs: number | undefined;
  if (v.throttle !== undefined) {
    throttleMs = Number(v.throttle);
    if (!Number.isInteger(throttleMs) || throttleMs < 1 || throttleMs > 60_000) throw new UsageError(`--throttle ${v.throttle}: must be a whole number of ms within 1..60000`);
  }
  if (v.after !== undefined && !/^(0|[1-9][0-9]*)$/.test(v.after)) throw new UsageError(`--after ${v.after}: must be an event id (a whole number)`);
  const url = v.url ?? (v.sse ? 'http://127.0.0.1:4000/graphql/stream' : 'ws://127.0.0.1:4000/graphql');
  if (!/^(wss?|https?):\/\//.test(url)) throw new UsageError(`--url ${url}: must start with ws://, wss://, http:// or https://`);
  return {
    url,
    sse: v.sse ?? false,
    token: v.token ?? env['TICKWIRE_TOKEN'],
    runnerIds: v.runner,
    types: types as EventType[] | undefined,
    minSeverity: severity as ErrorSeverity | undefined,
    throttleMs,
    after: v.after,
    json: v.json ?? false,
    color: !(v['no-color'] ?? false) && env['NO_COLOR'] === undefined,
    help: v.help ?? false,
  };
}

const paint = (on: boolean, code: number, text: string) => (on ? `\u001b[${code}m${text}\u001b[0m` : text);

/** Terminal colours of each tone (0: none). */
const TONE_COLOR: Record<Tone, number> = { plain: 0, lifecycle: 1, action: 35, profit: 32, loss: 31, warning: 33, error: 31, critical: 41, gap: 33 };

/** One readable line for an event. */
export function formatEvent(event: ClientEvent, color: boolean): string {
  const { label, text, tone } = describeEvent(event);
  const on = color && TONE_COLOR[tone] !== 0;
  if (event.__typename === 'StreamGap') return paint(on, TONE_COLOR[tone], `-- ${label}: ${text}`);
  const time = new Date(event.timestamp).toISOString().slice(11, 23);
  const head = `${paint(color, 2, `#${event.id}`)} ${time} ${paint(color, 36, event.runnerId.padEnd(12))}`;
  return `${head} ${paint(on, TONE_COLOR[tone], label.padEnd(10))} ${text}`;
}

/** Runs `tail` until the stream ends or `signal` aborts; writes lines to `out`. */
export async function tail(options: TailOptions, out: (line: string) => void, signal?: AbortSignal): Promise<void> {
  const client = createEventsClient({
    url: options.url,
    transport: options.sse ? 'sse' : 'ws',
    ...(options.token !== undefined ? { token: options.token } : {}),
  });
  try {
    const events = client.events(
      {
        ...(options.runnerIds ? { runnerIds: options.runnerIds } : {}),
        ...(options.types ? { types: options.types } : {}),
        ...(options.minSeverity ? { minSeverity: options.minSeverity } : {}),
        ...(options.throttleMs !== undefined ? { throttleMs: options.throttleMs } : {}),
        ...(options.after !== undefined ? { after: options.after } : {}),
      },
      signal,
    );
    for await (const event of events) out(options.json ? JSON.stringify(event) : formatEvent(event, options.color));
  } finally {
    await client.close();
  }
}
