/**
 * The raw allocator's figures read from the region: segments by kind, and what the heap holds
 * committed. heap.stats() (lib/stats.ts) and pymalloc's statistics build on them; the soft mark
 * (lib/domains/allocators.ts) compares committed bytes before each request, so it is one load.
 */
import { SEGMENT_SIZE } from '../config';
import { KIND_COUNTS, SEG_FREE_CLEAN, SEG_FREE_CACHED, SEG_META, SEG_RAW_POOL, SEG_ARENA, SEG_HUGE_HEAD, SEG_HUGE_CONT } from './layout';

export interface SegmentCounts {
  total: number;
  /** Free, pages given back to the OS. */
  free: number;
  /** Free, kept committed against thrashing. */
  cached: number;
  meta: number;
  rawPool: number;
  arena: number;
  /** Segments of large raw blocks (each block a run of whole segments). */
  huge: number;
}

/** Segments the heap holds (every segment not free and clean), in bytes: heap.stats().committedBytes. */
export function committedBytes(u32: Uint32Array, totalSegments: number): number {
  return (totalSegments - u32[(KIND_COUNTS >>> 2) + SEG_FREE_CLEAN]) * SEGMENT_SIZE;
}

/** The segments of a region of `total` segments, by kind, from the kind counts. */
export function segmentCounts(u32: Uint32Array, total: number): SegmentCounts {
  const kinds = (kind: number): number => u32[(KIND_COUNTS >>> 2) + kind];
  return {
    total,
    free: kinds(SEG_FREE_CLEAN),
    cached: kinds(SEG_FREE_CACHED),
    meta: kinds(SEG_META),
    rawPool: kinds(SEG_RAW_POOL),
    arena: kinds(SEG_ARENA),
    huge: kinds(SEG_HUGE_HEAD) + kinds(SEG_HUGE_CONT),
  };
}
