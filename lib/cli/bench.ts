/**
 * pymem bench: every workload on the native backend and the fallback side by side, with the baselines
 * (the C library's malloc through bench/glibc/replay.c, @thi.ng/malloc, `new ArrayBuffer`), each
 * measurement in a process of its own (lib/cli/bench-child.ts), rounds interleaved so that the
 * machine's noise falls on every contender alike. Reports medians, spreads and ratios from this run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadNative } from '../raw/native';
import { openBackend } from '../raw/open';
import { MIN_MAX_BYTES } from '../config';
import { encodeProgram } from '../trace/binary';
import { OP_FREE, programSlice } from '../trace/format';
import { loadWorkload, workloadNames } from '../trace/workloads';
import { UsageError, scale as scaleOption, type Command, type Io } from './args';
import { WARM_MS, ASSEMBLYSCRIPT_WASM, type Measurement } from './bench-child';
import { ROOT, runChild } from './child';
import { LABELS, formatResults, type BenchResults, type Cell } from './bench-report';
import { count } from '../map/numbers';
import { runObjects } from './bench-objects';
import { imageForms, runImage } from './bench-image';
import { runThreads } from './bench-threads';
import { median } from './median';

/**
 * What --quick (the default, and `npm start`: about 45 s on a quiet 2-core machine) and --full
 * measure: the workloads' scale, the rounds, the events the slow contenders are timed on, and with
 * --objects the values of each type and the records, and with --image the records saved (the
 * image section's rounds are at most 3: each builds a million records per form with --full).
 */
export const MODES = {
  quick: { scale: 0.25, repeats: 3, slowEvents: 3_000, objects: 250_000, records: 100_000, image: 250_000, pairs: 2_000_000 },
  full: { scale: 1, repeats: 7, slowEvents: 20_000, objects: 1_000_000, records: 1_000_000, image: 1_000_000, pairs: 5_000_000 },
} as const;
const IMAGE_ROUNDS = 3;

/** Contenders orders of magnitude slower, timed on the first slowEvents events of each workload. */
const SLOW = new Set(['thing', 'arraybuffer']);


/** What a run measures: the mode's scale and slow-contender cap, the rounds, the workloads. */
export interface BenchSettings {
  mode: keyof typeof MODES;
  rounds: number;
  workloads: string[];
  /** Also measure each backend with debug hooks installed ('pymalloc_debug'). */
  debugHooks?: boolean;
  /** Also measure each backend while tracemalloc traces, with 1 frame and with 25. */
  tracemalloc?: boolean;
  /** Also build ints, floats and short strings as heap objects against JS values (lib/cli/bench-objects.ts). */
  objects?: boolean;
  /** Also save records as heap images and open them, against JSON and v8.serialize (lib/cli/bench-image.ts). */
  image?: boolean;
  /** Also use one shared heap from worker threads (lib/cli/bench-threads.ts). */
  threads?: boolean;
  /** --scale: the workloads at this fraction of their full size, and scale x 10^6 values and records; else the mode's. */
  scale?: number;
  /** --warmup: each pymem measurement warms up for at most this many milliseconds (default WARM_MS). */
  warmupMs?: number;
}

export interface BenchOptions {
  /** The environment: CC names the C compiler (default cc). */
  env?: NodeJS.ProcessEnv;
  /** The module the thing contender loads (its children load @thi.ng/malloc). */
  thingModule?: string;
  /** The AssemblyScript contender's module (its children load ASSEMBLYSCRIPT_WASM). */
  wasm?: string;
}

/** The settings the command line asks for; a bad option is a UsageError. */
export function benchSettings(values: Record<string, unknown>): BenchSettings {
  if (values.quick && values.full) throw new UsageError('--quick and --full cannot both be given');
  const mode = values.full ? 'full' : 'quick';
  const workloads = (values.workload as string[] | undefined) ?? workloadNames();
  for (const name of workloads) {
    if (!workloadNames().includes(name)) throw new UsageError(`no workload '${name}' (workloads: ${workloadNames().join(', ')})`);
  }
  const rounds = values.rounds === undefined ? MODES[mode].repeats : Number(values.rounds);
  if (!(Number.isInteger(rounds) && rounds >= 1)) throw new UsageError(`--rounds must be a whole number from 1; got '${values.rounds}'`);
  const warmupMs = values.warmup === undefined ? undefined : Number(values.warmup);
  if (warmupMs !== undefined && !(Number.isInteger(warmupMs) && warmupMs >= 0)) throw new UsageError(`--warmup must be a whole number of milliseconds from 0; got '${values.warmup}'`);
  return {
    mode,
    rounds,
    workloads,
    ...(values['debug-hooks'] ? { debugHooks: true } : {}),
    ...(values.tracemalloc ? { tracemalloc: true } : {}),
    ...(values.objects ? { objects: true } : {}),
    ...(values.image ? { image: true } : {}),
    ...(values.threads ? { threads: true } : {}),
    ...(values.scale === undefined ? {} : { scale: scaleOption(values.scale) }),
    ...(warmupMs === undefined ? {} : { warmupMs }),
  };
}

/** The options of `pymem bench` that ask for these settings, shortest form: the reports' headings show them. */
export function benchOptions({ mode, rounds, workloads, debugHooks, tracemalloc, objects, image, threads, scale, warmupMs }: BenchSettings): string {
  return [
    `--${mode}`,
    ...(debugHooks ? ['--debug-hooks'] : []),
    ...(tracemalloc ? ['--tracemalloc'] : []),
    ...(objects ? ['--objects'] : []),
    ...(image ? ['--image'] : []),
    ...(threads ? ['--threads'] : []),
    ...(workloads.join() === workloadNames().join() ? [] : workloads.map((name) => `--workload ${name}`)),
    ...(rounds === MODES[mode].repeats ? [] : [`--rounds ${rounds}`]),
    ...(scale === undefined ? [] : [`--scale ${scale}`]),
    ...(warmupMs === undefined ? [] : [`--warmup ${warmupMs}`]),
  ].join(' ');
}

/** The contenders that can run here, and one line for each that cannot. */
function contenders(
  work: string,
  env: NodeJS.ProcessEnv,
  { thingModule, wasm }: Required<Pick<BenchOptions, 'thingModule' | 'wasm'>>,
  variants: string[],
): { ready: string[]; missing: string[]; glibc?: string; compiler?: string } {
  const ready: string[] = [];
  const missing: string[] = [];
  const native = loadNative();
  if (native.error === undefined) ready.push('native');
  else missing.push(`pymem native: left out, the addon is not available (${native.error})`);
  ready.push('fallback');
  ready.push(...['mem', ...variants].flatMap((variant) => ready.map((backend) => `${backend}-${variant}`)));
  const cc = env.CC || 'cc';
  const binary = path.join(work, 'replay-glibc');
  const build = spawnSync(cc, ['-O2', '-o', binary, path.join(ROOT, 'bench', 'glibc', 'replay.c')], { encoding: 'utf8' });
  let compiler: string | undefined;
  if (build.status === 0) {
    ready.push('glibc');
    compiler = spawnSync(cc, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  } else {
    missing.push(`glibc malloc: left out, no C compiler to build its replayer (${cc}: ${build.error?.message ?? build.stderr.trim().split('\n')[0]})`);
  }
  if (existsSync(wasm)) ready.push('assemblyscript');
  else missing.push(`AssemblyScript TLSF: left out, ${wasm} is missing (node bench/assemblyscript/build.mjs builds it)`);
  try {
    require.resolve(thingModule);
    ready.push('thing');
  } catch {
    missing.push(`@thi.ng/malloc: left out, ${thingModule} is not installed (npm install @thi.ng/malloc to compare with it)`);
  }
  ready.push('arraybuffer');
  return { ready, missing, glibc: build.status === 0 ? binary : undefined, compiler };
}

/** What createHeap() picks here with the default backend, 'auto', and why: the report ends with it. */
function autoBackend(): BenchResults['auto'] {
  const { backend, reason } = openBackend('auto', MIN_MAX_BYTES);
  backend.close();
  return { backend: backend.name, reason };
}

/** The C replayer on one program file: its JSON line, or an error naming the workload. */
function glibc(binary: string, file: string, name: string): Measurement {
  const run = spawnSync(binary, [file], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`glibc on ${name} failed (status ${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as Measurement;
}

/** The progress bar on stderr: redrawn in place on a terminal, a line per workload otherwise. */
function progress(io: Io, total: number) {
  let done = 0;
  return {
    step(label: string) {
      done++;
      if (io.stderr.isTTY) {
        const width = 30;
        const filled = Math.round((done / total) * width);
        io.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${label}`.padEnd(78));
      }
    },
    line(text: string) {
      io.stderr.write(io.stderr.isTTY ? `\r${' '.repeat(78)}\r${text}\n` : `${text}\n`);
    },
  };
}

export function runBench(settings: BenchSettings, io: Io, { env = process.env, thingModule = '@thi.ng/malloc', wasm = ASSEMBLYSCRIPT_WASM }: BenchOptions = {}): BenchResults {
  const { mode, rounds: repeats, workloads: names, debugHooks = false, tracemalloc = false, objects = false, image = false, threads = false, warmupMs = WARM_MS } = settings;
  const { slowEvents } = MODES[mode];
  const scale = settings.scale ?? MODES[mode].scale;
  const objectCount = settings.scale === undefined ? MODES[mode].objects : Math.max(1, Math.round(settings.scale * 1e6));
  const recordCount = settings.scale === undefined ? MODES[mode].records : objectCount;
  const imageCount = settings.scale === undefined ? MODES[mode].image : objectCount;
  const imageRounds = Math.min(repeats, IMAGE_ROUNDS);
  const pairs = settings.scale === undefined ? MODES[mode].pairs : Math.max(1000, Math.round(settings.scale * 5e6));
  const work = mkdtempSync(path.join(os.tmpdir(), 'pymem-bench-'));
  try {
    const variants = [...(debugHooks ? ['debug'] : []), ...(tracemalloc ? ['tm1', 'tm25'] : [])];
    const found = contenders(work, env, { thingModule, wasm }, variants);
    for (const line of found.missing) io.stderr.write(`${line}\n`);
    const forms = objects ? [...found.ready.filter((c) => c === 'native' || c === 'fallback'), 'js'] : [];
    const recordForms = forms.map((form) => `records-${form}`);
    const imageFormList = image ? imageForms(found.ready.filter((c) => c === 'native' || c === 'fallback')) : [];
    const threadBackends = threads ? found.ready.filter((c) => c === 'native' || c === 'fallback') : [];
    const bar = progress(io, names.length * repeats * found.ready.length + 2 * forms.length * repeats + imageFormList.length * imageRounds + threadBackends.length * 4 * repeats);
    const options = benchOptions(settings);
    const results: BenchResults = { mode, options, scale, repeats, slowEvents, debugHooks, tracemalloc, contenders: found.ready, missing: found.missing, compiler: found.compiler, auto: autoBackend(), workloads: [] };
    for (const name of names) {
      const program = loadWorkload(name, scale)!;
      const files = { all: path.join(work, `${name}.prog`), slow: path.join(work, `${name}-slow.prog`) };
      writeFileSync(files.all, encodeProgram(program));
      writeFileSync(files.slow, encodeProgram(programSlice(program, 0, slowEvents)));
      const samples: Record<string, Measurement[]> = Object.fromEntries(found.ready.map((c) => [c, []]));
      for (let r = 0; r < repeats; r++) {
        for (const contender of found.ready) {
          bar.step(`${name}: ${LABELS[contender]}, round ${r + 1} of ${repeats}`);
          const file = SLOW.has(contender) ? files.slow : files.all;
          samples[contender].push(contender === 'glibc' ? glibc(found.glibc!, file, name) : runChild<Measurement>('bench-child-main', [contender, file, String(warmupMs)], `${contender} on ${name}`));
        }
      }
      const cells: Record<string, Cell> = {};
      for (const contender of found.ready) {
        const ms = samples[contender];
        const ns = ms.map((m) => m.nsPerEvent);
        cells[contender] = {
          median: median(ns),
          min: Math.min(...ns),
          max: Math.max(...ns),
          events: SLOW.has(contender) ? Math.min(slowEvents, program.length) : program.length,
          rssGrowth: median(ms.map((m) => m.rssGrowth)),
          peakCommitted: ms[0].peakCommitted,
          failed: Math.max(...ms.map((m) => m.failed)),
        };
      }
      let allocations = 0;
      for (let i = 0; i < program.length; i++) if (program.op[i] !== OP_FREE) allocations++;
      results.workloads.push({ name, events: program.length, allocations, peakBytes: program.peakBytes, cells });
      bar.line(`${name}: measured (${count(program.length)} events)`);
    }
    if (objects) {
      results.objects = runObjects(forms, objectCount, repeats, bar.step);
      bar.line(`objects: measured (${count(3 * objectCount)} values)`);
      results.records = runObjects(recordForms, recordCount, repeats, bar.step);
      bar.line(`records: measured (${count(recordCount)} records)`);
    }
    if (image) {
      results.image = runImage(imageFormList, imageCount, imageRounds, work, bar.step);
      bar.line(`image: measured (${count(imageCount)} records)`);
    }
    if (threads) {
      results.threads = runThreads(threadBackends, pairs, repeats, bar.step);
      bar.line(`threads: measured (${count(pairs)} pairs per thread)`);
    }
    return results;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export const benchCommand: Command = {
  summary: 'measure native against fallback, glibc, @thi.ng/malloc and ArrayBuffer',
  usage: `Usage: pymem bench [--quick|--full] [options]

Replays every built-in workload (pymem help workloads) on each contender: pymem's native backend and
its fallback (heap.obj: pymalloc, the raw allocator behind it), glibc's malloc (a C replayer built
with cc, when there is one), @thi.ng/malloc (when installed) and a new ArrayBuffer per block. Each
measurement runs in a process of its own, warmed up first; rounds are interleaved. The table gives
the median time per event and its range, its ratio to glibc and to the fallback, the peak of bytes
the heap had committed, and the peak growth of the process's RSS. A contender that cannot run here
is left out with one line saying why.

Options:
  --quick                          synthetic workloads at 1/4 scale, 3 rounds (the default; about 45 s
                                   with --objects on a quiet 2-core machine)
  --full                           full scale, 7 rounds
  --json FILE                      also write every figure as JSON
  --markdown                       print the tables as Markdown, with the machine and the command
  --workload NAME                  only this workload (repeatable)
  --debug-hooks                    also measure each backend with debug hooks (pymalloc_debug)
  --tracemalloc                    also measure each backend while tracemalloc traces 1 and 25 frames
  --objects                        also build ints, floats and short strings (1/4 million each, a
                                   million with --full) as heap objects and as JS values in an array,
                                   and records {id, name, tags, score} (100,000, a million with --full)
                                   as heap dicts and as JS objects
  --image                          also save records (1/4 million, a million with --full) as heap
                                   images of dicts and of compact blocks, and as JSON and
                                   v8.serialize files, and time saving, opening to the first record
                                   and reading them all (at most 3 rounds)
  --threads                        also use one shared heap from worker threads: 1 and 2 threads
                                   churning blocks of their own, and a producer whose blocks a
                                   consumer frees, against 1 thread on a private heap (2 million
                                   pairs per thread, 5 million with --full)
  --rounds N                       rounds instead of the mode's 3 or 7
  --scale F                        the workloads at F of their full size (0.25 in --quick, 1 in --full),
                                   F million values of each type and F million records, and 5F
                                   million pairs per thread
  --warmup MS                      how long each pymem measurement may warm up first (default ${WARM_MS})
  -h, --help                       this text`,
  options: {
    quick: { type: 'boolean', default: false },
    full: { type: 'boolean', default: false },
    json: { type: 'string' },
    markdown: { type: 'boolean', default: false },
    workload: { type: 'string', multiple: true },
    'debug-hooks': { type: 'boolean', default: false },
    tracemalloc: { type: 'boolean', default: false },
    objects: { type: 'boolean', default: false },
    image: { type: 'boolean', default: false },
    threads: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    scale: { type: 'string' },
    warmup: { type: 'string' },
  },
  run(values, positionals, io) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const results = runBench(benchSettings(values), io);
    if (values.json) writeFileSync(values.json as string, `${JSON.stringify(results, null, 2)}\n`);
    io.stdout.write(formatResults(results, values.markdown ? 'markdown' : 'text'));
    return 0;
  },
};
