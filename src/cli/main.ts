import { parseArgs } from 'node:util';
import { record } from './record.js';
import { readRecording, replay } from './replay.js';
import { parseTailArgs, tail, TAIL_HELP, UsageError } from './tail.js';

const HELP = `Usage: tickwire <command> [options]

Commands:
  tail     watch the live event stream            (tickwire tail --help)
  record   write the stream to a JSONL file        (tickwire record --help)
  replay   serve a recording to clients again      (tickwire replay --help)

Options:
  -h, --help   this help
`;

const RECORD_HELP = `Usage: tickwire record --out <file.jsonl> [tail's filter options]

Writes every event, one JSON record {id, type, data} per line (the engine's wire form),
until interrupted (Ctrl-C). Takes --url --sse --token --runner --type --min-severity --after.
`;

const REPLAY_HELP = `Usage: tickwire replay <file.jsonl> [options]

Serves a recording: a server whose bus publishes the recorded events again, with their
recorded spacing, so any client (GraphiQL, tail, a dashboard) sees what happened.

Options:
  --port <n>      port (default 4000)
  --host <host>   interface (default 127.0.0.1)
  --speed <x>     1 = as recorded (default), 10 = ten times faster, max = as fast as possible
  -h, --help      this help
`;

/** A one-line progress bar on stderr, when stderr is a terminal. */
function progressBar(label: string): (done: number, total?: number) => void {
  if (!process.stderr.isTTY) return () => undefined;
  return (done, total) => {
    const text =
      total === undefined
        ? `${label} ${done}`
        : `${label} [${'#'.repeat(Math.round((done / total) * 30)).padEnd(30, '.')}] ${done}/${total}`;
    process.stderr.write(`\r${text}`);
  };
}

function parseReplayArgs(argv: readonly string[]): { file: string; port: number; host: string; speed: number; help: boolean } {
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

/** `npx tickwire …`: exits 2 on a bad command line, 1 on a failure. */
async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help') {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  // `tickwire tail | head`: when the reader goes away, stop quietly, as Unix tools do.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    abort.abort();
  });
  try {
    switch (command) {
      case 'tail': {
        const options = parseTailArgs(rest);
        if (options.help) {
          process.stdout.write(TAIL_HELP);
          return 0;
        }
        await tail(options, (line) => void (abort.signal.aborted || process.stdout.write(`${line}\n`)), abort.signal);
        return 0;
      }
      case 'record': {
        const outAt = rest.indexOf('--out');
        if (rest.includes('--help') || rest.includes('-h')) {
          process.stdout.write(RECORD_HELP);
          return 0;
        }
        const out = outAt >= 0 ? rest[outAt + 1] : undefined;
        if (out === undefined || out.startsWith('--')) throw new UsageError('record needs --out <file.jsonl>');
        const options = parseTailArgs([...rest.slice(0, outAt), ...rest.slice(outAt + 2)]);
        const { written, missed } = await record(options, out, abort.signal, progressBar('recorded'));
        process.stderr.write(`\ntickwire: ${written} events written to ${out}${missed > 0 ? `; ${missed} were missed (the stream reported gaps)` : ''}\n`);
        return 0;
      }
      case 'replay': {
        const options = parseReplayArgs(rest);
        if (options.help) {
          process.stdout.write(REPLAY_HELP);
          return 0;
        }
        const recording = await readRecording(options.file);
        const { server, start } = await replay(recording, options, progressBar('replayed'));
        process.stderr.write(`tickwire: replaying ${recording.length} events at ${server.urls.ws} (GraphiQL at ${server.urls.http})\n`);
        const finished = start();
        await Promise.race([finished, new Promise((r) => abort.signal.addEventListener('abort', r, { once: true }))]);
        process.stderr.write(`\ntickwire: replay ${abort.signal.aborted ? 'interrupted' : 'finished'}; Ctrl-C to stop serving\n`);
        if (!abort.signal.aborted) await new Promise((r) => process.once('SIGINT', r));
        await server.close();
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${command}" (see tickwire --help)`);
    }
  } catch (err) {
    process.stderr.write(`tickwire: ${(err as Error).message}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
process.exit();
