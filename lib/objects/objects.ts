/**
 * heap.objects: layer +3, CPython 3.12's objects in the heap. An object is a pointer (a region offset)
 * to a PyObject laid out as CPython lays it out (lib/objects/layout.ts); each type allocates with its
 * own policy (int.ts, float.ts, str.ts, bytes.ts, tuple.ts, list.ts, dict.ts) through the OBJ domain.
 *
 * References: every function that returns an object returns a new reference, which the caller gives
 * back with decref() (Py_DECREF), except the getters of items (tupleGet, listGet, dictGet, dictKeys,
 * dictItems), which return borrowed ones, as PyTuple_GET_ITEM and PyDict_GetItem do: incref to keep
 * one. Containers own references to their items: storing increfs, replacing and removing decref. At
 * zero an object is deallocated by its type's policy. Immortal objects (None, True, False, the small
 * ints, the one-character strings and bytes, (), interned strings) ignore incref and decref (PEP 683).
 *
 * Every argument is checked before anything changes: a pointer that holds no object, an object already
 * deallocated, a decref below zero, an object of the wrong type, an index out of range, a missing or
 * unhashable key is an error with a code.
 */
import { invalidArgType, objectError, outOfRange, hex, type ObjectErrorCode } from '../errors';
import {
  IMMORTAL, OB_REFCNT, OB_TYPE, OB_TYPE_DEAD, NONE, TRUE, FALSE, TYPE_INFO, T_STR, T_TUPLE, T_LIST, T_DICT, LIST_SIZE,
} from './layout';
import { typeOf, inObjectRange, isLiveObject, holdsObjects } from './header';
import { intFromNumber, intFromBigInt } from './int';
import { newFloat, inFloatFreeList } from './float';
import { strFromJS, isInterned, findInterned, addInterned } from './str';
import { bytesFromJS } from './bytes';
import { tupleFromItems, tupleSize, tupleItem } from './tuple';
import { listFromItems, listSize, listAllocated, listSlot, listResize, setSlot, moveSlots, clearList, listClearItems } from './list';
import { allocDict, dictSet, dictGet, dictDel, dictUsed, dictEntries, dictClear, writeEmptyKeys } from './dict';
import { Engine } from './engine';
import { TYPE_SLOTS } from './types';
import { fromJS, toJS } from './convert';
import type { PyJS, ToJSOptions } from './slots';
import { writeStatics } from './statics';
import { initCollector } from './gc-list';
import { ObjectHandle, handleRegistry, type HandleOwner } from './handle';
import type { ObjectMemory } from './memory';

export class Objects {
  /** Py_None, Py_True, Py_False: immortal static objects. */
  readonly None = NONE;
  readonly True = TRUE;
  readonly False = FALSE;
  /** @internal the unchecked core, shared with the collector */
  readonly engine: Engine;
  /** What handles give their references back to; the registry is made with the first handle. */
  private readonly handleOwner: HandleOwner = {
    drop: (q) => this.engine.drop(q),
    closed: () => this.m.u32.length === 0,
  };
  private handles: FinalizationRegistry<number> | undefined;

  /**
   * @internal the heap creates it on first use of heap.objects. A region that holds the layer already
   * (an image's: OBJ_MAGIC is set) keeps its statics, freelists and collector as they are.
   */
  constructor(
    private readonly m: ObjectMemory,
    private readonly maxBytes: number,
  ) {
    if (!holdsObjects(m.u32)) {
      writeStatics(m);
      writeEmptyKeys(m);
      initCollector(m.u32);
    }
    this.engine = new Engine(m);
  }

  /** An int: the cached object for -5..256, else a new one. A number must be an integer. */
  int(value: number | bigint): number {
    if (typeof value === 'bigint') return intFromBigInt(this.m, value);
    if (typeof value !== 'number') throw invalidArgType('value', 'number or bigint', value);
    if (Number.isSafeInteger(value)) return intFromNumber(this.m, value);
    if (!Number.isInteger(value)) throw outOfRange('value', "an integer (Python's int() of a non-integral float truncates; round it first)", value);
    return intFromBigInt(this.m, BigInt(value));
  }

  /** A float: the most recently freed float when the freelist has one. */
  float(value: number): number {
    if (typeof value !== 'number') throw invalidArgType('value', 'number', value);
    return newFloat(this.m, value);
  }

  /** A str in the narrowest kind that holds its widest character; '' and one latin-1 character are singletons. */
  str(value: string): number {
    if (typeof value !== 'string') throw invalidArgType('value', 'string', value);
    return strFromJS(this.m, value);
  }

  /** A bytes object copying `value`; b'' and one byte are singletons. */
  bytes(value: Uint8Array): number {
    if (!(value instanceof Uint8Array)) throw invalidArgType('value', 'Uint8Array', value);
    return bytesFromJS(this.m, value);
  }

  /** tuple(items): a tuple holding a reference to each item (PyTuple_Pack); () is a singleton. */
  tuple(items: ArrayLike<number>): number {
    this.checkItems(items, 'tuple');
    return tupleFromItems(this.m, items, (q) => this.engine.incref(q));
  }

  /** PyTuple_GET_ITEM: item i (borrowed). */
  tupleGet(t: number, i: number): number {
    this.expect(t, T_TUPLE, 'tupleGet');
    return tupleItem(this.m.u32, t, this.index(i, tupleSize(this.m.u32, t), 'tuple index out of range'));
  }

  tupleLen(t: number): number {
    this.expect(t, T_TUPLE, 'tupleLen');
    return tupleSize(this.m.u32, t);
  }

  /** list(items?): a list holding a reference to each item, its array sized to the items rounded up to even. */
  list(items: ArrayLike<number> = []): number {
    this.checkItems(items, 'list');
    return listFromItems(this.m, items, (q) => this.engine.incref(q), (q) => this.engine.drop(q));
  }

  /** list.append(v) (PyList_Append): the list takes a reference to v; the array grows by list_resize. */
  listAppend(l: number, v: number): void {
    this.expect(l, T_LIST, 'listAppend');
    this.objectType(v, 'listAppend');
    const u32 = this.m.u32;
    const n = listSize(u32, l);
    if (listAllocated(u32, l) > n) u32[(l + LIST_SIZE) >>> 2] = n + 1;
    else listResize(this.m, l, n + 1);
    this.engine.incref(v);
    setSlot(u32, l, n, v);
  }

  /** l[i] (PyList_GET_ITEM, borrowed); a negative i counts from the end. */
  listGet(l: number, i: number): number {
    this.expect(l, T_LIST, 'listGet');
    const u32 = this.m.u32;
    return u32[listSlot(u32, l, this.index(i, listSize(u32, l), 'list index out of range')) >>> 2];
  }

  /** l[i] = v: the list takes a reference to v and drops the one it held. */
  listSet(l: number, i: number, v: number): void {
    this.expect(l, T_LIST, 'listSet');
    this.objectType(v, 'listSet');
    const u32 = this.m.u32;
    const at = this.index(i, listSize(u32, l), 'list assignment index out of range');
    const old = u32[listSlot(u32, l, at) >>> 2];
    this.engine.incref(v);
    setSlot(u32, l, at, v);
    this.engine.drop(old);
  }

  /** list.insert(i, v): i clamped to [0, len] after a negative i counts from the end, as in Python. */
  listInsert(l: number, i: number, v: number): void {
    this.expect(l, T_LIST, 'listInsert');
    this.objectType(v, 'listInsert');
    this.checkInteger(i, 'i');
    const u32 = this.m.u32;
    const n = listSize(u32, l);
    const at = i < 0 ? Math.max(0, i + n) : Math.min(i, n);
    listResize(this.m, l, n + 1);
    moveSlots(u32, l, at, n, 1);
    this.engine.incref(v);
    setSlot(u32, l, at, v);
  }

  /** list.pop(i = -1): removes item i and returns it (the list's reference, now the caller's). */
  listPop(l: number, i = -1): number {
    this.expect(l, T_LIST, 'listPop');
    const u32 = this.m.u32;
    const n = listSize(u32, l);
    if (n === 0) throw objectError('ERR_PYMEM_INDEX_ERROR', 'pop from empty list');
    const at = this.index(i, n, 'pop index out of range');
    const v = u32[listSlot(u32, l, at) >>> 2];
    if (n === 1) {
      clearList(this.m, l);
      return v;
    }
    moveSlots(u32, l, at + 1, n, -1);
    listResize(this.m, l, n - 1);
    return v;
  }

  /** list.clear() (_list_clear): every item dropped, from the last; the items array freed. */
  listClear(l: number): void {
    this.expect(l, T_LIST, 'listClear');
    this.engine.clear(l, listClearItems);
  }

  listLen(l: number): number {
    this.expect(l, T_LIST, 'listLen');
    return listSize(this.m.u32, l);
  }

  /** The slots of the item array (list.allocated). */
  listCapacity(l: number): number {
    this.expect(l, T_LIST, 'listCapacity');
    return listAllocated(this.m.u32, l);
  }

  /** dict(entries?): a dict of [key, value] pointer pairs, inserted in order (a later equal key replaces the value). */
  dict(entries: Iterable<readonly [number, number]> = []): number {
    const pairs = [...entries];
    for (const pair of pairs) {
      if (!Array.isArray(pair) || pair.length !== 2) throw invalidArgType('entries', 'an iterable of [key, value] pairs', pair);
      this.objectType(pair[0], 'dict');
      this.objectType(pair[1], 'dict');
      this.engine.hash(pair[0]); // an unhashable key fails before anything is made
    }
    const d = allocDict(this.m);
    try {
      for (const [key, value] of pairs) dictSet(this.engine, d, key, value);
    } catch (error) {
      this.engine.drop(d);
      throw error;
    }
    return d;
  }

  /** d[key] as PyDict_GetItem: the value (borrowed), or 0 when key is absent. */
  dictGet(d: number, key: number): number {
    this.expect(d, T_DICT, 'dictGet');
    this.objectType(key, 'dictGet');
    return dictGet(this.engine, d, key);
  }

  /** d[key] = value: the dict takes references to both; an equal key already there stays, its value replaced. */
  dictSet(d: number, key: number, value: number): void {
    this.expect(d, T_DICT, 'dictSet');
    this.objectType(key, 'dictSet');
    this.objectType(value, 'dictSet');
    dictSet(this.engine, d, key, value);
  }

  /** del d[key]: KeyError (ERR_PYMEM_KEY_ERROR) when absent. */
  dictDel(d: number, key: number): void {
    this.expect(d, T_DICT, 'dictDel');
    this.objectType(key, 'dictDel');
    if (!dictDel(this.engine, d, key)) throw objectError('ERR_PYMEM_KEY_ERROR', `KeyError: ${this.describe(key)}`);
  }

  /** dict.clear() (PyDict_Clear): every entry dropped; the dict shares Py_EMPTY_KEYS again. */
  dictClear(d: number): void {
    this.expect(d, T_DICT, 'dictClear');
    this.engine.clear(d, dictClear);
  }

  dictLen(d: number): number {
    this.expect(d, T_DICT, 'dictLen');
    return dictUsed(this.m.u32, d);
  }

  /** The keys in insertion order (borrowed). */
  dictKeys(d: number): number[] {
    this.expect(d, T_DICT, 'dictKeys');
    return dictEntries(this.m, d).map(([key]) => key);
  }

  /** The [key, value] pairs in insertion order (borrowed). */
  dictItems(d: number): [number, number][] {
    this.expect(d, T_DICT, 'dictItems');
    return dictEntries(this.m, d);
  }

  /**
   * The object for a JS value: null and undefined are None, booleans True and False, an integral
   * number an int (but -0 a float, to keep its sign), any other number a float, a bigint an int, a
   * string a str, a Uint8Array (a Buffer too) bytes, an array a list, a plain object or a Map a dict,
   * a Tuple a tuple. Anything else, or a cycle, is an error, and nothing stays allocated.
   */
  fromJS(value: unknown): number {
    return fromJS(this.engine, value);
  }

  /** The JS value of an object (see fromJS; bytes come back as a copy). The reference is not consumed. */
  toJS(p: number, options: ToJSOptions = {}): PyJS {
    this.objectType(p, 'toJS');
    if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'object', options);
    return toJS(this.engine, p, options);
  }

  /** Py_INCREF: no effect on an immortal object. */
  incref(p: number): void {
    this.objectType(p, 'incref');
    this.engine.incref(p);
  }

  /** Py_DECREF: no effect on an immortal object; at zero, the object is deallocated by its type's policy. */
  decref(p: number): void {
    this.objectType(p, 'decref');
    this.engine.drop(p);
  }

  /** The reference count (sys.getrefcount without its own temporary reference); 4294967295 when immortal. */
  refcount(p: number): number {
    this.objectType(p, 'refcount');
    return this.m.u32[(p + OB_REFCNT) >>> 2];
  }

  isImmortal(p: number): boolean {
    this.objectType(p, 'isImmortal');
    return this.m.u32[(p + OB_REFCNT) >>> 2] === IMMORTAL;
  }

  /** type(obj).__name__. */
  typeName(p: number): string {
    return TYPE_INFO[this.objectType(p, 'typeName')][0];
  }

  /** sys.getsizeof() of the equal object in CPython 3.12 on 64-bit (a container's GC head included). */
  sizeof(p: number): number {
    return TYPE_SLOTS[this.objectType(p, 'sizeof')].sizeof(this.m, p);
  }

  /**
   * PyObject_RichCompareBool(a, b, Py_EQ): the same object is equal to itself (a NaN float too, as in
   * `x in [x]`); numbers compare by value across bool, int and float, exactly (2**53 + 1 != 2.0**53);
   * str with str and bytes with bytes by content (str never equals bytes); tuples and lists item by
   * item, dicts by keys and values.
   */
  equals(a: number, b: number): boolean {
    this.objectType(a, 'equals');
    this.objectType(b, 'equals');
    return this.engine.equals(a, b);
  }

  /**
   * hash(obj) as CPython 3.12 computes it with PYTHONHASHSEED=0 (see lib/objects/hash.ts): a Py_hash_t.
   * Lists, dicts and tuples holding them are unhashable: a TypeError (ERR_PYMEM_WRONG_TYPE).
   */
  hash(p: number): bigint {
    this.objectType(p, 'hash');
    return this.engine.hash(p);
  }

  /**
   * sys.intern / PyUnicode_InternInPlace: takes the caller's reference to the str p and returns a
   * reference to the interned string equal to it: p itself, made immortal, when none was interned
   * before; else the earlier one, and p is decref'd. MemoryError (p untouched, still the caller's)
   * when the table cannot grow.
   */
  intern(p: number): number {
    const type = this.objectType(p, 'intern');
    if (type !== T_STR) throw this.objectFault('ERR_PYMEM_WRONG_TYPE', 'intern', p, `intern() argument must be str, not ${TYPE_INFO[type][0]}`);
    const m = this.m;
    if (isInterned(m.u32, p)) return p;
    const earlier = findInterned(m, p);
    if (earlier !== 0) {
      this.engine.drop(p);
      return earlier;
    }
    addInterned(m, p);
    return p;
  }

  /** Whether p is interned. */
  isInterned(p: number): boolean {
    const type = this.objectType(p, 'isInterned');
    return type === T_STR && isInterned(this.m.u32, p);
  }

  /**
   * A handle that owns the caller's reference to p: the reference is the handle's now (as
   * PyTuple_SET_ITEM steals one; incref first to keep one of your own). The handle gives it back when
   * V8 collects the handle, or at once with handle.release(). See lib/objects/handle.ts for when each
   * is right.
   */
  handle(p: number): ObjectHandle {
    this.objectType(p, 'handle');
    this.handles ??= handleRegistry(this.handleOwner);
    return new ObjectHandle(p, this.handleOwner, this.handles);
  }

  /** Gives every object parked in a freelist back to the allocator (_PyGC_ClearAllFreeLists). */
  clearFreeLists(): void {
    for (const slots of TYPE_SLOTS) if (slots.clearFreeList !== null) slots.clearFreeList(this.m);
  }

  /** Whether p is a live object of this heap. */
  isObject(p: number): boolean {
    return isLiveObject(this.m.u32, this.maxBytes, p);
  }

  /** Checks that p is an object of `type`. */
  private expect(p: number, type: number, fn: string): void {
    const actual = this.objectType(p, fn);
    if (actual !== type) throw this.objectFault('ERR_PYMEM_WRONG_TYPE', fn, p, `${fn}() argument must be ${TYPE_INFO[type][0]}, not ${TYPE_INFO[actual][0]}`);
  }

  private checkItems(items: ArrayLike<number>, fn: string): void {
    if (typeof items !== 'object' || items === null || typeof items.length !== 'number') throw invalidArgType('items', 'an array of objects', items);
    for (let i = 0; i < items.length; i++) this.objectType(items[i], fn);
  }

  private checkInteger(i: number, name: string): void {
    if (typeof i !== 'number') throw invalidArgType(name, 'number', i);
    if (!Number.isSafeInteger(i)) throw outOfRange(name, 'an integer', i);
  }

  /** An index into n items: a negative one counts from the end; out of range is IndexError with CPython's words. */
  private index(i: number, n: number, message: string): number {
    this.checkInteger(i, 'i');
    const at = i < 0 ? i + n : i;
    if (at < 0 || at >= n) throw objectError('ERR_PYMEM_INDEX_ERROR', message);
    return at;
  }

  /** repr()-like text of a key, for KeyError. */
  private describe(key: number): string {
    const value = toJS(this.engine, key, {});
    return typeof value === 'string' ? `'${value}'` : String(value);
  }

  /** @internal the check every method makes of an object argument, for another API (heap.gc): its type number. */
  checked(p: number, fn: string, api: string): number {
    return this.objectType(p, fn, api);
  }

  /** The type number of the object p, or the error that says why p is not a live object. */
  private objectType(p: number, fn: string, api = 'heap.objects'): number {
    if (inObjectRange(this.maxBytes, p)) {
      const type = typeOf(this.m.u32, p);
      if (type >= 0 && this.m.u32[(p + OB_REFCNT) >>> 2] !== 0) return type;
      if (type >= 0 && fn === 'decref') throw this.objectFault('ERR_PYMEM_NEGATIVE_REFCOUNT', fn, p, 'its reference count is already 0: one decref too many', api);
      if (type >= 0) throw this.objectFault('ERR_PYMEM_OBJECT_FREED', fn, p, 'its reference count is 0: it was deallocated (a tuple, list or dict parked in its freelist keeps its type)', api);
      const field = this.m.u32[(p + OB_TYPE) >>> 2];
      if (inFloatFreeList(this.m.u32, p)) throw this.objectFault('ERR_PYMEM_OBJECT_FREED', fn, p, 'it is a deallocated float, parked in the float freelist', api);
      const pattern = field === this.m.u32[(p + OB_TYPE + 4) >>> 2] ? FILLS.get(field) : undefined;
      if (pattern !== undefined) throw this.objectFault(pattern[0], fn, p, pattern[1], api);
      throw this.objectFault('ERR_PYMEM_NOT_AN_OBJECT', fn, p, `its type field (${hex(field)}) is no type of this heap: it was never an object, or was freed and reused`, api);
    }
    if (typeof p !== 'number') throw invalidArgType('p', 'number', p);
    if (p === 0) throw this.objectFault('ERR_PYMEM_NOT_AN_OBJECT', fn, p, 'it is NULL', api);
    throw this.objectFault('ERR_PYMEM_NOT_AN_OBJECT', fn, p, Number.isInteger(p) && p >= 0 && p % 16 !== 0 ? 'it is not 16-byte aligned' : "it is not an offset inside the heap's region", api);
  }

  private objectFault(code: ObjectErrorCode, fn: string, p: number, why: string, api = 'heap.objects'): Error {
    const at = typeof p === 'number' && Number.isInteger(p) && p >= 0 ? hex(p) : String(p);
    return objectError(code, `${api}.${fn}(${at}): ${why}`);
  }
}

/** What a type field filled with a pattern says: deallocated (the deallocators' mark), never an object (NULL), or a debug hooks' fill. */
const FILLS = new Map<number, [ObjectErrorCode, string]>([
  [OB_TYPE_DEAD, ['ERR_PYMEM_OBJECT_FREED', "its type field holds the deallocators' mark (0xDEADBEEF): the object was deallocated"]],
  [0, ['ERR_PYMEM_NOT_AN_OBJECT', 'its type field is NULL: the block was never made an object (or was zeroed since)']],
  [0xdddddddd, ['ERR_PYMEM_OBJECT_FREED', "its type field holds the debug hooks' dead bytes (0xDD): the object was freed"]],
  [0xcdcdcdcd, ['ERR_PYMEM_NOT_AN_OBJECT', "its type field holds the debug hooks' clean bytes (0xCD): a block allocated but never made an object"]],
  [0xfdfdfdfd, ['ERR_PYMEM_NOT_AN_OBJECT', "its type field holds the debug hooks' forbidden bytes (0xFD): past the end of a block"]],
]);

