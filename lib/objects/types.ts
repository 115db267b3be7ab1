/**
 * The type-slot table: each type's slots (lib/objects/slots.ts) at its type number, as CPython finds
 * them through Py_TYPE(op). Every per-type operation of layer +3 dispatches through TYPE_SLOTS[type].
 *
 * Each entry is copied into one object literal here, so that all of them share one hidden class and
 * a dispatcher's load of a slot stays monomorphic whatever the type.
 */
import { T_NONE, T_BOOL, T_INT, T_FLOAT, T_STR, T_BYTES, T_TUPLE, T_LIST, T_DICT, TYPE_COUNT } from './layout';
import { noneSlots } from './none';
import { intSlots, boolSlots } from './int';
import { floatSlots } from './float';
import { strSlots } from './str';
import { bytesSlots } from './bytes';
import { tupleSlots } from './tuple';
import { listSlots } from './list';
import { dictSlots } from './dict';
import type { TypeSlots } from './slots';

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
