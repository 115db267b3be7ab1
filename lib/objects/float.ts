/**
 * float (Objects/floatobject.c, 3.12): 24-byte objects and a freelist of at most PyFloat_MAXFREELIST
 * (100). A deallocated float is pushed on the list, linked through its ob_type field, unless the list
 * is full; the next float pops the most recently freed one (LIFO). The list's head and count live in
 * the region (OBJ_FLOAT_FREE, OBJ_FLOAT_NUMFREE), so parked floats stay allocated blocks of pymalloc
 * until clearFloatFreeList() gives them back, as _PyFloat_ClearFreeList does at a full collection.
 */
import { FLOAT_SIZE, FLOAT_VALUE, OB_TYPE, OBJ_FLOAT_FREE, OBJ_FLOAT_NUMFREE, T_FLOAT, typeRecord } from './layout';
import { initObject, markDead } from './header';
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
