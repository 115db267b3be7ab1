/**
 * _PyObject_DebugTypeStats (CPython 3.12): the free-list lines sys._debugmallocstats() prints after
 * pymalloc's section, read from the region (zeros before the objects layer is first used).
 */
import { printone } from '../pymalloc/stats';
import { FLOAT_SIZE, OBJ_FLOAT_NUMFREE, OBJ_DICT_NUMFREE, OBJ_LIST_NUMFREE, DICT_BASICSIZE, LIST_BASICSIZE, TUPLE_ITEMS, TUPLE_MAXSAVESIZE } from './layout';
import { tupleNumFree } from './tuple';

/** _PyDebugAllocatorStats: "%d free %ss * %zd bytes each" right-aligned in 48 columns, a space, then printone's value. */
export function allocatorStats(name: string, count: number, size: number): string {
  return printone(`${`${count} free ${name}s * ${size} bytes each`.padStart(48)} `, count * size);
}

/** The lines in CPython's order: dict, float, list, then tuples by length. */
export function freeListStats(u32: Uint32Array): string {
  let out = allocatorStats('PyDictObject', u32[OBJ_DICT_NUMFREE >>> 2], DICT_BASICSIZE);
  out += allocatorStats('PyFloatObject', u32[OBJ_FLOAT_NUMFREE >>> 2], FLOAT_SIZE);
  out += allocatorStats('PyListObject', u32[OBJ_LIST_NUMFREE >>> 2], LIST_BASICSIZE);
  // _PyTuple_DebugMallocStats: one line per length, "N free n-sized PyTupleObjects * (24 + 8 n) bytes each".
  for (let n = 1; n <= TUPLE_MAXSAVESIZE; n++) out += allocatorStats(`${n}-sized PyTupleObject`, tupleNumFree(u32, n), TUPLE_ITEMS + 8 * n);
  return out;
}
