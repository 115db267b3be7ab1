/**
 * bytes (Objects/bytesobject.c, 3.12): one block of PyBytesObject_SIZE (33) + n bytes, the data
 * NUL-terminated; b'' and the 256 one-byte objects are static singletons. The hash is the same
 * function as str's over the same bytes (hash(b'abc') == hash('abc')), cached in ob_shash.
 */
import { BYTES_SIZE, BYTES_HASH, BYTES_DATA, EMPTY_BYTES, T_BYTES, typeRecord, byteChar } from './layout';
import { initSizedObject, hashPending, deallocAtom, cachedHashWords } from './header';
import { hashBytesInto } from './hash';
import { expectStatic, objectsCorrupt } from './invariants';
import { EQUAL, UNEQUAL, NOT_IMPLEMENTED, type TypeSlots } from './slots';
import { hex } from '../errors';
import type { ObjectMemory } from './memory';

const BYTES_TYPE = typeRecord(T_BYTES);
/** PyBytesObject_SIZE: offsetof(ob_sval) + 1 for the NUL. */
export const BYTES_OBJECT_SIZE = BYTES_DATA + 1;

/** Every field after ob_refcnt and ob_type, and the terminating NUL; the caller writes the data. */
export function writeBytesHeader(m: ObjectMemory, p: number, type: number, n: number): void {
  initSizedObject(m.u32, p, type, n);
  m.u8[p + BYTES_DATA + n] = 0;
}

/** PyBytes_FromStringAndSize: a copy of `data`, or a singleton for 0 and 1 bytes. */
export function bytesFromJS(m: ObjectMemory, data: Uint8Array): number {
  const n = data.length;
  if (n <= 1) return n === 0 ? EMPTY_BYTES : byteChar(data[0]);
  const p = m.alloc(BYTES_OBJECT_SIZE + n, 'a bytes object');
  writeBytesHeader(m, p, BYTES_TYPE, n);
  m.u8.set(data, p + BYTES_DATA);
  return p;
}

export function bytesLength(u32: Uint32Array, p: number): number {
  return u32[(p + BYTES_SIZE) >>> 2];
}

/** A copy of the data (the heap's memory is not shared with the caller's array). */
export function bytesToJS(m: ObjectMemory, p: number): Uint8Array {
  return m.u8.slice(p + BYTES_DATA, p + BYTES_DATA + bytesLength(m.u32, p));
}

export function bytesSizeof(u32: Uint32Array, p: number): number {
  return BYTES_OBJECT_SIZE + bytesLength(u32, p);
}

/** bytes_hash: computed into ob_shash on first use. */
export function ensureBytesHash(m: ObjectMemory, p: number): void {
  if (hashPending(m.u32, p)) hashBytesInto(m.u8, m.u32, p + BYTES_DATA, bytesLength(m.u32, p), p + BYTES_HASH);
}

export function bytesEquals(m: ObjectMemory, a: number, b: number): boolean {
  const n = bytesLength(m.u32, a);
  if (n !== bytesLength(m.u32, b)) return false;
  const u8 = m.u8;
  for (let i = 0; i < n; i++) if (u8[a + BYTES_DATA + i] !== u8[b + BYTES_DATA + i]) return false;
  return true;
}

/** b'' and the 256 one-byte objects: immortal, each holding its byte and the NUL after it. */
function checkStaticBytes(u8: Uint8Array, u32: Uint32Array): void {
  const expectBytes = (p: number, data: number[]): void => {
    expectStatic(u32, p, T_BYTES, 'a static bytes object');
    if (bytesLength(u32, p) !== data.length || data.some((byte, i) => u8[p + BYTES_DATA + i] !== byte) || u8[p + BYTES_DATA + data.length] !== 0) {
      objectsCorrupt('static', `the static bytes object at ${hex(p)} does not hold ${JSON.stringify(data)}`);
    }
  };
  expectBytes(EMPTY_BYTES, []);
  for (let c = 0; c < 256; c++) expectBytes(byteChar(c), [c]);
}

export const bytesSlots: TypeSlots = {
  dealloc: deallocAtom,
  traverse: null,
  clear: null,
  hash: (core, p, out) => {
    ensureBytesHash(core.m, p);
    cachedHashWords(core.m.u32, p, out);
  },
  equals: (core, a, b, typeB) => (typeB !== T_BYTES ? NOT_IMPLEMENTED : bytesEquals(core.m, a, b) ? EQUAL : UNEQUAL),
  sizeof: (m, p) => bytesSizeof(m.u32, p),
  toJS: bytesToJS,
  clearFreeList: null,
  check: checkStaticBytes,
};
