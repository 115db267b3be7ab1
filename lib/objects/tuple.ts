/**
 * tuple (Objects/tupleobject.c, 3.12): one block of the GC head + 24 + 8 n bytes. The empty tuple is a
 * static immortal singleton; tuples of length 1..20 are parked on their length's freelist when freed
 * (at most 2000 each, linked through ob_item[0], keeping their type and a refcount of 0), and the next
 * tuple of that length reuses the last one parked.
 */
import {
  GC_HEAD, GC_NEXT, GC_PREV, TUPLE_SIZE, TUPLE_ITEMS, TUPLE_MAXSAVESIZE, TUPLE_MAXFREELIST, OBJ_TUPLE_FREE,
  OBJ_TUPLE_NUMFREE, EMPTY_TUPLE, T_TUPLE, IMMORTAL, OB_REFCNT, typeRecord,
} from './layout';
import { initObject, freeContainer, typeOf } from './header';
import { gcLink, track } from './gc-list';
import { hashWords } from './hash';
import { expectParked, objectsCorrupt } from './invariants';
import { Rebuild, Tuple, EQUAL, UNEQUAL, NOT_IMPLEMENTED, type PyJS, type TypeSlots, type ObjectCore } from './slots';
import type { ObjectMemory } from './memory';

const TUPLE_TYPE = typeRecord(T_TUPLE);
// _PyHASH_XXPRIME_1, _2 and _5: tuplehash's xxHash constants (64-bit).
const XXPRIME_1 = 11400714785074694791n;
const XXPRIME_2 = 14029467366897019727n;
const XXPRIME_5 = 2870177450012600261n;
const U64 = (x: bigint) => BigInt.asUintN(64, x);

/** The freelist head and count of tuples of length n (1..20). */
function freeHead(n: number): number {
  return OBJ_TUPLE_FREE + 4 * (n - 1);
}
function numFree(n: number): number {
  return OBJ_TUPLE_NUMFREE + 4 * (n - 1);
}

export function tupleSize(u32: Uint32Array, p: number): number {
  return u32[(p + TUPLE_SIZE) >>> 2];
}

export function tupleItem(u32: Uint32Array, p: number, i: number): number {
  return u32[(p + TUPLE_ITEMS + 8 * i) >>> 2];
}

/**
 * tuple_alloc: a tuple of n > 0 items whose slots the caller fills (they are zeroed, with their high
 * words): from the freelist of its length when it has one, else a new block.
 */
export function allocTuple(m: ObjectMemory, n: number): number {
  const u32 = m.u32;
  let p = n <= TUPLE_MAXSAVESIZE ? u32[freeHead(n) >>> 2] : 0;
  if (p !== 0) {
    u32[freeHead(n) >>> 2] = tupleItem(u32, p, 0);
    u32[numFree(n) >>> 2]--;
    m.tracer.newReference(p - GC_HEAD);
  } else {
    p = m.alloc(GC_HEAD + TUPLE_ITEMS + 8 * n, 'a tuple') + GC_HEAD;
    u32[(p + GC_NEXT) >>> 2] = 0;
    u32[(p + GC_NEXT + 4) >>> 2] = 0;
    u32[(p + GC_PREV) >>> 2] = 0;
    u32[(p + GC_PREV + 4) >>> 2] = 0;
    gcLink(m);
  }
  initObject(u32, p, TUPLE_TYPE);
  u32[(p + TUPLE_SIZE) >>> 2] = n;
  u32[(p + TUPLE_SIZE + 4) >>> 2] = 0;
  u32.fill(0, (p + TUPLE_ITEMS) >>> 2, (p + TUPLE_ITEMS + 8 * n) >>> 2);
  return p;
}

/** The tuple of `items` (each incref'd, as PyTuple_Pack does), tracked by the collector; () for none. */
export function tupleFromItems(m: ObjectMemory, items: ArrayLike<number>, incref: (p: number) => void): number {
  if (items.length === 0) return EMPTY_TUPLE;
  const p = allocTuple(m, items.length);
  for (let i = 0; i < items.length; i++) {
    incref(items[i]);
    m.u32[(p + TUPLE_ITEMS + 8 * i) >>> 2] = items[i];
  }
  track(m.u32, p);
  return p;
}

/** tupledealloc after its items: parked on its length's freelist when there is room, else freed. */
export function freeTuple(m: ObjectMemory, p: number): void {
  const u32 = m.u32;
  const n = tupleSize(u32, p);
  if (n <= TUPLE_MAXSAVESIZE && u32[numFree(n) >>> 2] < TUPLE_MAXFREELIST) {
    u32[(p + TUPLE_ITEMS) >>> 2] = u32[freeHead(n) >>> 2];
    u32[freeHead(n) >>> 2] = p;
    u32[numFree(n) >>> 2]++;
    return;
  }
  freeContainer(m, p);
}

/** _PyTuple_ClearFreeList: every parked tuple back to PyObject_GC_Del. */
export function clearTupleFreeLists(m: ObjectMemory): void {
  const u32 = m.u32;
  for (let n = 1; n <= TUPLE_MAXSAVESIZE; n++) {
    for (let p = u32[freeHead(n) >>> 2]; p !== 0; ) {
      const next = tupleItem(u32, p, 0);
      freeContainer(m, p);
      p = next;
    }
    u32[freeHead(n) >>> 2] = 0;
    u32[numFree(n) >>> 2] = 0;
  }
}

/** Parked tuples of length n, for the statistics. */
export function tupleNumFree(u32: Uint32Array, n: number): number {
  return u32[numFree(n) >>> 2];
}

/**
 * tuplehash: xxHash's lanes over the items' hashes (64-bit, unsigned), mangled with the length. In
 * two steps, so that nested tuples hash without recursion: the accumulator starts at
 * TUPLE_HASH_START, takes each item's hash in turn, and ends with the length.
 */
const TUPLE_HASH_START = XXPRIME_5;

function tupleHashLane(acc: bigint, itemHash: bigint): bigint {
  acc = U64(acc + U64(itemHash) * XXPRIME_2);
  acc = U64((acc << 31n) | (acc >> 33n));
  return U64(acc * XXPRIME_1);
}

function tupleHashEnd(acc: bigint, n: number): bigint {
  return tupleHashValue(U64(acc + (BigInt(n) ^ (XXPRIME_5 ^ 3527539n))));
}

/** The accumulator as a Py_hash_t; -1 (C's error value) becomes 1546275796, as tuplehash answers. */
export function tupleHashValue(acc: bigint): bigint {
  return acc === 0xffffffffffffffffn ? 1546275796n : BigInt.asIntN(64, acc);
}

/**
 * The nested tuples being hashed, their next item and accumulators: tupleHash's own stack. One hash
 * runs at a time (an item that is no tuple hashes without coming back here), so one stack serves all.
 */
const hashing: number[] = [];
const hashNext: number[] = [];
const hashAcc: bigint[] = [];

/**
 * tuplehash over nested tuples, depth first with an explicit stack (CPython's recurses in C without a
 * guard, and answers for any depth): each tuple's accumulator takes its items' hashes in order, a
 * nested tuple's once that tuple is done. Items of other types hash through their own slot. An
 * unhashable item throws, and the stack is left empty.
 */
function tupleHash(core: ObjectCore, root: number): bigint {
  const u32 = core.m.u32;
  hashing.push(root);
  hashNext.push(0);
  hashAcc.push(TUPLE_HASH_START);
  try {
    for (;;) {
      const top = hashing.length - 1;
      const p = hashing[top];
      const i = hashNext[top];
      const n = tupleSize(u32, p);
      if (i < n) {
        hashNext[top] = i + 1;
        const item = tupleItem(u32, p, i);
        if (typeOf(u32, item) === T_TUPLE) {
          hashing.push(item);
          hashNext.push(0);
          hashAcc.push(TUPLE_HASH_START);
        } else {
          hashAcc[top] = tupleHashLane(hashAcc[top], core.hash(item));
        }
        continue;
      }
      const h = tupleHashEnd(hashAcc[top], n);
      hashing.pop();
      hashNext.pop();
      hashAcc.pop();
      if (hashing.length === 0) return h;
      hashAcc[top - 1] = tupleHashLane(hashAcc[top - 1], h);
    }
  } finally {
    hashing.length = hashNext.length = hashAcc.length = 0;
  }
}

/** tuplerichcompare (==): the same length, and each pair of items equal. */
function tupleEquals(core: ObjectCore, a: number, b: number): boolean {
  const u32 = core.m.u32;
  const n = tupleSize(u32, a);
  if (n !== tupleSize(u32, b)) return false;
  for (let i = 0; i < n; i++) if (!core.equals(tupleItem(u32, a, i), tupleItem(u32, b, i))) return false;
  return true;
}

/**
 * A tuple's JS value: a Tuple, frozen when made, so it exists only after its items. A tuple reached
 * again through a cycle (which must pass through a list or dict) is rebuilt once more there; the
 * cycle ends at the list or dict, which exist before their items.
 */
class TupleRebuild extends Rebuild {
  private i = 0;
  private readonly items: PyJS[] = [];

  constructor(
    private readonly u32: Uint32Array,
    private readonly p: number,
  ) {
    super(undefined);
  }

  next(): number {
    return this.i < tupleSize(this.u32, this.p) ? tupleItem(this.u32, this.p, this.i++) : 0;
  }

  put(value: PyJS): void {
    this.items.push(value);
  }

  done(): PyJS {
    return new Tuple(this.items);
  }
}

/** The empty tuple, and each length's freelist: at most 2000 parked tuples of that length, ending in NULL. */
function checkTuples(u32: Uint32Array, limit: number): void {
  if (typeOf(u32, EMPTY_TUPLE) !== T_TUPLE || u32[(EMPTY_TUPLE + OB_REFCNT) >>> 2] !== IMMORTAL || tupleSize(u32, EMPTY_TUPLE) !== 0) objectsCorrupt('static', 'the empty tuple is no longer an immortal ()');
  for (let n = 1; n <= TUPLE_MAXSAVESIZE; n++) {
    const numfree = tupleNumFree(u32, n);
    if (numfree > TUPLE_MAXFREELIST) objectsCorrupt('tuple.numfree', `${numfree} tuples of length ${n} parked, more than ${TUPLE_MAXFREELIST}`);
    let p = u32[freeHead(n) >>> 2];
    for (let i = 0; i < numfree; i++, p = tupleItem(u32, p, 0)) {
      expectParked(u32, p, T_TUPLE, `link ${i} of the ${n}-tuple freelist`, limit);
      if (tupleSize(u32, p) !== n) objectsCorrupt('tuple.length', `a tuple of length ${tupleSize(u32, p)} is parked among those of length ${n}`);
    }
    if (p !== 0) objectsCorrupt('tuple.link', `the ${n}-tuple freelist goes on past its ${numfree} tuples`);
  }
}

export const tupleSlots: TypeSlots = {
  // tupledealloc: the items dropped from the last, then the tuple parked or freed.
  dealloc: (core, p) => {
    const u32 = core.m.u32;
    for (let i = tupleSize(u32, p) - 1; i >= 0; i--) core.drop(tupleItem(u32, p, i));
    freeTuple(core.m, p);
  },
  // tupletraverse, from the last item; a tuple under construction may hold NULL.
  traverse: (m, p, visitor, arg) => {
    const u32 = m.u32;
    for (let i = tupleSize(u32, p) - 1; i >= 0; i--) {
      const item = tupleItem(u32, p, i);
      if (item !== 0) visitor.visit(item, arg);
    }
  },
  // No tp_clear: a tuple dies when a list or dict of its cycle lets go of it.
  clear: null,
  hash: (core, p, out) => hashWords(tupleHash(core, p), out),
  equals: (core, a, b, typeB) => (typeB !== T_TUPLE ? NOT_IMPLEMENTED : tupleEquals(core, a, b) ? EQUAL : UNEQUAL),
  sizeof: (m, p) => GC_HEAD + TUPLE_ITEMS + 8 * tupleSize(m.u32, p),
  toJS: (m, p) => new TupleRebuild(m.u32, p),
  clearFreeList: clearTupleFreeLists,
  check: (_u8, u32, limit) => checkTuples(u32, limit),
};
