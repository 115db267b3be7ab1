/**
 * The collector's lists and what every container allocation and deallocation does to them
 * (Include/internal/pycore_object.h's _PyObject_GC_TRACK and _UNTRACK, Modules/gcmodule.c's gc_list_*
 * and _PyObject_GC_Link / PyObject_GC_Del). A list is circular and doubly linked through the GC heads,
 * its head a PyGC_Head in the collector's state (layout.ts draws both). Every operation here is O(1):
 * a few u32 reads and writes, no JS object.
 */
import {
  OB_TYPE, T_TUPLE, TYPES, TYPE_RECORD_SHIFT, TYPE_GC_BITS, typeRecord, GC_HEAD, HEAD_NEXT, HEAD_PREV, HEAD_FLAGS, HEAD_REFS, GC_COUNTS, GC_THRESHOLDS, GC_ENABLED, GC_COLLECTING, GC_PERMANENT,
  GC_UNREACHABLE, NUM_GENERATIONS, genHead,
} from './layout';
import type { ObjectMemory } from './memory';

export function next(u32: Uint32Array, h: number): number {
  return u32[(h + HEAD_NEXT) >>> 2];
}

export function prev(u32: Uint32Array, h: number): number {
  return u32[(h + HEAD_PREV) >>> 2];
}

/** _PyObject_GC_IS_TRACKED: the container p is on a list. */
export function isTracked(u32: Uint32Array, p: number): boolean {
  return u32[(p - GC_HEAD + HEAD_NEXT) >>> 2] !== 0;
}

/** gc_list_init: an empty list, its head linked to itself. */
export function listInit(u32: Uint32Array, head: number): void {
  u32[(head + HEAD_NEXT) >>> 2] = head;
  u32[(head + HEAD_PREV) >>> 2] = head;
  u32[(head + HEAD_FLAGS) >>> 2] = 0;
  u32[(head + HEAD_REFS) >>> 2] = 0;
}

export function listIsEmpty(u32: Uint32Array, head: number): boolean {
  return next(u32, head) === head;
}

/** gc_list_append: h (not on any list) becomes the last of the list at head. */
export function listAppend(u32: Uint32Array, h: number, head: number): void {
  const last = prev(u32, head);
  u32[(last + HEAD_NEXT) >>> 2] = h;
  u32[(h + HEAD_PREV) >>> 2] = last;
  u32[(h + HEAD_NEXT) >>> 2] = head;
  u32[(head + HEAD_PREV) >>> 2] = h;
}

/** gc_list_remove: h leaves its list, its head zeroed (untracked, no collection state). */
export function listRemove(u32: Uint32Array, h: number): void {
  const before = prev(u32, h);
  const after = next(u32, h);
  u32[(before + HEAD_NEXT) >>> 2] = after;
  u32[(after + HEAD_PREV) >>> 2] = before;
  u32[(h + HEAD_NEXT) >>> 2] = 0;
  u32[(h + HEAD_FLAGS) >>> 2] = 0;
  u32[(h + HEAD_PREV) >>> 2] = 0;
  u32[(h + HEAD_REFS) >>> 2] = 0;
}

/** gc_list_move: h leaves its list for the end of the list at head. */
export function listMove(u32: Uint32Array, h: number, head: number): void {
  const before = prev(u32, h);
  const after = next(u32, h);
  u32[(before + HEAD_NEXT) >>> 2] = after;
  u32[(after + HEAD_PREV) >>> 2] = before;
  listAppend(u32, h, head);
}

/** gc_list_merge: every element of `from` goes to the end of `to`, in order; `from` is left empty. */
export function listMerge(u32: Uint32Array, from: number, to: number): void {
  if (listIsEmpty(u32, from)) return;
  const tail = prev(u32, to);
  const first = next(u32, from);
  const last = prev(u32, from);
  u32[(tail + HEAD_NEXT) >>> 2] = first;
  u32[(first + HEAD_PREV) >>> 2] = tail;
  u32[(last + HEAD_NEXT) >>> 2] = to;
  u32[(to + HEAD_PREV) >>> 2] = last;
  listInit(u32, from);
}

/** gc_list_size: O(n), as CPython's (generations keep no length). */
export function listSize(u32: Uint32Array, head: number): number {
  let n = 0;
  for (let h = next(u32, head); h !== head; h = next(u32, h)) n++;
  return n;
}

const TUPLE_TYPE = typeRecord(T_TUPLE);

/** PyObject_IS_GC of a live object: its type record's number has Py_TPFLAGS_HAVE_GC. */
export function isGC(u32: Uint32Array, p: number): boolean {
  return ((TYPE_GC_BITS >>> ((u32[(p + OB_TYPE) >>> 2] - TYPES) >>> TYPE_RECORD_SHIFT)) & 1) === 1;
}

/**
 * _PyObject_GC_MAY_BE_TRACKED: whether the live object p could be part of a cycle the collector must
 * see: a container (tracked or not) other than a tuple, or a tracked tuple. Atoms (None, numbers,
 * str, bytes) and untracked tuples cannot be.
 */
export function mayBeTracked(u32: Uint32Array, p: number): boolean {
  if (!isGC(u32, p)) return false;
  return u32[(p + OB_TYPE) >>> 2] !== TUPLE_TYPE || isTracked(u32, p);
}

/** The thresholds a new heap starts with: CPython 3.12's (3.13 raised the first to 2000). */
const DEFAULT_THRESHOLDS = [700, 10, 10];

/** Writes a new heap's collector state: every list empty, CPython's thresholds, collection enabled. */
export function initCollector(u32: Uint32Array): void {
  for (let g = 0; g < NUM_GENERATIONS; g++) {
    listInit(u32, genHead(g));
    u32[(GC_THRESHOLDS >>> 2) + g] = DEFAULT_THRESHOLDS[g];
  }
  listInit(u32, GC_PERMANENT);
  listInit(u32, GC_UNREACHABLE);
  u32[GC_ENABLED >>> 2] = 1;
}

/** _PyObject_GC_TRACK: the container p joins the end of generation 0. */
export function track(u32: Uint32Array, p: number): void {
  listAppend(u32, p - GC_HEAD, genHead(0));
}

/** _PyObject_GC_UNTRACK when p may or may not be tracked (PyObject_GC_UnTrack). */
export function untrack(u32: Uint32Array, p: number): void {
  if (isTracked(u32, p)) listRemove(u32, p - GC_HEAD);
}

/**
 * _PyObject_GC_Link, for a container whose memory was just allocated (not one taken from a freelist):
 * generation 0's count rises, and when it passes threshold 0 while automatic collection is enabled
 * and no collection runs, the collector runs now, inside this allocation (CPython 3.11's timing; 3.12
 * defers it to the next eval-breaker check, which a library has no counterpart of). The new
 * container is not tracked yet, so the collection cannot see it.
 */
export function gcLink(m: ObjectMemory): void {
  const u32 = m.u32;
  const count = u32[GC_COUNTS >>> 2] + 1;
  u32[GC_COUNTS >>> 2] = count;
  const threshold = u32[GC_THRESHOLDS >>> 2] | 0;
  if (count > threshold && threshold !== 0 && u32[GC_ENABLED >>> 2] !== 0 && u32[GC_COLLECTING >>> 2] === 0) m.automatic.collectGenerations();
}

/** PyObject_GC_Del's bookkeeping: off its list if still on one; generation 0's count falls, not below 0. */
export function gcUnlink(u32: Uint32Array, p: number): void {
  untrack(u32, p);
  const count = u32[GC_COUNTS >>> 2];
  if (count > 0) u32[GC_COUNTS >>> 2] = count - 1;
}
