/**
 * The shape of a type's slots: what each type of layer +3 does for the operations that are chosen by
 * the type of an object, as CPython's PyTypeObject carries tp_dealloc, tp_traverse, tp_clear, tp_hash,
 * tp_richcompare and __sizeof__. Each type module exports one TypeSlots (none.ts; int.ts for int and
 * bool; float.ts, str.ts, bytes.ts, tuple.ts, list.ts, dict.ts), types.ts lists them by type number,
 * and every dispatcher (engine.ts, objects.ts, convert.ts, check.ts and the collector) calls through
 * that list: adding a type is its module, its line in types.ts, and its number and record in layout.ts.
 *
 * Cost of a dispatch: one array load, one property load of one shape (every TypeSlots object has every
 * field, null where a type has no such slot, so the load stays monomorphic) and an indirect call, which
 * V8 does not inline: CPython's own Py_TYPE(op)->tp_dealloc(op). The slots that run once per object of
 * a bulk operation (dealloc, traverse, toJS) go through types.ts's switches instead, a direct call per
 * type (types.ts says why and what it saved).
 */
import type { ObjectMemory } from './memory';

/** What toJS() gives back. */
export type PyJS = null | boolean | number | bigint | string | Uint8Array | PyJS[] | Tuple | Map<PyJS, PyJS> | { [key: string]: PyJS };

/** A JS stand-in for a Python tuple: fromJS makes a tuple of it, toJS gives one back for a tuple. */
export class Tuple {
  readonly items: readonly unknown[];

  constructor(items: Iterable<unknown>) {
    this.items = Object.freeze([...items]);
  }
}

export interface ToJSOptions {
  /** Ints as bigint always; otherwise (the default) a number when it is a safe integer, else a bigint. */
  bigint?: boolean;
  /** Dicts as Maps always; otherwise (the default) a plain object when every key is a str, else a Map. */
  maps?: boolean;
}

/**
 * A container's JS value being rebuilt by toJS, which walks with a stack of these rather than the JS
 * call stack (so any depth converts): it asks for the next item's pointer, converts it, and puts its
 * value; after the last, done() gives the JS value. `early` is that value when it exists before the
 * items (a list's array, a dict's object or Map), so that a cycle back to the container finds it.
 */
export abstract class Rebuild {
  constructor(readonly early: PyJS | undefined) {}
  /** The pointer of the next item to convert, or 0 when there is none left. */
  abstract next(): number;
  /** The JS value of the item next() gave last. */
  abstract put(value: PyJS): void;
  abstract done(): PyJS;
}

/** What the dict's table needs from the object layer: hashes (into `hash`, low and high word), equality, references. */
export interface DictOps {
  readonly m: ObjectMemory;
  /** The key's hash, written to hash[HASH_LO] and hash[HASH_HI]; a TypeError for an unhashable key. */
  hashInto(key: number, hash: Uint32Array): void;
  equals(a: number, b: number): boolean;
  incref(p: number): void;
  /** Py_DECREF of a reference the table held. */
  drop(p: number): void;
}

/**
 * What a type's slots may call back into: references and the object-level hash and comparison (for a
 * container's items), over the region. The objects core (engine.ts) is the one implementation.
 */
export interface ObjectCore extends DictOps {
  /** hash(p), a Py_hash_t. */
  hash(p: number): bigint;
}

/** tp_richcompare's answers (Py_True, Py_False and Py_NotImplemented). */
export const UNEQUAL = 0;
export const EQUAL = 1;
export const NOT_IMPLEMENTED = 2;

/**
 * visitproc and its arg: tp_traverse calls visitor.visit(q, arg) for each reference a container holds.
 * An object with a method rather than a closure, because every collector's visitor is then of one
 * class and the call stays monomorphic; a closure per collector (one per heap) made each traverse's
 * call site see several functions, and a collection in a second heap ran 15% more instructions.
 */
export interface Visitor {
  visit(q: number, arg: number): void;
}

export interface TypeSlots {
  /**
   * tp_dealloc, of an object whose count reached 0: its references dropped, then its memory freed or
   * parked on the type's freelist. A container (TYPE_GC_BITS in layout.ts) has left the collector's
   * lists already, and runs inside the trashcan (engine.ts).
   */
  readonly dealloc: (core: ObjectCore, p: number) => void;
  /** tp_traverse: visitor.visit(q, arg) for every reference p holds, in CPython's order; null for an atom. */
  readonly traverse: ((m: ObjectMemory, p: number, visitor: Visitor, arg: number) => void) | null;
  /** tp_clear: drops the references p holds, leaving it empty; null where CPython's type has none. */
  readonly clear: ((core: ObjectCore, p: number) => void) | null;
  /** tp_hash, into out[0] (low word) and out[1] (high word); an unhashable type throws its TypeError. */
  readonly hash: (core: ObjectCore, p: number, out: Uint32Array) => void;
  /**
   * tp_richcompare(a, b, Py_EQ) for a of this type and b of type `typeB`, two objects that are not one:
   * EQUAL, UNEQUAL, or NOT_IMPLEMENTED for a b the type does not know, when the dispatcher asks b's type
   * the reflected question and, failing that too, answers by identity (do_richcompare).
   */
  readonly equals: (core: ObjectCore, a: number, b: number, typeB: number) => number;
  /** sys.getsizeof(p) in CPython 3.12 on 64-bit: __sizeof__ and, for a container, its GC head. */
  readonly sizeof: (m: ObjectMemory, p: number) => number;
  /** p's JS value, or for a container the Rebuild that makes it from its items' values. */
  readonly toJS: (m: ObjectMemory, p: number, options: ToJSOptions) => PyJS | Rebuild;
  /** Gives the objects parked on the type's freelists back to the allocator (_PyGC_ClearAllFreeLists); null without one. */
  readonly clearFreeList: ((m: ObjectMemory) => void) | null;
  /**
   * heap.check()'s part for the type: its static objects, freelists and tables, read from the region
   * without writing a byte (lib/objects/invariants.ts); throws HeapCorruptionError naming the first
   * invariant broken. `limit` is the region's length.
   */
  readonly check: (u8: Uint8Array, u32: Uint32Array, limit: number) => void;
}
