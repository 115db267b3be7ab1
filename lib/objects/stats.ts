/**
 * _PyObject_DebugTypeStats (CPython 3.12): the free-list lines sys._debugmallocstats() prints after
 * pymalloc's section, read from the region (zeros before the objects layer is first used).
 */
import { printone } from '../obmalloc-stats';
import { FLOAT_SIZE, OBJ_FLOAT_NUMFREE } from './layout';

/** _PyDebugAllocatorStats: "%d free %ss * %zd bytes each" right-aligned in 48 columns, a space, then printone's value. */
export function allocatorStats(name: string, count: number, size: number): string {
  return printone(`${`${count} free ${name}s * ${size} bytes each`.padStart(48)} `, count * size);
}

/** The lines in CPython's order (dict, float, list, tuple), for the free lists this heap has. */
export function freeListStats(u32: Uint32Array): string {
  return allocatorStats('PyFloatObject', u32[OBJ_FLOAT_NUMFREE >>> 2], FLOAT_SIZE);
}
