/**
 * int (Objects/longobject.c, 3.12): arbitrary precision in 30-bit digits. -5..256 are static and
 * immortal (the small-int cache), so int(7) is always the same object; every other value is a new
 * block of 24 + 4 * ndigits bytes from the OBJ domain, freed straight back to it: ints have no freelist.
 *
 * Hot path: a safe-integer number outside the cache costs one PyObject_Malloc and five stores; BigInt
 * is used only for bigint arguments and for values of three digits or more (beyond 2^60).
 */
import {
  LONG_TAG, LONG_DIGITS, LONG_SHIFT, LONG_MASK, LONG_BASE, NON_SIZE_BITS, SIGN_POSITIVE, SIGN_ZERO, SIGN_NEGATIVE,
  SIGN_MASK, NSMALLNEGINTS, NSMALLPOSINTS, T_BOOL, T_INT, FALSE, TRUE, smallInt, typeRecord,
} from './layout';
import { initObject, deallocAtom } from './header';
import { hashInteger, hashWords, safeIntegerHashWords } from './hash';
import { expectStatic, objectsCorrupt } from './invariants';
import { EQUAL, UNEQUAL, NOT_IMPLEMENTED, type TypeSlots } from './slots';
import { hex } from '../errors';
import type { ObjectMemory } from './memory';

const INT_TYPE = typeRecord(T_INT);
const BIG_SHIFT = BigInt(LONG_SHIFT);
const BIG_MASK = BigInt(LONG_MASK);

/** Whether v is in the small-int cache. */
function isSmall(v: number): boolean {
  return v >= -NSMALLNEGINTS && v < NSMALLPOSINTS;
}

/** lv_tag for ndigits digits and a sign (_PyLong_SetSignAndDigitCount). */
export function longTag(ndigits: number, sign: number): number {
  return ((ndigits << NON_SIZE_BITS) | sign) >>> 0;
}

/**
 * _PyLong_New(ndigits) with its tag written: PyObject_Malloc(24 + 4 * ndigits). (CPython allocates one
 * digit for 0; here 0 is always the cached object, so ndigits is at least 1.)
 */
function allocLong(m: ObjectMemory, ndigits: number, sign: number): number {
  const p = m.alloc(LONG_DIGITS + 4 * ndigits, 'an int');
  initObject(m.u32, p, INT_TYPE);
  m.u32[(p + LONG_TAG) >>> 2] = longTag(ndigits, sign);
  m.u32[(p + LONG_TAG + 4) >>> 2] = 0;
  return p;
}

/** PyLong_FromLongLong for a safe integer: the cached object or a new one of one or two digits. */
export function intFromNumber(m: ObjectMemory, v: number): number {
  if (isSmall(v)) return smallInt(v);
  const a = v < 0 ? -v : v;
  const sign = v < 0 ? SIGN_NEGATIVE : SIGN_POSITIVE;
  const u32 = m.u32;
  if (a < LONG_BASE) {
    const p = allocLong(m, 1, sign);
    u32[(p + LONG_DIGITS) >>> 2] = a;
    return p;
  }
  const p = allocLong(m, 2, sign);
  u32[(p + LONG_DIGITS) >>> 2] = a % LONG_BASE;
  u32[(p + LONG_DIGITS + 4) >>> 2] = Math.floor(a / LONG_BASE);
  return p;
}

/** An int of any size from a bigint. */
export function intFromBigInt(m: ObjectMemory, v: bigint): number {
  if (v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return intFromNumber(m, Number(v));
  const sign = v < 0n ? SIGN_NEGATIVE : SIGN_POSITIVE;
  let a = v < 0n ? -v : v;
  let ndigits = 0;
  for (let rest = a; rest > 0n; rest >>= BIG_SHIFT) ndigits++;
  const p = allocLong(m, ndigits, sign);
  for (let i = 0, at = (p + LONG_DIGITS) >>> 2; i < ndigits; i++, a >>= BIG_SHIFT) m.u32[at + i] = Number(a & BIG_MASK);
  return p;
}

export function digitCount(u32: Uint32Array, p: number): number {
  return u32[(p + LONG_TAG) >>> 2] >>> NON_SIZE_BITS;
}

function signOf(u32: Uint32Array, p: number): number {
  return u32[(p + LONG_TAG) >>> 2] & SIGN_MASK;
}

/**
 * The value as a number when it is a safe integer (at most two digits and below 2^53), else
 * undefined: the path that needs no BigInt.
 */
export function intToSafeNumber(u32: Uint32Array, p: number): number | undefined {
  const n = digitCount(u32, p);
  if (n > 2) return undefined;
  const at = (p + LONG_DIGITS) >>> 2;
  const a = n === 0 ? 0 : n === 1 ? u32[at] : u32[at] + u32[at + 1] * LONG_BASE;
  if (a > Number.MAX_SAFE_INTEGER) return undefined;
  return signOf(u32, p) === SIGN_NEGATIVE ? -a : a;
}

export function intToBigInt(u32: Uint32Array, p: number): bigint {
  const at = (p + LONG_DIGITS) >>> 2;
  let a = 0n;
  for (let i = digitCount(u32, p) - 1; i >= 0; i--) a = (a << BIG_SHIFT) | BigInt(u32[at + i]);
  return signOf(u32, p) === SIGN_NEGATIVE ? -a : a;
}

/** int.__sizeof__: 24 + 4 * max(ndigits, 1). */
export function intSizeof(u32: Uint32Array, p: number): number {
  const n = digitCount(u32, p);
  return LONG_DIGITS + 4 * (n > 0 ? n : 1);
}

/** int == int: the same sign, digit count and digits. */
export function intEquals(u32: Uint32Array, a: number, b: number): boolean {
  const tag = u32[(a + LONG_TAG) >>> 2];
  if (tag !== u32[(b + LONG_TAG) >>> 2]) return false;
  const ia = (a + LONG_DIGITS) >>> 2;
  const ib = (b + LONG_DIGITS) >>> 2;
  for (let i = (tag >>> NON_SIZE_BITS) - 1; i >= 0; i--) if (u32[ia + i] !== u32[ib + i]) return false;
  return true;
}

/** int == float, exactly as Python compares them: 2**53 + 1 != float(2**53). */
export function intEqualsDouble(u32: Uint32Array, p: number, d: number): boolean {
  if (!Number.isInteger(d)) return false;
  const small = intToSafeNumber(u32, p);
  if (small !== undefined) return small === d;
  return !Number.isSafeInteger(d) && intToBigInt(u32, p) === BigInt(d);
}

/** Whether the int is zero (the sign field says so; False's tag too). */
export function intIsZero(u32: Uint32Array, p: number): boolean {
  return signOf(u32, p) === SIGN_ZERO;
}

/** Whether type is int or bool (bool is int's subtype: PyBool_Type's tp_base is PyLong_Type). */
export function isIntType(type: number): boolean {
  return type === T_INT || type === T_BOOL;
}

/** long_hash: a safe integer is its own hash, without BigInt; past 2^53, the reduction. */
function intHash(u32: Uint32Array, p: number, out: Uint32Array): void {
  const v = intToSafeNumber(u32, p);
  if (v !== undefined && v !== -1) return safeIntegerHashWords(v, out);
  hashWords(hashInteger(v === undefined ? intToBigInt(u32, p) : BigInt(v)), out);
}

/** long_richcompare: ints (and bools) by value; a float answers for itself (float_richcompare). */
function intRichEquals(u32: Uint32Array, a: number, b: number, typeB: number): number {
  if (!isIntType(typeB)) return NOT_IMPLEMENTED;
  return intEquals(u32, a, b) ? EQUAL : UNEQUAL;
}

export const intSlots: TypeSlots = {
  // long_dealloc: ints have no freelist; the small ints are immortal and never come here.
  dealloc: deallocAtom,
  traverse: null,
  clear: null,
  hash: (core, p, out) => intHash(core.m.u32, p, out),
  equals: (core, a, b, typeB) => intRichEquals(core.m.u32, a, b, typeB),
  sizeof: (m, p) => intSizeof(m.u32, p),
  toJS: (m, p, options) => (options.bigint ? intToBigInt(m.u32, p) : (intToSafeNumber(m.u32, p) ?? intToBigInt(m.u32, p))),
  clearFreeList: null,
  // The small-int cache: -5..256, each immortal, one digit (none for 0).
  check: (_u8, u32) => {
    for (let v = -NSMALLNEGINTS; v < NSMALLPOSINTS; v++) {
      const p = smallInt(v);
      expectStatic(u32, p, T_INT, `the small int ${v}`);
      if (intToSafeNumber(u32, p) !== v || digitCount(u32, p) !== (v === 0 ? 0 : 1)) objectsCorrupt('static', `the small int at ${hex(p)} does not hold ${v}`);
    }
  },
};

/** bool: int's slots, but for its value in JS and its two static objects; False and True are immortal. */
export const boolSlots: TypeSlots = {
  ...intSlots,
  toJS: (m, p) => !intIsZero(m.u32, p),
  check: (_u8, u32) => {
    expectStatic(u32, FALSE, T_BOOL, 'False');
    expectStatic(u32, TRUE, T_BOOL, 'True');
    if (intToSafeNumber(u32, FALSE) !== 0 || intToSafeNumber(u32, TRUE) !== 1) objectsCorrupt('static', 'False or True holds another value');
  },
};
