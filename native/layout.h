/*
 * The region's byte layout and pymem's tunables: the same numbers as lib/config.ts and
 * lib/raw/layout.ts, where each is drawn and explained. The addon exports every one of them
 * (PM_LAYOUT_TABLE), and lib/raw/native.ts refuses an addon whose numbers differ from the
 * TypeScript ones, so a change made on one side only cannot corrupt a region.
 */
#ifndef PYMEM_LAYOUT_H
#define PYMEM_LAYOUT_H

/* lib/config.ts */
#define ALIGNMENT 16u /* CPython 3.8+ on 64-bit (bpo-27987): the x86-64 ABI's max_align_t */
#define ALIGNMENT_SHIFT 4u
#define SEGMENT_SHIFT 20u /* CPython's ARENA_SIZE since 3.10: one pymalloc arena is one segment */
#define SEGMENT_SIZE (1u << SEGMENT_SHIFT)
#define PM_PAGE_SIZE 4096u /* exported as PAGE_SIZE; the bare name clashes with system headers */
#define MAX_MAX_BYTES 4294967296ull /* an external ArrayBuffer holds at most 2^32 bytes on Node 20: u32 offsets */
#define MIN_MAX_BYTES (2u * SEGMENT_SIZE) /* the metadata segment plus one to allocate from */
#define DEFAULT_MAX_BYTES 1073741824u
#define MAX_SEGMENTS 4096u
#define RAW_HUGE_THRESHOLD (256u * 1024u) /* larger blocks take whole segments, so freeing one returns its pages */
#define SEGMENT_CACHE_MIN 4u /* cached segments kept: max(4, count >> 2) */
#define SEGMENT_CACHE_SHIFT 2u
#define TLSF_SL_LOG2 5u /* 32 lists per power of two: a good fit wastes at most 1/32, one u32 bitmap per row */
#define TLSF_SL_COUNT (1u << TLSF_SL_LOG2)
#define TLSF_FL_SHIFT (TLSF_SL_LOG2 + ALIGNMENT_SHIFT)
#define TLSF_FL_COUNT (SEGMENT_SHIFT - TLSF_FL_SHIFT + 1u)

/* lib/raw/layout.ts: metadata segment */
#define LAYOUT_VERSION 3u /* 2: quick bins; 3: the segment cache a bitmap */
#define ADDON_API 4u /* the addon's functions: 2 added trim(), 3 openRegion(), 4 attachRegion() */
#define MAGIC 0x6d6d7970u
#define NULL_GUARD_BYTES 0x10000u /* never handed out nor written: a write through NULL lands here, harmlessly */
#define HDR_MAGIC 0x10000u
#define HDR_VERSION 0x10004u
#define HDR_SEGMENT_SHIFT 0x10008u
#define HDR_SEGMENT_COUNT 0x1000cu
#define HDR_HUGE_THRESHOLD 0x10010u
#define HDR_CACHE_MAX 0x10014u
#define HDR_LOCK 0x10018u /* a shared heap's raw lock: 0 free, else the holder's slot + 1 */
#define RAW_BLOCKS 0x10020u
#define RAW_BYTES 0x10024u
#define EMPTY_POOL 0x10028u
#define CACHE_COUNT 0x1002cu
#define KIND_COUNTS 0x10030u
#define TLSF_FL_BITMAP 0x10090u
#define TLSF_SL_BITMAPS 0x10094u
#define TLSF_HEADS 0x10100u
#define SEG_FREE_MAP 0x10700u
#define QUICK_BINS 0x10900u /* glibc's tcache: freed blocks kept whole, per exact size */
#define QUICK_BIN_COUNT 256u /* block sizes 32..4112 */
#define QUICK_MAX_BLOCK (32u + (QUICK_BIN_COUNT - 1u) * 16u)
#define QUICK_DEPTH 7u /* glibc's tcache_count */
#define QUICK_COUNT_MASK 15u /* the count in a bin word's low bits */
#define SEG_CACHE_MAP 0x10d00u /* bit s <=> segment s cached */
#define SEG_TABLE 0x11000u
#define SEG_ENTRY_SIZE 8u
#define SEG_KIND 0u
#define SEG_VALUE 4u
#define META_RAW_END 0x19000u

/* segment kinds */
#define SEG_FREE_CLEAN 0u
#define SEG_FREE_CACHED 1u
#define SEG_META 2u
#define SEG_RAW_POOL 3u
#define SEG_ARENA 4u
#define SEG_HUGE_HEAD 5u
#define SEG_HUGE_CONT 6u
#define SEG_KIND_COUNT 7u

/* raw pools */
#define POOL_LIVE_MAP 0u
#define POOL_LIVE_MAP_BYTES (SEGMENT_SIZE / 16u / 8u)
#define POOL_FIRST_BLOCK POOL_LIVE_MAP_BYTES
#define POOL_SENTINEL (SEGMENT_SIZE - 16u)
#define POOL_BLOCK_MAX (POOL_SENTINEL - POOL_FIRST_BLOCK)

/* block header */
#define BLK_SIZE 0u
#define BLK_PREV 4u
#define BLK_REQUESTED 8u
#define BLK_NEXT_FREE 8u
#define BLK_RESERVED 12u
#define BLK_PREV_FREE 12u
#define BLOCK_HEADER_SIZE 16u
#define BLOCK_FREE_BIT 1u
#define BLOCK_SIZE_MASK 0xfffffff0u
#define BLOCK_MIN_SIZE 32u /* the 16-byte header and the smallest payload, one 16-byte granule */

/* pointer statuses */
#define PTR_OK 0
#define PTR_OUTSIDE 1
#define PTR_MISALIGNED 2
#define PTR_METADATA 3
#define PTR_FREE_SEGMENT 4
#define PTR_ARENA 5
#define PTR_NOT_LIVE 6
#define PTR_INSIDE_HUGE 7
#define PTR_NOT_ARENA 8
#define PTR_RAW_BLOCK 9

/* X-macro over every constant, for the addon's `layout` export; names as in TypeScript. */
#define PM_LAYOUT_TABLE(X)                                                                           \
  X(ALIGNMENT) X(ALIGNMENT_SHIFT) X(SEGMENT_SHIFT) X(SEGMENT_SIZE) X(MAX_MAX_BYTES) X(MIN_MAX_BYTES)  \
  X(DEFAULT_MAX_BYTES) X(MAX_SEGMENTS) X(RAW_HUGE_THRESHOLD) X(SEGMENT_CACHE_MIN)                    \
  X(SEGMENT_CACHE_SHIFT) X(TLSF_SL_LOG2) X(TLSF_SL_COUNT) X(TLSF_FL_SHIFT) X(TLSF_FL_COUNT)          \
  X(LAYOUT_VERSION) X(ADDON_API) X(MAGIC) X(NULL_GUARD_BYTES) X(HDR_MAGIC) X(HDR_VERSION) X(HDR_SEGMENT_SHIFT) X(HDR_SEGMENT_COUNT)   \
  X(HDR_HUGE_THRESHOLD) X(HDR_CACHE_MAX) X(HDR_LOCK) X(RAW_BLOCKS) X(RAW_BYTES) X(EMPTY_POOL) X(CACHE_COUNT)     \
  X(KIND_COUNTS) X(SEG_CACHE_MAP) X(TLSF_FL_BITMAP) X(TLSF_SL_BITMAPS) X(TLSF_HEADS) X(SEG_FREE_MAP)        \
  X(QUICK_BINS) X(QUICK_BIN_COUNT) X(QUICK_MAX_BLOCK) X(QUICK_DEPTH) X(QUICK_COUNT_MASK)            \
  X(SEG_TABLE) X(SEG_ENTRY_SIZE) X(SEG_KIND) X(SEG_VALUE) X(META_RAW_END) X(SEG_FREE_CLEAN)         \
  X(SEG_FREE_CACHED) X(SEG_META) X(SEG_RAW_POOL) X(SEG_ARENA) X(SEG_HUGE_HEAD) X(SEG_HUGE_CONT)     \
  X(SEG_KIND_COUNT) X(POOL_LIVE_MAP) X(POOL_LIVE_MAP_BYTES) X(POOL_FIRST_BLOCK) X(POOL_SENTINEL)    \
  X(POOL_BLOCK_MAX) X(BLK_SIZE) X(BLK_PREV) X(BLK_REQUESTED) X(BLK_NEXT_FREE) X(BLK_RESERVED)       \
  X(BLK_PREV_FREE) X(BLOCK_HEADER_SIZE) X(BLOCK_FREE_BIT) X(BLOCK_SIZE_MASK) X(BLOCK_MIN_SIZE)      \
  X(PTR_OK) X(PTR_OUTSIDE) X(PTR_MISALIGNED) X(PTR_METADATA) X(PTR_FREE_SEGMENT) X(PTR_ARENA)       \
  X(PTR_NOT_LIVE) X(PTR_INSIDE_HUGE) X(PTR_NOT_ARENA) X(PTR_RAW_BLOCK)

#endif
