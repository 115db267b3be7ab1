// heap.check() for the objects layer: each invariant broken on purpose is named, on both backends.
import t from 'tap';
import { BACKENDS, heapOn } from './helpers/backends';
import { HeapCorruptionError, type Heap } from '../lib/index';
import {
  NONE, TRUE, TYPES, TP_NAME, OB_REFCNT, LONG_DIGITS, OBJ_FLOAT_FREE, OBJ_FLOAT_NUMFREE, OBJ_INTERNED_TABLE,
  OBJ_INTERNED_MASK, OBJ_INTERNED_USED, ASCII_DATA, BYTES_DATA, EMPTY_TUPLE, EMPTY_KEYS, DK_USABLE, OBJ_TUPLE_NUMFREE,
  OBJ_TUPLE_FREE, TUPLE_SIZE, OBJ_LIST_NUMFREE, OBJ_LIST_FREE, OBJ_KEYS_FREE, GC_HEAD, HEAD_NEXT, HEAD_PREV, HEAD_REFS,
  GC_ENABLED, GC_COLLECTING, GC_UNREACHABLE, OB_TYPE, T_STR, typeRecord, smallInt, latin1Str, byteChar, genHead,
} from '../lib/objects/layout';
import { listMove } from '../lib/objects/gc-list';

/** A heap with parked floats and containers and three interned strings, and the corruption `corrupt` makes. */
type Corruption = [invariant: string, corrupt: (heap: Heap, word: (offset: number, value?: number) => number) => void];

const CORRUPTIONS: Corruption[] = [
  ['type.record', (h) => (h.u8[TYPES + TP_NAME] = 0x6e)],
  ['static', (_, w) => w(NONE + OB_REFCNT, 5)],
  ['static', (_, w) => w(TRUE + LONG_DIGITS, 2)],
  ['static', (_, w) => w(smallInt(7) + LONG_DIGITS, 8)],
  ['static', (h) => (h.u8[latin1Str(65) + ASCII_DATA] = 66)],
  ['static', (h) => (h.u8[byteChar(3) + BYTES_DATA] = 4)],
  ['float.numfree', (_, w) => w(OBJ_FLOAT_NUMFREE, 101)],
  ['float.link', (_, w) => w(OBJ_FLOAT_NUMFREE, 3)],
  ['float.link', (_, w) => w(OBJ_FLOAT_NUMFREE, 1)],
  ['float.parked', (_, w) => w(w(OBJ_FLOAT_FREE) + OB_REFCNT, 1)],
  ['interned.table', (_, w) => w(OBJ_INTERNED_MASK, 62)],
  ['interned.table', (_, w) => w(OBJ_INTERNED_USED, 60)],
  ['interned.used', (_, w) => w(OBJ_INTERNED_USED, 4)],
  ['interned.entry', (h, w) => w(firstUsedSlot(h, w), h.objects.int(1000))],
  ['interned.probe', (h, w) => {
    const slot = firstUsedSlot(h, w);
    const free = freeSlotAfter(h, w, slot);
    w(free, w(slot));
    w(slot, 0);
  }],
  ['interned.table', (_, w) => w(OBJ_INTERNED_TABLE, 0)],
  ['static', (_, w) => w(EMPTY_TUPLE + OB_REFCNT, 5)],
  ['static', (_, w) => w(EMPTY_KEYS + DK_USABLE, 3)],
  ['tuple.numfree', (_, w) => w(OBJ_TUPLE_NUMFREE, 2001)],
  ['parked', (_, w) => w(w(OBJ_TUPLE_FREE) + OB_REFCNT, 1)],
  ['tuple.length', (_, w) => w(w(OBJ_TUPLE_FREE) + TUPLE_SIZE, 2)],
  ['tuple.link', (_, w) => w(OBJ_TUPLE_NUMFREE, 0)],
  ['list.numfree', (_, w) => w(OBJ_LIST_NUMFREE, 81)],
  ['parked', (h, w) => w(OBJ_LIST_FREE, h.objects.str('not a list'))],
  ['parked', (_, w) => w(OBJ_KEYS_FREE, 8)],
  ['parked.tracked', (_, w) => w(w(OBJ_LIST_FREE) - GC_HEAD + HEAD_REFS, 1)],
  // The collector's lists: each corruption made on live lists of generation 0.
  ['gc.state', (_, w) => w(GC_ENABLED, 2)],
  ['gc.state', (_, w) => w(GC_COLLECTING, 5)],
  ['gc.state', (h, w) => w(h.objects.list() - GC_HEAD + HEAD_REFS, 3)],
  ['gc.state', (h) => listMove(h.u32, h.objects.list() - GC_HEAD, GC_UNREACHABLE)],
  ['gc.link', (h, w) => w(h.objects.list() - GC_HEAD + HEAD_PREV, 0)],
  ['gc.link', (h, w) => w(h.objects.list() - GC_HEAD + HEAD_NEXT, 8)],
  ['gc.link', (h, w) => {
    const a = h.objects.list();
    w(h.objects.list() - GC_HEAD + HEAD_NEXT, a - GC_HEAD);
  }],
  ['gc.link', (h, w) => {
    h.objects.list();
    w(genHead(0) + HEAD_PREV, genHead(0));
  }],
  ['gc.object', (h, w) => w(h.objects.list() + OB_REFCNT, 0)],
  ['gc.object', (h, w) => w(h.objects.list() + OB_TYPE, typeRecord(T_STR))],
];

function firstUsedSlot(_: Heap, w: (offset: number, value?: number) => number): number {
  let slot = w(OBJ_INTERNED_TABLE);
  while (w(slot) === 0) slot += 4;
  return slot;
}

/** A free slot far from `slot`'s probe run: the string moved there is not found from its hash. */
function freeSlotAfter(_: Heap, w: (offset: number, value?: number) => number, slot: number): number {
  let at = slot + 4 * 8;
  while (w(at) !== 0) at += 4;
  return at;
}

for (const backend of BACKENDS) {
  t.test(backend, async (t) => {
    for (const [invariant, corrupt] of CORRUPTIONS) {
      const heap = heapOn(backend);
      const o = heap.objects;
      for (const p of [o.float(1.5), o.float(2.5)]) o.decref(p);
      for (const s of ['alpha', 'beta', 'gamma']) o.intern(o.str(s));
      // One of each container parked: a 1-tuple, a list, a dict and its minimum-size str keys.
      for (const p of [o.tuple([o.None]), o.list(), o.fromJS({ k: 1 })]) o.decref(p);
      heap.check();
      const word = (offset: number, value?: number): number => {
        if (value !== undefined) heap.u32[offset >>> 2] = value;
        return heap.u32[offset >>> 2];
      };
      corrupt(heap, word);
      let caught: unknown;
      try {
        heap.check();
      } catch (error) {
        caught = error;
      }
      t.ok(caught instanceof HeapCorruptionError && caught.invariant === `objects.${invariant}`, `objects.${invariant} is caught: ${String(caught)}`);
    }
  });
}
