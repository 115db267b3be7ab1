/*
 * Layer +1: general-purpose blocks in raw pools with TLSF, two-level segregated fit (Masmano et al.,
 * 2004). lib/raw/tlsf.ts is the same algorithm over the same bytes; the block and pool layouts are
 * drawn in lib/raw/layout.ts. Every step here has its twin there, in the same order, so that both
 * leave identical bytes.
 */
#include "tlsf.h"
#include "segments.h"

#include <string.h>

#define SMALL_BLOCK (1u << TLSF_FL_SHIFT)
#define HEAD(r, list) PM_U32(r, TLSF_HEADS + (list) * 4u)
#define SL_MAP(r, fl) PM_U32(r, TLSF_SL_BITMAPS + (fl) * 4u)
#define FL_MAP(r) PM_U32(r, TLSF_FL_BITMAP)
/* A quick bin's word: its first block's header | the bin's count (headers are 16-aligned). */
#define QUICK_BIN(r, size) PM_U32(r, QUICK_BINS + (((size) - BLOCK_MIN_SIZE) >> 4) * 4u)

/* The bit scans TLSF's O(1) search is built on; both callers have ruled out x == 0. */
static inline uint32_t fls32(uint32_t x) { return 31u - (uint32_t)__builtin_clz(x); } /* x != 0 */
static inline uint32_t ffs32(uint32_t x) { return (uint32_t)__builtin_ctz(x); }       /* x != 0 */

/* Header plus payload rounded to 16, so every payload stays 16-aligned; n = 0 is served as 1, as CPython does. */
uint32_t pm_block_size_for(uint32_t n) {
  return ((n == 0 ? 1u : n) + BLOCK_HEADER_SIZE + 15u) & ~15u; /* at least BLOCK_MIN_SIZE */
}

/* The free list a block of `size` belongs to: exact lists below SMALL_BLOCK, 32 per power of two above. */
static uint32_t list_index(uint32_t size) {
  if (size < SMALL_BLOCK) return size >> 4;
  uint32_t f = fls32(size);
  return ((f - (TLSF_FL_SHIFT - 1u)) << TLSF_SL_LOG2) | ((size >> (f - TLSF_SL_LOG2)) ^ TLSF_SL_COUNT);
}

/* The first list whose every block fits `size`: round up to the next list boundary (good fit, no list walk). */
static uint32_t search_index(uint32_t size) {
  if (size >= SMALL_BLOCK) size += (1u << (fls32(size) - TLSF_SL_LOG2)) - 1u;
  return list_index(size);
}

/* Pushes free block h on its list's head and sets the list's bits in both bitmaps. */
static void link_block(pm_region *r, uint32_t h, uint32_t size) {
  uint32_t list = list_index(size);
  uint32_t head = HEAD(r, list);
  PM_U32(r, h + BLK_NEXT_FREE) = head;
  PM_U32(r, h + BLK_PREV_FREE) = 0;
  if (head != 0) PM_U32(r, head + BLK_PREV_FREE) = h;
  HEAD(r, list) = h;
  uint32_t fl = list >> TLSF_SL_LOG2;
  SL_MAP(r, fl) |= 1u << (list & (TLSF_SL_COUNT - 1u));
  FL_MAP(r) |= 1u << fl;
}

/* Takes free block h off its doubly linked list, clearing the bitmaps' bits when the list empties. */
static void unlink_block(pm_region *r, uint32_t h, uint32_t size) {
  uint32_t list = list_index(size);
  uint32_t next = PM_U32(r, h + BLK_NEXT_FREE);
  uint32_t prev = PM_U32(r, h + BLK_PREV_FREE);
  if (prev != 0) PM_U32(r, prev + BLK_NEXT_FREE) = next;
  else HEAD(r, list) = next;
  if (next != 0) PM_U32(r, next + BLK_PREV_FREE) = prev;
  if (HEAD(r, list) == 0) {
    uint32_t fl = list >> TLSF_SL_LOG2;
    SL_MAP(r, fl) &= ~(1u << (list & (TLSF_SL_COUNT - 1u)));
    if (SL_MAP(r, fl) == 0) FL_MAP(r) &= ~(1u << fl);
  }
}

/* The head of the first non-empty list that fits `size`, unlinked: two find-first-sets; 0 when none fits. */
static uint32_t take_free(pm_region *r, uint32_t size) {
  uint32_t idx = search_index(size);
  uint32_t fl = idx >> TLSF_SL_LOG2;
  uint32_t sl_map = SL_MAP(r, fl) & (~0u << (idx & (TLSF_SL_COUNT - 1u)));
  if (sl_map == 0) {
    uint32_t fl_map = FL_MAP(r) & (~0u << (fl + 1u));
    if (fl_map == 0) return 0;
    fl = ffs32(fl_map);
    sl_map = SL_MAP(r, fl);
  }
  uint32_t h = HEAD(r, (fl << TLSF_SL_LOG2) | ffs32(sl_map));
  unlink_block(r, h, PM_U32(r, h + BLK_SIZE) & BLOCK_SIZE_MASK);
  return h;
}

/* Payload p's bit in its pool's live map, the map free() and realloc() refuse a non-block by. */
static void set_live(pm_region *r, uint32_t p, int live) {
  uint32_t off = p & (SEGMENT_SIZE - 1u);
  uint32_t g = off >> 4;
  uint32_t word = p - off + POOL_LIVE_MAP + (g >> 5) * 4u;
  if (live) PM_U32(r, word) |= 1u << (g & 31);
  else PM_U32(r, word) &= ~(1u << (g & 31));
}

/* One bit per 16-byte granule: a pointer into a block's middle, or to a freed one, reads 0. */
int pm_tlsf_is_live(const pm_region *r, uint32_t p) {
  uint32_t off = p & (SEGMENT_SIZE - 1u);
  uint32_t g = off >> 4;
  return (PM_U32(r, p - off + POOL_LIVE_MAP + (g >> 5) * 4u) >> (g & 31)) & 1u;
}

/* Makes h, spanning `whole` bytes, an in-use block of `size`; a tail of BLOCK_MIN_SIZE or more becomes free. */
static void split(pm_region *r, uint32_t h, uint32_t whole, uint32_t size) {
  uint32_t rest = whole - size;
  if (rest < BLOCK_MIN_SIZE) {
    PM_U32(r, h + BLK_SIZE) = whole;
    return;
  }
  PM_U32(r, h + BLK_SIZE) = size;
  uint32_t t = h + size;
  uint32_t nsize = PM_U32(r, h + whole + BLK_SIZE);
  if (nsize & BLOCK_FREE_BIT) {
    unlink_block(r, h + whole, nsize & BLOCK_SIZE_MASK);
    rest += nsize & BLOCK_SIZE_MASK;
  }
  PM_U32(r, t + BLK_SIZE) = rest | BLOCK_FREE_BIT;
  PM_U32(r, t + BLK_PREV) = h;
  PM_U32(r, t + rest + BLK_PREV) = t;
  link_block(r, t, rest);
}

/* Before a segment request gives up, and in trim: the kept empty pool is the one segment TLSF can spare. */
int pm_tlsf_drop_empty_pool(pm_region *r) {
  int flushed = pm_tlsf_flush_quick(r); /* may empty pools: beyond the one kept, they go back at once */
  uint32_t s = PM_U32(r, EMPTY_POOL);
  if (s == 0) return flushed;
  unlink_block(r, s * SEGMENT_SIZE + POOL_FIRST_BLOCK, POOL_BLOCK_MAX);
  PM_U32(r, EMPTY_POOL) = 0;
  pm_seg_release(r, s);
  return 1;
}

/* A segment made one free block after the pool's live map, ended by a zero-size sentinel that stops coalescing. */
static uint32_t new_pool(pm_region *r) {
  uint32_t s = pm_seg_alloc_one(r, SEG_RAW_POOL, 0);
  if (s == 0) return 0;
  uint32_t base = s * SEGMENT_SIZE;
  if (r->last_dirty) memset(pm_bytes(r, base + POOL_LIVE_MAP, POOL_LIVE_MAP_BYTES), 0, POOL_LIVE_MAP_BYTES);
  uint32_t h = base + POOL_FIRST_BLOCK;
  uint32_t end = base + POOL_SENTINEL;
  PM_U32(r, h + BLK_SIZE) = POOL_BLOCK_MAX | BLOCK_FREE_BIT;
  PM_U32(r, h + BLK_PREV) = 0;
  PM_U32(r, end + BLK_SIZE) = 0;
  PM_U32(r, end + BLK_PREV) = h;
  PM_U32(r, end + BLK_REQUESTED) = 0;
  PM_U32(r, end + BLK_RESERVED) = 0;
  return h;
}

/* TLSF's free of block h (no longer live): coalesces, gives back a wholly free pool beyond the one kept. */
static void release_block(pm_region *r, uint32_t h, uint32_t size);

/* Quick-bin blocks are in use to TLSF: releasing them lets them coalesce before a request is refused. */
int pm_tlsf_flush_quick(pm_region *r) {
  int any = 0;
  for (uint32_t bin = 0; bin < QUICK_BIN_COUNT; bin++) {
    uint32_t word = PM_U32(r, QUICK_BINS + bin * 4u);
    if (word == 0) continue;
    PM_U32(r, QUICK_BINS + bin * 4u) = 0;
    any = 1;
    for (uint32_t h = word & ~QUICK_COUNT_MASK; h != 0;) {
      uint32_t next = PM_U32(r, h + BLK_REQUESTED); /* read before release_block reuses the word */
      release_block(r, h, PM_U32(r, h + BLK_SIZE));
      h = next;
    }
  }
  return any;
}

/* A quick bin's exact-size block first (glibc's tcache), then TLSF's good fit, then the quick bins flushed, then a new pool. */
uint32_t pm_tlsf_malloc(pm_region *r, uint32_t n) {
  uint32_t size = pm_block_size_for(n);
  if (size <= QUICK_MAX_BLOCK) {
    uint32_t word = QUICK_BIN(r, size);
    if (word != 0) { /* the quick bin's pop: the block is whole, of exactly this size */
      uint32_t h = word & ~QUICK_COUNT_MASK;
      QUICK_BIN(r, size) = PM_U32(r, h + BLK_REQUESTED) | ((word & QUICK_COUNT_MASK) - 1u);
      PM_U32(r, h + BLK_REQUESTED) = n;
      set_live(r, h + BLOCK_HEADER_SIZE, 1);
      return h + BLOCK_HEADER_SIZE;
    }
  }
  uint32_t h = take_free(r, size);
  if (h == 0 && pm_tlsf_flush_quick(r)) h = take_free(r, size); /* kept blocks, coalesced, may serve */
  if (h == 0) {
    h = new_pool(r);
    if (h == 0) return 0;
  } else if ((PM_U32(r, h + BLK_SIZE) & BLOCK_SIZE_MASK) == POOL_BLOCK_MAX) {
    PM_U32(r, EMPTY_POOL) = 0;
  }
  split(r, h, PM_U32(r, h + BLK_SIZE) & BLOCK_SIZE_MASK, size);
  PM_U32(r, h + BLK_REQUESTED) = n;
  PM_U32(r, h + BLK_RESERVED) = 0;
  set_live(r, h + BLOCK_HEADER_SIZE, 1);
  return h + BLOCK_HEADER_SIZE;
}

/* Small blocks go to their quick bin while it has room (7, tcache's depth); the rest coalesce at once. */
void pm_tlsf_free(pm_region *r, uint32_t h) {
  uint32_t size = PM_U32(r, h + BLK_SIZE);
  set_live(r, h + BLOCK_HEADER_SIZE, 0);
  if (size <= QUICK_MAX_BLOCK) {
    uint32_t word = QUICK_BIN(r, size);
    if ((word & QUICK_COUNT_MASK) < QUICK_DEPTH) { /* the quick bin's push: kept whole, in use to TLSF */
      PM_U32(r, h + BLK_REQUESTED) = word & ~QUICK_COUNT_MASK;
      QUICK_BIN(r, size) = h | ((word & QUICK_COUNT_MASK) + 1u);
      return;
    }
  }
  release_block(r, h, size);
}

/* Boundary tags: the prev link finds the left neighbour, the size the right; one empty pool is kept. */
static void release_block(pm_region *r, uint32_t h, uint32_t size) {
  uint32_t prev = PM_U32(r, h + BLK_PREV);
  if (prev != 0) {
    uint32_t psize = PM_U32(r, prev + BLK_SIZE);
    if (psize & BLOCK_FREE_BIT) {
      unlink_block(r, prev, psize & BLOCK_SIZE_MASK);
      size += psize & BLOCK_SIZE_MASK;
      h = prev;
    }
  }
  uint32_t nsize = PM_U32(r, h + size + BLK_SIZE);
  if (nsize & BLOCK_FREE_BIT) {
    unlink_block(r, h + size, nsize & BLOCK_SIZE_MASK);
    size += nsize & BLOCK_SIZE_MASK;
  }
  PM_U32(r, h + BLK_SIZE) = size | BLOCK_FREE_BIT;
  PM_U32(r, h + size + BLK_PREV) = h;
  if (size == POOL_BLOCK_MAX) {
    if (PM_U32(r, EMPTY_POOL) == 0) {
      PM_U32(r, EMPTY_POOL) = h >> SEGMENT_SHIFT;
    } else {
      pm_seg_release(r, h >> SEGMENT_SHIFT);
      return;
    }
  }
  link_block(r, h, size);
}

/* realloc without a copy: absorb a free right neighbour when that is enough, then split off the tail. */
int pm_tlsf_resize_in_place(pm_region *r, uint32_t h, uint32_t n) {
  uint32_t size = pm_block_size_for(n);
  uint32_t cur = PM_U32(r, h + BLK_SIZE);
  if (size > cur) {
    uint32_t nsize = PM_U32(r, h + cur + BLK_SIZE);
    if (!(nsize & BLOCK_FREE_BIT) || cur + (nsize & BLOCK_SIZE_MASK) < size) return 0;
    unlink_block(r, h + cur, nsize & BLOCK_SIZE_MASK);
    cur += nsize & BLOCK_SIZE_MASK;
    PM_U32(r, h + cur + BLK_PREV) = h;
  }
  split(r, h, cur, size);
  PM_U32(r, h + BLK_REQUESTED) = n;
  return 1;
}
