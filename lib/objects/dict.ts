/**
 * dict (Objects/dictobject.c, 3.12): the compact ordered table. A 48-byte object behind its GC head
 * (from a freelist of 80) points at a keys object: an index table of 2^k slots, 1, 2, 4 or 8 bytes
 * each by its size, holding the numbers of the entries, which follow in insertion order. While every
 * key is a str the entries are 16 bytes (key, value: a str keeps its hash); the first other key turns
 * the table general (24 bytes: hash, key, value). A table holds USABLE_FRACTION (2/3) of its slots;
 * inserting into a full one resizes to the smallest power of two >= used x 3 (GROWTH_RATE), dropping
 * deleted entries. Empty dicts share the static Py_EMPTY_KEYS. Minimum-size str-key tables are kept on
 * a freelist of 80 too. Probing follows CPython's: i = 5 i + perturb + 1, perturb >>= 5, over the full
 * 64-bit hash, so every table holds its entries where CPython's would.
 */
import {
  DICT_USED, DICT_KEYS, DICT_BASICSIZE, DK_REFCNT, DK_LOG2_SIZE,
  DK_LOG2_INDEX_BYTES, DK_KIND, DK_VERSION, DK_USABLE, DK_NENTRIES, DK_INDICES, DICT_KEYS_GENERAL, DICT_KEYS_UNICODE,
  GENERAL_ENTRY, UNICODE_ENTRY, DKIX_EMPTY, DKIX_DUMMY, DICT_LOG_MINSIZE, DICT_MAXFREELIST,
  OBJ_DICT_NUMFREE, OBJ_KEYS_NUMFREE, EMPTY_KEYS, T_DICT, T_STR, STR_HASH, IMMORTAL, typeRecord,
  OBJ_DICT_FREE, OBJ_KEYS_FREE, GC_HEAD,
} from './layout';
import { typeOf, freeContainer, allocContainer } from './header';
import { takeParked, park, drainParked } from './freelist';
import { isTracked, mayBeTracked, track, untrack } from './gc-list';
import { noMemory, type ObjectMemory } from './memory';
import { HASH_LO, HASH_HI, unhashable } from './hash';
import { strToJS } from './str';
import { expectParked, expectStack, objectsCorrupt } from './invariants';
import { Rebuild, EQUAL, UNEQUAL, NOT_IMPLEMENTED, type DictOps, type ObjectCore, type PyJS, type ToJSOptions, type TypeSlots } from './slots';
import { hex } from '../errors';

const DICT_TYPE = typeRecord(T_DICT);
const PERTURB_SHIFT = 5;

export function dictUsed(u32: Uint32Array, d: number): number {
  return u32[(d + DICT_USED) >>> 2];
}

export function dictKeysObject(u32: Uint32Array, d: number): number {
  return u32[(d + DICT_KEYS) >>> 2];
}

function log2Size(u8: Uint8Array, k: number): number {
  return u8[k + DK_LOG2_SIZE];
}

function isUnicode(u8: Uint8Array, k: number): boolean {
  return u8[k + DK_KIND] === DICT_KEYS_UNICODE;
}

/** USABLE_FRACTION: 2/3 of the slots. */
export function usableFraction(size: number): number {
  return Math.floor((size << 1) / 3);
}

/** The first entry of keys object k: after its index table. */
export function entries(u8: Uint8Array, k: number): number {
  return k + DK_INDICES + 2 ** u8[k + DK_LOG2_INDEX_BYTES];
}

export function entrySize(u8: Uint8Array, k: number): number {
  return isUnicode(u8, k) ? UNICODE_ENTRY : GENERAL_ENTRY;
}

/** Entry ix's key, value and (general tables) hash fields. */
export function entryKey(m: ObjectMemory, k: number, ix: number): number {
  const e = entries(m.u8, k) + ix * entrySize(m.u8, k);
  return m.u32[(e + (isUnicode(m.u8, k) ? 0 : 8)) >>> 2];
}
export function entryValue(m: ObjectMemory, k: number, ix: number): number {
  const e = entries(m.u8, k) + ix * entrySize(m.u8, k);
  return m.u32[(e + (isUnicode(m.u8, k) ? 8 : 16)) >>> 2];
}

function setEntry(m: ObjectMemory, k: number, ix: number, hash: Uint32Array, key: number, value: number): void {
  const u32 = m.u32;
  const e = entries(m.u8, k) + ix * entrySize(m.u8, k);
  if (isUnicode(m.u8, k)) {
    u32[e >>> 2] = key;
    u32[(e + 8) >>> 2] = value;
  } else {
    u32[e >>> 2] = hash[HASH_LO];
    u32[(e + 4) >>> 2] = hash[HASH_HI];
    u32[(e + 8) >>> 2] = key;
    u32[(e + 16) >>> 2] = value;
  }
}

function setValue(m: ObjectMemory, k: number, ix: number, value: number): void {
  const e = entries(m.u8, k) + ix * entrySize(m.u8, k);
  m.u32[(e + (isUnicode(m.u8, k) ? 8 : 16)) >>> 2] = value;
}

/** The stored hash of entry ix: the entry's own, or its str key's cached one. */
function entryHash(m: ObjectMemory, k: number, ix: number, out: Uint32Array): void {
  const u32 = m.u32;
  const e = entries(m.u8, k) + ix * entrySize(m.u8, k);
  const at = isUnicode(m.u8, k) ? u32[e >>> 2] + STR_HASH : e;
  out[HASH_LO] = u32[at >>> 2];
  out[HASH_HI] = u32[(at + 4) >>> 2];
}

/**
 * dictkeys_get_index: slot i of the index table, signed (-1 empty, -2 deleted). Slots are 1 byte
 * below 2^8 slots, 2 below 2^16, else 4 (CPython's 8-byte slots start at 2^32 slots, more than a
 * region of at most 4 GiB can hold).
 */
function getIndex(m: ObjectMemory, k: number, i: number): number {
  const width = m.u8[k + DK_LOG2_INDEX_BYTES] - m.u8[k + DK_LOG2_SIZE];
  const at = k + DK_INDICES;
  if (width === 0) return (m.u8[at + i] << 24) >> 24;
  if (width === 1) return (m.u16[(at >>> 1) + i] << 16) >> 16;
  return m.u32[(at >>> 2) + i] | 0;
}

function setIndex(m: ObjectMemory, k: number, i: number, ix: number): void {
  const width = m.u8[k + DK_LOG2_INDEX_BYTES] - m.u8[k + DK_LOG2_SIZE];
  const at = k + DK_INDICES;
  if (width === 0) m.u8[at + i] = ix & 0xff;
  else if (width === 1) m.u16[(at >>> 1) + i] = ix & 0xffff;
  else m.u32[(at >>> 2) + i] = ix >>> 0;
}

// The probe's state: perturb (64-bit, unsigned) as two words, and the slot.
let perturbLo = 0;
let perturbHi = 0;

function probeStart(hash: Uint32Array, mask: number): number {
  perturbLo = hash[HASH_LO];
  perturbHi = hash[HASH_HI];
  return perturbLo & mask;
}

function probeNext(i: number, mask: number): number {
  perturbLo = ((perturbLo >>> PERTURB_SHIFT) | (perturbHi << (32 - PERTURB_SHIFT))) >>> 0;
  perturbHi >>>= PERTURB_SHIFT;
  return (i * 5 + perturbLo + 1) & mask;
}

/** find_empty_slot: the first slot of the probe sequence that is empty or deleted. */
function findEmptySlot(m: ObjectMemory, k: number, hash: Uint32Array): number {
  const mask = 2 ** log2Size(m.u8, k) - 1;
  let i = probeStart(hash, mask);
  while (getIndex(m, k, i) >= 0) i = probeNext(i, mask);
  return i;
}

const FOUND_HASH = new Uint32Array(2);

/**
 * _Py_dict_lookup: the entry number of key in k, or DKIX_EMPTY. `slot` receives the index slot that
 * holds it (lookdict_index's answer, for deletion).
 */
function lookup(ops: DictOps, k: number, key: number, hash: Uint32Array, slot?: { at: number }): number {
  const m = ops.m;
  const mask = 2 ** log2Size(m.u8, k) - 1;
  let i = probeStart(hash, mask);
  for (let ix = getIndex(m, k, i); ix !== DKIX_EMPTY; ix = getIndex(m, k, i)) {
    if (ix >= 0) {
      const other = entryKey(m, k, ix);
      if (other === key) return found(slot, i, ix);
      entryHash(m, k, ix, FOUND_HASH);
      if (FOUND_HASH[HASH_LO] === hash[HASH_LO] && FOUND_HASH[HASH_HI] === hash[HASH_HI] && ops.equals(other, key)) return found(slot, i, ix);
    }
    i = probeNext(i, mask);
  }
  return DKIX_EMPTY;
}

function found(slot: { at: number } | undefined, i: number, ix: number): number {
  if (slot !== undefined) slot.at = i;
  return ix;
}

/** new_keys_object: a keys object of 2^log2 slots, all empty; from the freelist for the minimum str-key size. */
function newKeys(m: ObjectMemory, log2: number, unicode: boolean): number {
  const u32 = m.u32;
  const u8 = m.u8;
  const log2Bytes = log2 < 8 ? log2 : log2 < 16 ? log2 + 1 : log2 + 2; // 1, 2 or 4 bytes a slot
  const usable = usableFraction(2 ** log2);
  const entry = unicode ? UNICODE_ENTRY : GENERAL_ENTRY;
  let k = log2 === DICT_LOG_MINSIZE && unicode ? takeParked(u32, OBJ_KEYS_NUMFREE) : 0;
  if (k === 0) {
    const size = DK_INDICES + 2 ** log2Bytes + entry * usable;
    k = m.obj.malloc(size);
    if (k === 0) throw noMemory(size, "a dict's keys");
  }
  u32[(k + DK_REFCNT) >>> 2] = 1;
  u32[(k + DK_REFCNT + 4) >>> 2] = 0;
  u8[k + DK_LOG2_SIZE] = log2;
  u8[k + DK_LOG2_INDEX_BYTES] = log2Bytes;
  u8[k + DK_KIND] = unicode ? DICT_KEYS_UNICODE : DICT_KEYS_GENERAL;
  u8[k + DK_KIND + 1] = 0;
  u32[(k + DK_VERSION) >>> 2] = 0;
  u32[(k + DK_USABLE) >>> 2] = usable;
  u32[(k + DK_USABLE + 4) >>> 2] = 0;
  u32[(k + DK_NENTRIES) >>> 2] = 0;
  u32[(k + DK_NENTRIES + 4) >>> 2] = 0;
  u8.fill(0xff, k + DK_INDICES, k + DK_INDICES + 2 ** log2Bytes);
  const first = k + DK_INDICES + 2 ** log2Bytes;
  u8.fill(0, first, first + entry * usable);
  return k;
}

/** free_keys_object's memory part: onto the keys freelist (minimum-size str keys) or PyObject_Free. */
function freeKeys(m: ObjectMemory, k: number): void {
  const parkable = log2Size(m.u8, k) === DICT_LOG_MINSIZE && isUnicode(m.u8, k);
  if (!parkable || !park(m.u32, OBJ_KEYS_NUMFREE, DICT_MAXFREELIST, k)) m.obj.free(k);
}

/**
 * PyDict_New: from the freelist when it has one, with Py_EMPTY_KEYS. Untracked: a dict is tracked
 * from the first key or value that may be part of a cycle (MAINTAIN_TRACKING).
 */
export function allocDict(m: ObjectMemory): number {
  const d = allocContainer(m, OBJ_DICT_NUMFREE, DICT_TYPE, DICT_BASICSIZE, 'a dict');
  m.u32[(d + DICT_KEYS) >>> 2] = EMPTY_KEYS;
  return d;
}

/** GROWTH_RATE then calculate_log2_keysize: the smallest power of two >= used x 3, at least 8. */
function growthLog2(used: number): number {
  const minsize = ((used * 3) | 8) - 1;
  return 32 - Math.clz32(minsize | 7);
}

/**
 * dictresize: a new keys object of 2^log2 slots holding the live entries in order; str-only stays
 * str-only unless `unicode` is false. The old keys go to the freelist or back to the allocator.
 * MemoryError with the dict unchanged when the new keys cannot be had.
 */
function resize(ops: DictOps, d: number, log2: number, unicode: boolean): void {
  const m = ops.m;
  const u32 = m.u32;
  const old = dictKeysObject(u32, d);
  const keepUnicode = unicode && isUnicode(m.u8, old);
  const k = newKeys(m, log2, keepUnicode);
  const n = u32[(old + DK_NENTRIES) >>> 2];
  const hash = RESIZE_HASH;
  let count = 0;
  for (let ix = 0; ix < n; ix++) {
    const value = entryValue(m, old, ix);
    if (value === 0) continue;
    entryHash(m, old, ix, hash);
    setEntry(m, k, count, hash, entryKey(m, old, ix), value);
    // build_indices: each entry into the first empty slot of its probe sequence.
    const mask = 2 ** log2 - 1;
    let i = probeStart(hash, mask);
    while (getIndex(m, k, i) !== DKIX_EMPTY) i = probeNext(i, mask);
    setIndex(m, k, i, count);
    count++;
  }
  u32[(d + DICT_KEYS) >>> 2] = k;
  if (old !== EMPTY_KEYS) freeKeys(m, old);
  u32[(k + DK_USABLE) >>> 2] -= count;
  u32[(k + DK_NENTRIES) >>> 2] = count;
}

// Scratch words: the key's hash, an entry's while resizing, and the slot lookup found.
const HASH = new Uint32Array(2);
const RESIZE_HASH = new Uint32Array(2);
const SLOT = { at: 0 };

/** The value for key (a borrowed reference), or 0 when absent. A TypeError for an unhashable key. */
export function dictGet(ops: DictOps, d: number, key: number): number {
  ops.hashInto(key, HASH);
  const k = dictKeysObject(ops.m.u32, d);
  const ix = lookup(ops, k, key, HASH);
  return ix < 0 ? 0 : entryValue(ops.m, k, ix);
}

/**
 * PyDict_SetItem: d[key] = value. The dict takes references to both (an existing equal key stays).
 * Unhashable keys and MemoryError change nothing.
 */
export function dictSet(ops: DictOps, d: number, key: number, value: number): void {
  const m = ops.m;
  const u32 = m.u32;
  ops.hashInto(key, HASH);
  // The hash, kept across the allocations below: the collector (and its callbacks, and the memory
  // pressure callbacks, which may use this module) can run inside them.
  const hashLo = HASH[HASH_LO];
  const hashHi = HASH[HASH_HI];
  if (!isTracked(u32, d) && (mayBeTracked(u32, key) || mayBeTracked(u32, value))) track(u32, d);
  const isStr = typeOf(u32, key) === T_STR;
  let k = dictKeysObject(u32, d);
  if (k === EMPTY_KEYS) {
    // insert_to_emptydict: a minimum-size table, str-only if the key is a str.
    k = newKeys(m, DICT_LOG_MINSIZE, isStr);
    u32[(d + DICT_KEYS) >>> 2] = k;
    setIndex(m, k, hashLo & (2 ** DICT_LOG_MINSIZE - 1), 0);
    return addEntry(ops, d, k, key, value, hashLo, hashHi);
  }
  if (isUnicode(m.u8, k) && !isStr) {
    resize(ops, d, growthLog2(dictUsed(u32, d)), false);
    k = dictKeysObject(u32, d);
    HASH[HASH_LO] = hashLo;
    HASH[HASH_HI] = hashHi;
  }
  const ix = lookup(ops, k, key, HASH);
  if (ix === DKIX_EMPTY) {
    if (u32[(k + DK_USABLE) >>> 2] === 0) {
      resize(ops, d, growthLog2(dictUsed(u32, d)), true);
      k = dictKeysObject(u32, d);
      HASH[HASH_LO] = hashLo;
      HASH[HASH_HI] = hashHi;
    }
    setIndex(m, k, findEmptySlot(m, k, HASH), u32[(k + DK_NENTRIES) >>> 2]);
    return addEntry(ops, d, k, key, value, hashLo, hashHi);
  }
  const old = entryValue(m, k, ix);
  if (old === value) return;
  ops.incref(value);
  setValue(m, k, ix, value);
  ops.drop(old);
}

/** Appends the entry (key's hash given) whose index slot the caller set; the counts follow. */
function addEntry(ops: DictOps, d: number, k: number, key: number, value: number, hashLo: number, hashHi: number): void {
  const u32 = ops.m.u32;
  const n = u32[(k + DK_NENTRIES) >>> 2];
  ops.incref(key);
  ops.incref(value);
  HASH[HASH_LO] = hashLo;
  HASH[HASH_HI] = hashHi;
  setEntry(ops.m, k, n, HASH, key, value);
  u32[(d + DICT_USED) >>> 2]++;
  u32[(k + DK_USABLE) >>> 2]--;
  u32[(k + DK_NENTRIES) >>> 2] = n + 1;
}

/** PyDict_DelItem: removes key; false when it is absent (the caller raises KeyError). */
export function dictDel(ops: DictOps, d: number, key: number): boolean {
  const m = ops.m;
  const u32 = m.u32;
  ops.hashInto(key, HASH);
  const k = dictKeysObject(u32, d);
  const ix = lookup(ops, k, key, HASH, SLOT);
  if (ix < 0) return false;
  const oldKey = entryKey(m, k, ix);
  const oldValue = entryValue(m, k, ix);
  u32[(d + DICT_USED) >>> 2]--;
  setIndex(m, k, SLOT.at, DKIX_DUMMY);
  const e = entries(m.u8, k) + ix * entrySize(m.u8, k);
  u32.fill(0, e >>> 2, (e + entrySize(m.u8, k)) >>> 2);
  ops.drop(oldKey);
  ops.drop(oldValue);
  return true;
}

/** The live entries in insertion order, as [key, value] pointers (borrowed). */
export function dictEntries(m: ObjectMemory, d: number): [number, number][] {
  const k = dictKeysObject(m.u32, d);
  const out: [number, number][] = [];
  const n = m.u32[(k + DK_NENTRIES) >>> 2];
  for (let ix = 0; ix < n; ix++) {
    const value = entryValue(m, k, ix);
    if (value !== 0) out.push([entryKey(m, k, ix), value]);
  }
  return out;
}

/** dict_dealloc after the trashcan: the keys object released; the dict freed or parked. */
export function deallocDict(ops: DictOps, d: number): void {
  const u32 = ops.m.u32;
  const k = dictKeysObject(u32, d);
  if (k !== EMPTY_KEYS) releaseKeys(ops, k);
  if (!park(u32, OBJ_DICT_NUMFREE, DICT_MAXFREELIST, d)) freeContainer(ops.m, d);
}

/**
 * PyDict_Clear (the dict's tp_clear, which the collector calls to break a cycle): the dict is made
 * empty first, sharing Py_EMPTY_KEYS, and only then are its old keys and values dropped.
 */
export function dictClear(ops: DictOps, d: number): void {
  const u32 = ops.m.u32;
  const k = dictKeysObject(u32, d);
  if (k === EMPTY_KEYS) return;
  u32[(d + DICT_KEYS) >>> 2] = EMPTY_KEYS;
  u32[(d + DICT_USED) >>> 2] = 0;
  releaseKeys(ops, k);
}

/** free_keys_object: every key and value dropped, in entry order; the keys object parked or freed. */
function releaseKeys(ops: DictOps, k: number): void {
  const m = ops.m;
  const n = m.u32[(k + DK_NENTRIES) >>> 2];
  for (let ix = 0; ix < n; ix++) {
    const key = entryKey(m, k, ix);
    const value = entryValue(m, k, ix);
    if (key !== 0) ops.drop(key);
    if (value !== 0) ops.drop(value);
  }
  freeKeys(m, k);
}

/**
 * _PyDict_MaybeUntrack, for a tracked dict: untracked when no value (and, in a general table, no key)
 * may be tracked, since such a dict can be part of no cycle. A str-only table's keys never can.
 */
export function dictMaybeUntrack(m: ObjectMemory, d: number): void {
  const u32 = m.u32;
  const k = dictKeysObject(u32, d);
  const n = u32[(k + DK_NENTRIES) >>> 2];
  const unicode = isUnicode(m.u8, k);
  for (let ix = 0; ix < n; ix++) {
    const value = entryValue(m, k, ix);
    if (value === 0) continue;
    if (mayBeTracked(u32, value) || (!unicode && mayBeTracked(u32, entryKey(m, k, ix)))) return;
  }
  untrack(u32, d);
}

/** _PyDict_ClearFreeList: parked dicts and keys back to the allocator. */
export function clearDictFreeLists(m: ObjectMemory): void {
  drainParked(m.u32, OBJ_DICT_NUMFREE, (d) => freeContainer(m, d));
  drainParked(m.u32, OBJ_KEYS_NUMFREE, (k) => m.obj.free(k));
}

/** dict.__sizeof__: the object, and its keys when it owns them (not Py_EMPTY_KEYS). */
export function dictSizeof(m: ObjectMemory, d: number): number {
  const k = dictKeysObject(m.u32, d);
  if (m.u32[(k + DK_REFCNT) >>> 2] !== 1) return DICT_BASICSIZE;
  return DICT_BASICSIZE + DK_INDICES + 2 ** m.u8[k + DK_LOG2_INDEX_BYTES] + usableFraction(2 ** log2Size(m.u8, k)) * entrySize(m.u8, k);
}

/** Py_EMPTY_KEYS: immortal, 8 empty slots, no usable entry, str-only. */
export function writeEmptyKeys(m: ObjectMemory): void {
  const u32 = m.u32;
  const u8 = m.u8;
  const k = EMPTY_KEYS;
  u32[(k + DK_REFCNT) >>> 2] = IMMORTAL;
  u8[k + DK_LOG2_SIZE] = DICT_LOG_MINSIZE;
  u8[k + DK_LOG2_INDEX_BYTES] = DICT_LOG_MINSIZE;
  u8[k + DK_KIND] = DICT_KEYS_UNICODE;
  u32[(k + DK_VERSION) >>> 2] = 1;
  u8.fill(0xff, k + DK_INDICES, k + DK_INDICES + 8);
}

/** dict_richcompare (==): the same number of entries, and each key of a found in b with an equal value. */
function dictEquals(core: ObjectCore, a: number, b: number): boolean {
  const m = core.m;
  if (dictUsed(m.u32, a) !== dictUsed(m.u32, b)) return false;
  for (const [key, value] of dictEntries(m, a)) {
    const other = dictGet(core, b, key);
    if (other === 0 || !core.equals(value, other)) return false;
  }
  return true;
}

/**
 * A dict's JS value, which exists before its entries (so a cycle back to the dict finds it): a plain
 * object when every key is a str (its values converted), else a Map (keys and values converted, a
 * key then its value).
 */
class DictRebuild extends Rebuild {
  private i = 0;
  private key: PyJS = null;

  constructor(
    private readonly m: ObjectMemory,
    private readonly entries: [number, number][],
    private readonly out: { [key: string]: PyJS } | Map<PyJS, PyJS>,
  ) {
    super(out);
  }

  next(): number {
    if (!(this.out instanceof Map)) return this.i < this.entries.length ? this.entries[this.i++][1] : 0;
    const at = this.i++;
    return at < 2 * this.entries.length ? this.entries[at >>> 1][at & 1] : 0;
  }

  put(value: PyJS): void {
    const out = this.out;
    if (!(out instanceof Map)) out[strToJS(this.m, this.entries[this.i - 1][0])] = value;
    else if ((this.i & 1) === 1) this.key = value;
    else out.set(this.key, value);
  }

  done(): PyJS {
    return this.out;
  }
}

function dictToJS(m: ObjectMemory, d: number, options: ToJSOptions): Rebuild {
  const pairs = dictEntries(m, d);
  const strKeys = !options.maps && pairs.every(([key]) => typeOf(m.u32, key) === T_STR);
  return new DictRebuild(m, pairs, strKeys ? {} : new Map<PyJS, PyJS>());
}

/** Py_EMPTY_KEYS unchanged, and the dict and keys freelists (the keys: minimum-size str-key tables). */
function checkDicts(u8: Uint8Array, u32: Uint32Array, limit: number): void {
  if (u32[(EMPTY_KEYS + DK_REFCNT) >>> 2] !== IMMORTAL || u8[EMPTY_KEYS + DK_LOG2_SIZE] !== DICT_LOG_MINSIZE || u32[(EMPTY_KEYS + DK_USABLE) >>> 2] !== 0) objectsCorrupt('static', 'Py_EMPTY_KEYS was changed');
  expectStack(u32, OBJ_DICT_NUMFREE, OBJ_DICT_FREE, DICT_MAXFREELIST, 'dict', (p, slot) => expectParked(u32, p, T_DICT, slot, limit));
  expectStack(u32, OBJ_KEYS_NUMFREE, OBJ_KEYS_FREE, DICT_MAXFREELIST, 'keys', (p, slot) => {
    if (p === 0 || p % 16 !== 0 || p + DK_INDICES > limit || u8[p + DK_LOG2_SIZE] !== DICT_LOG_MINSIZE || u8[p + DK_KIND] !== DICT_KEYS_UNICODE) {
      objectsCorrupt('parked', `${slot} holds ${hex(p)}, not minimum-size str keys`);
    }
  });
}

export const dictSlots: TypeSlots = {
  dealloc: deallocDict,
  // dict_traverse: a str-only table's values (str keys hold nothing); a general one's values and keys.
  traverse: (m, d, visitor, arg) => {
    const u32 = m.u32;
    const u8 = m.u8;
    const k = u32[(d + DICT_KEYS) >>> 2];
    const unicode = isUnicode(u8, k);
    const size = entrySize(u8, k);
    let e = entries(u8, k);
    for (let ix = u32[(k + DK_NENTRIES) >>> 2]; ix > 0; ix--, e += size) {
      const value = u32[(e + (unicode ? 8 : 16)) >>> 2];
      if (value === 0) continue;
      visitor.visit(value, arg);
      if (!unicode) visitor.visit(u32[(e + 8) >>> 2], arg);
    }
  },
  clear: dictClear,
  hash: () => unhashable('dict'),
  equals: (core, a, b, typeB) => (typeB !== T_DICT ? NOT_IMPLEMENTED : dictEquals(core, a, b) ? EQUAL : UNEQUAL),
  sizeof: (m, d) => GC_HEAD + dictSizeof(m, d),
  toJS: dictToJS,
  clearFreeList: clearDictFreeLists,
  check: checkDicts,
};
