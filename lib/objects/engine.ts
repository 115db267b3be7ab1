/**
 * The objects layer's unchecked core, shared by heap.objects (which checks every argument first), the
 * conversions and the containers: references, deallocation through each type's policy, hashing and
 * equality. Containers are deallocated through CPython's trashcan: nested deallocations run directly
 * up to 50 deep, and deeper ones are deposited on a list (linked through the GC head) and run when
 * the outermost one returns, so a million-deep nesting neither overflows the JS stack nor changes the
 * order in which CPython frees (and parks on freelists) the objects of shallower structures.
 *
 * No walk here recurses without a bound: nested tuples hash with a stack of their own (CPython's
 * tuplehash recurses in C without a guard, and answers for any depth), and comparisons nest at most
 * MAX_COMPARE_DEPTH deep, then raise RecursionError as CPython does.
 */
import { RecursionError, objectError } from '../errors';
import {
  IMMORTAL, OB_REFCNT, GC_PREV, T_NONE, T_BOOL, T_INT, T_FLOAT, T_STR, T_BYTES, T_TUPLE, T_LIST, T_DICT,
  TYPE_INFO, SIZED_HASH,
} from './layout';
import { markDead, typeOf } from './header';
import { untrack } from './gc-list';
import { HASH_NONE, hashDouble, hashInteger, readHash } from './hash';
import { intToSafeNumber, intToBigInt, intEquals, intEqualsDouble } from './int';
import { floatValue, deallocFloat } from './float';
import { strEquals, strHashLow } from './str';
import { bytesEquals, ensureBytesHash } from './bytes';
import { tupleSize, tupleItem, freeTuple, TUPLE_HASH_START, tupleHashLane, tupleHashEnd } from './tuple';
import { listSize, listSlot, freeList, listClearItems } from './list';
import { HASH_LO, HASH_HI, deallocDict, dictClear, dictEntries, dictGet, dictUsed, type DictOps } from './dict';
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
const SCRATCH = new Uint32Array(2);

export class Engine implements DictOps {
  /** The trashcan's nesting depth, and the head of the objects deposited for later. */
  private nesting = 0;
  private later = 0;
  /** Comparisons in progress, one inside another (equals of containers). */
  private compareDepth = 0;
  /** The nested tuples being hashed, their next item and accumulators: the stack hash() keeps. */
  private readonly hashing: number[] = [];
  private readonly hashNext: number[] = [];
  private readonly hashAcc: bigint[] = [];

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
   * tp_dealloc: the type's policy; ob_type is cleared when the memory goes back (so a later use is
   * caught). A container first leaves the collector's lists (PyObject_GC_UnTrack), as every container
   * deallocator of CPython's begins.
   */
  dealloc(p: number): void {
    const type = typeOf(this.m.u32, p);
    if (type === T_FLOAT) return deallocFloat(this.m, p);
    if (type === T_TUPLE || type === T_LIST || type === T_DICT) {
      untrack(this.m.u32, p);
      return this.trashcan(p, type);
    }
    markDead(this.m.u32, p);
    this.m.obj.free(p);
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
      this.deallocContainer(p, type);
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
        this.deallocContainer(q, typeOf(this.m.u32, q));
      } finally {
        this.nesting--;
      }
    }
  }

  /** The items dropped (from the last, as tupledealloc and list_dealloc do), then the memory. */
  private deallocContainer(p: number, type: number): void {
    const m = this.m;
    const u32 = m.u32;
    if (type === T_TUPLE) {
      for (let i = tupleSize(u32, p) - 1; i >= 0; i--) this.drop(tupleItem(u32, p, i));
      return freeTuple(m, p);
    }
    if (type === T_LIST) {
      for (let i = listSize(u32, p) - 1; i >= 0; i--) this.drop(u32[listSlot(u32, p, i) >>> 2]);
      return freeList(m, p);
    }
    deallocDict(this, p);
  }

  /**
   * tp_clear of a list or dict, as the collector calls it (delete_garbage) and as list.clear() and
   * dict.clear() do: the object holds a reference of its own meanwhile, so that dropping a reference
   * to itself cannot free it mid-clear. (A tuple has no tp_clear: it dies when a list or dict of its
   * cycle lets go of it.)
   */
  clear(p: number, type: number): void {
    this.incref(p);
    if (type === T_LIST) listClearItems(this.m, p, this.dropItem);
    else dictClear(this, p);
    this.drop(p);
  }

  private readonly dropItem = (q: number): void => this.drop(q);

  /** The hash of p into out (low and high word); unhashable types are a TypeError, as CPython's. */
  hashInto(p: number, out: Uint32Array): void {
    const u32 = this.m.u32;
    const type = typeOf(u32, p);
    if (type === T_STR || type === T_BYTES) {
      // Both keep their hash in the same cache field, computed on first use.
      if (type === T_STR) strHashLow(this.m, p);
      else ensureBytesHash(this.m, p);
      out[HASH_LO] = u32[(p + SIZED_HASH) >>> 2];
      out[HASH_HI] = u32[(p + SIZED_HASH + 4) >>> 2];
      return;
    }
    if (isNumeric(type)) {
      const v = type === T_FLOAT ? floatValue(this.m, p) : intToSafeNumber(u32, p);
      if (v !== undefined && Number.isSafeInteger(v) && v !== -1) {
        // A safe integer (int, bool, or an integral float) is its own hash, below 2^61 - 1: its
        // two's complement words, with no BigInt.
        out[HASH_LO] = v >>> 0;
        out[HASH_HI] = Math.floor(v / 2 ** 32) >>> 0;
        return;
      }
    }
    const h = BigInt.asUintN(64, this.hash(p));
    out[HASH_LO] = Number(h & 0xffffffffn);
    out[HASH_HI] = Number(h >> 32n);
  }

  /** hash(p), a Py_hash_t. */
  hash(p: number): bigint {
    const m = this.m;
    const type = typeOf(m.u32, p);
    switch (type) {
      case T_NONE:
        return HASH_NONE;
      case T_BOOL:
      case T_INT: {
        const v = intToSafeNumber(m.u32, p);
        return hashInteger(v === undefined ? intToBigInt(m.u32, p) : BigInt(v));
      }
      case T_FLOAT:
        return hashDouble(floatValue(m, p), p);
      case T_STR:
      case T_BYTES:
        this.hashInto(p, SCRATCH);
        return readHash(m.u32, p + SIZED_HASH);
      case T_TUPLE:
        return this.tupleHash(p);
      default:
        throw objectError('ERR_PYMEM_WRONG_TYPE', `unhashable type: '${TYPE_INFO[type][0]}'`);
    }
  }

  /**
   * tuplehash over nested tuples, depth first with an explicit stack: each tuple's accumulator takes
   * its items' hashes in order, a nested tuple's once that tuple is done. Items of other types hash
   * directly (none of them holds objects). An unhashable item throws, and the stack is left empty.
   */
  private tupleHash(root: number): bigint {
    const u32 = this.m.u32;
    const stack = this.hashing;
    const next = this.hashNext;
    const acc = this.hashAcc;
    // hash() of an item that is no tuple never comes back here: the stack is this call's alone.
    stack.push(root);
    next.push(0);
    acc.push(TUPLE_HASH_START);
    try {
      for (;;) {
        const top = stack.length - 1;
        const p = stack[top];
        const i = next[top];
        const n = tupleSize(u32, p);
        if (i < n) {
          next[top] = i + 1;
          const item = tupleItem(u32, p, i);
          if (typeOf(u32, item) === T_TUPLE) {
            stack.push(item);
            next.push(0);
            acc.push(TUPLE_HASH_START);
          } else {
            acc[top] = tupleHashLane(acc[top], this.hash(item));
          }
          continue;
        }
        const h = tupleHashEnd(acc[top], n);
        stack.pop();
        next.pop();
        acc.pop();
        if (stack.length === 0) return h;
        acc[top - 1] = tupleHashLane(acc[top - 1], h);
      }
    } finally {
      stack.length = next.length = acc.length = 0;
    }
  }

  /**
   * PyObject_RichCompareBool(a, b, Py_EQ): identity first; numbers by value across bool, int and
   * float; str, bytes by content; tuples and lists item by item; dicts by their keys and values. A
   * comparison of two objects counts one level of recursion, as Py_EnterRecursiveCall(" in
   * comparison") does in PyObject_RichCompare; past MAX_COMPARE_DEPTH, RecursionError.
   */
  equals(a: number, b: number): boolean {
    if (a === b) return true;
    if (this.compareDepth >= MAX_COMPARE_DEPTH) throw new RecursionError('maximum recursion depth exceeded in comparison');
    const m = this.m;
    const u32 = m.u32;
    const ta = typeOf(u32, a);
    const tb = typeOf(u32, b);
    if (isNumeric(ta) && isNumeric(tb)) {
      if (ta !== T_FLOAT && tb !== T_FLOAT) return intEquals(u32, a, b);
      if (ta === T_FLOAT && tb === T_FLOAT) return floatValue(m, a) === floatValue(m, b);
      return ta === T_FLOAT ? intEqualsDouble(u32, b, floatValue(m, a)) : intEqualsDouble(u32, a, floatValue(m, b));
    }
    if (ta !== tb) return false;
    if (ta === T_STR) return strEquals(m, a, b);
    if (ta === T_BYTES) return bytesEquals(m, a, b);
    this.compareDepth++;
    try {
      return this.containerEquals(m, a, b, ta);
    } finally {
      this.compareDepth--;
    }
  }

  /** Two tuples, lists or dicts (None is one object: identity answered for it), one level down. */
  private containerEquals(m: ObjectMemory, a: number, b: number, type: number): boolean {
    const u32 = m.u32;
    switch (type) {
      case T_TUPLE: {
        const n = tupleSize(u32, a);
        if (n !== tupleSize(u32, b)) return false;
        for (let i = 0; i < n; i++) if (!this.equals(tupleItem(u32, a, i), tupleItem(u32, b, i))) return false;
        return true;
      }
      case T_LIST: {
        const n = listSize(u32, a);
        if (n !== listSize(u32, b)) return false;
        for (let i = 0; i < n; i++) if (!this.equals(u32[listSlot(u32, a, i) >>> 2], u32[listSlot(u32, b, i) >>> 2])) return false;
        return true;
      }
      default: {
        // Two dicts (None is one object, so identity answered for it above).
        if (dictUsed(u32, a) !== dictUsed(u32, b)) return false;
        for (const [key, value] of dictEntries(m, a)) {
          const other = dictGet(this, b, key);
          if (other === 0 || !this.equals(value, other)) return false;
        }
        return true;
      }
    }
  }
}

export function isNumeric(type: number): boolean {
  return type === T_BOOL || type === T_INT || type === T_FLOAT;
}
