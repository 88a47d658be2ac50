import { parseArgs } from 'node:util';
import type { ErrorSeverity, EventType } from '../client/generated/graphql.js';
import { shouldColor } from './color.js';
import { ACCEPTED_SEVERITIES, ACCEPTED_TYPE_NAMES, EVENT_NAMES, EVENT_TYPE_VALUES, parseEventType, parseSeverity } from './names.js';

// The command line's words: parsing and help only. main.ts loads this for every run,
// --help included, so nothing here may import the client, graphql, ws or the server:
// those load when a command runs.

/** Thrown for a bad command line: the message says what and how to fix it. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** `text` cut into lines of at most `width` characters at spaces, each after `indent`. */
function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines.map((l) => indent + l).join('\n');
}

/** `tickwire tail --help`. */
export const TAIL_HELP = `Usage: tickwire tail [options]

Watch the live event stream of a tickwire server, until interrupted (Ctrl-C).

Options:
  --url <url>             server (default ws://127.0.0.1:4000/graphql; http(s)://…/graphql/stream with --sse)
  --sse                   use graphql-sse instead of graphql-ws
  --token <token>         API token (or TICKWIRE_TOKEN)
  --runner <id>           only this runner (repeatable)
  --type <type>           only events of this type (repeatable). Any case, with or without _ or -:
                          an EventType value
${wrap(EVENT_TYPE_VALUES.join(' '), 64, '                            ')}
                          or its GraphQL type name (TickReceived…); for ERROR also RunnerError
                          (its GraphQL type), Error (its wire name) and RUNNER_ERROR; or the
                          word tail prints before it: ${Object.values(EVENT_NAMES).map((n) => n.label).join(' ')}
  --min-severity <level>  runner errors of this severity or above: ${ACCEPTED_SEVERITIES}.
                          Alone, it shows runner errors only (as --type error); with --type,
                          the other types given pass whatever it says
  --throttle <ms>         conflate ticks and position marks per runner (1..60000)
  --after <id>            resume after this event id
  --retries <n>           give up after n failed attempts in a row to reconnect (exit code 1);
                          default: never. A lost connection or a restarted server is retried
                          after 0.5 s, doubling to 10 s (with jitter), reported on stderr, and
                          resumed after the last id printed: nothing missed, nothing twice.
                          A refusal (a bad token: close 4403, HTTP 401/403; any 44xx/4xx)
                          ends it at once with exit code 1
  --json                  one JSON object per line instead of readable lines
  --no-color              no colours. Without it, colours only when stdout is a terminal;
                          NO_COLOR=1 turns them off, FORCE_COLOR=1 on even into a pipe or
                          file (FORCE_COLOR=0: off; FORCE_COLOR wins over NO_COLOR)
  -h, --help              this help
`;

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
  /** Whether lines carry ANSI colours (see {@link shouldColor}); never with --json. */
  readonly color: boolean;
  /** Failed reconnection attempts in a row before giving up (Infinity: never). */
  readonly retries: number;
  readonly help: boolean;
}

/**
 * Parses `tail`'s arguments; throws {@link UsageError} naming the bad flag or value.
 * `env` and `isTTY` (whether stdout is a terminal) decide colour with the flags.
 */
export function parseTailArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, isTTY: boolean = process.stdout.isTTY === true): TailOptions {
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
        retries: { type: 'string' },
        json: { type: 'boolean', default: false },
        'no-color': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see tickwire tail --help)`);
  }
  const v = parsed.values;
  const types = v.type?.map((name) => {
    const type = parseEventType(name);
    if (type === undefined) throw new UsageError(`--type ${name}: unknown event type; accepted: ${ACCEPTED_TYPE_NAMES}`);
    return type;
  });
  const severityName = v['min-severity'];
  const severity = severityName === undefined ? undefined : parseSeverity(severityName);
  if (severityName !== undefined && severity === undefined) {
    throw new UsageError(`--min-severity ${severityName}: unknown severity; accepted: ${ACCEPTED_SEVERITIES}`);
  }
  let throttleMs: number | undefined;
  if (v.throttle !== undefined) {
    throttleMs = Number(v.throttle);
    if (!Number.isInteger(throttleMs) || throttleMs < 1 || throttleMs > 60_000) throw new UsageError(`--throttle ${v.throttle}: must be a whole number of ms within 1..60000`);
  }
  if (v.after !== undefined && !/^(0|[1-9][0-9]*)$/.test(v.after)) throw new UsageError(`--after ${v.after}: must be an event id (a whole number)`);
  let retries = Infinity;
  if (v.retries !== undefined) {
    retries = Number(v.retries);
    if (!/^[0-9]+$/.test(v.retries) || !Number.isSafeInteger(retries)) throw new UsageError(`--retries ${v.retries}: must be a whole number of attempts (0: do not reconnect)`);
  }
  const url = v.url ?? (v.sse ? 'http://127.0.0.1:4000/graphql/stream' : 'ws://127.0.0.1:4000/graphql');
  if (!/^(wss?|https?):\/\//.test(url)) throw new UsageError(`--url ${url}: must start with ws://, wss://, http:// or https://`);
  return {
    url,
    sse: v.sse ?? false,
    token: v.token ?? env['TICKWIRE_TOKEN'],
    runnerIds: v.runner,
    // One filter per type, however many of its names were given. A severity alone asks
    // for errors: the server applies it to RunnerError only and passes every other type.
    types: types === undefined ? (severity === undefined ? undefined : ['ERROR']) : [...new Set(types)],
    minSeverity: severity,
    throttleMs,
    after: v.after,
    json: v.json ?? false,
    color: !(v.json ?? false) && shouldColor({ noColorFlag: v['no-color'] ?? false, env, isTTY }),
    retries,
    help: v.help ?? false,
  };
}

/** `tickwire --help`. */
export const HELP = `Usage: tickwire <command> [options]

Commands:
  tail     watch the live event stream            (tickwire tail --help)
  record   write the stream to a JSONL file        (tickwire record --help)
  replay   serve a recording to clients again      (tickwire replay --help)

Options:
  -h, --help   this help
`;

/** `tickwire record --help`. */
export const RECORD_HELP = `Usage: tickwire record --out <file.jsonl> [tail's filter options]

Writes every event, one JSON record {id, type, data} per line (the engine's wire form),
until interrupted (Ctrl-C). Takes --url --sse --token --runner --type --min-severity --after.
`;

/** `tickwire replay --help`. */
export const REPLAY_HELP = `Usage: tickwire replay <file.jsonl> [options]

Serves a recording on a server of its own (no tokens), publishing the recorded events
again with their recorded spacing. A client sees:
  /                 the dashboard (the build in dist/dashboard, as npm start serves it)
  events            on /graphql (graphql-ws, Yoga SSE, GraphiQL) and /graphql/stream
                    (graphql-sse): the recorded events with their recorded ids. A hole
                    between two recorded ids (events the recorder missed) arrives as a
                    StreamGap; a client that joins late can ask for events(replay: N)
                    or events(after: id)
  runners           the recorded runners as the events played so far describe them:
                    symbol, state, position, stats, stopped; their strategy and
                    configuration were not recorded (strategy reads "recorded")
  startRunner, stopRunner, restartRunner
                    refused: "a replay cannot start or stop runners"

Options:
  --port <n>      port (default 4000)
  --host <host>   interface (default 127.0.0.1)
  --speed <x>     1 = as recorded (default), 10 = ten times faster, max = as fast as possible
  -h, --help      this help
`;

/** The parsed options of `replay`. */
export interface ReplayArgs {
  readonly file: string;
  readonly port: number;
  readonly host: string;
  /** 1 = recorded pace, Infinity = as fast as possible. */
  readonly speed: number;
  readonly help: boolean;
}

/** Parses `replay`'s arguments; throws {@link UsageError} naming the bad flag or value. */
export function parseReplayArgs(argv: readonly string[]): ReplayArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: {
        port: { type: 'string', default: '4000' },
        host: { type: 'string', default: '127.0.0.1' },
        speed: { type: 'string', default: '1' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see tickwire replay --help)`);
  }
  const v = parsed.values;
  if (v.help) return { file: '', port: 0, host: '', speed: 1, help: true };
  const [file, ...extra] = parsed.positionals;
  if (file === undefined) throw new UsageError('replay needs the recording to play (tickwire replay <file.jsonl>)');
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}" (see tickwire replay --help)`);
  const port = Number(v.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`--port ${v.port}: must be a port number`);
  const speed = v.speed === 'max' ? Infinity : Number(v.speed);
  if (!(speed > 0)) throw new UsageError(`--speed ${v.speed}: must be a positive number or max`);
  return { file, port, host: v.host ?? '127.0.0.1', speed, help: false };
}
