/**
 * What heap.check()'s parts for the types share (each type's check slot, and check.ts): the failure,
 * and the two shapes every type's state takes, a static immortal object and an object parked on a
 * freelist. Read-only, for tests and debugging.
 */
import { HeapCorruptionError, hex } from '../errors';
import { IMMORTAL, OB_REFCNT, GC_HEAD, TYPE_INFO } from './layout';
import { typeOf } from './header';

/** heap.check()'s failure in layer +3: HeapCorruptionError for the invariant `objects.<invariant>`. */
export function objectsCorrupt(invariant: string, detail: string): never {
  throw new HeapCorruptionError(`objects.${invariant}`, detail);
}

/** A static object: of its type, immortal (both words of its count), as _PyObject_IMMORTAL_INIT leaves it. */
export function expectStatic(u32: Uint32Array, p: number, type: number, what: string): void {
  if (typeOf(u32, p) !== type || u32[(p + OB_REFCNT) >>> 2] !== IMMORTAL || u32[(p + OB_REFCNT + 4) >>> 2] !== 0) {
    objectsCorrupt('static', `${what} at ${hex(p)} is no longer an immortal ${TYPE_INFO[type][0]}`);
  }
}

/**
 * A container parked on its freelist: in the region, keeping its type with a refcount of 0, and off
 * every collector list (its GC head zeroed).
 */
export function expectParked(u32: Uint32Array, p: number, type: number, what: string, limit: number): void {
  if (p === 0 || p % 16 !== 0 || p + 16 > limit || typeOf(u32, p) !== type || u32[(p + OB_REFCNT) >>> 2] !== 0) {
    objectsCorrupt('parked', `${what} holds ${hex(p)}, not a parked ${TYPE_INFO[type][0]}`);
  }
  if (u32.subarray((p - GC_HEAD) >>> 2, p >>> 2).some((word) => word !== 0)) {
    objectsCorrupt('parked.tracked', `the parked ${TYPE_INFO[type][0]} at ${hex(p)} is still on a collector's list`);
  }
}

/**
 * A freelist kept as a stack of pointers (list, dict, keys): at most `max` parked, each passing
 * `expect` (given the pointer and its slot's words for the message).
 */
export function expectStack(u32: Uint32Array, count: number, base: number, max: number, what: string, expect: (p: number, slot: string) => void): void {
  const n = u32[count >>> 2];
  if (n > max) objectsCorrupt(`${what}.numfree`, `${n} parked, more than ${max}`);
  for (let i = 0; i < n; i++) expect(u32[(base + 4 * i) >>> 2], `slot ${i} of the ${what} freelist`);
}
