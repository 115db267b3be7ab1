/**
 * A private heap: one region of memory outside V8's garbage-collected heap, the raw allocator over it
 * and the domains on top. Pointers are byte offsets into the region (0 is NULL), every block is 16-byte
 * aligned, and the caller reads and writes blocks through the heap's views: `heap.u8[p]`,
 * `heap.i32[p >>> 2]`, `heap.f64[p >>> 3]`, `heap.dv`, or `heap.view(p, n)`. (Use `>>>`, not `>>`:
 * offsets of a 4 GiB region reach 2^32 - 16.)
 */
import { DEFAULT_MAX_BYTES, MAX_MAX_BYTES, MIN_MAX_BYTES, SEGMENT_SIZE } from './config';
import { heapClosed, invalidArgType, invalidArgValue, outOfRange } from './errors';
import { RawDomain, checkPointer, isU32, pointerError, type RawOps } from './domains';
import { openBackend, type BackendChoice } from './raw/open';
import { checkRegion } from './raw/check';
import { readStats, type HeapStats } from './stats';
import type { BackendName, RawBackend } from './raw/backend';

export interface HeapOptions {
  /** 'auto' (default): the native addon when it can run, else the fallback; PYMEM_BACKEND overrides 'auto'. */
  backend?: BackendChoice;
  /** The region's length and the heap's hard limit: a multiple of 1 MiB from 2 MiB to 4 GiB; default 1 GiB. */
  maxBytes?: number;
}

const OPTION_NAMES = new Set(['backend', 'maxBytes']);
const VIEW_NAMES = ['u8', 'i32', 'u32', 'f64', 'dv'] as const;

/** What a closed heap's domains call: each operation is a clear error, and no open heap pays for the test. */
const CLOSED: RawOps = {
  malloc: () => {
    throw heapClosed('heap.raw.malloc');
  },
  calloc: () => {
    throw heapClosed('heap.raw.calloc');
  },
  realloc: () => {
    throw heapClosed('heap.raw.realloc');
  },
  free: () => {
    throw heapClosed('heap.raw.free');
  },
};

export class Heap {
  /** The backend running this heap. */
  readonly backend: BackendName;
  /** Why that backend was chosen, in words (the option, PYMEM_BACKEND, or what 'auto' found). */
  readonly backendReason: string;
  readonly maxBytes: number;
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  readonly dv: DataView;
  /** The RAW domain: PyMem_RawMalloc, PyMem_RawCalloc, PyMem_RawRealloc, PyMem_RawFree. */
  readonly raw: RawDomain;
  private readonly impl: RawBackend;
  private isClosed = false;

  /** @internal use createHeap() */
  constructor(impl: RawBackend, reason: string) {
    this.impl = impl;
    this.backend = impl.name;
    this.backendReason = reason;
    this.maxBytes = impl.buffer.byteLength;
    this.u8 = new Uint8Array(impl.buffer);
    this.i32 = new Int32Array(impl.buffer);
    this.u32 = new Uint32Array(impl.buffer);
    this.f64 = new Float64Array(impl.buffer);
    this.dv = new DataView(impl.buffer);
    this.raw = new RawDomain(impl);
  }

  /** Whether close() has been called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** A Uint8Array over [ptr, ptr + length) of the region, sharing its memory. */
  view(ptr: number, length: number): Uint8Array {
    this.assertOpen('heap.view');
    checkOffset(ptr, 'ptr');
    checkOffset(length, 'length');
    if (ptr + length > this.maxBytes) throw outOfRange('ptr + length', `<= the heap's maxBytes (${this.maxBytes})`, ptr + length);
    return new Uint8Array(this.impl.buffer, ptr, length);
  }

  /**
   * CPython's arena allocator (PyObject_GetArenaAllocator): one free 1 MiB segment, 1 MiB-aligned, for
   * the object allocator; 0 when none is free. Its bytes are not cleared.
   */
  arenaAlloc(): number {
    this.assertOpen('heap.arenaAlloc');
    return this.impl.arenaAlloc();
  }

  /** Gives back an arena from arenaAlloc(); arenaFree(0) does nothing. */
  arenaFree(ptr: number): void {
    this.assertOpen('heap.arenaFree');
    if (!isU32(ptr)) checkPointer(ptr, 'heap.arenaFree');
    const status = this.impl.arenaFree(ptr);
    if (status !== 0) throw pointerError('heap.arenaFree', ptr, status);
  }

  /** The heap's figures: region, segments, raw blocks, and memory as the OS sees it. */
  stats(): HeapStats {
    this.assertOpen('heap.stats');
    return readStats(this.u32, this.impl);
  }

  /** Walks every allocator invariant; throws HeapCorruptionError naming the first one broken. */
  check(): void {
    this.assertOpen('heap.check');
    checkRegion(this.u32, this.maxBytes / SEGMENT_SIZE);
  }

  /**
   * Gives the region back to the OS. Views taken from the heap become empty (length 0) rather than
   * dangling, and every later call on the heap is an ERR_PYMEM_HEAP_CLOSED error. Closing twice is harmless.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.raw.backend = CLOSED;
    for (const name of VIEW_NAMES) {
      Object.defineProperty(this, name, {
        get() {
          throw heapClosed(`heap.${name}`);
        },
      });
    }
    this.impl.close();
  }

  private assertOpen(what: string): void {
    if (this.isClosed) throw heapClosed(what);
  }
}

function checkOffset(value: unknown, name: string): void {
  if (typeof value !== 'number') throw invalidArgType(name, 'number', value);
  if (!Number.isSafeInteger(value) || value < 0) throw outOfRange(name, 'an integer >= 0', value);
}

function checkMaxBytes(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_BYTES;
  if (typeof value !== 'number') throw invalidArgType('maxBytes', 'number', value);
  if (!Number.isInteger(value) || value < MIN_MAX_BYTES || value > MAX_MAX_BYTES || value % SEGMENT_SIZE !== 0) {
    throw outOfRange('maxBytes', `a multiple of ${SEGMENT_SIZE} (1 MiB) from ${MIN_MAX_BYTES} (2 MiB) to ${MAX_MAX_BYTES} (4 GiB)`, value);
  }
  return value;
}

/** Creates a private heap: reserves its region and sets up its allocators. */
export function createHeap(options: HeapOptions = {}): Heap {
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'object', options);
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.has(key)) throw invalidArgValue(`option "${key}"`, key, `is not an option of createHeap (${[...OPTION_NAMES].join(', ')})`);
  }
  const backend = options.backend ?? 'auto';
  if (backend !== 'auto' && backend !== 'native' && backend !== 'fallback') {
    throw invalidArgValue('option "backend"', backend, "must be 'auto', 'native' or 'fallback'");
  }
  const maxBytes = checkMaxBytes(options.maxBytes);
  const opened = openBackend(backend, maxBytes);
  return new Heap(opened.backend, opened.reason);
}
