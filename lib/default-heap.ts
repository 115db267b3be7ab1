/**
 * The process's default heap, which the CPython-named API (pymem/capi) works on, as CPython's functions
 * work on the interpreter's one allocator state. Created on first use with createHeap()'s defaults, so
 * PYMEM_BACKEND and PYMEM_ALLOCATOR choose for it; a closed default heap is replaced on the next use.
 */
import type { Heap } from './heap';
import { createHeap } from './create';

let heap: Heap | undefined;

export function defaultHeap(): Heap {
  if (heap === undefined || heap.closed) heap = createHeap();
  return heap;
}
