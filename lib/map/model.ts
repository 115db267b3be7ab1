/**
 * What `pymem map` draws, read from a heap's region: every segment's kind and how full it is, and for
 * each pymalloc arena the state of its 64 pools. It reads the bytes the allocators keep (the segment
 * table, raw pools' block headers, the arena table, pool headers) through heap.u32 and changes nothing.
 */
import type { Heap } from '../heap';
import type { HeapStats } from '../stats';
import { SEGMENT_SIZE } from '../config';
import {
  BLK_SIZE, BLOCK_HEADER_SIZE, BLOCK_FREE_BIT, BLOCK_SIZE_MASK, POOL_BLOCK_MAX, POOL_FIRST_BLOCK, SEG_ARENA, SEG_HUGE_CONT, SEG_HUGE_HEAD,
  SEG_RAW_POOL,
} from '../raw/layout';
import { segmentKind, segmentValue } from '../raw/segments';
import { isLive } from '../raw/tlsf';
import {
  AO_ADDRESS, AO_NTOTALPOOLS, AO_POOL_ADDRESS, POOL_COUNT, POOL_SIZE, firstPool, POOL_SZIDX, liveArenas, blockSize, numBlocks,
} from '../pymalloc/layout';

export const POOL_UNCARVED = 0;
export const POOL_EMPTY = 1;
export const POOL_USED = 2;

export interface PoolView {
  /** POOL_UNCARVED (never used), POOL_EMPTY (on the arena's free list) or POOL_USED. */
  state: number;
  /** Its size class and block size, and blocks allocated of how many (used pools). */
  sizeClass: number;
  blockSize: number;
  blocks: number;
  capacity: number;
}

export interface ArenaView {
  /** The arena's first byte, and its segment. */
  address: number;
  segment: number;
  pools: PoolView[];
}

export interface HeapModel {
  backend: string;
  maxBytes: number;
  /** Per segment: its kind (SEG_* of lib/raw/layout.ts) and how full it is, 0..1. */
  kinds: Uint8Array;
  fill: Float64Array;
  arenas: ArenaView[];
  stats: HeapStats;
}

/** The fraction of a raw pool's block space in live blocks, by walking its block headers. */
function rawPoolFill(u32: Uint32Array, base: number): number {
  let used = 0;
  for (let h = base + POOL_FIRST_BLOCK; ; ) {
    const word = u32[(h + BLK_SIZE) >>> 2];
    const size = word & BLOCK_SIZE_MASK;
    if (size === 0) break; // the sentinel
    // Live, not merely in use: a block kept in a quick bin is free to the program.
    if ((word & BLOCK_FREE_BIT) === 0 && isLive(u32, h + BLOCK_HEADER_SIZE)) used += size;
    h += size;
  }
  return used / POOL_BLOCK_MAX;
}

function arenaView(u32: Uint32Array, ao: number): ArenaView {
  const address = u32[(ao + AO_ADDRESS) >>> 2];
  const carvedEnd = u32[(ao + AO_POOL_ADDRESS) >>> 2];
  const first = firstPool(address);
  const pools: PoolView[] = [];
  for (let i = 0; i < u32[(ao + AO_NTOTALPOOLS) >>> 2]; i++) {
    const pool = first + i * POOL_SIZE;
    const blocks = pool < carvedEnd ? u32[(pool + POOL_COUNT) >>> 2] : 0;
    if (pool >= carvedEnd || blocks === 0) {
      pools.push({ state: pool >= carvedEnd ? POOL_UNCARVED : POOL_EMPTY, sizeClass: -1, blockSize: 0, blocks: 0, capacity: 0 });
      continue;
    }
    const sizeClass = u32[(pool + POOL_SZIDX) >>> 2];
    pools.push({ state: POOL_USED, sizeClass, blockSize: blockSize(sizeClass), blocks, capacity: numBlocks(sizeClass) });
  }
  return { address, segment: Math.floor(address / SEGMENT_SIZE), pools };
}

/** Reads the model of an open heap. */
export function readHeapModel(heap: Heap): HeapModel {
  const u32 = heap.u32;
  const count = heap.maxBytes / SEGMENT_SIZE;
  const kinds = new Uint8Array(count);
  const fill = new Float64Array(count);
  for (let s = 0; s < count; s++) kinds[s] = segmentKind(u32, s);
  const arenas: ArenaView[] = [];
  // Every thread's arenas, on a shared heap.
  for (const ao of liveArenas(u32, heap.pymallocStates())) arenas.push(arenaView(u32, ao));
  arenas.sort((a, b) => a.address - b.address);
  for (const arena of arenas) {
    if (kinds[arena.segment] === SEG_ARENA) fill[arena.segment] = arena.pools.filter((p) => p.state === POOL_USED).length / arena.pools.length;
  }
  for (let s = 0; s < count; s++) {
    if (kinds[s] === SEG_RAW_POOL) fill[s] = rawPoolFill(u32, s * SEGMENT_SIZE);
    else if (kinds[s] === SEG_HUGE_HEAD) {
      // A huge block's requested bytes, spread over its run of segments from the head on.
      let left = segmentValue(u32, s);
      for (let t = s; t < count && (t === s || kinds[t] === SEG_HUGE_CONT); t++, left -= SEGMENT_SIZE) fill[t] = Math.min(1, left / SEGMENT_SIZE);
    }
  }
  return { backend: heap.backend, maxBytes: heap.maxBytes, kinds, fill, arenas, stats: heap.stats() };
}
