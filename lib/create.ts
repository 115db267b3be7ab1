/**
 * createHeap(): a private heap (lib/heap.ts), or with `shared: true` one for every worker thread
 * (lib/shared-heap.ts). One function for both, in its own module because the shared heap is a Heap
 * too: heap.ts cannot import the module that extends it.
 */
import { invalidArgType } from './errors';
import { createPrivateHeap, type Heap, type HeapOptions } from './heap';
import { createSharedHeap } from './shared-heap';

export function createHeap(options: HeapOptions = {}): Heap {
  const shared = typeof options === 'object' && options !== null ? options.shared : undefined;
  if (shared !== undefined && typeof shared !== 'boolean') throw invalidArgType('shared', 'boolean', shared);
  return shared === true ? createSharedHeap(options) : createPrivateHeap(options);
}
