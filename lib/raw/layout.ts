/**
 * The region's byte layout, shared by the TypeScript allocator (lib/raw/*.ts), the C allocator
 * (native/layout.h holds the same numbers) and every reader of the region (check, stats). Offsets are
 * bytes from the region's start; every field is a little-endian u32 read through a Uint32Array at
 * `offset >>> 2`. Change anything here and LAYOUT_VERSION, and native/layout.h with it.
 *
 * Segment 0, the metadata segment:
 *
 *   0x00000 NULL guard        64 KiB never handed out and never written: C's unmapped page 0. A write
 *                             through a NULL (0) pointer lands here, harmless, and heap.check() sees it.
 *   0x10000 header            magic "pymm", layout version, segment shift, segment count,
 *                             huge threshold, cache size, raw lock               (8 x u32)
 *   0x10020 raw counters      live raw blocks, their requested bytes, kept empty pool, cache count
 *   0x10030 kind counts       segments of each kind                              (8 x u32)
 *   0x10090 TLSF bitmaps      first level (1 x u32), second level                (12 x u32)
 *   0x10100 TLSF heads        free-list heads, [first level][second level]       (12 x 32 x u32)
 *   0x10700 free-segment map  bit s set <=> segment s is free (clean or cached)  (128 x u32)
 *   0x10900 quick bins        per block size 32..4112, freed blocks kept whole   (256 x u32)
 *   0x10d00 cached-segment map bit s set <=> segment s is cached (free, committed) (128 x u32)
 *   0x11000 segment table     [kind, value] per segment                          (4096 x 2 x u32)
 *   0x19000 end of the raw allocator's metadata; later layers place theirs after it
 *
 * On a region whose metadata was written over through the views, the twins part ways, on purpose:
 *   native    every access goes through pm_bytes (native/region.h), which checks the offset against
 *             the region's end; an offset outside it stops the process with a message (SIGABRT), as
 *             glibc stops on a corrupt heap, because following it would write over the Node process.
 *   fallback  a typed array cannot reach outside its ArrayBuffer (a load there reads undefined, a
 *             store is dropped), so the process is never at risk and nothing is checked per access:
 *             the allocator carries on with wrong values, and heap.check() names the broken invariant.
 * On an intact region they leave the same bytes (test/differential.ts); test/binding.ts checks both
 * behaviours on one scribbled heap.
 */
import { SEGMENT_SIZE, TLSF_FL_COUNT, TLSF_SL_COUNT, MAX_SEGMENTS } from '../config';

/** 2: quick bins at 0x10900. 3: the segment cache is a bitmap at 0x10d00, its bound per region. */
export const LAYOUT_VERSION = 3;
/**
 * The functions the addon and its region handles have: 2 added trim(), 3 openRegion(), 4 attachRegion(). Not part of the region's bytes; it
 * is here so that an addon built from older sources fails the layout comparison and is rebuilt.
 */
export const ADDON_API = 4;
/** "pymm" read as a little-endian u32. */
export const MAGIC = 0x6d6d7970;

/** Bytes at the region's start that nothing may write: NULL (0) plus any offset a struct write reaches. */
export const NULL_GUARD_BYTES = 0x10000;

// Header.
export const HDR_MAGIC = 0x10000;
export const HDR_VERSION = 0x10004;
export const HDR_SEGMENT_SHIFT = 0x10008;
export const HDR_SEGMENT_COUNT = 0x1000c;
export const HDR_HUGE_THRESHOLD = 0x10010;
export const HDR_CACHE_MAX = 0x10014;
/**
 * A shared heap's raw lock (lib/shared/layout.ts): 0 when free, else the holding thread's slot + 1. Every
 * operation of the raw allocator runs under it there; a private heap leaves it 0 and never reads it.
 */
export const HDR_LOCK = 0x10018;

// Raw allocator counters.
export const RAW_BLOCKS = 0x10020;
export const RAW_BYTES = 0x10024;
/** Index of the one wholly free raw pool kept against thrashing, 0 when there is none. */
export const EMPTY_POOL = 0x10028;
export const CACHE_COUNT = 0x1002c;
export const KIND_COUNTS = 0x10030;

// TLSF control.
export const TLSF_FL_BITMAP = 0x10090;
export const TLSF_SL_BITMAPS = 0x10094;
export const TLSF_HEADS = 0x10100;

// Segments.
export const SEG_FREE_MAP = 0x10700;
export const SEG_TABLE = 0x11000;

/**
 * Quick bins, glibc's tcache: a freed pool block of at most QUICK_MAX_BLOCK bytes is kept whole, in use
 * as far as TLSF knows but not live, on a LIFO bin of its exact size, up to QUICK_DEPTH per bin; malloc
 * takes one back with two loads and two stores, where TLSF's search, split and coalescing cost about
 * thirty. Bin i holds blocks of BLOCK_MIN_SIZE + 16 i bytes; its word is the first block's header with
 * the bin's count in the low 4 bits (headers are 16-aligned), 0 when empty; each kept block's
 * BLK_REQUESTED word links to the next one's header (0 ends the bin). At most 256 x 7 blocks of up
 * to 4 KiB stay out of TLSF: they are given back (flushQuick) before TLSF takes a new pool, before a
 * kept empty pool is dropped, and by heap.trim().
 *
 * 7 is glibc's tcache_count and 4 KiB its reach in spirit (tcache covers 1 KiB; pymalloc already
 * serves everything up to 512 B, so the raw allocator's frequent sizes are the containers' 0.5-4 KiB).
 */
export const QUICK_BINS = 0x10900;
export const QUICK_BIN_COUNT = 256;
export const QUICK_MAX_BLOCK = 32 + (QUICK_BIN_COUNT - 1) * 16;
export const QUICK_DEPTH = 7;
export const QUICK_COUNT_MASK = 15;

/** The cached segments (SEG_FREE_CACHED), as a bitmap: CACHE_COUNT says how many bits are set. */
export const SEG_CACHE_MAP = 0x10d00;
export const SEG_ENTRY_SIZE = 8;
export const SEG_KIND = 0;
/** Huge head: the block's requested size. Huge continuation: the head's segment index. Else 0. */
export const SEG_VALUE = 4;
export const META_RAW_END = 0x19000;

/** Segment kinds, as stored in the segment table. A zeroed table entry is a clean free segment. */
export const SEG_FREE_CLEAN = 0; // free, pages given back to the OS (they read as zeros)
export const SEG_FREE_CACHED = 1; // free, kept committed in the segment cache (contents stale)
export const SEG_META = 2; // segment 0
export const SEG_RAW_POOL = 3; // TLSF blocks
export const SEG_ARENA = 4; // handed to the object allocator by arenaAlloc()
export const SEG_HUGE_HEAD = 5; // first segment of a huge block
export const SEG_HUGE_CONT = 6; // the huge block's further segments
export const SEG_KIND_COUNT = 7;
export const SEG_KIND_NAMES = ['free', 'cached', 'meta', 'rawPool', 'arena', 'hugeHead', 'hugeCont'] as const;

/**
 * A raw pool is one segment of TLSF blocks:
 *
 *   +0x00000  live map: bit g set <=> a live block's payload starts at granule g (offset 16 g)
 *   +0x02000  first block header
 *      ...    blocks, each [header 16][payload ...], physically contiguous
 *   +0xffff0  sentinel header: size 0, in use, so that walking to the next block never leaves the pool
 *
 * The live map makes "is this the start of a live block" an exact O(1) question for free().
 */
export const POOL_LIVE_MAP = 0;
export const POOL_LIVE_MAP_BYTES = SEGMENT_SIZE / 16 / 8;
export const POOL_FIRST_BLOCK = POOL_LIVE_MAP_BYTES;
export const POOL_SENTINEL = SEGMENT_SIZE - 16;
/** The size of the single free block of a wholly free pool. */
export const POOL_BLOCK_MAX = POOL_SENTINEL - POOL_FIRST_BLOCK;

/**
 * Block header, 16 bytes at h; the payload starts at h + 16 and is 16-byte aligned.
 *
 *   in use:  [size|0 : u32][prev : u32][requested : u32][0 : u32]
 *   free:    [size|1 : u32][prev : u32][next free : u32][prev free : u32]
 *
 * size counts header and payload, a multiple of 16, so bit 0 is free to flag a free block. prev is the
 * header of the physically previous block (0 for a pool's first), kept always, so coalescing needs no
 * footer. The last word of a block in use is always 0: a write just below a payload shows in heap.check().
 */
export const BLK_SIZE = 0;
export const BLK_PREV = 4;
export const BLK_REQUESTED = 8;
export const BLK_NEXT_FREE = 8;
export const BLK_RESERVED = 12;
export const BLK_PREV_FREE = 12;
export const BLOCK_HEADER_SIZE = 16;
export const BLOCK_FREE_BIT = 1;
export const BLOCK_SIZE_MASK = ~15 >>> 0;
/** Header plus the smallest payload; also the smallest remainder worth splitting off. */
export const BLOCK_MIN_SIZE = 32;

/**
 * Why a pointer was refused (free, realloc, arenaFree), as both allocators report it. realloc returns
 * -status, the others status; 0 is success.
 */
export const PTR_OK = 0;
export const PTR_OUTSIDE = 1;
export const PTR_MISALIGNED = 2;
export const PTR_METADATA = 3;
export const PTR_FREE_SEGMENT = 4;
export const PTR_ARENA = 5;
export const PTR_NOT_LIVE = 6;
export const PTR_INSIDE_HUGE = 7;
export const PTR_NOT_ARENA = 8;
export const PTR_RAW_BLOCK = 9;

function assert(ok: boolean, what: string): void {
  /* c8 ignore next -- fires only when an edit makes the layout inconsistent; it then fails every test */
  if (!ok) throw new Error(`pymem layout: ${what}`);
}
assert(HDR_MAGIC === NULL_GUARD_BYTES, 'the header starts right after the NULL guard');
assert(KIND_COUNTS + SEG_KIND_COUNT * 4 <= TLSF_FL_BITMAP, 'kind counts end before TLSF');
assert(TLSF_SL_BITMAPS + TLSF_FL_COUNT * 4 <= TLSF_HEADS, 'second-level bitmaps end before heads');
assert(TLSF_HEADS + TLSF_FL_COUNT * TLSF_SL_COUNT * 4 <= SEG_FREE_MAP, 'heads end before the free map');
assert(SEG_FREE_MAP + MAX_SEGMENTS / 8 <= QUICK_BINS, 'free map ends before the quick bins');
assert(QUICK_BINS + QUICK_BIN_COUNT * 4 <= SEG_CACHE_MAP, 'quick bins end before the cached-segment map');
assert(SEG_CACHE_MAP + MAX_SEGMENTS / 8 <= SEG_TABLE, 'the cached-segment map ends before the table');
assert(QUICK_MAX_BLOCK === BLOCK_MIN_SIZE + (QUICK_BIN_COUNT - 1) * 16 && QUICK_DEPTH <= QUICK_COUNT_MASK, 'a bin per 16-byte block size; the count fits its bits');
assert(SEG_TABLE + MAX_SEGMENTS * SEG_ENTRY_SIZE <= META_RAW_END, 'table ends before META_RAW_END');
assert(((1 + BLOCK_HEADER_SIZE + 15) & ~15) === BLOCK_MIN_SIZE, 'a 1-byte request takes the smallest block');
assert(POOL_BLOCK_MAX < 2 ** 20 && POOL_BLOCK_MAX % 16 === 0, 'a pool block fits the last TLSF row');
