/** Cyclic structures for the collector's tests (test/gc.ts, test/gc-cpython.ts, test/pressure.ts). */
import type { Heap } from '../../lib/index';

/** A ring of n lists, each holding the next and the last holding the first; returns a new reference to the first. */
export function ring(heap: Heap, n: number): number {
  const o = heap.objects;
  const first = o.list();
  let last = first;
  for (let i = 1; i < n; i++) {
    const next = o.list();
    o.listAppend(last, next);
    if (last !== first) o.decref(last);
    last = next;
  }
  o.listAppend(last, first);
  if (last !== first) o.decref(last);
  return first;
}
