/**
 * The type-slot table: each type's slots (lib/objects/slots.ts) at its type number, as CPython finds
 * them through Py_TYPE(op). Every per-type operation of layer +3 dispatches through TYPE_SLOTS[type].
 *
 * Each entry is copied into one object literal here, so that all of them share one hidden class and
 * a dispatcher's load of a slot stays monomorphic whatever the type.
 *
 * The three slots that run once per object of a bulk operation (tp_dealloc for every object freed,
 * tp_traverse twice per container in a collection, toJS for every value read) are called through the
 * switches at the end of this file instead: V8's call feedback is monomorphic or megamorphic, never
 * polymorphic, so TYPE_SLOTS[type].dealloc(...), one call site for every type, is a generic call that
 * V8 never inlines. Measured with callgrind on 20,000 records: through that one call site a full
 * collection ran 12% more instructions, freeing the records 8% more, reading them back 9% more. A
 * switch has a call site per type, each calling that type's entry of this table, and each stays
 * monomorphic. A new type takes its line in BY_NUMBER and its case in each switch; test/type-slots.ts
 * checks that every case calls its type's own slot.
 */
import { T_NONE, T_BOOL, T_INT, T_FLOAT, T_STR, T_BYTES, T_TUPLE, T_LIST, T_DICT, TYPE_COUNT } from './layout';
import { HeapCorruptionError } from '../errors';
import { noneSlots } from './none';
import { intSlots, boolSlots } from './int';
import { floatSlots } from './float';
import { strSlots } from './str';
import { bytesSlots } from './bytes';
import { tupleSlots } from './tuple';
import { listSlots } from './list';
import { dictSlots } from './dict';
import type { ObjectMemory } from './memory';
import type { ObjectCore, PyJS, Rebuild, ToJSOptions, TypeSlots, Visitor } from './slots';

function uniform(s: TypeSlots): TypeSlots {
  return {
    dealloc: s.dealloc,
    traverse: s.traverse,
    clear: s.clear,
    hash: s.hash,
    equals: s.equals,
    sizeof: s.sizeof,
    toJS: s.toJS,
    clearFreeList: s.clearFreeList,
    check: s.check,
  };
}

const BY_NUMBER: [number, TypeSlots][] = [
  [T_NONE, noneSlots],
  [T_BOOL, boolSlots],
  [T_INT, intSlots],
  [T_FLOAT, floatSlots],
  [T_STR, strSlots],
  [T_BYTES, bytesSlots],
  [T_TUPLE, tupleSlots],
  [T_LIST, listSlots],
  [T_DICT, dictSlots],
];

export const TYPE_SLOTS: readonly TypeSlots[] = BY_NUMBER.sort(([a], [b]) => a - b).map(([, s]) => uniform(s));

function assert(ok: boolean, what: string): void {
  /* c8 ignore next -- fires only when an edit leaves a type without its slots; it then fails every test */
  if (!ok) throw new Error(`pymem type slots: ${what}`);
}
assert(TYPE_SLOTS.length === TYPE_COUNT && BY_NUMBER.every(([type], i) => type === i), 'every type number has its slots, once');

const NONE = TYPE_SLOTS[T_NONE];
const BOOL = TYPE_SLOTS[T_BOOL];
const INT = TYPE_SLOTS[T_INT];
const FLOAT = TYPE_SLOTS[T_FLOAT];
const STR = TYPE_SLOTS[T_STR];
const BYTES = TYPE_SLOTS[T_BYTES];
const TUPLE = TYPE_SLOTS[T_TUPLE];
const LIST = TYPE_SLOTS[T_LIST];
const DICT = TYPE_SLOTS[T_DICT];

/** What a switch meets when a live object's type field holds no type: the region was written over. */
export function noSuchType(type: number): HeapCorruptionError {
  return new HeapCorruptionError('object.type', `an object the engine reached has type number ${type}, which is no type of this heap: its header was written over`);
}

/** Py_TYPE(p)->tp_dealloc(p) of an atom (no GC head), a call site per type. */
export function deallocAtomOf(type: number, core: ObjectCore, p: number): void {
  switch (type) {
    case T_NONE:
      return NONE.dealloc(core, p);
    case T_BOOL:
      return BOOL.dealloc(core, p);
    case T_INT:
      return INT.dealloc(core, p);
    case T_FLOAT:
      return FLOAT.dealloc(core, p);
    case T_STR:
      return STR.dealloc(core, p);
    case T_BYTES:
      return BYTES.dealloc(core, p);
  }
  throw noSuchType(type);
}

/** Py_TYPE(p)->tp_dealloc(p) of a container, a call site per container type. */
export function deallocContainerOf(type: number, core: ObjectCore, p: number): void {
  switch (type) {
    case T_TUPLE:
      return TUPLE.dealloc(core, p);
    case T_LIST:
      return LIST.dealloc(core, p);
    case T_DICT:
      return DICT.dealloc(core, p);
  }
  throw noSuchType(type);
}

/** Py_TYPE(p)->tp_traverse(p, visit, arg) of a container, a call site per container type. */
export function traverseOf(type: number, m: ObjectMemory, p: number, visitor: Visitor, arg: number): void {
  if (type === T_DICT) return (DICT.traverse as NonNullable<TypeSlots['traverse']>)(m, p, visitor, arg);
  if (type === T_LIST) return (LIST.traverse as NonNullable<TypeSlots['traverse']>)(m, p, visitor, arg);
  if (type === T_TUPLE) return (TUPLE.traverse as NonNullable<TypeSlots['traverse']>)(m, p, visitor, arg);
  throw noSuchType(type);
}

/** The toJS slot of p: an atom's value, or a container's Rebuild; a call site per type. */
export function toJSOf(type: number, m: ObjectMemory, p: number, options: ToJSOptions): PyJS | Rebuild {
  switch (type) {
    case T_NONE:
      return NONE.toJS(m, p, options);
    case T_BOOL:
      return BOOL.toJS(m, p, options);
    case T_INT:
      return INT.toJS(m, p, options);
    case T_FLOAT:
      return FLOAT.toJS(m, p, options);
    case T_STR:
      return STR.toJS(m, p, options);
    case T_BYTES:
      return BYTES.toJS(m, p, options);
    case T_TUPLE:
      return TUPLE.toJS(m, p, options);
    case T_LIST:
      return LIST.toJS(m, p, options);
    case T_DICT:
      return DICT.toJS(m, p, options);
  }
  throw noSuchType(type);
}
