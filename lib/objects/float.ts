/**
 * float (Objects/floatobject.c, 3.12): 24-byte objects and a freelist of at most PyFloat_MAXFREELIST
 * (100). A deallocated float is pushed on the list, linked through its ob_type field, unless the list
 * is full; the next float pops the most recently freed one (LIFO). The list's head and count live in
 * the region (OBJ_FLOAT_FREE, OBJ_FLOAT_NUMFREE), so parked floats stay allocated blocks of pymalloc
 * until clearFloatFreeList() gives them back, as _PyFloat_ClearFreeList does at a full collection.
 */
import { FLOAT_SIZE, FLOAT_VALUE, OB_REFCNT, OB_TYPE, OBJ_FLOAT_FREE, OBJ_FLOAT_NUMFREE, T_FLOAT, typeRecord } from './layout';
import { initObject, markDead } from './header';
import { hashDouble, hashWords, safeIntegerHashWords } from './hash';
import { isIntType, intEqualsDouble } from './int';
import { objectsCorrupt } from './invariants';
import { EQUAL, UNEQUAL, NOT_IMPLEMENTED, type TypeSlots } from './slots';
import { hex } from '../errors';
import type { ObjectMemory } from './memory';

/** PyFloat_MAXFREELIST. */
export const FLOAT_MAXFREELIST = 100;
const FLOAT_TYPE = typeRecord(T_FLOAT);

/** PyFloat_FromDouble: from the freelist when it has one (tracemalloc then re-dates it), else a new block. */
export function newFloat(m: ObjectMemory, v: number): number {
  const u32 = m.u32;
  let p = u32[OBJ_FLOAT_FREE >>> 2];
  if (p !== 0) {
    u32[OBJ_FLOAT_FREE >>> 2] = u32[(p + OB_TYPE) >>> 2];
    u32[OBJ_FLOAT_NUMFREE >>> 2]--;
    m.tracer.newReference(p);
  } else {
    p = m.alloc(FLOAT_SIZE, 'a float');
  }
  initObject(u32, p, FLOAT_TYPE);
  m.f64[(p + FLOAT_VALUE) >>> 3] = v;
  return p;
}

export function floatValue(m: ObjectMemory, p: number): number {
  return m.f64[(p + FLOAT_VALUE) >>> 3];
}

/** _PyFloat_ExactDealloc: onto the freelist, or back to PyObject_Free when it holds 100 already. */
export function deallocFloat(m: ObjectMemory, p: number): void {
  const u32 = m.u32;
  const numfree = u32[OBJ_FLOAT_NUMFREE >>> 2];
  if (numfree >= FLOAT_MAXFREELIST) {
    markDead(u32, p);
    m.obj.free(p);
    return;
  }
  u32[OBJ_FLOAT_NUMFREE >>> 2] = numfree + 1;
  u32[(p + OB_TYPE) >>> 2] = u32[OBJ_FLOAT_FREE >>> 2];
  u32[OBJ_FLOAT_FREE >>> 2] = p;
}

/** _PyFloat_ClearFreeList: every parked float back to PyObject_Free. */
export function clearFloatFreeList(m: ObjectMemory): void {
  const u32 = m.u32;
  let p = u32[OBJ_FLOAT_FREE >>> 2];
  while (p !== 0) {
    const next = u32[(p + OB_TYPE) >>> 2];
    markDead(u32, p);
    m.obj.free(p);
    p = next;
  }
  u32[OBJ_FLOAT_FREE >>> 2] = 0;
  u32[OBJ_FLOAT_NUMFREE >>> 2] = 0;
}

/** Whether p is parked in the freelist (a walk of at most 100 links: for error messages only). */
export function inFloatFreeList(u32: Uint32Array, p: number): boolean {
  for (let q = u32[OBJ_FLOAT_FREE >>> 2], n = 0; q !== 0 && n <= FLOAT_MAXFREELIST; q = u32[(q + OB_TYPE) >>> 2], n++) {
    if (q === p) return true;
  }
  return false;
}

/** float_hash: an integral float hashes as the int equal to it, without BigInt when it is safe. */
function floatHash(m: ObjectMemory, p: number, out: Uint32Array): void {
  const v = floatValue(m, p);
  if (Number.isSafeInteger(v) && v !== -1) return safeIntegerHashWords(v, out);
  hashWords(hashDouble(v, p), out);
}

/** float_richcompare: floats by value, and ints (and bools) exactly (2**53 + 1 != 2.0**53). */
function floatRichEquals(m: ObjectMemory, a: number, b: number, typeB: number): number {
  if (typeB === T_FLOAT) return floatValue(m, a) === floatValue(m, b) ? EQUAL : UNEQUAL;
  if (isIntType(typeB)) return intEqualsDouble(m.u32, b, floatValue(m, a)) ? EQUAL : UNEQUAL;
  return NOT_IMPLEMENTED;
}

/** The freelist: numfree parked floats, refcount 0, linked through ob_type, ending in NULL. */
function checkFloatFreeList(u32: Uint32Array, limit: number): void {
  const numfree = u32[OBJ_FLOAT_NUMFREE >>> 2];
  if (numfree > FLOAT_MAXFREELIST) objectsCorrupt('float.numfree', `${numfree} floats parked, more than ${FLOAT_MAXFREELIST}`);
  let p = u32[OBJ_FLOAT_FREE >>> 2];
  for (let n = 0; n < numfree; n++, p = u32[(p + OB_TYPE) >>> 2]) {
    if (p === 0 || p % 16 !== 0 || p + FLOAT_SIZE > limit) objectsCorrupt('float.link', `link ${n} of the float freelist is ${hex(p)}, with ${numfree} floats parked`);
    if (u32[(p + OB_REFCNT) >>> 2] !== 0 || u32[(p + OB_TYPE + 4) >>> 2] !== 0) objectsCorrupt('float.parked', `the parked float at ${hex(p)} has a reference count or a type`);
  }
  if (p !== 0) objectsCorrupt('float.link', `the float freelist goes on past its ${numfree} floats, to ${hex(p)}`);
}

export const floatSlots: TypeSlots = {
  dealloc: (core, p) => deallocFloat(core.m, p),
  traverse: null,
  clear: null,
  hash: (core, p, out) => floatHash(core.m, p, out),
  equals: (core, a, b, typeB) => floatRichEquals(core.m, a, b, typeB),
  sizeof: () => FLOAT_SIZE,
  toJS: (m, p) => floatValue(m, p),
  clearFreeList: clearFloatFreeList,
  check: (_u8, u32, limit) => checkFloatFreeList(u32, limit),
};
