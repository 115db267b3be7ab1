/**
 * The pymem command (bin/pymem): `pymem <command> [options]`. Each command has its usage text
 * (`pymem help <command>`, or `--help`); bad arguments print it to stderr and exit with status 2.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { UsageError, parse, type Command, type Io } from './args';
import { benchCommand } from './bench';
import { mapCommand } from './map';
import { inspectCommand } from './inspect';
import { replayCommand } from './replay';
import { statsCommand } from './stats';
import { topCommand } from './top';

const COMMANDS: Record<string, Command> = {
  bench: benchCommand,
  replay: replayCommand,
  stats: statsCommand,
  map: mapCommand,
  inspect: inspectCommand,
  top: topCommand,
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  return `Usage: pymem <command> [options]

pymem's command line: CPython's memory manager for Node.js, measured and looked into.

Commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`)
  .join('\n')}
  ${'help'.padEnd(width)}  this text; \`pymem help <command>\` for a command's, \`pymem help workloads\` for the workloads

Options:
  -v, --version  the version of pymem
`;
}

/** The package's version, from its package.json (beside lib/ and dist/ alike). */
export function version(): string {
  return (JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}

export const WORKLOADS = `Built-in workloads (for --workload, and in place of a trace file):

  small           10,000 random blocks of 8-512 bytes live (all 32 size classes), then 200,000 times
                  a random one freed and a new one allocated
  sweep           sizes doubling from 16 B to 4 MiB, 64 blocks each, every other one freed
  realloc         5,000 buffers grown by realloc, 1.5x a step, from 16 B to 64 KiB
  large           large raw blocks of 1-8 MiB, allocated and freed in a sliding window of 16
  ast_compile     CPython 3.12 parsing and compiling textwrap.py (a recorded trace)
  json_roundtrip  CPython 3.12 serialising 600 records to JSON and back, twice (a recorded trace)
  text_words      CPython 3.12 counting the words of stdlib docstrings (a recorded trace)
  unittest_suite  CPython 3.12 running its own tests of textwrap, string and keyword (a recorded trace)

The recorded traces come from bench/recorder (README.md, "Traces").
`;

/** Runs the command line `argv` (without node and the script); returns the exit status. */
export function main(argv: string[], io: Io = process): number {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(usage());
    return 2;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`${version()}\n`);
    return 0;
  }
  if (name === 'help' || name === '--help' || name === '-h') {
    const topic = rest[0];
    if (topic === 'workloads') io.stdout.write(WORKLOADS);
    else if (topic !== undefined && Object.hasOwn(COMMANDS, topic)) io.stdout.write(`${COMMANDS[topic].usage}\n`);
    else if (topic === undefined) io.stdout.write(usage());
    else {
      io.stderr.write(`pymem help: no command '${topic}'\n\n${usage()}`);
      return 2;
    }
    return 0;
  }
  if (!Object.hasOwn(COMMANDS, name)) {
    io.stderr.write(`pymem: no command '${name}'\n\n${usage()}`);
    return 2;
  }
  const command = COMMANDS[name];
  try {
    const { values, positionals } = parse(command, rest);
    if (values.help) {
      io.stdout.write(`${command.usage}\n`);
      return 0;
    }
    return command.run(values, positionals, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`pymem ${name}: ${e.message}\n\n${command.usage}\n`);
      return 2;
    }
    // pymem's own errors (a malformed trace, a backend that cannot run here) are said in one line.
    if (typeof (e as { code?: unknown }).code !== 'string') throw e;
    io.stderr.write(`pymem ${name}: ${(e as Error).message}\n`);
    return 1;
  }
}

/**
 * For bin/pymem's stdout: when the reader goes away early (`pymem ... | head`), stop quietly with
 * status 0, as Unix tools do, instead of dying of an unhandled EPIPE. Any other write error is thrown.
 */
export function onStdoutError(error: NodeJS.ErrnoException): void {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
}
