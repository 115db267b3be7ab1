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
 * Hot path: the domain's methods are own properties. For the heap's own allocators, which validate
 * their arguments themselves (see selfValidating), they are those allocators' functions: heap.obj.malloc
 * is pymalloc's entry, one call and one isU32 test per argument. Any other allocator is installed
 * behind a validating wrapper, one call more.
 */
import { InvalidPointerError, hex, invalidArgType, mixedAllocators, outOfRange } from '../errors';
import {
  PTR_OUTSIDE, PTR_MISALIGNED, PTR_METADATA, PTR_FREE_SEGMENT, PTR_ARENA, PTR_NOT_LIVE, PTR_INSIDE_HUGE,
  PTR_NOT_ARENA, PTR_RAW_BLOCK,
} from '../raw/layout';
import { PTR_POOL_HEADER, PTR_NOT_BLOCK, PTR_FREE_POOL, PTR_UNCARVED, PTR_ARENA_IN_USE, PTR_DOUBLE_FREE } from '../pymalloc/layout';
import { ownerMark } from '../thread';

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
  [PTR_DOUBLE_FREE]: ['double-free', 'is a free block of the object allocator: freed already, or never handed out'],
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

/**
 * Functions that validate their arguments exactly as a domain does (throwing the same errors, naming
 * the same domain) before they serve them: the heap's own allocators mark theirs, and a domain installs
 * them as its methods unwrapped. A WeakSet, so that a user's functions can never be mistaken for them.
 */
const SELF_VALIDATING = new WeakSet<(...args: never[]) => number | void>();

/** Marks the four functions of `a` as validating their own arguments (see SELF_VALIDATING); returns `a`. */
export function selfValidating(a: Allocator): Allocator {
  for (const fn of [a.malloc, a.calloc, a.realloc, a.free]) SELF_VALIDATING.add(fn);
  return a;
}

/** A size that failed isU32: UNSERVABLE when it is a valid size too large for any region, else the error. */
export function bigSize(n: unknown): number {
  checkSize(n, 'size');
  return UNSERVABLE;
}

/**
 * calloc's argument check: throws for an invalid factor, and says whether the call returns NULL
 * unasked because nelem * elsize overflows (CPython's guard, elsize != 0 && nelem > PY_SSIZE_T_MAX /
 * elsize). The fast path is two u32 factors with an exact product (two u32s can still pass 2^53).
 */
export function callocIsNull(nelem: number, elsize: number): boolean {
  if (isU32(nelem) && isU32(elsize) && nelem * elsize <= Number.MAX_SAFE_INTEGER) return false;
  if (!isU32(nelem)) checkSize(nelem, 'nelem');
  if (!isU32(elsize)) checkSize(elsize, 'elsize');
  return nelem * elsize > Number.MAX_SAFE_INTEGER;
}

/** `a` behind the domain's validation, for an allocator that is not self-validating. */
function validating(name: DomainName, a: Allocator): Allocator {
  const { malloc, calloc, realloc, free } = a;
  const reallocName = `heap.${name}.realloc`;
  const freeName = `heap.${name}.free`;
  return {
    malloc: (n) => malloc(isU32(n) ? n : bigSize(n)),
    calloc: (nelem, elsize) => {
      if (callocIsNull(nelem, elsize)) return 0;
      return calloc(nelem, elsize);
    },
    realloc: (p, n) => {
      if (!isU32(p)) checkPointer(p, reallocName);
      return realloc(p, isU32(n) ? n : bigSize(n)); // a too-large n still validates p, and fails leaving it intact
    },
    free: (p) => {
      if (!isU32(p)) checkPointer(p, freeName);
      free(p);
    },
  };
}

/** One domain: validates arguments as CPython's public wrappers do, then calls the installed allocator. */
export class Domain {
  /** The thread that owns the domain's heap (see lib/thread.ts). */
  readonly owner: symbol;
  /** malloc: n bytes, uninitialised; 0 when the heap cannot serve them. */
  malloc!: (n: number) => number;
  /** calloc: nelem * elsize zeroed bytes; 0 when the product overflows or cannot be served. */
  calloc!: (nelem: number, elsize: number) => number;
  /** realloc: resizes p's block to n bytes, moving it if it must; 0 on failure with p intact. */
  realloc!: (p: number, n: number) => number;
  /** free: frees p's block; free(0) does nothing. */
  free!: (p: number) => void;
  /** The installed allocator's functions, as given (heap.setAllocator replaces them). */
  private installed!: Allocator;

  /** @internal the heap creates its domains */
  constructor(
    readonly name: DomainName,
    allocator: Allocator,
  ) {
    this.owner = ownerMark(`the heap.${name} domain`);
    this.allocator = allocator;
  }

  /** @internal PyMem_GetAllocator: a copy of the installed functions. */
  get allocator(): Allocator {
    const { malloc, calloc, realloc, free } = this.installed;
    return { malloc, calloc, realloc, free };
  }

  /**
   * @internal PyMem_SetAllocator: installs copies of the four functions (the object is not kept), each
   * as the domain's method when it validates its own arguments, else behind the domain's validation.
   */
  set allocator(a: Allocator) {
    const { malloc, calloc, realloc, free } = a;
    this.installed = { malloc, calloc, realloc, free };
    const checked = validating(this.name, this.installed);
    this.malloc = SELF_VALIDATING.has(malloc) ? malloc : checked.malloc;
    this.calloc = SELF_VALIDATING.has(calloc) ? calloc : checked.calloc;
    this.realloc = SELF_VALIDATING.has(realloc) ? realloc : checked.realloc;
    this.free = SELF_VALIDATING.has(free) ? free : checked.free;
  }
}
