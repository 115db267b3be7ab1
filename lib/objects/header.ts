/**
 * PyObject's header: writing it, and reading an object's type from it. A type field that is not the
 * offset of one of the type records marks memory that holds no live object: a block never initialised
 * as one, a float parked in the freelist (linked through ob_type), or an object deallocated (the
 * deallocators mark ob_type OB_TYPE_DEAD, and the debug hooks fill freed blocks with 0xDD).
 */
import {
  OB_TYPE_DEAD, OB_REFCNT, OB_TYPE, SIZED_SIZE, SIZED_HASH, GC_HEAD, GC_NEXT, GC_PREV, TYPES, TYPE_RECORD, TYPE_RECORD_SHIFT, TYPE_COUNT,
  TYPE_GC_BITS, OBJ_MAGIC, OBJ_MAGIC_VALUE, PYOBJECT_SIZE,
} from './layout';
import { isU32 } from '../domains/domain';
import { takeParked } from './freelist';
import { gcLink, gcUnlink } from './gc-list';
import { HASH_LO, HASH_HI } from './hash';
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

/**
 * The type number of a live object the engine reached itself (a referent, an item, a tracked
 * container): Py_TYPE without the checks typeOf makes, one load and a shift. Only for pointers layer +3
 * holds; a pointer from outside goes through typeOf (or Objects' argument checks) first.
 */
export function liveType(u32: Uint32Array, p: number): number {
  return (u32[(p + OB_TYPE) >>> 2] - TYPES) >>> TYPE_RECORD_SHIFT;
}

/** The type number of the object at p (16-byte aligned, inside the region), or -1 when it holds none. */
export function typeOf(u32: Uint32Array, p: number): number {
  const record = u32[(p + OB_TYPE) >>> 2];
  const type = (record - TYPES) >>> TYPE_RECORD_SHIFT;
  if (record < TYPES || type >= TYPE_COUNT || (record & (TYPE_RECORD - 1)) !== 0 || u32[(p + OB_TYPE + 4) >>> 2] !== 0) return -1;
  return type;
}

/** Whether the region holds the objects layer: its statics were written (OBJ_MAGIC), in this process or before an image was saved. */
export function holdsObjects(u32: Uint32Array): boolean {
  return u32[OBJ_MAGIC >>> 2] === OBJ_MAGIC_VALUE;
}

/**
 * The block a pointer lies in, for tracemalloc's get_object_traceback: a live container's starts at
 * its GC head, 16 bytes before the object (_PyType_PreHeaderSize); anything else is its own block,
 * and so is everything while the region holds no objects.
 */
export function objectBlock(u32: Uint32Array, limit: number, p: number): number {
  return holdsObjects(u32) && isLiveObject(u32, limit, p) && ((TYPE_GC_BITS >>> typeOf(u32, p)) & 1) === 1 ? p - GC_HEAD : p;
}

/** Whether p could point at an object of a region of `limit` bytes: not NULL, 16-byte aligned, a header's bytes inside. */
export function inObjectRange(limit: number, p: number): boolean {
  return isU32(p) && p !== 0 && (p & 15) === 0 && p + PYOBJECT_SIZE <= limit;
}

/** Whether p is a live object: in range, a type record in its type field, and a reference count above 0. */
export function isLiveObject(u32: Uint32Array, limit: number, p: number): boolean {
  return inObjectRange(limit, p) && typeOf(u32, p) >= 0 && u32[(p + OB_REFCNT) >>> 2] !== 0;
}

/** tp_hash of a str or bytes object, once its hash is cached: both keep it in the same field (SIZED_HASH). */
export function cachedHashWords(u32: Uint32Array, p: number, out: Uint32Array): void {
  out[HASH_LO] = u32[(p + SIZED_HASH) >>> 2];
  out[HASH_HI] = u32[(p + SIZED_HASH + 4) >>> 2];
}

/**
 * Whether the type field of the object at p says it is gone: both words the same, and that word the
 * deallocators' mark or one `fill` says is a freed block's (the debug hooks' patterns, for heap.isFreed).
 */
export function typeFieldFreed(u32: Uint32Array, p: number, fill: (word: number) => boolean): boolean {
  const lo = u32[(p + OB_TYPE) >>> 2];
  return lo === u32[(p + OB_TYPE + 4) >>> 2] && (fill(lo) || lo === OB_TYPE_DEAD);
}

/** A deallocated object's ob_type, both words: OB_TYPE_DEAD, so that a later use is caught and named. */
export function markDead(u32: Uint32Array, p: number): void {
  u32[(p + OB_TYPE) >>> 2] = OB_TYPE_DEAD;
  u32[(p + OB_TYPE + 4) >>> 2] = OB_TYPE_DEAD;
}

/** The tp_dealloc of an object that holds no references and has no freelist: marked dead, then PyObject_Free. */
export function deallocAtom(core: { readonly m: ObjectMemory }, p: number): void {
  markDead(core.m.u32, p);
  core.m.obj.free(p);
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
