/**
 * The backend matrix: every test of behaviour runs once per backend. The native backend is not
 * optional here: when the addon cannot load, its tests fail with the reason, so that a broken build
 * cannot pass as a fallback-only run.
 */
import { createHeap, type Heap, type HeapOptions, type BackendName } from '../../lib/index';

export const BACKENDS: readonly BackendName[] = ['native', 'fallback'];

/** A heap on `backend`; 16 MiB unless said otherwise, small enough to compare whole regions cheaply. */
export function heapOn(backend: BackendName, options: Omit<HeapOptions, 'backend'> = {}): Heap {
  return createHeap({ maxBytes: 16 << 20, ...options, backend });
}

/** A copy of the whole region, for asserting that a refused operation changed nothing. */
export function snapshot(heap: Heap): Buffer {
  return Buffer.from(heap.u8);
}

/** The first offset at which two regions differ, -1 when they are identical. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (Buffer.compare(a, b) === 0) return -1;
  let lo = 0;
  let hi = Math.min(a.length, b.length);
  // Bisect on memcmp of halves: finds the first difference of a 64 MiB region in ~26 compares.
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (Buffer.compare(a.subarray(lo, mid), b.subarray(lo, mid)) !== 0) hi = mid;
    else lo = mid;
  }
  return lo;
}
