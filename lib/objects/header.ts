/**
 * PyObject's header: writing it, and reading an object's type from it. A type field that is not the
 * offset of one of the type records marks memory that holds no live object: a block never initialised
 * as one, a float parked in the freelist (linked through ob_type), or an object deallocated (the
 * deallocators clear ob_type, and the debug hooks fill freed blocks with 0xDD).
 */
import { OB_REFCNT, OB_TYPE, TYPES, TYPE_RECORD, TYPE_RECORD_SHIFT, TYPE_COUNT } from './layout';

/** _PyObject_Init: refcount 1, ob_type the type record; both 8-byte fields with a zero high word. */
export function initObject(u32: Uint32Array, p: number, type: number): void {
  u32[(p + OB_REFCNT) >>> 2] = 1;
  u32[(p + OB_REFCNT + 4) >>> 2] = 0;
  u32[(p + OB_TYPE) >>> 2] = type;
  u32[(p + OB_TYPE + 4) >>> 2] = 0;
}

/** The type number of the object at p (16-byte aligned, inside the region), or -1 when it holds none. */
export function typeOf(u32: Uint32Array, p: number): number {
  const record = u32[(p + OB_TYPE) >>> 2];
  const type = (record - TYPES) >>> TYPE_RECORD_SHIFT;
  if (record < TYPES || type >= TYPE_COUNT || (record & (TYPE_RECORD - 1)) !== 0 || u32[(p + OB_TYPE + 4) >>> 2] !== 0) return -1;
  return type;
}
