/**
 * `attention-inspector` command line (bundled to dist/cli.js). Subcommands: `inspect` (cli/inspect.ts),
 * `rank-heads` (cli/rankHeads.ts), `bench` (cli/bench.ts).
 * Bad input exits with status 2 and one `error: …` line on stderr; other failures with status 1; never
 * a stack trace.
 */
import { ModelFileError } from '../kernels/model/errors.js';
import { UsageError } from './errors.js';
import { BENCH_USAGE, runBenchCommand } from './bench.js';
import { INSPECT_USAGE, runInspectCommand } from './inspect.js';
import { RANK_HEADS_USAGE, runRankHeadsCommand } from './rankHeads.js';

const USAGE = `usage: attention-inspector <command> [options]

${INSPECT_USAGE}

${RANK_HEADS_USAGE}

${BENCH_USAGE}`;

const log = (line: string): void => void process.stderr.write(line + '\n');

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'inspect':
      return runInspectCommand(rest, log);
    case 'rank-heads':
      return runRankHeadsCommand(rest, log);
    case 'bench':
      return runBenchCommand(rest, log);
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(USAGE + '\n');
      return 0;
    case undefined:
      throw new UsageError(`a command is required\n${USAGE}`);
    default:
      throw new UsageError(`unknown command "${command}" (try --help)`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const bad = e instanceof UsageError || e instanceof ModelFileError;
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`error: ${message.split('\n')[0]}\n`);
    process.exitCode = bad ? 2 : 1;
  },
);
