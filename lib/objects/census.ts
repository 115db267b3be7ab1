/**
 * The objects a region holds, by type, read from its bytes alone (for `pymem inspect`, which looks
 * into a heap image without the program that made it): every live block of pymalloc's pools and of
 * the raw allocator is looked at, and a block is an object when its header is a live one's (an atom's
 * at the block's start, a container's after its GC head). The static objects (None, True, False, the
 * small ints, the empty tuple and the interned strings' table) live in segment 0, outside any block,
 * and are not counted; nor are objects parked on a freelist (their count is 0).
 *
 * Cost: one pass over every pool and raw block header, plus each pool's free list; every page of the
 * heap's pools is read.
 */
import { SEGMENT_SIZE } from '../config';
import {
  SEG_RAW_POOL, SEG_HUGE_HEAD, BLK_SIZE, BLOCK_SIZE_MASK, BLOCK_FREE_BIT, BLOCK_HEADER_SIZE, POOL_FIRST_BLOCK,
} from '../raw/layout';
import { segmentKind, segmentValue } from '../raw/segments';
import { isLive } from '../raw/tlsf';
import {
  AO_ADDRESS, AO_POOL_ADDRESS, OBM_STATE, POOL_COUNT, POOL_FREEBLOCK, POOL_NEXTOFFSET, POOL_OVERHEAD, POOL_SIZE,
  POOL_SZIDX, liveArenas, blockSize, firstPool, numBlocks,
} from '../pymalloc/layout';
import { GC_HEAD, TYPE_COUNT, TYPE_GC_BITS, TYPE_INFO } from './layout';
import { isLiveObject, typeOf } from './header';

/** Per type name, the objects found and the bytes of their blocks. */
export type Census = Record<string, { objects: number; blockBytes: number }>;

/** Counts the objects in the live blocks of a region of `limit` bytes (see above). */
export function objectCensus(u32: Uint32Array, limit: number): Census {
  const counts = new Float64Array(TYPE_COUNT);
  const bytes = new Float64Array(TYPE_COUNT);
  const count = (type: number, size: number): void => {
    counts[type]++;
    bytes[type] += size;
  };
  /** The type of a live object at p whose GC head is `gc` (1: it has one, 0: none), else -1. */
  const objectAt = (p: number, gc: number): number => {
    const type = isLiveObject(u32, limit, p) ? typeOf(u32, p) : -1;
    return type >= 0 && ((TYPE_GC_BITS >>> type) & 1) === gc ? type : -1;
  };
  /** A block of `size` bytes: an atom at its start, or a container GC_HEAD bytes in, or no object. */
  const look = (block: number, size: number): void => {
    const atom = objectAt(block, 0);
    const type = atom >= 0 ? atom : objectAt(block + GC_HEAD, 1);
    if (type >= 0) count(type, size);
  };
  for (const ao of liveArenas(u32, [OBM_STATE])) {
    const address = u32[(ao + AO_ADDRESS) >>> 2];
    const carved = u32[(ao + AO_POOL_ADDRESS) >>> 2];
    // Every pool below the carving mark has been carved (pool_address: the next pool to carve).
    for (let pool = firstPool(address); pool < carved; pool += POOL_SIZE) {
      if (u32[(pool + POOL_COUNT) >>> 2] === 0) continue;
      const sizeClass = u32[(pool + POOL_SZIDX) >>> 2];
      const size = blockSize(sizeClass);
      const free = new Set<number>();
      for (let b = u32[(pool + POOL_FREEBLOCK) >>> 2], n = 0; b !== 0 && n < numBlocks(sizeClass); b = u32[b >>> 2], n++) free.add(b);
      const end = pool + u32[(pool + POOL_NEXTOFFSET) >>> 2];
      for (let b = pool + POOL_OVERHEAD; b < end; b += size) if (!free.has(b)) look(b, size);
    }
  }
  for (let s = 1; s < limit / SEGMENT_SIZE; s++) {
    const kind = segmentKind(u32, s);
    if (kind === SEG_HUGE_HEAD) look(s * SEGMENT_SIZE, segmentValue(u32, s));
    if (kind !== SEG_RAW_POOL) continue;
    for (let h = s * SEGMENT_SIZE + POOL_FIRST_BLOCK; ; ) {
      const word = u32[(h + BLK_SIZE) >>> 2];
      const size = word & BLOCK_SIZE_MASK;
      if (size === 0) break; // the pool's sentinel
      if ((word & BLOCK_FREE_BIT) === 0 && isLive(u32, h + BLOCK_HEADER_SIZE)) look(h + BLOCK_HEADER_SIZE, size);
      h += size;
    }
  }
  const census: Census = {};
  for (let type = 0; type < TYPE_COUNT; type++) if (counts[type] > 0) census[TYPE_INFO[type][0]] = { objects: counts[type], blockBytes: bytes[type] };
  return census;
}
