/**
 * The list, dict and dict-keys freelists are stacks, as CPython keeps them (state->free_list[] and
 * state->numfree): in the region, a count word followed by the array of parked pointers. The last
 * one parked is the first taken.
 */

/** The most recently parked pointer, taken off the stack whose count is at `count`; 0 when it is empty. */
export function takeParked(u32: Uint32Array, count: number): number {
  const n = u32[count >>> 2];
  if (n === 0) return 0;
  u32[count >>> 2] = n - 1;
  return u32[(count >>> 2) + n];
}

/** Parks p when the stack holds fewer than max; false (the caller frees p) when it is full. */
export function park(u32: Uint32Array, count: number, max: number, p: number): boolean {
  const n = u32[count >>> 2];
  if (n >= max) return false;
  u32[(count >>> 2) + 1 + n] = p;
  u32[count >>> 2] = n + 1;
  return true;
}

/** Empties the stack, handing each parked pointer, most recent first, to `free`. */
export function drainParked(u32: Uint32Array, count: number, free: (p: number) => void): void {
  for (let p = takeParked(u32, count); p !== 0; p = takeParked(u32, count)) free(p);
}
