/**
 * list (Objects/listobject.c, 3.12): a 40-byte object behind its GC head, from a freelist of 80 (a
 * stack in the region), and its item array a separate block of the MEM domain, grown and shrunk by
 * list_resize's over-allocation: append capacities 0, 4, 8, 16, 24, 32, 40, 52, 64, 76, ...
 * list(items) allocates exactly the items rounded up to even (list_preallocate_exact).
 */
import {
  LIST_SIZE, LIST_ITEMS, LIST_ALLOCATED, LIST_BASICSIZE, LIST_MAXFREELIST, OBJ_LIST_NUMFREE, OBJ_LIST_FREE,
  T_LIST, typeRecord,
} from './layout';
import { freeContainer, allocContainer } from './header';
import { park, drainParked } from './freelist';
import { track } from './gc-list';
import { noMemory, type ObjectMemory } from './memory';
import { unhashable } from './hash';
import { expectParked, expectStack } from './invariants';
import { Rebuild, EQUAL, UNEQUAL, NOT_IMPLEMENTED, type ObjectCore, type PyJS, type TypeSlots } from './slots';
import { GC_HEAD } from './layout';

const LIST_TYPE = typeRecord(T_LIST);

export function listSize(u32: Uint32Array, p: number): number {
  return u32[(p + LIST_SIZE) >>> 2];
}

export function listAllocated(u32: Uint32Array, p: number): number {
  return u32[(p + LIST_ALLOCATED) >>> 2];
}

/** The address of item slot i. */
export function listSlot(u32: Uint32Array, p: number, i: number): number {
  return u32[(p + LIST_ITEMS) >>> 2] + 8 * i;
}

/** PyList_New(0): empty, from the freelist when it has one, and tracked by the collector. */
export function allocList(m: ObjectMemory): number {
  const p = allocContainer(m, OBJ_LIST_NUMFREE, LIST_TYPE, LIST_BASICSIZE, 'a list');
  track(m.u32, p);
  return p;
}

/**
 * list_resize: sets the size to newsize, reallocating the item array when newsize is above the
 * capacity or below half of it. MemoryError, with nothing changed, when the array cannot be had.
 */
export function listResize(m: ObjectMemory, p: number, newsize: number): void {
  const u32 = m.u32;
  const allocated = listAllocated(u32, p);
  if (allocated >= newsize && newsize >= allocated >>> 1) {
    u32[(p + LIST_SIZE) >>> 2] = newsize;
    return;
  }
  // Over-allocate proportionally (about 12.5%), rounded to a multiple of 4. (CPython's two other
  // cases cannot arise here: a jump far beyond the size comes from list.extend, and a resize to 0 from
  // slice deletion; append, insert and pop move the size by one, and the last pop frees the array.)
  const capacity = (newsize + (newsize >>> 3) + 6) & ~3;
  setItems(m, p, capacity, m.mem.realloc(u32[(p + LIST_ITEMS) >>> 2], capacity * 8));
  u32[(p + LIST_SIZE) >>> 2] = newsize;
}

/** Installs an item array of `capacity` slots (0 from the allocator: MemoryError, the list unchanged). */
function setItems(m: ObjectMemory, p: number, capacity: number, items: number): void {
  if (items === 0) throw noMemory(capacity * 8, "a list's items");
  m.u32[(p + LIST_ITEMS) >>> 2] = items;
  m.u32[(p + LIST_ALLOCATED) >>> 2] = capacity;
}

/** list(items): the items incref'd, in an array of (n + 1) & ~1 slots (list_preallocate_exact). */
export function listFromItems(m: ObjectMemory, items: ArrayLike<number>, incref: (p: number) => void, free: (p: number) => void): number {
  const p = allocList(m);
  const n = items.length;
  if (n === 0) return p;
  const capacity = (n + 1) & ~1;
  const array = m.mem.malloc(capacity * 8);
  if (array === 0) {
    free(p);
    throw noMemory(capacity * 8, "a list's items");
  }
  setItems(m, p, capacity, array);
  m.u32.fill(0, array >>> 2, (array + capacity * 8) >>> 2);
  for (let i = 0; i < n; i++) {
    incref(items[i]);
    m.u32[(array + 8 * i) >>> 2] = items[i];
  }
  m.u32[(p + LIST_SIZE) >>> 2] = n;
  return p;
}

/** _list_clear, without the items (the caller took them): the array freed, size and capacity 0. */
export function clearList(m: ObjectMemory, p: number): void {
  m.mem.free(m.u32[(p + LIST_ITEMS) >>> 2]);
  m.u32.fill(0, (p + LIST_SIZE) >>> 2, (p + LIST_BASICSIZE) >>> 2);
}

/**
 * _list_clear (the list's tp_clear, which the collector calls to break a cycle): the list is made
 * empty first, then its items are dropped from the last, then the array is freed.
 */
export function listClearItems(core: ObjectCore, p: number): void {
  const m = core.m;
  const u32 = m.u32;
  const items = u32[(p + LIST_ITEMS) >>> 2];
  if (items === 0) return;
  const n = listSize(u32, p);
  u32.fill(0, (p + LIST_SIZE) >>> 2, (p + LIST_BASICSIZE) >>> 2);
  for (let i = n - 1; i >= 0; i--) core.drop(u32[(items + 8 * i) >>> 2]);
  m.mem.free(items);
}

/** Writes item v (a reference the list now owns) into slot i. */
export function setSlot(u32: Uint32Array, p: number, i: number, v: number): void {
  const at = listSlot(u32, p, i);
  u32[at >>> 2] = v;
  u32[(at + 4) >>> 2] = 0;
}

/** Moves slots [from, size) by `by` slots (memmove). */
export function moveSlots(u32: Uint32Array, p: number, from: number, size: number, by: number): void {
  const base = u32[(p + LIST_ITEMS) >>> 2] >>> 2;
  u32.copyWithin(base + 2 * (from + by), base + 2 * from, base + 2 * size);
}

/** list_dealloc after its items: the array freed, the list pushed on the freelist or freed. */
export function freeList(m: ObjectMemory, p: number): void {
  const u32 = m.u32;
  const items = u32[(p + LIST_ITEMS) >>> 2];
  if (items !== 0) m.mem.free(items);
  if (!park(u32, OBJ_LIST_NUMFREE, LIST_MAXFREELIST, p)) freeContainer(m, p);
}

/** _PyList_ClearFreeList. */
export function clearListFreeList(m: ObjectMemory): void {
  drainParked(m.u32, OBJ_LIST_NUMFREE, (p) => freeContainer(m, p));
}

/** list_richcompare (==): the same length, and each pair of items equal. */
function listEquals(core: ObjectCore, a: number, b: number): boolean {
  const u32 = core.m.u32;
  const n = listSize(u32, a);
  if (n !== listSize(u32, b)) return false;
  for (let i = 0; i < n; i++) if (!core.equals(u32[listSlot(u32, a, i) >>> 2], u32[listSlot(u32, b, i) >>> 2])) return false;
  return true;
}

/** A list's JS value: its array exists before its items, so a cycle back to the list finds it. */
class ListRebuild extends Rebuild {
  private i = 0;

  constructor(
    private readonly u32: Uint32Array,
    private readonly p: number,
    private readonly out: PyJS[] = [],
  ) {
    super(out);
  }

  next(): number {
    return this.i < listSize(this.u32, this.p) ? this.u32[listSlot(this.u32, this.p, this.i++) >>> 2] : 0;
  }

  put(value: PyJS): void {
    this.out.push(value);
  }

  done(): PyJS {
    return this.out;
  }
}

export const listSlots: TypeSlots = {
  // list_dealloc: the items dropped from the last, then the array freed and the list parked or freed.
  dealloc: (core, p) => {
    const u32 = core.m.u32;
    for (let i = listSize(u32, p) - 1; i >= 0; i--) core.drop(u32[listSlot(u32, p, i) >>> 2]);
    freeList(core.m, p);
  },
  // list_traverse, from the last item.
  traverse: (m, p, visitor, arg) => {
    const u32 = m.u32;
    const items = u32[(p + LIST_ITEMS) >>> 2];
    for (let i = listSize(u32, p) - 1; i >= 0; i--) visitor.visit(u32[(items + 8 * i) >>> 2], arg);
  },
  clear: listClearItems,
  hash: () => unhashable('list'),
  equals: (core, a, b, typeB) => (typeB !== T_LIST ? NOT_IMPLEMENTED : listEquals(core, a, b) ? EQUAL : UNEQUAL),
  sizeof: (m, p) => GC_HEAD + LIST_BASICSIZE + 8 * listAllocated(m.u32, p),
  toJS: (m, p) => new ListRebuild(m.u32, p),
  clearFreeList: clearListFreeList,
  check: (_u8, u32, limit) => expectStack(u32, OBJ_LIST_NUMFREE, OBJ_LIST_FREE, LIST_MAXFREELIST, 'list', (p, slot) => expectParked(u32, p, T_LIST, slot, limit)),
};
