/**
 * What every type allocator of layer +3 works with: the region's views and the domains objects come
 * from. Objects are allocated through the OBJ domain's public functions, as CPython's through
 * PyObject_Malloc, so the hooks installed there (debug, tracemalloc, a user's) see every object.
 */
import { MemoryError } from '../errors';
import type { Domain } from '../domains/domain';
import type { Tracemalloc } from '../hooks/tracemalloc/tracer';

/** The collector's collect_generations, as the allocation of a container needs it (_PyObject_GC_Link). */
export interface AutomaticCollection {
  collectGenerations(): void;
}

export class ObjectMemory {
  readonly u8: Uint8Array;
  /** The region as a Buffer: Node's latin1 and UTF-16LE codecs copy a str's characters in and out in C++. */
  readonly buf: Buffer;
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  constructor(
    buffer: ArrayBuffer,
    /** PyObject_Malloc's domain. */
    readonly obj: Domain,
    /** PyMem_Malloc's domain (the interned table's block, and list items and dict values later). */
    readonly mem: Domain,
    readonly tracer: Tracemalloc,
    /** What gcLink calls when generation 0's count passes its threshold (the collector, through lib/objects/layer.ts). */
    readonly automatic: AutomaticCollection,
  ) {
    this.u8 = new Uint8Array(buffer);
    this.buf = Buffer.from(buffer);
    this.u16 = new Uint16Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.f64 = new Float64Array(buffer);
  }

  /** PyObject_Malloc(n), or MemoryError naming what it was for; on failure nothing was allocated. */
  alloc(n: number, what: string): number {
    const p = this.obj.malloc(n);
    if (p === 0) throw noMemory(n, what);
    return p;
  }
}

export function noMemory(n: number, what: string): MemoryError {
  return new MemoryError(n, `cannot allocate ${n} bytes for ${what}: the heap is out of memory (raise maxBytes, or free objects)`);
}
