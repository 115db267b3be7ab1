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

/**
 * The named cycles of scripts/fixtures/gc.py, each built as that script builds it: every reference
 * to the structure is dropped but `live`'s, so that gc.collect() finds what CPython 3.12 found.
 */
export function cycles(heap: Heap, live: number): Record<string, () => void> {
  const o = heap.objects;
  const drop = (...ps: number[]): void => ps.forEach((p) => o.decref(p));
  return {
    'self list': () => {
      const l = o.list();
      o.listAppend(l, l);
      drop(l);
    },
    'self dict': () => {
      const d = o.dict();
      const key = o.str('me');
      o.dictSet(d, key, d);
      drop(key, d);
    },
    'ring of 100 lists': () => drop(ring(heap, 100)),
    'tuple in a list': () => {
      const l = o.list();
      const tuple = o.tuple([l]);
      o.listAppend(l, tuple);
      drop(tuple, l);
    },
    'dict, tuple, list': () => {
      const l = o.list();
      const one = o.int(1);
      const tuple = o.tuple([l, one]);
      const key = o.str('t');
      const d = o.dict([[key, tuple]]);
      o.listAppend(l, d);
      drop(one, tuple, key, d, l);
    },
    'ring off a live list': () => {
      const a = ring(heap, 3);
      o.listAppend(a, live);
      drop(a);
    },
    'ring held by a live list': () => {
      const a = ring(heap, 2);
      o.listAppend(live, a);
      drop(a);
    },
  };
}
