/**
 * str (Objects/unicodeobject.c, 3.12): PEP 393 compact strings, one block each, in the narrowest kind
 * that holds the widest character: ASCII (1 byte, 40-byte header), latin-1 (1 byte), UCS-2 (2 bytes) or
 * UCS-4 (4 bytes), after the 56-byte header. The empty string and the 256 one-character latin-1
 * strings are static singletons. The hash is computed on first use and cached in the object.
 *
 * JavaScript strings are UTF-16: a surrogate pair becomes one character above U+FFFF, and a lone
 * surrogate stays one character (Python strs may hold them too), so a JS string comes back unchanged.
 *
 * Interning (sys.intern, PyUnicode_InternInPlace): a table of the interned strings, open addressing
 * over u32 slots in a block of the MEM domain (CPython keeps a dict), grown to twice its size when it
 * would pass two thirds full. As in 3.12, an interned string is immortal, so nothing is ever removed.
 */
import {
  ASCII_DATA, COMPACT_DATA, STR_LENGTH, STR_HASH, STR_STATE, STR_UTF8_LENGTH, STR_UTF8, STATE_KIND_SHIFT,
  STATE_KIND_MASK, STATE_COMPACT, STATE_ASCII, STATE_STATIC, STATE_INTERNED_MASK, INTERNED_IMMORTAL,
  INTERNED_IMMORTAL_STATIC, IMMORTAL, OB_REFCNT, OBJ_INTERNED_TABLE, OBJ_INTERNED_MASK, OBJ_INTERNED_USED, EMPTY_STR,
  T_STR, typeRecord, latin1Str,
} from './layout';
import { typeOf, initSizedObject, hashPending, deallocAtom, cachedHashWords } from './header';
import { hashBytesInto } from './hash';
import { noMemory, type ObjectMemory } from './memory';
import { expectStatic, objectsCorrupt } from './invariants';
import { EQUAL, UNEQUAL, NOT_IMPLEMENTED, type TypeSlots } from './slots';
import { hex } from '../errors';

const STR_TYPE = typeRecord(T_STR);
/** Characters per String.fromCharCode.apply: well under V8's argument limit. */
const CHUNK = 8192;
/** The interned table's first size, in slots. */
const INTERNED_MINSIZE = 64;

/** The header and character layout of a string of `length` characters below `max`. */
export function strState(max: number): number {
  const kind = max < 0x100 ? 1 : max < 0x10000 ? 2 : 4;
  return (kind << STATE_KIND_SHIFT) | STATE_COMPACT | (max < 0x80 ? STATE_ASCII : 0);
}

export function kindOf(u32: Uint32Array, p: number): number {
  return (u32[(p + STR_STATE) >>> 2] & STATE_KIND_MASK) >>> STATE_KIND_SHIFT;
}

export function isAscii(u32: Uint32Array, p: number): boolean {
  return (u32[(p + STR_STATE) >>> 2] & STATE_ASCII) !== 0;
}

/** Where the characters start: after the ASCII header or the compact one. */
export function strData(u32: Uint32Array, p: number): number {
  return p + (isAscii(u32, p) ? ASCII_DATA : COMPACT_DATA);
}

export function strLength(u32: Uint32Array, p: number): number {
  return u32[(p + STR_LENGTH) >>> 2];
}

/**
 * PyUnicode_New and the copy: a new compact string of `length` characters, the widest `max`, with its
 * header written, hash -1, not interned. The caller writes the characters.
 */
export function allocStr(m: ObjectMemory, length: number, max: number): number {
  const state = strState(max);
  const kind = (state & STATE_KIND_MASK) >>> STATE_KIND_SHIFT;
  const header = max < 0x80 ? ASCII_DATA : COMPACT_DATA;
  const p = m.alloc(header + (length + 1) * kind, 'a str');
  writeStrHeader(m, p, STR_TYPE, length, state);
  return p;
}

/** Every header field after ob_refcnt and ob_type, and the terminating NUL. */
export function writeStrHeader(m: ObjectMemory, p: number, type: number, length: number, state: number): void {
  const u32 = m.u32;
  initSizedObject(u32, p, type, length);
  u32[(p + STR_STATE) >>> 2] = state;
  u32[(p + STR_STATE + 4) >>> 2] = 0;
  if ((state & STATE_ASCII) === 0) {
    for (let at = p + STR_UTF8_LENGTH; at < p + COMPACT_DATA; at += 4) u32[at >>> 2] = 0;
  }
  const kind = (state & STATE_KIND_MASK) >>> STATE_KIND_SHIFT;
  const end = p + ((state & STATE_ASCII) !== 0 ? ASCII_DATA : COMPACT_DATA) + length * kind;
  if (kind === 1) m.u8[end] = 0;
  else if (kind === 2) m.u16[end >>> 1] = 0;
  else u32[end >>> 2] = 0;
}

/**
 * PyUnicode_FromString's counterpart for a JS string. Two passes: the widest code unit, then the copy;
 * a third only when the string has surrogates (to count characters above U+FFFF).
 */
export function strFromJS(m: ObjectMemory, s: string): number {
  const units = s.length;
  let max = 0;
  for (let i = 0; i < units; i++) {
    const c = s.charCodeAt(i);
    if (c > max) max = c;
  }
  if (max >= 0xd800) return strFromUTF16(m, s);
  if (units <= 1 && max < 0x100) return units === 0 ? EMPTY_STR : latin1Str(max);
  const p = allocStr(m, units, max);
  // Node's 'latin1' is ISO-8859-1 exactly (unit i to byte i), and 'utf16le' writes each unit as is.
  m.buf.write(s, strData(m.u32, p), max < 0x100 ? units : 2 * units, max < 0x100 ? 'latin1' : 'utf16le');
  return p;
}

/** The high surrogate of a pair starting at unit i, combined with its low one; -1 when unpaired. */
function pairAt(s: string, i: number): number {
  const hi = s.charCodeAt(i);
  if (hi < 0xd800 || hi >= 0xdc00 || i + 1 >= s.length) return -1;
  const lo = s.charCodeAt(i + 1);
  return lo >= 0xdc00 && lo < 0xe000 ? 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00) : -1;
}

/** A string with surrogates: UCS-4 when it has a pair, else UCS-2 with its lone surrogates. */
function strFromUTF16(m: ObjectMemory, s: string): number {
  let length = 0;
  let pairs = false;
  for (let i = 0; i < s.length; i++, length++) {
    if (pairAt(s, i) >= 0) {
      pairs = true;
      i++;
    }
  }
  const p = allocStr(m, length, pairs ? 0x10000 : 0xd800);
  const data = strData(m.u32, p);
  if (!pairs) {
    m.buf.write(s, data, 2 * length, 'utf16le');
    return p;
  }
  for (let i = 0, at = data >>> 2; i < s.length; i++, at++) {
    const pair = pairAt(s, i);
    if (pair >= 0) i++;
    m.u32[at] = pair >= 0 ? pair : s.charCodeAt(i);
  }
  return p;
}

/** PyUnicode_AsUTF8's counterpart: the characters as a JS string (a character above U+FFFF as a pair). */
export function strToJS(m: ObjectMemory, p: number): string {
  const u32 = m.u32;
  const length = strLength(u32, p);
  const data = strData(u32, p);
  const kind = kindOf(u32, p);
  if (kind === 1) return m.buf.toString('latin1', data, data + length);
  if (kind === 2) return m.buf.toString('utf16le', data, data + 2 * length);
  const chars = u32.subarray(data >>> 2, (data >>> 2) + length);
  let out = '';
  for (let i = 0; i < length; i += CHUNK) out += String.fromCodePoint.apply(null, chars.subarray(i, i + CHUNK) as unknown as number[]);
  return out;
}

/**
 * str.__sizeof__: the header, the characters with their NUL, and a UTF-8 form held apart from them
 * (only the latin-1 singletons above U+007F have one here, as in CPython 3.12).
 */
export function strSizeof(u32: Uint32Array, p: number): number {
  const size = (isAscii(u32, p) ? ASCII_DATA : COMPACT_DATA) + (strLength(u32, p) + 1) * kindOf(u32, p);
  if (isAscii(u32, p) || u32[(p + STR_UTF8) >>> 2] === 0) return size;
  return size + u32[(p + STR_UTF8_LENGTH) >>> 2] + 1;
}

/** unicode_hash: the cached hash, computed and stored on first use. Returns the low word. */
export function strHashLow(m: ObjectMemory, p: number): number {
  const u32 = m.u32;
  if (hashPending(u32, p)) hashBytesInto(m.u8, u32, strData(u32, p), strLength(u32, p) * kindOf(u32, p), p + STR_HASH);
  return u32[(p + STR_HASH) >>> 2];
}


/** str == str: a string's kind is a function of its characters, so equal strings have equal bytes. */
export function strEquals(m: ObjectMemory, a: number, b: number): boolean {
  const u32 = m.u32;
  const length = strLength(u32, a);
  if (length !== strLength(u32, b) || (u32[(a + STR_STATE) >>> 2] & STATE_KIND_MASK) !== (u32[(b + STR_STATE) >>> 2] & STATE_KIND_MASK)) return false;
  const n = length * kindOf(u32, a);
  const u8 = m.u8;
  const da = strData(u32, a);
  const db = strData(u32, b);
  for (let i = 0; i < n; i++) if (u8[da + i] !== u8[db + i]) return false;
  return true;
}

export function isInterned(u32: Uint32Array, p: number): boolean {
  return (u32[(p + STR_STATE) >>> 2] & STATE_INTERNED_MASK) !== 0;
}

/** The slot of the interned table holding a string equal to p, or the empty slot where it would go. */
function internedSlot(m: ObjectMemory, p: number, table: number, mask: number): number {
  const u32 = m.u32;
  let i = strHashLow(m, p) & mask;
  for (let q = u32[(table >>> 2) + i]; q !== 0 && !strEquals(m, p, q); q = u32[(table >>> 2) + i]) i = (i + 1) & mask;
  return i;
}

/** The interned string equal to p, or 0. */
export function findInterned(m: ObjectMemory, p: number): number {
  const table = m.u32[OBJ_INTERNED_TABLE >>> 2];
  if (table === 0) return 0;
  return m.u32[(table >>> 2) + internedSlot(m, p, table, m.u32[OBJ_INTERNED_MASK >>> 2])];
}

/**
 * Adds p (not interned, no equal string interned) to the table and makes it immortal: interned
 * SSTATE_INTERNED_IMMORTAL, or SSTATE_INTERNED_IMMORTAL_STATIC for a static singleton. MemoryError,
 * with nothing changed, when the table must grow and cannot.
 */
export function addInterned(m: ObjectMemory, p: number): void {
  const u32 = m.u32;
  let table = u32[OBJ_INTERNED_TABLE >>> 2];
  let mask = u32[OBJ_INTERNED_MASK >>> 2];
  const used = u32[OBJ_INTERNED_USED >>> 2];
  if (table === 0 || (used + 1) * 3 > (mask + 1) * 2) {
    const slots = table === 0 ? INTERNED_MINSIZE : (mask + 1) * 2;
    const grown = m.mem.calloc(slots, 4);
    if (grown === 0) throw noMemory(slots * 4, 'the interned strings table');
    const old = table;
    const oldMask = mask;
    table = grown;
    mask = slots - 1;
    for (let i = 0; old !== 0 && i <= oldMask; i++) {
      const q = u32[(old >>> 2) + i];
      if (q !== 0) u32[(table >>> 2) + internedSlot(m, q, table, mask)] = q;
    }
    if (old !== 0) m.mem.free(old);
    u32[OBJ_INTERNED_TABLE >>> 2] = table;
    u32[OBJ_INTERNED_MASK >>> 2] = mask;
  }
  u32[(table >>> 2) + internedSlot(m, p, table, mask)] = p;
  u32[OBJ_INTERNED_USED >>> 2] = used + 1;
  const state = u32[(p + STR_STATE) >>> 2];
  if ((state & STATE_STATIC) !== 0) {
    u32[(p + STR_STATE) >>> 2] = state | INTERNED_IMMORTAL_STATIC;
  } else {
    u32[(p + OB_REFCNT) >>> 2] = IMMORTAL;
    u32[(p + STR_STATE) >>> 2] = state | INTERNED_IMMORTAL;
  }
}

/** The static strings: '' and the 256 one-character latin-1 ones, each immortal with its one character. */
function checkStaticStrs(u8: Uint8Array, u32: Uint32Array): void {
  const expectStr = (p: number, length: number, c: number): void => {
    expectStatic(u32, p, T_STR, `the static string ${JSON.stringify(String.fromCharCode(c).slice(0, length))}`);
    const state = u32[(p + STR_STATE) >>> 2] & ~STATE_INTERNED_MASK;
    const data = strData(u32, p);
    if (state !== (strState(c) | STATE_STATIC) || strLength(u32, p) !== length || (length === 1 && u8[data] !== c) || u8[data + length] !== 0) {
      objectsCorrupt('static', `the static string at ${hex(p)} does not hold ${length} character ${hex(c)}`);
    }
  };
  expectStr(EMPTY_STR, 0, 0);
  for (let c = 0; c < 256; c++) expectStr(latin1Str(c), 1, c);
}

/**
 * The interned table: a power of two of slots, at most two thirds used, every string in it interned,
 * immortal and found by probing from its hash.
 */
function checkInterned(u32: Uint32Array, limit: number): void {
  const at = (offset: number): number => u32[offset >>> 2];
  const table = at(OBJ_INTERNED_TABLE);
  const mask = at(OBJ_INTERNED_MASK);
  const used = at(OBJ_INTERNED_USED);
  if (table === 0) {
    if (mask !== 0 || used !== 0) objectsCorrupt('interned.table', `no table, but mask ${mask} and ${used} strings`);
    return;
  }
  if ((mask & (mask + 1)) !== 0 || used * 3 > (mask + 1) * 2) objectsCorrupt('interned.table', `${used} strings in ${mask + 1} slots`);
  let count = 0;
  for (let i = 0; i <= mask; i++) {
    const q = at(table + 4 * i);
    if (q === 0) continue;
    count++;
    if (q % 16 !== 0 || q + 16 > limit || typeOf(u32, q) !== T_STR || (at(q + STR_STATE) & STATE_INTERNED_MASK) === 0 || at(q + OB_REFCNT) !== IMMORTAL) {
      objectsCorrupt('interned.entry', `slot ${i} holds ${hex(q)}, not an interned immortal str`);
    }
    let j = at(q + STR_HASH) & mask;
    while (at(table + 4 * j) !== q && at(table + 4 * j) !== 0) j = (j + 1) & mask;
    if (j !== i) objectsCorrupt('interned.probe', `the str at ${hex(q)} in slot ${i} is not found by probing from its hash`);
  }
  if (count !== used) objectsCorrupt('interned.used', `${count} strings in the table, ${used} counted`);
}

export const strSlots: TypeSlots = {
  // unicode_dealloc: interned strings are immortal and never come here.
  dealloc: deallocAtom,
  traverse: null,
  clear: null,
  // unicode_hash: the cached hash, computed on first use.
  hash: (core, p, out) => {
    strHashLow(core.m, p);
    cachedHashWords(core.m.u32, p, out);
  },
  equals: (core, a, b, typeB) => (typeB !== T_STR ? NOT_IMPLEMENTED : strEquals(core.m, a, b) ? EQUAL : UNEQUAL),
  sizeof: (m, p) => strSizeof(m.u32, p),
  toJS: strToJS,
  clearFreeList: null,
  check: (u8, u32, limit) => {
    checkStaticStrs(u8, u32);
    checkInterned(u32, limit);
  },
};
