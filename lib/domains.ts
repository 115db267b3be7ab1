/**
 * Layer +2's entry points. This issue's part: the RAW domain (CPython's PyMem_RawMalloc, PyMem_RawCalloc,
 * PyMem_RawRealloc, PyMem_RawFree) with C semantics, as CPython documents them:
 *
 *   - out of memory returns 0 (NULL) and leaves the heap unchanged;
 *   - malloc(0) returns a unique non-NULL pointer (served as 1 byte, as CPython's raw malloc does);
 *   - calloc returns 0 when nelem * elsize overflows; its memory is zeroed;
 *   - realloc(0, n) is malloc(n); a failed realloc returns 0 and keeps the old block and its bytes;
 *   - free(0) does nothing.
 *
 * Sizes are integers in [0, 2^53 - 1] (PY_SSIZE_T_MAX's counterpart: the largest a JS number holds
 * exactly); a valid size larger than any region can hold returns 0, as CPython returns NULL for
 * n > PY_SSIZE_T_MAX. Anything else is a TypeError or RangeError. Pointers are refused with
 * InvalidPointerError before anything changes.
 *
 * Hot path: per argument one isU32 test, then one call into the backend; every unusual value takes a
 * slow path.
 */
import { InvalidPointerError, hex, invalidArgType, outOfRange } from './errors';
import type { RawBackend } from './raw/backend';
import {
  PTR_OUTSIDE, PTR_MISALIGNED, PTR_METADATA, PTR_FREE_SEGMENT, PTR_ARENA, PTR_NOT_LIVE, PTR_INSIDE_HUGE,
  PTR_NOT_ARENA, PTR_RAW_BLOCK,
} from './raw/layout';

/** Any size from 2^32 up cannot be served by a region of at most 4 GiB; the backends take this one instead. */
const UNSERVABLE = 0xffffffff;

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
};

/** The error for a pointer the allocator refused with `status`, raised by `fn` (e.g. 'heap.raw.free'). */
export function pointerError(fn: string, p: number, status: number): InvalidPointerError {
  const [reason, text] = POINTER_PROBLEMS[status];
  return new InvalidPointerError(p, reason, `${fn}(${hex(p)}): pointer ${p} (${hex(p)}) ${text}`);
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

/** Validates a pointer argument that is not a u32: every integer outside the region is an InvalidPointerError. */
export function checkPointer(value: unknown, fn: string): never {
  if (typeof value !== 'number') throw invalidArgType('ptr', 'number', value);
  if (!Number.isInteger(value)) throw outOfRange('ptr', 'an integer', value);
  throw pointerError(fn, value, PTR_OUTSIDE);
}

/** The backend operations a domain calls. */
export type RawOps = Pick<RawBackend, 'malloc' | 'calloc' | 'realloc' | 'free'>;

/** The RAW domain: PyMem_Raw* on this heap. */
export class RawDomain {
  /** Swapped for a closed stand-in by heap.close(), so that open heaps test no flag per call. */
  backend: RawOps;

  constructor(backend: RawOps) {
    this.backend = backend;
  }

  /** PyMem_RawMalloc: n bytes, uninitialised; 0 when the heap cannot serve them. */
  malloc(n: number): number {
    if (!isU32(n)) {
      checkSize(n, 'size');
      n = UNSERVABLE;
    }
    return this.backend.malloc(n);
  }

  /** PyMem_RawCalloc: nelem * elsize zeroed bytes; 0 when the product overflows or cannot be served. */
  calloc(nelem: number, elsize: number): number {
    if (!isU32(nelem)) checkSize(nelem, 'nelem');
    if (!isU32(elsize)) checkSize(elsize, 'elsize');
    const n = nelem * elsize;
    return this.backend.calloc(n > UNSERVABLE ? UNSERVABLE : n);
  }

  /** PyMem_RawRealloc: resizes p's block to n bytes, moving it if it must; 0 on failure with p intact. */
  realloc(p: number, n: number): number {
    if (!isU32(p)) checkPointer(p, 'heap.raw.realloc');
    if (!isU32(n)) {
      checkSize(n, 'size');
      n = UNSERVABLE; // still validates p, and fails leaving it intact
    }
    const q = this.backend.realloc(p, n);
    if (q < 0) throw pointerError('heap.raw.realloc', p, -q);
    return q;
  }

  /** PyMem_RawFree: frees p's block; free(0) does nothing. */
  free(p: number): void {
    if (!isU32(p)) checkPointer(p, 'heap.raw.free');
    const status = this.backend.free(p);
    if (status !== 0) throw pointerError('heap.raw.free', p, status);
  }
}
