import { parseTailArgs, tail, TAIL_HELP, UsageError } from './tail.js';

const HELP = `Usage: tickwire <command> [options]

Commands:
  tail     watch the live event stream (tickwire tail --help)

Options:
  -h, --help   this help
`;

/** `npx tickwire …`: exits 2 on a bad command line, 1 on a failure. */
async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help') {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  try {
    if (command === 'tail') {
      const options = parseTailArgs(rest);
      if (options.help) {
        process.stdout.write(TAIL_HELP);
        return 0;
      }
      const abort = new AbortController();
      process.once('SIGINT', () => abort.abort());
      await tail(options, (line) => process.stdout.write(`${line}\n`), abort.signal);
      return 0;
    }
    throw new UsageError(`unknown command "${command}" (see tickwire --help)`);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`tickwire: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`tickwire: ${(err as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
