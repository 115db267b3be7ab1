/**
 * Every tunable of pymem, with the reason for its value. native/layout.h holds the same numbers for
 * the C allocator; test/layout.ts compares the two through the addon.
 */

/** Block alignment. CPython 3.8+ aligns every block to 16 bytes on 64-bit (bpo-27987, x86-64 ABI). */
export const ALIGNMENT = 16;
export const ALIGNMENT_SHIFT = 4;

/**
 * The region is cut into segments of CPython's ARENA_SIZE (1 MiB on 64-bit since 3.10), so that one
 * pymalloc arena is exactly one segment and the raw allocator hands arenas out without splitting.
 */
export const SEGMENT_SHIFT = 20;
export const SEGMENT_SIZE = 1 << SEGMENT_SHIFT;

/** The OS page: the grain at which native releases memory and the fallback scans released memory. */
export const PAGE_SIZE = 4096;

/**
 * Region limits. One typed array holds at most 2^32 elements on Node 20 and an external ArrayBuffer at
 * most 2^32 bytes, so 4 GiB is the ceiling; pointers are then u32 offsets. The floor is segment 0
 * (metadata) plus one segment to allocate from.
 */
export const MAX_MAX_BYTES = 2 ** 32;
export const MIN_MAX_BYTES = 2 * SEGMENT_SIZE;
export const DEFAULT_MAX_BYTES = 2 ** 30;
export const MAX_SEGMENTS = MAX_MAX_BYTES / SEGMENT_SIZE;

/**
 * Requests above this many bytes take a run of whole segments ("huge" blocks) instead of a block in a
 * raw pool: freeing them gives the pages straight back to the OS and they cannot pin a pool. 256 KiB
 * keeps at least three such blocks per pool, and the untouched tail of a huge run costs address space
 * in the region but no RSS (native pages are committed only when written).
 */
export const RAW_HUGE_THRESHOLD = 256 * 1024;

/**
 * Wholly free segments kept committed instead of released, against alloc/free thrashing at a segment
 * boundary (CPython keeps its last empty arena for the same reason, bpo-37257; mimalloc delays its
 * purges): a program that frees everything and builds it again, as a request loop does, finds its
 * segments still committed. Up to a quarter of the region's segments and at least 4; beyond that a
 * freed segment goes back to the OS at once, and heap.trim() or memory pressure give back the rest.
 */
export const SEGMENT_CACHE_MIN = 4;
export const SEGMENT_CACHE_SHIFT = 2;

/** The most segments a region of `segmentCount` segments keeps cached (its header's cacheMax). */
export function segmentCacheMax(segmentCount: number): number {
  return Math.max(SEGMENT_CACHE_MIN, segmentCount >>> SEGMENT_CACHE_SHIFT);
}

/**
 * TLSF (Masmano et al., "TLSF: a new dynamic memory allocator for real-time systems", 2004): each power
 * of two is split into 2^SL_LOG2 linear ranges. 32 ranges bound the internal fragmentation of a good
 * fit to 1/32 (3%) and let one u32 hold a first-level row's bitmap.
 */
export const TLSF_SL_LOG2 = 5;
export const TLSF_SL_COUNT = 1 << TLSF_SL_LOG2;
/** Block sizes below 2^FL_SHIFT (512 B) are binned linearly in 16-byte steps in first-level row 0. */
export const TLSF_FL_SHIFT = TLSF_SL_LOG2 + ALIGNMENT_SHIFT;
/** Rows 0..11 cover every block a 1 MiB pool can hold (the largest is just under 2^20). */
export const TLSF_FL_COUNT = SEGMENT_SHIFT - TLSF_FL_SHIFT + 1;

function assert(ok: boolean, what: string): void {
  /* c8 ignore next -- fires only when an edit makes the tunables inconsistent; it then fails every test */
  if (!ok) throw new Error(`pymem config: ${what}`);
}

assert(ALIGNMENT === 1 << ALIGNMENT_SHIFT, 'ALIGNMENT is 2^ALIGNMENT_SHIFT');
assert(SEGMENT_SIZE % PAGE_SIZE === 0, 'segments are whole pages');
assert(MIN_MAX_BYTES % SEGMENT_SIZE === 0 && DEFAULT_MAX_BYTES % SEGMENT_SIZE === 0, 'limits are whole segments');
assert(MAX_SEGMENTS === 4096, 'the segment table has room for every segment of a 4 GiB region');
// realloc(p, 0xFFFFFFFF) is how the RAW domain validates p for a request no region can satisfy.
assert(MAX_MAX_BYTES - SEGMENT_SIZE < 0xffffffff, 'no region can satisfy a request of 2^32 - 1 bytes');
assert(RAW_HUGE_THRESHOLD % ALIGNMENT === 0 && RAW_HUGE_THRESHOLD < SEGMENT_SIZE / 2, 'huge threshold');
assert(TLSF_SL_COUNT <= 32, 'a second-level bitmap fits one u32');
