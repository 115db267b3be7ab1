/**
 * What the pymem command's subcommands share: their output streams, usage errors (printed with the
 * subcommand's usage, exit status 2), and the options every subcommand that builds a heap takes.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Heap } from '../heap';
import { createHeap } from '../create';
import type { BackendChoice } from '../raw/open';
import type { DomainName } from '../domains/domain';
import { loadWorkload, workloadNames } from '../trace/workloads';
import type { TraceProgram } from '../trace/format';

export interface Io {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
}

/** Bad arguments: main() prints the message and the subcommand's usage, and exits 2. */
export class UsageError extends Error {}

export interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, string | boolean | string[] | undefined>, positionals: string[], io: Io): number;
}

/** Options of every subcommand that creates a heap. */
export const HEAP_OPTIONS = {
  backend: { type: 'string', default: 'auto' },
  allocator: { type: 'string', default: 'pymalloc' },
  domain: { type: 'string', default: 'obj' },
} as const;

export const HEAP_USAGE = `  --backend auto|native|fallback   the heap's backend (default: auto)
  --allocator NAME                 CPython's allocator names: pymalloc serves MEM and OBJ (default),
                                   malloc sends every domain to the raw allocator; pymalloc_debug and
                                   malloc_debug add the debug hooks
  --domain raw|mem|obj             the domain the workload's requests go to (default: obj)`;

/**
 * `--name -1` as `--name=-1` when --name takes a value: node's parseArgs takes a value that starts
 * with a dash for an option and calls it ambiguous, where the user meant a negative number and should
 * hear what is wrong with it (--scale -1: "must be a number above 0").
 */
function negativeValues(command: Command, argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : undefined;
    if (name !== undefined && command.options[name]?.type === 'string' && /^-\.?\d/.test(argv[i + 1] ?? '')) out.push(`${argv[i]}=${argv[++i]}`);
    else out.push(argv[i]);
  }
  return out;
}

/** Parses argv for a command; an unknown or malformed option is a UsageError. */
export function parse(command: Command, argv: string[]) {
  try {
    return parseArgs({ args: negativeValues(command, argv), options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A choice among `allowed`, or a UsageError naming the option. */
export function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw new UsageError(`--${name} must be ${allowed.join(', ')}; got '${value}'`);
  return value as T;
}

const ALLOCATORS = ['pymalloc', 'malloc', 'pymalloc_debug', 'malloc_debug'] as const;

export interface HeapChoice {
  backend: BackendChoice;
  allocator: (typeof ALLOCATORS)[number];
  domain: DomainName;
}

export function heapChoice(values: Record<string, unknown>): HeapChoice {
  return {
    backend: oneOf('backend', values.backend, ['auto', 'native', 'fallback']),
    allocator: oneOf('allocator', values.allocator, ALLOCATORS),
    domain: oneOf('domain', values.domain, ['raw', 'mem', 'obj']),
  };
}

/** A fresh heap as chosen; 1 GiB, the default, holds every built-in workload. */
export function openHeap(choice: HeapChoice, maxBytes?: number): Heap {
  return createHeap({ backend: choice.backend, allocator: choice.allocator, maxBytes });
}

/** A workload by name or file; an unknown name, or a file that cannot be read, is a UsageError. */
export function workload(name: string, scale: number): TraceProgram {
  let program: TraceProgram | undefined;
  try {
    program = loadWorkload(name, scale);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOENT') throw e;
  }
  if (program === undefined) throw new UsageError(`no workload or trace file '${name}' (workloads: ${workloadNames().join(', ')})`);
  return program;
}

/** --scale: a factor above 0 and at most 100 for a synthetic workload's counts. */
export function scale(value: unknown): number {
  const n = Number(value);
  if (!(n > 0 && n <= 100)) throw new UsageError(`--scale must be a number above 0 and at most 100; got '${value}'`);
  return n;
}
