/**
 * heap.stats(): the heap's figures, read from the region (the same on both backends) plus what only the
 * backend or the OS can tell. Node's own counters do not see these: a native region is charged to
 * process.memoryUsage().external at its full length from the start, and madvise does not change that.
 */
import { SEGMENT_SIZE } from './config';
import { KIND_COUNTS, RAW_BLOCKS, RAW_BYTES, SEG_FREE_CLEAN, SEG_FREE_CACHED, SEG_META, SEG_RAW_POOL, SEG_ARENA, SEG_HUGE_HEAD, SEG_HUGE_CONT } from './raw/layout';
import type { RawBackend, BackendName } from './raw/backend';
import { readPymallocStats, type PymallocStats } from './obmalloc-stats';
import type { MemoryPressureStats } from './pressure';

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

export interface HeapStats {
  backend: BackendName;
  /** The region's length: address space reserved, the heap's hard limit. */
  reservedBytes: number;
  /** Segments the heap holds (metadata, in use, cached), in bytes: an upper bound of what it has touched. */
  committedBytes: number;
  /** Pages of released segments the OS still holds: the fallback cannot give them back; 0 on native. */
  idleCommittedBytes: number;
  /** The region's pages resident in RAM (mincore), native only; null on the fallback. */
  residentBytes: number | null;
  /** Live raw blocks (RAW domain, and large requests of the other domains). */
  rawBlocks: number;
  /** Bytes requested by those blocks. */
  rawBytes: number;
  /** Large raw blocks among them. */
  hugeBlocks: number;
  segments: SegmentCounts;
  /** The object allocator's figures, as sys._debugmallocstats() prints them. */
  pymalloc: PymallocStats;
  /** The process's resident set size, as the OS reports it. */
  rss: number;
  /** What memory pressure and the gcAtBytes mark made the heap do (see lib/pressure.ts). */
  memoryPressure: MemoryPressureStats;
}

/** Segments the heap holds (every segment not free and clean), in bytes: heap.stats().committedBytes. */
export function committedBytes(u32: Uint32Array, totalSegments: number): number {
  return (totalSegments - u32[(KIND_COUNTS >>> 2) + SEG_FREE_CLEAN]) * SEGMENT_SIZE;
}

export function readStats(u32: Uint32Array, backend: RawBackend, pressure: MemoryPressureStats): HeapStats {
  const kinds = (kind: number): number => u32[(KIND_COUNTS >>> 2) + kind];
  const total = backend.buffer.byteLength / SEGMENT_SIZE;
  return {
    backend: backend.name,
    reservedBytes: backend.buffer.byteLength,
    committedBytes: committedBytes(u32, total),
    idleCommittedBytes: backend.idleCommittedBytes(),
    residentBytes: backend.residentBytes(),
    rawBlocks: u32[RAW_BLOCKS >>> 2],
    rawBytes: u32[RAW_BYTES >>> 2],
    hugeBlocks: kinds(SEG_HUGE_HEAD),
    segments: {
      total,
      free: kinds(SEG_FREE_CLEAN),
      cached: kinds(SEG_FREE_CACHED),
      meta: kinds(SEG_META),
      rawPool: kinds(SEG_RAW_POOL),
      arena: kinds(SEG_ARENA),
      huge: kinds(SEG_HUGE_HEAD) + kinds(SEG_HUGE_CONT),
    },
    pymalloc: readPymallocStats(u32),
    rss: process.memoryUsage.rss(),
    memoryPressure: { ...pressure },
  };
}
