/** The check every refused operation of the objects layer must pass. */
import type { Test } from 'tap';
import type { Heap } from '../../lib/index';
import { snapshot } from './backends';

/** Asserts that `fn` throws an error with `code` (and `message`), changes no byte of the region, and leaves check() passing. */
export function refuses(t: Test, heap: Heap, fn: () => unknown, code: string, message?: RegExp): void {
  const before = snapshot(heap);
  t.throws(fn, message === undefined ? { code } : { code, message });
  t.ok(snapshot(heap).equals(before), `${code}: no byte changed`);
  heap.check();
}
