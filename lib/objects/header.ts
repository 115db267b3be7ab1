/**
 * PyObject's header: writing it, and reading an object's type from it. A type field that is not the
 * offset of one of the type records marks memory that holds no live object: a block never initialised
 * as one, a float parked in the freelist (linked through ob_type), or an object deallocated (the
 * deallocators mark ob_type OB_TYPE_DEAD, and the debug hooks fill freed blocks with 0xDD).
 */
import { OB_TYPE_DEAD, OB_REFCNT, OB_TYPE, SIZED_SIZE, SIZED_HASH, GC_HEAD, GC_NEXT, GC_PREV, TYPES, TYPE_RECORD, TYPE_RECORD_SHIFT, TYPE_COUNT } from './layout';
import { takeParked } from './freelist';
import { gcLink, gcUnlink } from './gc-list';
import type { ObjectMemory } from './memory';

/** _PyObject_Init: refcount 1, ob_type the type record; both 8-byte fields with a zero high word. */
export function initObject(u32: Uint32Array, p: number, type: number): void {
  u32[(p + OB_REFCNT) >>> 2] = 1;
  u32[(p + OB_REFCNT + 4) >>> 2] = 0;
  u32[(p + OB_TYPE) >>> 2] = type;
  u32[(p + OB_TYPE + 4) >>> 2] = 0;
}

/** The header of a str or bytes object: _PyObject_Init, its size, and its hash cache empty (-1). */
export function initSizedObject(u32: Uint32Array, p: number, type: number, size: number): void {
  initObject(u32, p, type);
  u32[(p + SIZED_SIZE) >>> 2] = size;
  u32[(p + SIZED_SIZE + 4) >>> 2] = 0;
  u32[(p + SIZED_HASH) >>> 2] = 0xffffffff;
  u32[(p + SIZED_HASH + 4) >>> 2] = 0xffffffff;
}

/** Whether a str or bytes object's hash is still to be computed (the cache holds -1). */
export function hashPending(u32: Uint32Array, p: number): boolean {
  return u32[(p + SIZED_HASH) >>> 2] === 0xffffffff && u32[(p + SIZED_HASH + 4) >>> 2] === 0xffffffff;
}

/** The type number of the object at p (16-byte aligned, inside the region), or -1 when it holds none. */
export function typeOf(u32: Uint32Array, p: number): number {
  const record = u32[(p + OB_TYPE) >>> 2];
  const type = (record - TYPES) >>> TYPE_RECORD_SHIFT;
  if (record < TYPES || type >= TYPE_COUNT || (record & (TYPE_RECORD - 1)) !== 0 || u32[(p + OB_TYPE + 4) >>> 2] !== 0) return -1;
  return type;
}

/** A deallocated object's ob_type, both words: OB_TYPE_DEAD, so that a later use is caught and named. */
export function markDead(u32: Uint32Array, p: number): void {
  u32[(p + OB_TYPE) >>> 2] = OB_TYPE_DEAD;
  u32[(p + OB_TYPE + 4) >>> 2] = OB_TYPE_DEAD;
}

/**
 * PyObject_GC_Del: a container's block freed from its GC head, marked dead first (a later use is
 * caught); generation 0's count falls (a container parked on a freelist instead does not count).
 */
export function freeContainer(m: ObjectMemory, p: number): void {
  gcUnlink(m.u32, p);
  markDead(m.u32, p);
  m.obj.free(p - GC_HEAD);
}

/**
 * PyObject_GC_New for a list or dict: the one last parked on the freelist whose count is at `count`
 * (tracemalloc re-dates its block), else a new block with an untracked GC head, counted by the
 * collector (which may run then); the header written and every field after it zeroed. Untracked:
 * the caller tracks it.
 */
export function allocContainer(m: ObjectMemory, count: number, type: number, basicsize: number, what: string): number {
  const u32 = m.u32;
  let p = takeParked(u32, count);
  if (p !== 0) {
    m.tracer.newReference(p - GC_HEAD);
  } else {
    p = m.alloc(GC_HEAD + basicsize, what) + GC_HEAD;
    u32.fill(0, (p + GC_NEXT) >>> 2, (p + GC_PREV + 8) >>> 2);
    gcLink(m);
  }
  initObject(u32, p, type);
  u32.fill(0, (p + OB_TYPE + 8) >>> 2, (p + basicsize) >>> 2);
  return p;
}
