/**
 * The objects layer's unchecked core, shared by heap.objects (which checks every argument first), the
 * conversions and the containers: references, and deallocation, hashing and equality through each
 * type's slots (lib/objects/types.ts). Containers are deallocated through CPython's trashcan: nested deallocations run directly
 * up to 50 deep, and deeper ones are deposited on a list (linked through the GC head) and run when
 * the outermost one returns, so a million-deep nesting neither overflows the JS stack nor changes the
 * order in which CPython frees (and parks on freelists) the objects of shallower structures.
 *
 * No walk recurses without a bound: nested tuples hash with a stack of their own (tuple.ts), and
 * comparisons nest at most MAX_COMPARE_DEPTH deep, then raise RecursionError as CPython does.
 */
import { RecursionError } from '../errors';
import { IMMORTAL, OB_REFCNT, GC_PREV, TYPE_GC_BITS } from './layout';
import { liveType } from './header';
import { untrack } from './gc-list';
import { wordsHash } from './hash';
import { TYPE_SLOTS, deallocAtomOf, deallocContainerOf } from './types';
import { EQUAL, NOT_IMPLEMENTED, type ObjectCore } from './slots';
import type { ObjectMemory } from './memory';

/** _PyTrash_UNWIND_LEVEL. */
const TRASH_UNWIND_LEVEL = 50;
/**
 * Comparisons nested deeper raise RecursionError: CPython 3.12 enters its C recursion limit (1,500)
 * at each comparison of two objects that are not one, and top-level code holds two levels of it
 * already, so two structures 1,498 containers deep compare and 1,499 do not
 * (test/fixtures/recursion-cpython.json).
 */
export const MAX_COMPARE_DEPTH = 1498;
/** hash()'s two words, between the type's slot and the bigint made of them. */
const SCRATCH = new Uint32Array(2);

export class Engine implements ObjectCore {
  /** The trashcan's nesting depth, and the head of the objects deposited for later. */
  private nesting = 0;
  private later = 0;
  /** Comparisons in progress, one inside another (equals of containers). */
  private compareDepth = 0;

  constructor(readonly m: ObjectMemory) {}

  /** Py_INCREF of a checked object. */
  incref(p: number): void {
    const at = (p + OB_REFCNT) >>> 2;
    const rc = this.m.u32[at];
    if (rc !== IMMORTAL) this.m.u32[at] = rc + 1;
  }

  /** Py_DECREF of a reference known good (one a container held, or a checked argument's). */
  drop(p: number): void {
    const u32 = this.m.u32;
    const at = (p + OB_REFCNT) >>> 2;
    const rc = u32[at];
    if (rc === IMMORTAL) return;
    u32[at] = rc - 1;
    if (rc === 1) this.dealloc(p);
  }

  /**
   * Py_Dealloc: the type's tp_dealloc. A container first leaves the collector's lists
   * (PyObject_GC_UnTrack, as every container deallocator of CPython's begins) and is deallocated
   * inside the trashcan.
   */
  dealloc(p: number): void {
    const type = liveType(this.m.u32, p);
    if (((TYPE_GC_BITS >>> type) & 1) === 0) return deallocAtomOf(type, this, p);
    untrack(this.m.u32, p);
    this.trashcan(p, type);
  }

  /** Py_TRASHCAN_BEGIN / END around a container's deallocation. */
  private trashcan(p: number, type: number): void {
    if (this.nesting >= TRASH_UNWIND_LEVEL) {
      // _PyTrash_thread_deposit_object: linked through the (untracked) GC head's prev word.
      this.m.u32[(p + GC_PREV) >>> 2] = this.later;
      this.later = p;
      return;
    }
    this.nesting++;
    try {
      deallocContainerOf(type, this, p);
    } finally {
      this.nesting--;
    }
    // _PyTrash_thread_destroy_chain, when the outermost deallocation is done.
    while (this.nesting === 0 && this.later !== 0) {
      const q = this.later;
      this.later = this.m.u32[(q + GC_PREV) >>> 2];
      this.m.u32[(q + GC_PREV) >>> 2] = 0;
      this.nesting++;
      try {
        deallocContainerOf(liveType(this.m.u32, q), this, q);
      } finally {
        this.nesting--;
      }
    }
  }

  /**
   * tp_clear of a container that has one (a list or dict), as the collector calls it (delete_garbage)
   * and as list.clear() and dict.clear() do: the object holds a reference of its own meanwhile, so
   * that dropping a reference to itself cannot free it mid-clear.
   */
  clear(p: number, clear: (core: ObjectCore, p: number) => void): void {
    this.incref(p);
    clear(this, p);
    this.drop(p);
  }

  /** tp_hash of p into out (low and high word); an unhashable type is a TypeError, as CPython's. */
  hashInto(p: number, out: Uint32Array): void {
    TYPE_SLOTS[liveType(this.m.u32, p)].hash(this, p, out);
  }

  /** hash(p), a Py_hash_t. */
  hash(p: number): bigint {
    this.hashInto(p, SCRATCH);
    return wordsHash(SCRATCH);
  }

  /**
   * PyObject_RichCompareBool(a, b, Py_EQ): identity first, then do_richcompare: a's type answers, or,
   * when it does not know b's, b's type answers the reflected question; when neither does, identity
   * (false). A comparison of two objects counts one level of recursion, as Py_EnterRecursiveCall("
   * in comparison") does in PyObject_RichCompare; past MAX_COMPARE_DEPTH, RecursionError.
   */
  equals(a: number, b: number): boolean {
    if (a === b) return true;
    if (this.compareDepth >= MAX_COMPARE_DEPTH) throw new RecursionError('maximum recursion depth exceeded in comparison');
    const u32 = this.m.u32;
    const ta = liveType(u32, a);
    const tb = liveType(u32, b);
    this.compareDepth++;
    try {
      let answer = TYPE_SLOTS[ta].equals(this, a, b, tb);
      if (answer === NOT_IMPLEMENTED && ta !== tb) answer = TYPE_SLOTS[tb].equals(this, b, a, ta);
      return answer === EQUAL;
    } finally {
      this.compareDepth--;
    }
  }
}
