/**
 * Replays a parsed trace on a domain (or another allocator, for the benchmark). The loop reads the program's typed arrays and a pointer table
 * and calls the domain's four functions, nothing else: no object is allocated per event, so what a
 * caller times is the allocator plus one switch per event.
 */
import { OP_CALLOC, OP_FREE, OP_MALLOC, type TraceProgram } from './format';
import type { Domain } from '../domains/domain';

/** What a trace replays on: a domain, or any allocator given a domain's four functions. */
export type Replayable = Pick<Domain, 'malloc' | 'calloc' | 'realloc' | 'free'>;

export interface ReplayResult {
  /** Events replayed. */
  events: number;
  /** Allocations that returned NULL (the heap's limit was reached); a later free of such a block is free(NULL). */
  failed: number;
}

/**
 * Replays `program` on `domain`. `pointers` (one entry per slot) receives the pointer of each block;
 * blocks live at the end stay allocated, for the caller to inspect or to give back with freeLive().
 * A Uint32Array holds every pointer of a region of up to 4 GiB, and a load from it below 2^31 is a
 * small integer: a Float64Array's load is a double, boxed for every call the replay does not inline.
 */
export function replay(domain: Replayable, program: TraceProgram, pointers: Uint32Array = new Uint32Array(program.slots)): ReplayResult {
  const { op, slot, a, b, length } = program;
  let failed = 0;
  for (let i = 0; i < length; i++) {
    const s = slot[i];
    const code = op[i];
    if (code === OP_FREE) {
      domain.free(pointers[s]);
      pointers[s] = 0;
    } else if (code === OP_MALLOC) {
      const p = domain.malloc(a[i]);
      if (p === 0) failed++;
      pointers[s] = p;
    } else if (code === OP_CALLOC) {
      const p = domain.calloc(a[i], b[i]);
      if (p === 0) failed++;
      pointers[s] = p;
    } else {
      // A failed realloc keeps the old block (C semantics); a block whose malloc failed reallocs from NULL.
      const p = domain.realloc(pointers[s], a[i]);
      if (p === 0) failed++;
      else pointers[s] = p;
    }
  }
  return { events: length, failed };
}

/** Frees every block a replay left live. */
export function freeLive(domain: Replayable, pointers: Uint32Array): void {
  for (let s = 0; s < pointers.length; s++) {
    if (pointers[s] !== 0) domain.free(pointers[s]);
    pointers[s] = 0;
  }
}
