/**
 * heap.tracemalloc: CPython 3.12's _tracemalloc (Python/tracemalloc.c) over a heap's three domains.
 *
 * start() wraps each domain's allocator with hooks that record, for every block, its size and the
 * traceback of the JavaScript line that asked for it; stop() puts the allocators back and forgets
 * everything. As in CPython:
 *   - a reentrancy flag makes a block traced once, by the outermost domain: heap.obj.malloc(1000)
 *     is traced as OBJ's block, not again when pymalloc asks RAW for it;
 *   - realloc moves the trace to the new pointer; free drops it, after the wrapped free succeeds;
 *   - heap blocks are traced in domain 0, and track()/untrack() (PyTraceMalloc_Track/Untrack) record
 *     memory of other domains, by their numbers;
 *   - equal tracebacks are interned: traces share one frames array.
 * The tables are JS Maps, outside the region, as CPython keeps its tables outside pymalloc.
 */
import { invalidArgType, outOfRange } from '../../errors';
import type { Allocator, Domain, DomainName } from '../../domains/domain';
import { DomainHooks } from '../../domains/hooks';
import { captureSites } from './stack';
import { Tracebacks, type TracebackEntry } from './intern';
import { Snapshot, Traceback, type RawTrace } from './snapshot';
import { NO_TRACEBACK } from '../debug/report';

/** MAX_NFRAME: tracebacks store their frame count in 16 bits. */
export const MAX_NFRAME = 65535;
/** The domain of the heap's own blocks (CPython's DEFAULT_DOMAIN). */
const DEFAULT_DOMAIN = 0;

interface TraceEntry {
  size: number;
  traceback: TracebackEntry;
}

/**
 * Bytes the tables cost, estimated (V8 does not say what one Map entry takes): per trace a Map
 * entry and its record, per interned traceback its frames, per file name its characters.
 */
const TRACE_BYTES = 64;
const TRACEBACK_BYTES = 48;
const FRAME_BYTES = 32;

export class Tracemalloc {
  private tracing = false;
  /** get_traceback_limit(): 1 until the first start(), then the last start's, kept after stop(). */
  private limit = 1;
  /** @internal the hooks start() installs over the domains, with what they wrap. */
  readonly hooks: DomainHooks;
  private reentrant = false;
  private traced = 0;
  private peak = 0;
  private readonly traces = new Map<number, Map<number, TraceEntry>>();
  private readonly tracebacks = new Tracebacks();

  /**
   * @internal the heap creates it. `blockOf` maps an object pointer to the block it lies in, for
   * getObjectTraceback (an object layer's containers start before the object, at their GC head).
   */
  constructor(
    domains: Record<DomainName, Domain>,
    private readonly blockOf: (ptr: number) => number,
  ) {
    this.hooks = new DomainHooks(domains);
  }

  /** start(nframe = 1): traces from now on, keeping nframe frames per traceback; nothing if tracing. */
  start(nframe = 1): void {
    if (typeof nframe !== 'number') throw invalidArgType('nframe', 'number', nframe);
    if (!Number.isInteger(nframe) || nframe < 1 || nframe > MAX_NFRAME) {
      throw Object.assign(new RangeError(`the number of frames must be in range [1; ${MAX_NFRAME}]`), { code: 'ERR_OUT_OF_RANGE' });
    }
    if (this.tracing) return;
    this.limit = nframe;
    this.hooks.install((inner, domain) => this.hook(inner, domain));
    this.tracing = true;
  }

  /** stop(): puts the allocators back and forgets every trace; traced memory and peak become 0. */
  stop(): void {
    if (!this.tracing) return;
    this.hooks.uninstall();
    this.tracing = false;
    this.clearTraces();
  }

  isTracing(): boolean {
    return this.tracing;
  }

  /** clear_traces(): forgets every trace and traceback; tracing goes on. */
  clearTraces(): void {
    this.traces.clear();
    this.tracebacks.clear();
    this.traced = 0;
    this.peak = 0;
  }

  getTracebackLimit(): number {
    return this.limit;
  }

  /** get_traced_memory(): [current, peak] bytes of traced blocks; [0, 0] when not tracing. */
  getTracedMemory(): [current: number, peak: number] {
    return this.tracing ? [this.traced, this.peak] : [0, 0];
  }

  /** reset_peak(): the peak becomes the current size. */
  resetPeak(): void {
    if (this.tracing) this.peak = this.traced;
  }

  /** get_tracemalloc_memory(): what the tables cost, in bytes (an estimate: see TRACE_BYTES). */
  getTracemallocMemory(): number {
    let bytes = 0;
    for (const table of this.traces.values()) bytes += table.size * TRACE_BYTES;
    for (const tb of this.tracebacks.entries) bytes += TRACEBACK_BYTES + tb.frames.length * FRAME_BYTES;
    for (const name of this.tracebacks.names()) bytes += 2 * name.length;
    return bytes;
  }

  /** _get_object_traceback: where the block of the object (or block) at ptr was allocated, or null when it is not traced. */
  getObjectTraceback(ptr: number): Traceback | null {
    const entry = this.traces.get(DEFAULT_DOMAIN)?.get(this.blockOf(ptr));
    return entry === undefined ? null : new Traceback(entry.traceback.frames, entry.traceback.total);
  }

  /** _get_traces(): [domain, size, frames, totalNframe] of every traced block; [] when not tracing. */
  getTraces(): RawTrace[] {
    const out: RawTrace[] = [];
    for (const [domain, table] of this.traces) {
      for (const { size, traceback } of table.values()) out.push([domain, size, traceback.frames, traceback.total]);
    }
    return out;
  }

  /** take_snapshot(). */
  takeSnapshot(): Snapshot {
    if (!this.tracing) {
      throw Object.assign(new Error('the tracemalloc module must be tracing memory allocations to take a snapshot'), { code: 'ERR_PYMEM_NOT_TRACING' });
    }
    return new Snapshot(this.getTraces(), this.limit);
  }

  /** PyTraceMalloc_Track(domain, ptr, size): 0, or -2 when not tracing. A traced ptr is updated. */
  track(domain: number, ptr: number, size: number): number {
    checkInteger(domain, 'domain', 2 ** 32 - 1);
    checkInteger(ptr, 'ptr', Number.MAX_SAFE_INTEGER);
    checkInteger(size, 'size', Number.MAX_SAFE_INTEGER);
    if (!this.tracing) return -2;
    this.add(domain, ptr, size, Tracemalloc.prototype.track);
    return 0;
  }

  /** PyTraceMalloc_Untrack(domain, ptr): 0 (an untraced ptr too), or -2 when not tracing. */
  untrack(domain: number, ptr: number): number {
    checkInteger(domain, 'domain', 2 ** 32 - 1);
    checkInteger(ptr, 'ptr', Number.MAX_SAFE_INTEGER);
    if (!this.tracing) return -2;
    this.remove(domain, ptr);
    return 0;
  }

  /**
   * @internal _PyTraceMalloc_NewReference: an object taken from a freelist is re-dated, its block's
   * trace given the caller's traceback, as CPython does when _Py_NewReference reuses memory.
   */
  newReference(ptr: number): void {
    if (!this.tracing) return;
    const entry = this.traces.get(DEFAULT_DOMAIN)?.get(ptr);
    if (entry !== undefined) entry.traceback = this.traceback(Tracemalloc.prototype.newReference);
  }

  /** @internal _PyMem_DumpTraceback's text for the debug hooks' report of block p. */
  debugTraceback(p: number): string {
    if (!this.tracing) return NO_TRACEBACK;
    const entry = this.traces.get(DEFAULT_DOMAIN)?.get(p);
    if (entry === undefined) return '';
    const frames = entry.traceback.frames.map(([file, line]) => `  File "${file}", line ${line}\n`).join('');
    return `Memory block allocated at (most recent call first):\n${frames}\n`;
  }

  /** tracemalloc_add_trace: records (or replaces) the trace of ptr, with the caller's traceback. */
  private add(domain: number, ptr: number, size: number, boundary: (...args: never[]) => unknown): void {
    let table = this.traces.get(domain);
    if (table === undefined) this.traces.set(domain, (table = new Map()));
    const traceback = this.traceback(boundary);
    const old = table.get(ptr);
    if (old === undefined) {
      table.set(ptr, { size, traceback });
    } else {
      this.traced -= old.size;
      old.size = size;
      old.traceback = traceback;
    }
    this.traced += size;
    if (this.traced > this.peak) this.peak = this.traced;
  }

  private remove(domain: number, ptr: number): void {
    const table = this.traces.get(domain);
    const old = table?.get(ptr);
    if (old === undefined) return;
    this.traced -= old.size;
    table!.delete(ptr);
  }

  /** The caller's traceback, interned: equal tracebacks are one object, their file names one string. */
  private traceback(boundary: (...args: never[]) => unknown): TracebackEntry {
    return this.tracebacks.intern(captureSites(this.limit, boundary), this.limit);
  }

  /** The hooks around one domain's allocator (tracemalloc_alloc_gil and friends). */
  /**
   * The traceback starts below the method of `domain` that the caller called (lib/hooks/tracemalloc/stack.ts):
   * the domain's validating wrapper around these hooks, read at each call, as the domain holds it.
   */
  private hook(inner: Allocator, domain: Domain): Allocator {
    const { malloc, calloc, realloc, free } = inner;
    return {
      malloc: (n) => {
        if (this.reentrant) return malloc(n);
        this.reentrant = true;
        try {
          const p = malloc(n);
          if (p !== 0) this.add(DEFAULT_DOMAIN, p, n, domain.malloc);
          return p;
        } finally {
          this.reentrant = false;
        }
      },
      calloc: (nelem, elsize) => {
        if (this.reentrant) return calloc(nelem, elsize);
        this.reentrant = true;
        try {
          const p = calloc(nelem, elsize);
          if (p !== 0) this.add(DEFAULT_DOMAIN, p, nelem * elsize, domain.calloc);
          return p;
        } finally {
          this.reentrant = false;
        }
      },
      realloc: (p, n) => {
        if (this.reentrant) {
          // An allocator resizing a block for itself (pymalloc resizing a raw block): the block may
          // have been traced at the outer level, and its old address is no longer a block.
          const q = realloc(p, n);
          if (q !== 0 && p !== 0) this.remove(DEFAULT_DOMAIN, p);
          return q;
        }
        this.reentrant = true;
        try {
          const q = realloc(p, n);
          if (q === 0) return 0;
          if (p !== 0 && q !== p) this.remove(DEFAULT_DOMAIN, p);
          this.add(DEFAULT_DOMAIN, q, n, domain.realloc);
          return q;
        } finally {
          this.reentrant = false;
        }
      },
      free: (p) => {
        free(p);
        if (p !== 0) this.remove(DEFAULT_DOMAIN, p);
      },
    };
  }
}

function checkInteger(value: unknown, name: string, max: number): void {
  if (typeof value !== 'number') throw invalidArgType(name, 'number', value);
  if (!Number.isInteger(value) || value < 0 || value > max) throw outOfRange(name, `an integer from 0 to ${max}`, value);
}
