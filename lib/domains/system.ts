/**
 * heap.system: the C library's allocator, outside the heap. CPython's documentation shows an I/O buffer
 * taken from the C library's malloc, whose memory "escapes completely the Python memory manager"; this
 * is that escape hatch. On the native backend the memory comes from malloc() through the addon; on the
 * fallback, which has no C, it is a Buffer of its own ArrayBuffer. Either way it is in none of the
 * heap's figures, and it is a Buffer, never a heap pointer, so the two worlds cannot be confused:
 * a Buffer given to a domain's free, or a pointer given to system.free, is ERR_PYMEM_MIXED_ALLOCATORS.
 */
import { constants } from 'node:buffer';
import { invalidArgType, mixedAllocators } from '../errors';
import { checkSize } from './domain';
import { ownerMark } from '../thread';

import type { SystemSource } from '../raw/backend';

export class SystemAllocator {
  /** The thread that owns the heap (see lib/thread.ts). */
  readonly owner: symbol = ownerMark('heap.system');
  /** Buffers handed out and not yet freed: free() accepts only these. */
  private readonly live = new WeakSet<Buffer>();

  private readonly source: SystemSource;

  /** @internal the heap creates it */
  constructor(source: SystemSource) {
    this.source = source;
  }

  /**
   * malloc(n) of the C library as a Buffer of n bytes, uninitialised; null when it cannot be had (too
   * large for a Buffer, or malloc failed), as C's malloc returns NULL.
   */
  malloc(n: number): Buffer | null {
    checkSize(n, 'size');
    if (n > constants.MAX_LENGTH) return null;
    const buf = this.source.malloc(n);
    if (buf !== null) this.live.add(buf);
    return buf;
  }

  /** free() of the C library: releases a Buffer from this heap's system.malloc. Its views become empty. */
  free(buf: Buffer): void {
    if (typeof buf === 'number') {
      throw mixedAllocators(`heap.system.free() was given ${buf}, a heap pointer: free it with the heap domain that allocated it (heap.raw, heap.mem or heap.obj)`);
    }
    if (!(buf instanceof Uint8Array)) throw invalidArgType('buf', 'Buffer', buf);
    if (!this.live.has(buf)) {
      throw mixedAllocators('heap.system.free() was given a Buffer that is not live memory of this heap\'s system.malloc(): freed already, or allocated elsewhere');
    }
    this.live.delete(buf);
    this.source.free(buf);
  }
}
