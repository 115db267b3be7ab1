/**
 * heap.check() for the objects layer: the type records, every static object, the float freelist and
 * the interned table, read from the region without writing a byte. Throws HeapCorruptionError naming
 * the first invariant broken. Linear in the statics, the freelist and the table; for tests and debugging.
 */
import { HeapCorruptionError, hex } from '../errors';
import {
  IMMORTAL, OB_REFCNT, OB_TYPE, TYPE_INFO, TP_BASICSIZE, TP_ITEMSIZE, TP_NAME, NONE, FALSE, TRUE, NSMALLNEGINTS,
  NSMALLPOSINTS, EMPTY_STR, EMPTY_BYTES, STR_HASH, STR_STATE, STATE_INTERNED_MASK, STATE_STATIC, OBJ_FLOAT_FREE,
  OBJ_FLOAT_NUMFREE, BYTES_DATA, OBJ_INTERNED_TABLE, OBJ_INTERNED_MASK, OBJ_INTERNED_USED, T_NONE, T_BOOL, T_INT, T_STR, T_BYTES,
  typeRecord, smallInt, latin1Str, byteChar,
} from './layout';
import { typeOf } from './header';
import { digitCount, intToSafeNumber } from './int';
import { strData, strLength, strState } from './str';
import { bytesLength } from './bytes';
import { FLOAT_MAXFREELIST } from './float';
import { tupleNumFree, tupleItem, tupleSize } from './tuple';
import {
  EMPTY_TUPLE, EMPTY_KEYS, DK_REFCNT, DK_LOG2_SIZE, DK_USABLE, DK_KIND, DK_INDICES, DICT_LOG_MINSIZE, DICT_KEYS_UNICODE,
  TUPLE_MAXSAVESIZE, TUPLE_MAXFREELIST, OBJ_TUPLE_FREE, OBJ_LIST_NUMFREE, OBJ_LIST_FREE, LIST_MAXFREELIST, OBJ_DICT_NUMFREE,
  OBJ_DICT_FREE, DICT_MAXFREELIST, OBJ_KEYS_NUMFREE, OBJ_KEYS_FREE, T_TUPLE, T_LIST, T_DICT, GC_HEAD, HEAD_NEXT, HEAD_PREV,
  HEAD_FLAGS, HEAD_REFS, GC_PERMANENT, GC_UNREACHABLE, GC_COLLECTING, GC_ENABLED, genHead,
} from './layout';

function fail(invariant: string, detail: string): never {
  throw new HeapCorruptionError(`objects.${invariant}`, detail);
}

export function checkObjects(u32: Uint32Array, limit: number): void {
  const u8 = new Uint8Array(u32.buffer);
  const at = (offset: number): number => u32[offset >>> 2];

  TYPE_INFO.forEach(([name, basicsize, itemsize], type) => {
    const record = typeRecord(type);
    let stored = '';
    for (let i = record + TP_NAME; u8[i] !== 0; i++) stored += String.fromCharCode(u8[i]);
    if (stored !== name || at(record + TP_BASICSIZE) !== basicsize || at(record + TP_ITEMSIZE) !== itemsize) {
      fail('type.record', `the type record at ${hex(record)} reads '${stored}' (${at(record + TP_BASICSIZE)}, ${at(record + TP_ITEMSIZE)}), not '${name}'`);
    }
  });

  const expectStatic = (p: number, type: number, what: string): void => {
    if (typeOf(u32, p) !== type || at(p + OB_REFCNT) !== IMMORTAL || at(p + OB_REFCNT + 4) !== 0) {
      fail('static', `${what} at ${hex(p)} is no longer an immortal ${TYPE_INFO[type][0]}`);
    }
  };
  expectStatic(NONE, T_NONE, 'None');
  expectStatic(FALSE, T_BOOL, 'False');
  expectStatic(TRUE, T_BOOL, 'True');
  if (intToSafeNumber(u32, FALSE) !== 0 || intToSafeNumber(u32, TRUE) !== 1) fail('static', 'False or True holds another value');
  for (let v = -NSMALLNEGINTS; v < NSMALLPOSINTS; v++) {
    const p = smallInt(v);
    expectStatic(p, T_INT, `the small int ${v}`);
    if (intToSafeNumber(u32, p) !== v || digitCount(u32, p) !== (v === 0 ? 0 : 1)) fail('static', `the small int at ${hex(p)} does not hold ${v}`);
  }
  const expectStr = (p: number, length: number, c: number): void => {
    expectStatic(p, T_STR, `the static string ${JSON.stringify(String.fromCharCode(c).slice(0, length))}`);
    const state = at(p + STR_STATE) & ~STATE_INTERNED_MASK;
    const data = strData(u32, p);
    if (state !== (strState(c) | STATE_STATIC) || strLength(u32, p) !== length || (length === 1 && u8[data] !== c) || u8[data + length] !== 0) {
      fail('static', `the static string at ${hex(p)} does not hold ${length} character ${hex(c)}`);
    }
  };
  expectStr(EMPTY_STR, 0, 0);
  for (let c = 0; c < 256; c++) expectStr(latin1Str(c), 1, c);
  const expectBytes = (p: number, data: number[]): void => {
    expectStatic(p, T_BYTES, 'a static bytes object');
    if (bytesLength(u32, p) !== data.length || data.some((byte, i) => u8[p + BYTES_DATA + i] !== byte) || u8[p + BYTES_DATA + data.length] !== 0) {
      fail('static', `the static bytes object at ${hex(p)} does not hold ${JSON.stringify(data)}`);
    }
  };
  expectBytes(EMPTY_BYTES, []);
  for (let c = 0; c < 256; c++) expectBytes(byteChar(c), [c]);

  // The float freelist: numfree parked floats, refcount 0, linked through ob_type, ending in NULL.
  const numfree = at(OBJ_FLOAT_NUMFREE);
  if (numfree > FLOAT_MAXFREELIST) fail('float.numfree', `${numfree} floats parked, more than ${FLOAT_MAXFREELIST}`);
  let p = at(OBJ_FLOAT_FREE);
  for (let n = 0; n < numfree; n++, p = at(p + OB_TYPE)) {
    if (p === 0 || p % 16 !== 0 || p + 24 > limit) fail('float.link', `link ${n} of the float freelist is ${hex(p)}, with ${numfree} floats parked`);
    if (at(p + OB_REFCNT) !== 0 || at(p + OB_TYPE + 4) !== 0) fail('float.parked', `the parked float at ${hex(p)} has a reference count or a type`);
  }
  if (p !== 0) fail('float.link', `the float freelist goes on past its ${numfree} floats, to ${hex(p)}`);

  checkContainerFreeLists(u32, u8, limit);
  checkCollector(u32, limit);

  // The interned table: a power of two of slots, at most two thirds used, every string in it
  // interned, immortal and found by probing from its hash.
  const table = at(OBJ_INTERNED_TABLE);
  const mask = at(OBJ_INTERNED_MASK);
  const used = at(OBJ_INTERNED_USED);
  if (table === 0) {
    if (mask !== 0 || used !== 0) fail('interned.table', `no table, but mask ${mask} and ${used} strings`);
    return;
  }
  if ((mask & (mask + 1)) !== 0 || used * 3 > (mask + 1) * 2) fail('interned.table', `${used} strings in ${mask + 1} slots`);
  let count = 0;
  for (let i = 0; i <= mask; i++) {
    const q = at(table + 4 * i);
    if (q === 0) continue;
    count++;
    if (q % 16 !== 0 || q + 16 > limit || typeOf(u32, q) !== T_STR || (at(q + STR_STATE) & STATE_INTERNED_MASK) === 0 || at(q + OB_REFCNT) !== IMMORTAL) {
      fail('interned.entry', `slot ${i} holds ${hex(q)}, not an interned immortal str`);
    }
    let j = at(q + STR_HASH) & mask;
    while (at(table + 4 * j) !== q && at(table + 4 * j) !== 0) j = (j + 1) & mask;
    if (j !== i) fail('interned.probe', `the str at ${hex(q)} in slot ${i} is not found by probing from its hash`);
  }
  if (count !== used) fail('interned.used', `${count} strings in the table, ${used} counted`);
}

/**
 * The collector's lists, outside a collection: each circular and doubly linked from its head, every
 * element a live container on no other list, with no collection state left in its GC head; the
 * unreachable list empty; the flags 0 or 1.
 */
function checkCollector(u32: Uint32Array, limit: number): void {
  const at = (offset: number): number => u32[offset >>> 2];
  if (at(GC_COLLECTING) > 1 || at(GC_ENABLED) > 1) fail('gc.state', `collecting ${at(GC_COLLECTING)}, enabled ${at(GC_ENABLED)}: each must be 0 or 1`);
  const seen = new Set<number>();
  const heads: [number, string][] = [[genHead(0), 'generation 0'], [genHead(1), 'generation 1'], [genHead(2), 'generation 2'], [GC_PERMANENT, 'the permanent generation'], [GC_UNREACHABLE, 'the unreachable list']];
  for (const [head, name] of heads) {
    let before = head;
    for (let h = at(head + HEAD_NEXT); h !== head; before = h, h = at(h + HEAD_NEXT)) {
      const p = h + GC_HEAD;
      if (h % 16 !== 0 || p + 16 > limit || seen.has(h)) fail('gc.link', `${name} links to ${hex(h)} after ${hex(before)}: not a GC head, or one already listed`);
      const type = typeOf(u32, p);
      if ((type !== T_TUPLE && type !== T_LIST && type !== T_DICT) || at(p + OB_REFCNT) === 0) fail('gc.object', `${name} holds ${hex(p)}, which is no live container`);
      if (at(h + HEAD_PREV) !== before) fail('gc.link', `the ${TYPE_INFO[type][0]} at ${hex(p)} in ${name} links back to ${hex(at(h + HEAD_PREV))}, not ${hex(before)}`);
      if (at(h + HEAD_FLAGS) !== 0 || at(h + HEAD_REFS) !== 0) fail('gc.state', `the ${TYPE_INFO[type][0]} at ${hex(p)} keeps a collection's state outside a collection`);
      seen.add(h);
    }
    if (at(head + HEAD_PREV) !== before) fail('gc.link', `the head of ${name} links back to ${hex(at(head + HEAD_PREV))}, not its last element ${hex(before)}`);
    if (head === GC_UNREACHABLE && before !== head) fail('gc.state', 'the unreachable list holds objects outside a collection');
  }
}

/** The statics of the containers, and the tuple, list, dict and keys freelists. */
function checkContainerFreeLists(u32: Uint32Array, u8: Uint8Array, limit: number): void {
  const at = (offset: number): number => u32[offset >>> 2];
  if (typeOf(u32, EMPTY_TUPLE) !== T_TUPLE || at(EMPTY_TUPLE + OB_REFCNT) !== IMMORTAL || tupleSize(u32, EMPTY_TUPLE) !== 0) fail('static', 'the empty tuple is no longer an immortal ()');
  if (at(EMPTY_KEYS + DK_REFCNT) !== IMMORTAL || u8[EMPTY_KEYS + DK_LOG2_SIZE] !== DICT_LOG_MINSIZE || at(EMPTY_KEYS + DK_USABLE) !== 0) fail('static', 'Py_EMPTY_KEYS was changed');
  // A parked container keeps its type, with a refcount of 0, and lies in the region.
  const parked = (p: number, type: number, what: string): void => {
    if (p === 0 || p % 16 !== 0 || p + 16 > limit || typeOf(u32, p) !== type || at(p + OB_REFCNT) !== 0) fail('parked', `${what} holds ${hex(p)}, not a parked ${TYPE_INFO[type][0]}`);
    if (u32.subarray((p - GC_HEAD) >>> 2, p >>> 2).some((word) => word !== 0)) fail('parked.tracked', `the parked ${TYPE_INFO[type][0]} at ${hex(p)} is still on a collector's list`);
  };
  for (let n = 1; n <= TUPLE_MAXSAVESIZE; n++) {
    const numfree = tupleNumFree(u32, n);
    if (numfree > TUPLE_MAXFREELIST) fail('tuple.numfree', `${numfree} tuples of length ${n} parked, more than ${TUPLE_MAXFREELIST}`);
    let p = at(OBJ_TUPLE_FREE + 4 * (n - 1));
    for (let i = 0; i < numfree; i++, p = tupleItem(u32, p, 0)) {
      parked(p, T_TUPLE, `link ${i} of the ${n}-tuple freelist`);
      if (tupleSize(u32, p) !== n) fail('tuple.length', `a tuple of length ${tupleSize(u32, p)} is parked among those of length ${n}`);
    }
    if (p !== 0) fail('tuple.link', `the ${n}-tuple freelist goes on past its ${numfree} tuples`);
  }
  const stack = (count: number, base: number, max: number, type: number, what: string): void => {
    const n = at(count);
    if (n > max) fail(`${what}.numfree`, `${n} parked, more than ${max}`);
    for (let i = 0; i < n; i++) {
      const p = at(base + 4 * i);
      if (type >= 0) parked(p, type, `slot ${i} of the ${what} freelist`);
      else if (p === 0 || p % 16 !== 0 || p + DK_INDICES > limit || u8[p + DK_LOG2_SIZE] !== DICT_LOG_MINSIZE || u8[p + DK_KIND] !== DICT_KEYS_UNICODE) fail('parked', `slot ${i} of the keys freelist holds ${hex(p)}, not minimum-size str keys`);
    }
  };
  stack(OBJ_LIST_NUMFREE, OBJ_LIST_FREE, LIST_MAXFREELIST, T_LIST, 'list');
  stack(OBJ_DICT_NUMFREE, OBJ_DICT_FREE, DICT_MAXFREELIST, T_DICT, 'dict');
  stack(OBJ_KEYS_NUMFREE, OBJ_KEYS_FREE, DICT_MAXFREELIST, -1, 'keys');
}
