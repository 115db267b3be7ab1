/**
 * The objects CPython 3.12 allocates statically (in _PyRuntime), written into segment 0 when a heap's
 * objects layer is first used: the type records, None, False and True, the small ints -5..256, the
 * empty string and the 256 one-character latin-1 strings, b'' and the 256 one-byte bytes, () and (in
 * lib/objects/dict.ts) Py_EMPTY_KEYS. All are
 * immortal (refcount 0xFFFFFFFF), outside pymalloc, and never freed: they do not count in
 * allocatedBlocks(), as they do not in sys.getallocatedblocks().
 */
import {
  IMMORTAL, OB_REFCNT, OBJ_MAGIC, OBJ_MAGIC_VALUE, TYPE_INFO, TP_BASICSIZE, TP_ITEMSIZE, TP_NAME, NONE, FALSE, TRUE,
  LONG_TAG, LONG_DIGITS, SIGN_POSITIVE, SIGN_ZERO, SIGN_NEGATIVE, NSMALLNEGINTS, NSMALLPOSINTS, EMPTY_STR,
  STR_UTF8_LENGTH, STR_UTF8, COMPACT_DATA, STATE_STATIC, EMPTY_BYTES, BYTES_DATA, T_NONE, T_BOOL, T_INT, T_STR,
  T_BYTES, T_TUPLE, EMPTY_TUPLE, GC_NEXT, GC_PREV, TUPLE_SIZE, TUPLE_ITEMS, typeRecord, smallInt, latin1Str, byteChar,
} from './layout';
import { initObject } from './header';
import { longTag } from './int';
import { strState, writeStrHeader, strData } from './str';
import { writeBytesHeader } from './bytes';
import type { ObjectMemory } from './memory';

function immortal(u32: Uint32Array, p: number): void {
  u32[(p + OB_REFCNT) >>> 2] = IMMORTAL;
}

/** A static int (or bool) of at most one digit. */
function staticLong(u32: Uint32Array, p: number, type: number, v: number): void {
  initObject(u32, p, typeRecord(type));
  immortal(u32, p);
  const sign = v === 0 ? SIGN_ZERO : v < 0 ? SIGN_NEGATIVE : SIGN_POSITIVE;
  u32[(p + LONG_TAG) >>> 2] = longTag(v === 0 ? 0 : 1, sign);
  u32[(p + LONG_TAG + 4) >>> 2] = 0;
  u32[(p + LONG_DIGITS) >>> 2] = Math.abs(v);
}

/** A static one-character (or empty) string; above U+007F with its 2-byte UTF-8 form after the data. */
function staticStr(m: ObjectMemory, p: number, c: number, length: number): void {
  const u32 = m.u32;
  writeStrHeader(m, p, typeRecord(T_STR), length, strState(c) | STATE_STATIC);
  immortal(u32, p);
  m.u8[strData(u32, p)] = c;
  if (c < 0x80) return;
  const utf8 = p + COMPACT_DATA + 2;
  u32[(p + STR_UTF8_LENGTH) >>> 2] = 2;
  u32[(p + STR_UTF8) >>> 2] = utf8;
  m.u8[utf8] = 0xc0 | (c >>> 6);
  m.u8[utf8 + 1] = 0x80 | (c & 0x3f);
  m.u8[utf8 + 2] = 0;
}

function staticBytes(m: ObjectMemory, p: number, data: readonly number[]): void {
  writeBytesHeader(m, p, typeRecord(T_BYTES), data.length);
  immortal(m.u32, p);
  for (let i = 0; i < data.length; i++) m.u8[p + BYTES_DATA + i] = data[i];
}

/** Writes them all, once per heap (heap.objects is made once), the magic word last. */
export function writeStatics(m: ObjectMemory): void {
  const u32 = m.u32;
  TYPE_INFO.forEach(([name, basicsize, itemsize], type) => {
    const record = typeRecord(type);
    u32[(record + TP_BASICSIZE) >>> 2] = basicsize;
    u32[(record + TP_ITEMSIZE) >>> 2] = itemsize;
    for (let i = 0; i < name.length; i++) m.u8[record + TP_NAME + i] = name.charCodeAt(i);
  });
  initObject(u32, NONE, typeRecord(T_NONE));
  immortal(u32, NONE);
  staticLong(u32, FALSE, T_BOOL, 0);
  staticLong(u32, TRUE, T_BOOL, 1);
  for (let v = -NSMALLNEGINTS; v < NSMALLPOSINTS; v++) staticLong(u32, smallInt(v), T_INT, v);
  staticStr(m, EMPTY_STR, 0, 0);
  for (let c = 0; c < 256; c++) staticStr(m, latin1Str(c), c, 1);
  staticBytes(m, EMPTY_BYTES, []);
  for (let c = 0; c < 256; c++) staticBytes(m, byteChar(c), [c]);
  // (), behind a GC head that stays zero: the collector never tracks it.
  initObject(u32, EMPTY_TUPLE, typeRecord(T_TUPLE));
  immortal(u32, EMPTY_TUPLE);
  u32.fill(0, (EMPTY_TUPLE + GC_NEXT) >>> 2, (EMPTY_TUPLE + GC_PREV + 8) >>> 2);
  u32.fill(0, (EMPTY_TUPLE + TUPLE_SIZE) >>> 2, (EMPTY_TUPLE + TUPLE_ITEMS) >>> 2);
  u32[OBJ_MAGIC >>> 2] = OBJ_MAGIC_VALUE;
}
