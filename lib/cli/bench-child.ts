/**
 * One measurement of `pymem bench`, in a process of its own so that no contender's JIT feedback
 * colours another's (a process that has run both backends calls the addon through V8's generic path:
 * see lib/raw/native.ts):
 *
 *   node dist/cli/bench-child-main.js CONTENDER PROGRAM_FILE WARMUP_MS
 *
 * CONTENDER: native or fallback (heap.obj of a pymem heap: pymalloc, with the raw allocator behind
 * it), native-mem or fallback-mem (the same through heap.mem), native-debug or fallback-debug (heap.obj
 * with debug hooks: allocator 'pymalloc_debug'), native-tm1 and -tm25, fallback-tm1 and -tm25 (the
 * same while tracemalloc traces 1 or 25 frames), assemblyscript (AssemblyScript's TLSF in WebAssembly,
 * bench/assemblyscript/tlsf.wasm), thing (@thi.ng/malloc's MemPool), arraybuffer (a new ArrayBuffer
 * per block, dropped on free).
 * As bench/glibc/replay.c does for the C library: replays that warm up, everything freed after each,
 * then the timed replay. pymem warms up on at least WARM_EVENTS events (several replays of a short
 * trace), so that the timed replay runs the code V8 has optimised, as the C program runs compiled
 * code. Prints one JSON line: nsPerEvent, rssGrowth (peak RSS less RSS before the first replay),
 * failed, and for pymem peakCommitted (sampled in a third, untimed replay on a fresh heap).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createHeap } from '../create';
import { OP_CALLOC, OP_FREE, OP_MALLOC, programSlice, type TraceProgram } from '../trace/format';
import { freeLive, replay, type Replayable } from '../trace/replay';
import { ROOT } from './child';

export interface Measurement {
  nsPerEvent: number;
  rssGrowth: number;
  failed: number;
  peakCommitted?: number;
}

/** The interface of @thi.ng/malloc's MemPool that the benchmark calls. */
interface MemPool {
  malloc(bytes: number): number;
  calloc(bytes: number, fill?: number): number;
  realloc(ptr: number, bytes: number): number;
  free(ptr: number): boolean;
}

type Replayer = (program: TraceProgram) => number;

/**
 * This process's peak RSS in bytes: VmHWM from /proc/self/status, which a process starts afresh at
 * exec. (getrusage's maxrss is no use here: Linux carries it over from the parent, so a child of a
 * larger bench process would report the parent's size.) Elsewhere, the current RSS.
 */
export function peakRss(status: () => string = () => readFileSync('/proc/self/status', 'latin1')): number {
  try {
    return Number(/^VmHWM:\s+(\d+) kB$/m.exec(status())![1]) * 1024;
  } catch {
    return process.memoryUsage.rss();
  }
}

/**
 * A pymem contender replays the workload before the timed replay until WARM_EVENTS events have run
 * (enough for V8 to optimise the allocator) or WARMUP_MS have passed: WARM_MS unless `pymem bench
 * --warmup` says otherwise (a workload of a few slow events, such as large blocks on the fallback,
 * is warm long before). 0 times code V8 has not optimised.
 */
export const WARM_EVENTS = 500_000;
export const WARM_MS = 250;

/**
 * Timed replays per measurement, each from an empty heap (`clear` frees what the last one left); the
 * figure is their median. One replay of a short trace lasts a millisecond or two, which a shared
 * machine's scheduler can double; bench/glibc/replay.c times the same five.
 */
export const TIMED_REPLAYS = 5;

function timed(program: TraceProgram, warm: () => void, run: Replayer, clear: () => void): Measurement {
  const before = process.memoryUsage.rss();
  warm();
  const times: number[] = [];
  let failed = 0;
  for (let r = 0; r < TIMED_REPLAYS; r++) {
    const t0 = process.hrtime.bigint();
    failed = run(program);
    times.push(Number(process.hrtime.bigint() - t0));
    clear();
  }
  times.sort((x, y) => x - y);
  return { nsPerEvent: times[TIMED_REPLAYS >>> 1] / Math.max(1, program.length), rssGrowth: peakRss() - before, failed };
}

/**
 * The replays run under STACK_DEPTH frames of code outside pymem, so that tracing 25 frames has 25
 * frames to take, as a program's stack would. The recursion is all in code compiled by `new Function`:
 * a frame of this module would be one of pymem's own, which tracemalloc skips and captures more
 * frames to make up for (a closure here per level once made a 25-frame capture take 132).
 */
export const atDepth = new Function('depth', 'fn', 'const down = (d) => (d === 0 ? fn() : down(d - 1));\nreturn down(depth);') as <T>(
  depth: number,
  fn: () => T,
) => T;
export const STACK_DEPTH = 30;

const VARIANTS: Record<string, { allocator: 'pymalloc' | 'pymalloc_debug'; nframe: number; domain: 'obj' | 'mem' }> = {
  '': { allocator: 'pymalloc', nframe: 0, domain: 'obj' },
  mem: { allocator: 'pymalloc', nframe: 0, domain: 'mem' },
  debug: { allocator: 'pymalloc_debug', nframe: 0, domain: 'obj' },
  tm1: { allocator: 'pymalloc', nframe: 1, domain: 'obj' },
  tm25: { allocator: 'pymalloc', nframe: 25, domain: 'obj' },
};

/** The AssemblyScript contender's module, built by bench/assemblyscript/build.mjs and committed. */
export const ASSEMBLYSCRIPT_WASM = path.join(ROOT, 'bench', 'assemblyscript', 'tlsf.wasm');

/**
 * Replays that warm up until WARM_EVENTS events have run or warmMs have passed, everything freed
 * after each: what a JIT-compiled contender needs before its timed replay.
 */
function warmed(allocator: Replayable, program: TraceProgram, pointers: Uint32Array, warmMs: number, depth: number): () => void {
  return () => {
    const start = performance.now();
    for (let done = 0; done < WARM_EVENTS && performance.now() - start < warmMs; done += Math.max(1, program.length)) {
      atDepth(depth, () => replay(allocator, program, pointers));
      freeLive(allocator, pointers);
    }
  };
}

function pymem(program: TraceProgram, backend: 'native' | 'fallback', variant: string, warmMs: number): Measurement {
  const { allocator, nframe, domain } = VARIANTS[variant];
  const open = () => {
    const heap = createHeap({ backend, maxBytes: 2 ** 31, allocator });
    if (nframe > 0) heap.tracemalloc.start(nframe);
    return heap;
  };
  const heap = open();
  const pointers = new Uint32Array(program.slots);
  const result = timed(
    program,
    warmed(heap[domain], program, pointers, warmMs, STACK_DEPTH),
    (p) => atDepth(STACK_DEPTH, () => replay(heap[domain], p, pointers).failed),
    () => freeLive(heap[domain], pointers),
  );
  heap.close();
  // The peak of committed bytes, sampled in a replay on a fresh heap: 64 times or more, every 1,024
  // events at most.
  const sampled = open();
  const every = Math.max(1, Math.min(1024, Math.ceil(program.length / 64)));
  let peak = 0;
  pointers.fill(0);
  for (let from = 0; from < program.length; from += every) {
    replay(sampled[domain], programSlice(program, from, from + every), pointers);
    peak = Math.max(peak, sampled.stats().committedBytes);
  }
  sampled.close();
  return { ...result, peakCommitted: peak };
}

interface AssemblyScriptHeap {
  malloc(n: number): number;
  realloc(p: number, n: number): number;
  free(p: number): void;
  memory: { buffer: ArrayBuffer };
}

/** The part of the WebAssembly JS API the contender uses (the project's lib setting has no DOM types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const { WebAssembly } = globalThis as unknown as { WebAssembly: WasmApi };

/**
 * AssemblyScript's TLSF through its exports. Pointers are wasm i32s, read as u32. A request larger
 * than its largest block (1 GiB) makes it abort before it changes anything, where a malloc returns
 * NULL: the abort import throws REFUSED, and the call counts as failed. A memory that cannot grow
 * (WebAssembly's 4 GiB) traps, and the measurement fails. calloc zeroes what malloc returned
 * (AssemblyScript's heap has no calloc), through a view made again only when the memory has grown.
 */
function assemblyscript(program: TraceProgram, warmMs: number): Measurement {
  const module = new WebAssembly.Module(readFileSync(ASSEMBLYSCRIPT_WASM));
  const REFUSED = new Error('AssemblyScript refused the request');
  const abort = (): never => {
    throw REFUSED;
  };
  const as = new WebAssembly.Instance(module, { env: { abort } }).exports as AssemblyScriptHeap;
  let u8 = new Uint8Array(as.memory.buffer);
  const malloc = (n: number): number => {
    try {
      return as.malloc(n) >>> 0;
    } catch (error) {
      if (error === REFUSED) return 0;
      throw error;
    }
  };
  const allocator: Replayable = {
    malloc,
    calloc: (nelem, elsize) => {
      const n = nelem * elsize;
      const p = malloc(n);
      if (u8.buffer !== as.memory.buffer) u8 = new Uint8Array(as.memory.buffer);
      u8.fill(0, p, p + n);
      return p;
    },
    realloc: (p, n) => {
      try {
        return as.realloc(p, n) >>> 0;
      } catch (error) {
        if (error === REFUSED) return 0;
        throw error;
      }
    },
    free: (p) => as.free(p),
  };
  const pointers = new Uint32Array(program.slots);
  return timed(program, warmed(allocator, program, pointers, warmMs, 0), (p) => replay(allocator, p, pointers).failed, () => freeLive(allocator, pointers));
}

function thing(program: TraceProgram): Measurement {
  const { MemPool } = require('@thi.ng/malloc') as { MemPool: new (options: { size: number }) => MemPool };
  // Room for the peak twice over (the pool's own fragmentation), from 16 MiB to 1 GiB.
  const size = Math.min(2 ** 30, Math.max(2 ** 24, Math.ceil((program.peakBytes * 2) / 8) * 8));
  const pool = new MemPool({ size });
  // The pool seen through a domain's four functions, so that lib/trace/replay.ts replays on it as on pymem.
  const allocator: Replayable = {
    malloc: (n) => pool.malloc(n),
    calloc: (nelem, elsize) => pool.calloc(nelem * elsize),
    realloc: (p, n) => pool.realloc(p, n),
    free: (p) => void pool.free(p),
  };
  const pointers = new Uint32Array(program.slots);
  return timed(
    program,
    () => {
      replay(allocator, program, pointers);
      freeLive(allocator, pointers);
    },
    (p) => replay(allocator, p, pointers).failed,
    () => freeLive(allocator, pointers),
  );
}

function arraybuffer(program: TraceProgram): Measurement {
  // free drops the last reference; V8's collector does the rest, and its time is in the figure.
  let blocks: (ArrayBuffer | undefined)[] = [];
  const run: Replayer = ({ op, slot, a, b, length }) => {
    for (let i = 0; i < length; i++) {
      const s = slot[i];
      if (op[i] === OP_FREE) blocks[s] = undefined;
      else if (op[i] === OP_MALLOC || op[i] === OP_CALLOC) blocks[s] = new ArrayBuffer(op[i] === OP_MALLOC ? a[i] : a[i] * b[i]);
      else {
        const grown = new ArrayBuffer(a[i]);
        const old = blocks[s]!;
        new Uint8Array(grown).set(new Uint8Array(old, 0, Math.min(old.byteLength, a[i])));
        blocks[s] = grown;
      }
    }
    return 0;
  };
  const clear = (): void => {
    blocks = [];
  };
  return timed(
    program,
    () => {
      run(program);
      clear();
    },
    run,
    clear,
  );
}

export function measure(contender: string, program: TraceProgram, warmMs = WARM_MS): Measurement {
  const [backend, variant = ''] = contender.split('-');
  if ((backend === 'native' || backend === 'fallback') && Object.hasOwn(VARIANTS, variant)) return pymem(program, backend, variant, warmMs);
  if (contender === 'assemblyscript') return assemblyscript(program, warmMs);
  if (contender === 'thing') return thing(program);
  if (contender === 'arraybuffer') return arraybuffer(program);
  throw new Error(`unknown contender '${contender}'`);
}

