import { HELP, parseReplayArgs, parseTailArgs, RECORD_HELP, REPLAY_HELP, TAIL_HELP, UsageError } from './args.js';

// Only ./args.js is imported up front: --help and a bad command line answer before the
// client (graphql, graphql-ws, ws) or the server (Yoga, Pothos, pino…) is loaded, each
// of which costs tenths of a second. A command imports what it runs.

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
        const { tail } = await import('./tail.js');
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
        const { record } = await import('./record.js');
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
        const { readRecording, replay } = await import('./replay.js');
        const recording = await readRecording(options.file);
        const { server, start } = await replay(recording, { ...options, source: `recording ${options.file}` }, progressBar('replayed'));
        const page = server.urls.http.replace(/\/graphql$/, '/');
        process.stderr.write(`tickwire: replaying ${recording.length} events: dashboard ${page}, GraphiQL ${server.urls.http}, graphql-ws ${server.urls.ws}\n`);
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
