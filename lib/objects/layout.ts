/**
 * Layer +3's byte layout: CPython 3.12's object structs on 64-bit Linux, the type records objects point
 * at, and the objects layer's state and static objects in segment 0. The layouts are CPython's to the
 * byte (test/objects-layout.ts compares them with bytes read out of CPython 3.12 itself), so
 * heap.objects.sizeof() equals sys.getsizeof(); only pointers differ, being u32 region offsets held in
 * CPython's 8-byte fields (high word 0).
 *
 * Every object starts with PyObject's header:
 *
 *   +0  ob_refcnt   8 bytes; the count is the low u32 (3.12's ob_refcnt_split), the high u32 is 0.
 *                   0xFFFFFFFF is _Py_IMMORTAL_REFCNT: incref and decref leave the object alone.
 *   +8  ob_type     8 bytes; the offset of the object's type record (below), high u32 0.
 *
 * Segment 0, after pymalloc's state (OBM_END):
 *
 *   0x4a000 state       magic, the freelists (float, tuple, list, dict, dict keys), the interned table,
 *                       the cyclic collector's generations and counters
 *   0x4a800 types       one 64-byte record per type                                (16 x 64 B)
 *   0x4b000 statics     None, False, True, the small ints, the empty and one-character strings and
 *                       bytes: CPython 3.12 allocates them statically, outside pymalloc, and so do we
 */
import { OBM_END } from '../pymalloc/layout';
import { SH_MAGIC } from '../shared/layout';

/** _Py_IMMORTAL_REFCNT on 64-bit: UINT_MAX in the low word (PEP 683). */
export const IMMORTAL = 0xffffffff;

// PyObject
export const OB_REFCNT = 0;
export const OB_TYPE = 8;
/**
 * What pymem's deallocators write over both words of ob_type (CPython's leave it as it was): a dead
 * object then reads as one, told apart from memory that never held an object (NULL, as calloc and
 * fresh pages give), which heap.objects' errors say. Odd, so no type record's offset.
 */
export const OB_TYPE_DEAD = 0xdeadbeef;
/** sizeof(PyObject): None's whole size. */
export const PYOBJECT_SIZE = 16;

/**
 * PyLongObject (3.12): the header, then lv_tag, then 30-bit digits in u32s, least significant first.
 * lv_tag = ndigits << 3 | sign, sign 0 positive, 1 zero, 2 negative (_PyLong_SetSignAndDigitCount).
 * A zero keeps one digit of 0: _PyLong_New allocates max(ndigits, 1) digits.
 *
 *   [ob_refcnt:8][ob_type:8][lv_tag:8][digit 0:4][digit 1:4]...
 */
export const LONG_TAG = 16;
export const LONG_DIGITS = 24;
export const LONG_SHIFT = 30;
export const LONG_MASK = (1 << LONG_SHIFT) - 1;
export const LONG_BASE = 2 ** LONG_SHIFT;
export const NON_SIZE_BITS = 3;
export const SIGN_POSITIVE = 0;
export const SIGN_ZERO = 1;
export const SIGN_NEGATIVE = 2;
export const SIGN_MASK = 3;

/**
 * str and bytes both follow the header with an 8-byte size (a str's length in characters) and an
 * 8-byte hash cache, -1 (all ones) until the hash is first computed.
 */
export const SIZED_SIZE = 16;
export const SIZED_HASH = 24;

/** PyFloatObject: [ob_refcnt:8][ob_type:8][ob_fval:f64], 24 bytes. Freelisted floats link through ob_type. */
export const FLOAT_VALUE = 16;
export const FLOAT_SIZE = 24;

/**
 * PEP 393 compact strings, one block each. PyASCIIObject (40 bytes) when every character is below 128,
 * the characters right after it; PyCompactUnicodeObject (56 bytes) otherwise, with the UTF-8 cache
 * fields (0 unless a static singleton carries its UTF-8 form, as CPython 3.12's latin-1 ones do):
 *
 *   [ob_refcnt:8][ob_type:8][length:8][hash:8][state:4][pad:4] [data: (length + 1) x kind]
 *   [ob_refcnt:8][ob_type:8][length:8][hash:8][state:4][pad:4][utf8_length:8][utf8:8] [data ...]
 *
 * hash is -1 (all ones) until first computed, then cached. The data ends with a NUL character.
 */
export const STR_LENGTH = SIZED_SIZE;
export const STR_HASH = SIZED_HASH;
export const STR_STATE = 32;
export const ASCII_DATA = 40;
export const STR_UTF8_LENGTH = 40;
export const STR_UTF8 = 48;
export const COMPACT_DATA = 56;
/** state's bit fields, as GCC lays them out on x86-64 (interned:2, kind:3, compact:1, ascii:1, statically_allocated:1). */
export const STATE_INTERNED_MASK = 0x3;
export const STATE_KIND_SHIFT = 2;
export const STATE_KIND_MASK = 0x7 << STATE_KIND_SHIFT;
export const STATE_COMPACT = 1 << 5;
export const STATE_ASCII = 1 << 6;
export const STATE_STATIC = 1 << 7;
/** SSTATE_NOT_INTERNED, SSTATE_INTERNED_IMMORTAL, SSTATE_INTERNED_IMMORTAL_STATIC (3.12). */
export const NOT_INTERNED = 0;
export const INTERNED_IMMORTAL = 2;
export const INTERNED_IMMORTAL_STATIC = 3;

/** PyBytesObject: [ob_refcnt:8][ob_type:8][ob_size:8][ob_shash:8][ob_sval: n + 1], 33 + n bytes. */
export const BYTES_SIZE = SIZED_SIZE;
export const BYTES_HASH = SIZED_HASH;
export const BYTES_DATA = 32;

/**
 * Containers (tuple, list, dict) are preceded by PyGC_Head: the block starts 16 bytes before the
 * object, and sys.getsizeof counts those bytes. A tracked container is on one of the collector's
 * doubly linked lists: _gc_next and _gc_prev hold the next and previous heads' addresses (a head's
 * address is its object's minus 16; a list's own head lives in the collector's state). Both are 0
 * while the collector does not track the object (_PyObject_GC_IS_TRACKED tests _gc_next).
 *
 *   [_gc_next:8][_gc_prev:8] [ob_refcnt:8][ob_type:8][...]
 *   ^ block                  ^ object pointer
 *
 * CPython packs its collection-time state into the pointers' low bits (PREV_MASK_COLLECTING,
 * NEXT_MASK_UNREACHABLE, and gc_refs in _gc_prev while the list is singly linked). Our pointers are
 * u32s in 8-byte fields, so that state has the high words instead and the lists stay doubly linked
 * throughout a collection: GC_FLAGS (high word of _gc_next) holds COLLECTING and UNREACHABLE,
 * GC_REFS (high word of _gc_prev) the copied reference count. Both are 0 outside a collection.
 */
export const GC_HEAD = 16;
export const GC_NEXT = -16;
export const GC_PREV = -8;
/** The same fields from a head's own address (a list head in the state has no object after it). */
export const HEAD_NEXT = 0;
export const HEAD_FLAGS = 4;
export const HEAD_PREV = 8;
export const HEAD_REFS = 12;
export const GC_COLLECTING_FLAG = 1;
export const GC_UNREACHABLE_FLAG = 2;

/** PyTupleObject: [header][ob_size:8][ob_item: 8 x n]; a parked tuple links through ob_item[0]. */
export const TUPLE_SIZE = 16;
export const TUPLE_ITEMS = 24;
/** PyListObject: [header][ob_size:8][ob_item:8][allocated:8]; the item array is a MEM-domain block. */
export const LIST_SIZE = 16;
export const LIST_ITEMS = 24;
export const LIST_ALLOCATED = 32;
export const LIST_BASICSIZE = 40;
/** PyDictObject: [header][ma_used:8][ma_version_tag:8][ma_keys:8][ma_values:8]. */
export const DICT_USED = 16;
export const DICT_VERSION = 24;
export const DICT_KEYS = 32;
export const DICT_VALUES = 40;
export const DICT_BASICSIZE = 48;
/**
 * PyDictKeysObject (3.12), an OBJ-domain block: a 32-byte header, the index table of 2^log2_size
 * entries of 1, 2, 4 or 8 bytes (-1 empty, -2 deleted, else an entry's number), then the entries in
 * insertion order: [me_hash:8][me_key:8][me_value:8] (general) or [me_key:8][me_value:8] (str keys only).
 *
 *   +0 dk_refcnt:8  +8 dk_log2_size:1  +9 dk_log2_index_bytes:1  +10 dk_kind:1  +12 dk_version:4
 *   +16 dk_usable:8  +24 dk_nentries:8  +32 dk_indices[]
 */
export const DK_REFCNT = 0;
export const DK_LOG2_SIZE = 8;
export const DK_LOG2_INDEX_BYTES = 9;
export const DK_KIND = 10;
export const DK_VERSION = 12;
export const DK_USABLE = 16;
export const DK_NENTRIES = 24;
export const DK_INDICES = 32;
export const DICT_KEYS_GENERAL = 0;
export const DICT_KEYS_UNICODE = 1;
export const GENERAL_ENTRY = 24;
export const UNICODE_ENTRY = 16;
/** DKIX_EMPTY and DKIX_DUMMY. */
export const DKIX_EMPTY = -1;
export const DKIX_DUMMY = -2;
/** PyDict_LOG_MINSIZE: 8 slots. */
export const DICT_LOG_MINSIZE = 3;

/** The objects layer's state, a page after pymalloc's. */
export const OBJ_STATE = 0x4a000;
/** 'pyob': the objects layer has written its types and statics (heap.objects was first used). */
export const OBJ_MAGIC_VALUE = 0x626f7970;
export const OBJ_MAGIC = OBJ_STATE;
/** PyFloat's free_list head and numfree (CPython keeps them in the interpreter state). */
export const OBJ_FLOAT_FREE = OBJ_STATE + 4;
export const OBJ_FLOAT_NUMFREE = OBJ_STATE + 8;
/** The interned strings' table: its block (MEM domain), its slot count - 1, the strings in it. */
export const OBJ_INTERNED_TABLE = OBJ_STATE + 12;
export const OBJ_INTERNED_MASK = OBJ_STATE + 16;
export const OBJ_INTERNED_USED = OBJ_STATE + 20;
/**
 * The tuple freelists (3.11+: index = length - 1, lengths 1..20): a head per length, the parked
 * tuples linked through ob_item[0], and a count per length.
 */
export const TUPLE_MAXSAVESIZE = 20;
export const TUPLE_MAXFREELIST = 2000;
export const OBJ_TUPLE_FREE = OBJ_STATE + 0x20;
export const OBJ_TUPLE_NUMFREE = OBJ_TUPLE_FREE + 4 * TUPLE_MAXSAVESIZE;
/** PyList_MAXFREELIST and PyDict_MAXFREELIST: CPython keeps those freelists as stacks (arrays and a count). */
export const LIST_MAXFREELIST = 80;
export const DICT_MAXFREELIST = 80;
export const OBJ_LIST_NUMFREE = OBJ_TUPLE_NUMFREE + 4 * TUPLE_MAXSAVESIZE;
export const OBJ_LIST_FREE = OBJ_LIST_NUMFREE + 4;
export const OBJ_DICT_NUMFREE = OBJ_LIST_FREE + 4 * LIST_MAXFREELIST;
export const OBJ_DICT_FREE = OBJ_DICT_NUMFREE + 4;
export const OBJ_KEYS_NUMFREE = OBJ_DICT_FREE + 4 * DICT_MAXFREELIST;
export const OBJ_KEYS_FREE = OBJ_KEYS_NUMFREE + 4;

/**
 * The cyclic collector's state (Modules/gcmodule.c's struct _gc_runtime_state), after the freelists:
 * five list heads, each a PyGC_Head linked to itself when its list is empty (generations 0, 1 and 2,
 * the permanent generation freeze() fills, and the unreachable objects of the collection running),
 * then the counters.
 *
 *   +0   gen0 head   +16 gen1 head   +32 gen2 head   +48 permanent head   +64 unreachable head
 *   +80  count 0..2 (u32)   +92 threshold 0..2 (C int)   +104 long_lived_total   +108 long_lived_pending
 *   +112 enabled   +116 collecting   +120 debug flags   +128 stats: collections, collected,
 *        uncollectable per generation (f64, so that they never wrap)                         (72 B)
 */
export const GC_STATE = (OBJ_KEYS_FREE + 4 * DICT_MAXFREELIST + 15) & ~15;
export const NUM_GENERATIONS = 3;
export const GC_GEN_HEADS = GC_STATE;
export const GC_PERMANENT = GC_STATE + NUM_GENERATIONS * GC_HEAD;
export const GC_UNREACHABLE = GC_PERMANENT + GC_HEAD;
export const GC_COUNTS = GC_UNREACHABLE + GC_HEAD;
export const GC_THRESHOLDS = GC_COUNTS + 4 * NUM_GENERATIONS;
export const GC_LONG_LIVED_TOTAL = GC_THRESHOLDS + 4 * NUM_GENERATIONS;
export const GC_LONG_LIVED_PENDING = GC_LONG_LIVED_TOTAL + 4;
export const GC_ENABLED = GC_LONG_LIVED_PENDING + 4;
export const GC_COLLECTING = GC_ENABLED + 4;
export const GC_DEBUG = GC_COLLECTING + 4;
export const GC_STATS = GC_DEBUG + 8;
/** A generation's three statistics (f64 each): collections, collected, uncollectable. */
export const GC_STAT_COLLECTIONS = 0;
export const GC_STAT_COLLECTED = 8;
export const GC_STAT_UNCOLLECTABLE = 16;
export const GC_STAT_SIZE = 24;
export const OBJ_STATE_END = GC_STATS + NUM_GENERATIONS * GC_STAT_SIZE;

/** Generation g's list head. */
export function genHead(g: number): number {
  return GC_GEN_HEADS + g * GC_HEAD;
}

/**
 * Type records, the counterpart of CPython's static PyTypeObjects: an object's ob_type holds one's
 * offset, so a reader of the region can name every object's type, and a type field that is not one
 * of these offsets marks memory that holds no live object.
 *
 *   +0 tp_basicsize:4  +4 tp_itemsize:4  +8 tp_name: NUL-terminated ASCII (up to 56 bytes)
 */
export const TYPES = 0x4a800;
export const TYPE_RECORD = 64;
export const TYPE_RECORD_SHIFT = 6;
export const TP_BASICSIZE = 0;
export const TP_ITEMSIZE = 4;
export const TP_NAME = 8;
export const MAX_TYPES = 16;

/** Type numbers: a type record's index. The dispatch of every per-type operation switches on it. */
export const T_NONE = 0;
export const T_BOOL = 1;
export const T_INT = 2;
export const T_FLOAT = 3;
export const T_STR = 4;
export const T_BYTES = 5;
export const T_TUPLE = 6;
export const T_LIST = 7;
export const T_DICT = 8;
export const TYPE_COUNT = 9;

/**
 * tp_name, tp_basicsize, tp_itemsize of each type, as CPython 3.12 declares them, and whether its
 * tp_flags hold Py_TPFLAGS_HAVE_GC (a container: a GC head before it, tracked by the collector).
 */
export const TYPE_INFO: readonly (readonly [name: string, basicsize: number, itemsize: number, haveGC: boolean])[] = [
  ['NoneType', PYOBJECT_SIZE, 0, false],
  ['bool', LONG_DIGITS, 4, false],
  ['int', LONG_DIGITS, 4, false],
  ['float', FLOAT_SIZE, 0, false],
  ['str', 56, 0, false],
  ['bytes', 33, 1, false],
  ['tuple', TUPLE_ITEMS, 8, true],
  ['list', LIST_BASICSIZE, 0, true],
  ['dict', DICT_BASICSIZE, 0, true],
];

/**
 * PyObject_IS_GC by type number: bit `type` is set for a container type, so a test is
 * `((TYPE_GC_BITS >>> type) & 1) === 1`. A number rather than a table, because the compiled code then
 * holds it as a literal (scripts/inline-constants.js): the collector's visit and every deallocation
 * test it, and a typed array imported from another module costs a map check and two loads per test.
 * A type number of -1 (typeOf's "no object") reads bit 31, which no type has.
 */
export const TYPE_GC_BITS = TYPE_INFO.reduce((bits, [, , , haveGC], type) => (haveGC ? bits | (1 << type) : bits), 0);

export function typeRecord(type: number): number {
  return TYPES + (type << TYPE_RECORD_SHIFT);
}

/**
 * Static objects. Each starts on a 16-byte boundary, as every heap block does, so that a pointer test
 * need not tell statics from blocks.
 */
export const STATICS = 0x4b000;
export const NONE = STATICS;
export const FALSE = NONE + 16;
/** The bools are ints: 28 bytes, one digit, in 32-byte slots. */
export const TRUE = FALSE + 32;
/** _PY_NSMALLNEGINTS and _PY_NSMALLPOSINTS: -5..256 are preallocated (32-byte slots of 28-byte ints). */
export const NSMALLNEGINTS = 5;
export const NSMALLPOSINTS = 257;
export const SMALL_INT_SLOT = 32;
export const SMALL_INTS = TRUE + 32;
/** The empty string (41 bytes). */
export const EMPTY_STR = SMALL_INTS + (NSMALLNEGINTS + NSMALLPOSINTS) * SMALL_INT_SLOT;
/**
 * The 256 one-character latin-1 strings: 42 bytes below 128; above, 58 plus the 3-byte UTF-8 form
 * that CPython 3.12's static ones carry (61, what sys.getsizeof('\xe9') answers). 64-byte slots.
 */
export const LATIN1_STRS = EMPTY_STR + 48;
export const LATIN1_SLOT = 64;
/** b'' and the 256 one-byte bytes objects (33 and 34 bytes), in 48-byte slots. */
export const EMPTY_BYTES = LATIN1_STRS + 256 * LATIN1_SLOT;
export const BYTE_CHARS = EMPTY_BYTES + 48;
export const BYTE_SLOT = 48;
/** The empty tuple, after its (unused) GC head, and Py_EMPTY_KEYS, the keys every empty dict shares. */
export const EMPTY_TUPLE = BYTE_CHARS + 256 * BYTE_SLOT + GC_HEAD;
export const EMPTY_KEYS = EMPTY_TUPLE + 48;
export const STATICS_END = EMPTY_KEYS + 48;

/** The static int for -5 <= v <= 256. */
export function smallInt(v: number): number {
  return SMALL_INTS + (v + NSMALLNEGINTS) * SMALL_INT_SLOT;
}

export function latin1Str(c: number): number {
  return LATIN1_STRS + c * LATIN1_SLOT;
}

export function byteChar(c: number): number {
  return BYTE_CHARS + c * BYTE_SLOT;
}

function assert(ok: boolean, what: string): void {
  /* c8 ignore next -- fires only when an edit makes the layout inconsistent; it then fails every test */
  if (!ok) throw new Error(`pymem objects layout: ${what}`);
}
assert(OBJ_STATE >= OBM_END, "the objects' state starts after pymalloc's");
assert(GC_STATS % 8 === 0, "the collector's statistics are f64-aligned");
assert(OBJ_STATE_END <= TYPES && TYPES + MAX_TYPES * TYPE_RECORD <= STATICS, 'state, types and statics do not overlap');
assert(TYPE_COUNT <= MAX_TYPES && TYPE_INFO.length === TYPE_COUNT, 'every type has a record');
assert(TYPE_RECORD === 1 << TYPE_RECORD_SHIFT && TYPES % TYPE_RECORD === 0, 'type records are aligned to their size');
assert(STATICS % 16 === 0 && STATICS_END <= SH_MAGIC, "the statics fit segment 0, below a shared heap's thread table");
