/**
 * heap.stats(): the heap's figures, read from the region (the same on both backends) plus what only the
 * backend or the OS can tell. Node's own counters do not see these: a native region is charged to
 * process.memoryUsage().external at its full length from the start, and madvise does not change that.
 */
import { SEGMENT_SIZE } from './config';
import { KIND_COUNTS, RAW_BLOCKS, RAW_BYTES, SEG_HUGE_HEAD } from './raw/layout';
import { committedBytes, segmentCounts, type SegmentCounts } from './raw/stats';
import type { RawBackend, BackendName } from './raw/backend';
import { readPymallocStats, type PymallocStats } from './pymalloc/stats';
import type { MemoryPressureStats } from './domains/pressure';

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

/** `states` and `pending`: a shared heap's threads' pymalloc states, and their deferred blocks (readPymallocStats). */
export function readStats(u32: Uint32Array, backend: RawBackend, pressure: MemoryPressureStats, states?: readonly number[], pending = 0): HeapStats {
  const total = backend.buffer.byteLength / SEGMENT_SIZE;
  return {
    backend: backend.name,
    reservedBytes: backend.buffer.byteLength,
    committedBytes: committedBytes(u32, total),
    idleCommittedBytes: backend.idleCommittedBytes(),
    residentBytes: backend.residentBytes(),
    rawBlocks: u32[RAW_BLOCKS >>> 2],
    rawBytes: u32[RAW_BYTES >>> 2],
    hugeBlocks: u32[(KIND_COUNTS >>> 2) + SEG_HUGE_HEAD],
    segments: segmentCounts(u32, total),
    pymalloc: readPymallocStats(u32, states, pending),
    rss: process.memoryUsage.rss(),
    memoryPressure: { ...pressure },
  };
}
