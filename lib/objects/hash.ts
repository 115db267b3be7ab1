/**
 * CPython 3.12's hash functions (Python/pyhash.c, Objects/longobject.c), giving the values CPython
 * gives with PYTHONHASHSEED=0:
 *
 *   - str and bytes: SipHash-1-3 keyed with zeros over the object's data bytes (a str's in its kind,
 *     little-endian), 0 for empty data: hash('abc') == hash(b'abc'). CPython keys it with a random
 *     secret per process unless PYTHONHASHSEED is set; a heap's hashes must be the same in every
 *     process (a heap image is meant to be shareable), so ours is the seed-0 key, always.
 *   - numbers: the value modulo the Mersenne prime 2^61 - 1 (sys.hash_info.modulus), so that equal
 *     numbers hash equal across int, float and bool; +-inf hash to +-314159, a NaN by its address.
 *   - -1 is never a hash (C's error value): it becomes -2.
 *
 * SipHash works on 64-bit words held here as (high, low) u32 pairs in module variables: no BigInt and
 * no allocation on the string path. Numbers of more than two digits take BigInt (exactness first).
 */
import { objectError } from '../errors';

/** PyObject_HashNotImplemented: the TypeError of a type without a hash (list, dict). */
export function unhashable(typeName: string): never {
  throw objectError('ERR_PYMEM_WRONG_TYPE', `unhashable type: '${typeName}'`);
}

/** The words of a hash as tp_hash writes them (see TypeSlots.hash), and the dict reads them. */
export const HASH_LO = 0;
export const HASH_HI = 1;

/** _PyHASH_MODULUS: 2^61 - 1. */
export const HASH_MODULUS = (1n << 61n) - 1n;
/** _PyHASH_INF. */
export const HASH_INF = 314159n;
/** hash(None) in 3.12 (gh-99540): a constant, no longer the address. */
export const HASH_NONE = 0xfca86420n;

// SipHash state v0..v3 as high and low words.
let v0h = 0;
let v0l = 0;
let v1h = 0;
let v1l = 0;
let v2h = 0;
let v2l = 0;
let v3h = 0;
let v3l = 0;

/** SINGLE_ROUND: HALF_ROUND(v0, v1, v2, v3, 13, 16) then HALF_ROUND(v2, v1, v0, v3, 17, 21). */
function sipRound(): void {
  // v0 += v1; v2 += v3
  let l = (v0l + v1l) >>> 0;
  v0h = (v0h + v1h + (l < v0l ? 1 : 0)) >>> 0;
  v0l = l;
  l = (v2l + v3l) >>> 0;
  v2h = (v2h + v3h + (l < v2l ? 1 : 0)) >>> 0;
  v2l = l;
  // v1 = rotl(v1, 13) ^ v0; v3 = rotl(v3, 16) ^ v2; v0 = rotl(v0, 32)
  let h = (((v1h << 13) | (v1l >>> 19)) ^ v0h) >>> 0;
  v1l = (((v1l << 13) | (v1h >>> 19)) ^ v0l) >>> 0;
  v1h = h;
  h = (((v3h << 16) | (v3l >>> 16)) ^ v2h) >>> 0;
  v3l = (((v3l << 16) | (v3h >>> 16)) ^ v2l) >>> 0;
  v3h = h;
  h = v0h;
  v0h = v0l;
  v0l = h;
  // v2 += v1; v0 += v3
  l = (v2l + v1l) >>> 0;
  v2h = (v2h + v1h + (l < v2l ? 1 : 0)) >>> 0;
  v2l = l;
  l = (v0l + v3l) >>> 0;
  v0h = (v0h + v3h + (l < v0l ? 1 : 0)) >>> 0;
  v0l = l;
  // v1 = rotl(v1, 17) ^ v2; v3 = rotl(v3, 21) ^ v0; v2 = rotl(v2, 32)
  h = (((v1h << 17) | (v1l >>> 15)) ^ v2h) >>> 0;
  v1l = (((v1l << 17) | (v1h >>> 15)) ^ v2l) >>> 0;
  v1h = h;
  h = (((v3h << 21) | (v3l >>> 11)) ^ v0h) >>> 0;
  v3l = (((v3l << 21) | (v3h >>> 11)) ^ v0l) >>> 0;
  v3h = h;
  h = v2h;
  v2h = v2l;
  v2l = h;
}

/**
 * _Py_HashBytes over n bytes at `data` (4-byte aligned, as every object's data is), written as a
 * little-endian i64 at `dest`: the cache field of the str or bytes object. Cost: one round per 8 bytes.
 */
export function hashBytesInto(u8: Uint8Array, u32: Uint32Array, data: number, n: number, dest: number): void {
  if (n === 0) {
    storeHash(u32, dest, 0, 0);
    return;
  }
  // siphash13 with k0 = k1 = 0: v = the constants "somepseudorandomlygeneratedbytes".
  v0h = 0x736f6d65;
  v0l = 0x70736575;
  v1h = 0x646f7261;
  v1l = 0x6e646f6d;
  v2h = 0x6c796765;
  v2l = 0x6e657261;
  v3h = 0x74656462;
  v3l = 0x79746573;
  const whole = n & ~7;
  for (let i = data >>> 2, end = (data + whole) >>> 2; i < end; i += 2) {
    const ml = u32[i];
    const mh = u32[i + 1];
    v3l = (v3l ^ ml) >>> 0;
    v3h = (v3h ^ mh) >>> 0;
    sipRound();
    v0l = (v0l ^ ml) >>> 0;
    v0h = (v0h ^ mh) >>> 0;
  }
  // b = len << 56 | the last n % 8 bytes, little-endian.
  let bl = 0;
  let bh = (n & 0xff) << 24;
  for (let k = n - whole - 1; k >= 0; k--) {
    const byte = u8[data + whole + k];
    if (k >= 4) bh |= byte << ((k - 4) * 8);
    else bl |= byte << (k * 8);
  }
  bl >>>= 0;
  bh >>>= 0;
  v3l = (v3l ^ bl) >>> 0;
  v3h = (v3h ^ bh) >>> 0;
  sipRound();
  v0l = (v0l ^ bl) >>> 0;
  v0h = (v0h ^ bh) >>> 0;
  v2l = (v2l ^ 0xff) >>> 0;
  sipRound();
  sipRound();
  sipRound();
  storeHash(u32, dest, (v0l ^ v1l ^ v2l ^ v3l) >>> 0, (v0h ^ v1h ^ v2h ^ v3h) >>> 0);
}

/** Stores a 64-bit hash (low and high words) as a little-endian i64 at `dest`, -1 made -2. */
export function storeHash(u32: Uint32Array, dest: number, lo: number, hi: number): void {
  u32[dest >>> 2] = lo === 0xffffffff && hi === 0xffffffff ? 0xfffffffe : lo;
  u32[(dest >>> 2) + 1] = hi;
}

/** A Py_hash_t as tp_hash's two words: out[HASH_LO] the low, out[HASH_HI] the high (two's complement). */
export function hashWords(h: bigint, out: Uint32Array): void {
  const u = BigInt.asUintN(64, h);
  out[HASH_LO] = Number(u & 0xffffffffn);
  out[HASH_HI] = Number(u >> 32n);
}

/**
 * The hash of a safe integer v other than -1 (an int, a bool, or an integral float), into its two
 * words without BigInt: |v| < 2^53 < 2^61 - 1, so v is its own hash.
 */
export function safeIntegerHashWords(v: number, out: Uint32Array): void {
  out[HASH_LO] = v >>> 0;
  out[HASH_HI] = Math.floor(v / 2 ** 32) >>> 0;
}

/** The Py_hash_t that two hash words hold. */
export function wordsHash(out: Uint32Array): bigint {
  return BigInt.asIntN(64, (BigInt(out[HASH_HI]) << 32n) | BigInt(out[HASH_LO]));
}

/** -1 is C's error value: a hash that comes out -1 is -2. */
function notMinusOne(h: bigint): bigint {
  return h === -1n ? -2n : h;
}

/** long_hash: |v| mod 2^61 - 1 with v's sign. */
export function hashInteger(v: bigint): bigint {
  const r = (v < 0n ? -v : v) % HASH_MODULUS;
  return notMinusOne(v < 0n ? -r : r);
}

const F64 = new Float64Array(1);
const F64_WORDS = new Uint32Array(F64.buffer);
const F64_LO = 0;
const F64_HI = 1;

/**
 * _Py_HashDouble: a finite double is m * 2^e exactly (m a 53-bit integer), and since 2^61 = 1 modulo
 * 2^61 - 1, its hash is m * 2^(e mod 61) reduced, with the sign: the reduction CPython's loop performs
 * 28 bits at a time. A NaN hashes by its object's address (3.12), as _Py_HashPointer does.
 */
export function hashDouble(v: number, address: number): bigint {
  if (Number.isSafeInteger(v)) return notMinusOne(BigInt(v));
  if (v !== v) return hashPointer(address);
  if (v === Infinity) return HASH_INF;
  if (v === -Infinity) return -HASH_INF;
  F64[0] = v;
  const hi = F64_WORDS[F64_HI];
  const exponent = (hi >>> 20) & 0x7ff;
  let m = BigInt(hi & 0xfffff) * 2n ** 32n + BigInt(F64_WORDS[F64_LO]);
  let e: number;
  if (exponent === 0) {
    e = -1074; // subnormal: no implicit bit
  } else {
    m += 1n << 52n;
    e = exponent - 1075;
  }
  const r = (m << BigInt(((e % 61) + 61) % 61)) % HASH_MODULUS;
  return notMinusOne(hi >>> 31 ? -r : r);
}

/** _Py_HashPointer: the address rotated right by 4 bits; our addresses are u32 and 16-aligned. */
export function hashPointer(address: number): bigint {
  return BigInt(address >>> 4);
}
