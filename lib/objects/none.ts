/**
 * None (Objects/object.c, 3.12): one static immortal object of 16 bytes, NoneType's only instance.
 * Nothing allocates or frees one; its slots answer what CPython's _PyNone_Type does.
 */
import { NONE, PYOBJECT_SIZE, T_NONE } from './layout';
import { HASH_LO, HASH_HI, HASH_NONE } from './hash';
import { deallocAtom } from './header';
import { expectStatic } from './invariants';
import { NOT_IMPLEMENTED, type TypeSlots } from './slots';

/** hash(None)'s low word: the constant fits 32 bits. */
const HASH_NONE_LO = Number(HASH_NONE);

export const noneSlots: TypeSlots = {
  // None is immortal: its count never reaches 0 (none_dealloc is a fatal error in CPython).
  dealloc: deallocAtom,
  traverse: null,
  clear: null,
  hash: (_core, _p, out) => {
    out[HASH_LO] = HASH_NONE_LO;
    out[HASH_HI] = 0;
  },
  // None == x only by identity, which the caller answered (object's richcompare: NotImplemented).
  equals: () => NOT_IMPLEMENTED,
  sizeof: () => PYOBJECT_SIZE,
  toJS: () => null,
  clearFreeList: null,
  check: (_u8, u32) => expectStatic(u32, NONE, T_NONE, 'None'),
};
