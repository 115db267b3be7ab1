/**
 * Layer +2's entry points: the three domains of CPython's allocator API, with C semantics as CPython
 * documents them:
 *
 *   heap.raw   PyMem_RawMalloc, PyMem_RawCalloc, PyMem_RawRealloc, PyMem_RawFree
 *   heap.mem   PyMem_Malloc, ...                 (pymalloc by default)
 *   heap.obj   PyObject_Malloc, ...              (pymalloc by default)
 *
 *   - out of memory returns 0 (NULL) and leaves the heap unchanged;
 *   - malloc(0) returns a unique non-NULL pointer;
 *   - calloc returns 0 when nelem * elsize overflows; its memory is zeroed;
 *   - realloc(0, n) is malloc(n); a failed realloc returns 0 and keeps the old block and its bytes;
 *   - free(0) does nothing.
 *
 * Sizes are integers in [0, 2^53 - 1] (PY_SSIZE_T_MAX's counterpart: the largest a JS number holds
 * exactly); a valid size larger than any region can hold returns 0, as CPython returns NULL for
 * n > PY_SSIZE_T_MAX. Anything else is a TypeError or RangeError. Pointers are refused with
 * InvalidPointerError before anything changes.
 *
 * A domain validates its arguments, as CPython's public wrappers do, then calls the allocator installed
 * in it (heap.setAllocator): four plain functions, called with validated arguments. Hooks (debug,
 * tracemalloc, a user's counter) are installed by wrapping them, so a heap without hooks tests no flag.
 *
 * Hot path: per argument one isU32 test, then one call of the installed function; every unusual value
 * takes a slow path.
 */
import { InvalidPointerError, hex, invalidArgType, mixedAllocators, outOfRange } from './errors';
import {
  PTR_OUTSIDE, PTR_MISALIGNED, PTR_METADATA, PTR_FREE_SEGMENT, PTR_ARENA, PTR_NOT_LIVE, PTR_INSIDE_HUGE,
  PTR_NOT_ARENA, PTR_RAW_BLOCK,
} from './raw/layout';
import { PTR_POOL_HEADER, PTR_NOT_BLOCK, PTR_FREE_POOL, PTR_UNCARVED, PTR_ARENA_IN_USE } from './obmalloc-layout';
import { ownerMark } from './thread';

/** Any size from 2^32 up cannot be served by a region of at most 4 GiB; the backends take this one instead. */
export const UNSERVABLE = 0xffffffff;

const POINTER_PROBLEMS: Record<number, [reason: string, text: string]> = {
  [PTR_OUTSIDE]: ['outside', "is outside the heap's region"],
  [PTR_MISALIGNED]: ['misaligned', 'is not 16-byte aligned, so no allocator of this heap returned it'],
  [PTR_METADATA]: ['metadata', "points into the heap's metadata segment"],
  [PTR_FREE_SEGMENT]: ['free-segment', 'points into a free segment: the block was already freed, or never allocated'],
  [PTR_ARENA]: ['arena', "points into an arena of the object allocator; free it with that domain's free"],
  [PTR_NOT_LIVE]: ['not-live', 'is not the start of a live raw block: already freed, never allocated, or inside a block'],
  [PTR_INSIDE_HUGE]: ['inside-block', 'points inside a large raw block, not at its start'],
  [PTR_NOT_ARENA]: ['not-arena', 'is not the start of an arena'],
  [PTR_RAW_BLOCK]: ['raw-block', 'belongs to a raw block, not an arena'],
  [PTR_POOL_HEADER]: ['pool-header', "points into a pool's header in an arena of the object allocator"],
  [PTR_NOT_BLOCK]: ['not-block', "is not on a block boundary of its pool's size class"],
  [PTR_FREE_POOL]: ['free-pool', 'points into an empty pool of the object allocator: the block was already freed'],
  [PTR_UNCARVED]: ['uncarved', 'points into memory of an arena that no block has been carved from'],
  [PTR_ARENA_IN_USE]: ['arena-in-use', 'is an arena the object allocator is using; it gives back each of its arenas itself once the last block in it is freed'],
};

/** The error for a pointer the allocator refused with `status`, raised by `fn` (e.g. 'heap.raw.free'). */
export function pointerError(fn: string, p: number, status: number): InvalidPointerError {
  const [reason, text] = POINTER_PROBLEMS[status];
  // A negative number has no offset to show in hexadecimal: it is shown as it was given.
  const shown = p < 0 ? `${fn}(${p}): pointer ${p} (a negative number)` : `${fn}(${hex(p)}): pointer ${p} (${hex(p)})`;
  return new InvalidPointerError(p, reason, `${shown} ${text}`);
}

/**
 * Whether x is a u32 integer: the fast path of every size and pointer argument. typeof comes first
 * because `>>>` throws on a BigInt. V8 inlines it.
 */
export function isU32(x: unknown): x is number {
  return typeof x === 'number' && x >>> 0 === x;
}

/** Validates a size argument that is not a u32: returns when it is a valid (if unservable) size. */
export function checkSize(value: unknown, name: string): void {
  if (typeof value !== 'number') throw invalidArgType(name, 'number', value);
  if (!Number.isSafeInteger(value) || value < 0) throw outOfRange(name, 'an integer >= 0 and <= 2^53 - 1', value);
}

/**
 * Validates a pointer argument that is not a u32: every integer outside the region is an
 * InvalidPointerError, and a Buffer (from heap.system.malloc) is memory of the other world.
 */
export function checkPointer(value: unknown, fn: string): never {
  if (value instanceof Uint8Array) {
    throw mixedAllocators(`${fn}() was given a Buffer: memory from heap.system.malloc() is freed with heap.system.free(), not by a domain of the heap`);
  }
  if (typeof value !== 'number') throw invalidArgType('ptr', 'number', value);
  if (!Number.isInteger(value)) throw outOfRange('ptr', 'an integer', value);
  throw pointerError(fn, value, PTR_OUTSIDE);
}

export type DomainName = 'raw' | 'mem' | 'obj';
export const DOMAIN_NAMES: readonly DomainName[] = ['raw', 'mem', 'obj'];

/**
 * CPython's PyMemAllocatorEx without ctx (a closure carries it): what a domain calls, with arguments
 * already validated. malloc/realloc sizes are u32 integers (2^32 - 1 standing for "more than any
 * region"), calloc's product is at most 2^53 - 1, pointers are u32 integers. They return 0 for NULL and
 * throw InvalidPointerError for a pointer they refuse.
 */
export interface Allocator {
  malloc(n: number): number;
  calloc(nelem: number, elsize: number): number;
  realloc(p: number, n: number): number;
  free(p: number): void;
}

/** One domain: validates arguments as CPython's public wrappers do, then calls the installed allocator. */
export class Domain {
  /** The thread that owns the domain's heap (see lib/thread.ts). */
  readonly owner: symbol;
  /** The installed allocator's functions (heap.setAllocator replaces them). */
  private fmalloc: Allocator['malloc'];
  private fcalloc: Allocator['calloc'];
  private frealloc: Allocator['realloc'];
  private ffree: Allocator['free'];

  /** @internal the heap creates its domains */
  constructor(
    readonly name: DomainName,
    allocator: Allocator,
  ) {
    this.owner = ownerMark(`the heap.${name} domain`);
    this.fmalloc = allocator.malloc;
    this.fcalloc = allocator.calloc;
    this.frealloc = allocator.realloc;
    this.ffree = allocator.free;
  }

  /** @internal PyMem_GetAllocator: a copy of the installed functions. */
  get allocator(): Allocator {
    return { malloc: this.fmalloc, calloc: this.fcalloc, realloc: this.frealloc, free: this.ffree };
  }

  /** @internal PyMem_SetAllocator: installs copies of the four functions (the object is not kept). */
  set allocator(a: Allocator) {
    this.fmalloc = a.malloc;
    this.fcalloc = a.calloc;
    this.frealloc = a.realloc;
    this.ffree = a.free;
  }

  /** malloc: n bytes, uninitialised; 0 when the heap cannot serve them. */
  malloc(n: number): number {
    if (!isU32(n)) {
      checkSize(n, 'size');
      n = UNSERVABLE;
    }
    return this.fmalloc(n);
  }

  /** calloc: nelem * elsize zeroed bytes; 0 when the product overflows or cannot be served. */
  calloc(nelem: number, elsize: number): number {
    if (!isU32(nelem)) checkSize(nelem, 'nelem');
    if (!isU32(elsize)) checkSize(elsize, 'elsize');
    // CPython's overflow guard: elsize != 0 && nelem > PY_SSIZE_T_MAX / elsize returns NULL unasked.
    if (nelem * elsize > Number.MAX_SAFE_INTEGER) return 0;
    return this.fcalloc(nelem, elsize);
  }

  /** realloc: resizes p's block to n bytes, moving it if it must; 0 on failure with p intact. */
  realloc(p: number, n: number): number {
    if (!isU32(p)) checkPointer(p, `heap.${this.name}.realloc`);
    if (!isU32(n)) {
      checkSize(n, 'size');
      n = UNSERVABLE; // still validates p, and fails leaving it intact
    }
    return this.frealloc(p, n);
  }

  /** free: frees p's block; free(0) does nothing. */
  free(p: number): void {
    if (!isU32(p)) checkPointer(p, `heap.${this.name}.free`);
    this.ffree(p);
  }
}
