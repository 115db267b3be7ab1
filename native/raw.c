/*
 * Layer +1, the raw allocator in C: TLSF blocks up to RAW_HUGE_THRESHOLD, runs of whole segments above
 * it, whole segments as arenas for the object allocator. lib/raw/allocator.ts is the same algorithm
 * over the same bytes, step for step, so that both backends leave identical regions.
 *
 *   n <= RAW_HUGE_THRESHOLD   a TLSF block in a raw pool (tlsf.c)
 *   n >  RAW_HUGE_THRESHOLD   a run of whole segments; the pointer is its first segment's start
 *   pm_arena_alloc            one whole segment, 1 MiB-aligned, for pymalloc's arenas
 *
 * A pointer is classified by its segment's kind before anything changes, so a bad free or realloc
 * is refused (a PTR_* status) with the region untouched.
 */
#include "raw.h"
#include "segments.h"
#include "tlsf.h"

#include <string.h>

#define SEGMENT_MASK (SEGMENT_SIZE - 1u)

/* Copies n bytes from p to q inside the region. */
static void copy(pm_region *r, uint32_t q, uint32_t p, uint32_t n) {
  memmove(pm_bytes(r, q, n), pm_bytes(r, p, n), n);
}

/* Whole segments a huge block of n bytes spans (n < 4 GiB, so the sum cannot wrap in 64 bits). */
static inline uint32_t segments_for(uint32_t n) { return (uint32_t)(((uint64_t)n + SEGMENT_MASK) >> SEGMENT_SHIFT); }

/* The live-block counters heap.stats() reads: blocks and their requested bytes, kept in the header. */
static void count(pm_region *r, int32_t blocks, uint32_t bytes_delta) {
  PM_U32(r, RAW_BLOCKS) += (uint32_t)blocks;
  PM_U32(r, RAW_BYTES) += bytes_delta; /* wraps like the TS u32 store: deltas may be "negative" */
}

/* Claims segment t of the huge block at s; a cached (stale) one is zeroed up to the block's end on request. */
static void claim_huge_segment(pm_region *r, uint32_t s, uint32_t t, uint32_t n, int zero) {
  int dirty = pm_seg_claim(r, t, t == s ? SEG_HUGE_HEAD : SEG_HUGE_CONT, t == s ? n : s);
  if (zero && dirty) {
    uint64_t start = (uint64_t)t * SEGMENT_SIZE;
    uint64_t end = (uint64_t)s * SEGMENT_SIZE + n;
    uint64_t length = end - start < SEGMENT_SIZE ? end - start : SEGMENT_SIZE;
    memset(pm_bytes(r, start, length), 0, length);
  }
}

/* A run of `run` free segments claimed for an n-byte huge block; a one-segment block takes a cached one first. */
static uint32_t huge_claim(pm_region *r, uint32_t run, uint32_t n, int zero) {
  uint32_t s;
  if (run == 1) {
    s = pm_seg_alloc_one(r, SEG_HUGE_HEAD, n);
    if (s != 0 && zero && r->last_dirty) memset(pm_bytes(r, (uint64_t)s * SEGMENT_SIZE, n), 0, n);
  } else {
    s = pm_seg_find_run(r, run);
    if (s != 0)
      for (uint32_t i = 0; i < run; i++) claim_huge_segment(r, s, s + i, n, zero);
  }
  return s;
}

/* A huge block, retried once after the kept empty raw pool is given up: that pool may be the gap. */
static uint32_t huge_malloc(pm_region *r, uint32_t n, int zero) {
  uint32_t run = segments_for(n);
  if (run >= r->count) return 0;
  uint32_t s = huge_claim(r, run, n, zero);
  if (s == 0 && pm_tlsf_drop_empty_pool(r)) s = huge_claim(r, run, n, zero);
  return s * SEGMENT_SIZE;
}

/* Frees every segment of the huge block at s; its length is the head's value (the requested size). */
static void huge_free(pm_region *r, uint32_t s) {
  uint32_t run = segments_for(pm_seg_value(r, s));
  for (uint32_t i = 0; i < run; i++) pm_seg_release(r, s + i);
}

/* Grows into the free segments right after the block or gives up its tail; 0 (nothing changed) when it cannot. */
static int huge_resize_in_place(pm_region *r, uint32_t s, uint32_t old, uint32_t n) {
  uint32_t run = segments_for(old), want = segments_for(n);
  if (want > run) {
    if ((uint64_t)s + want > r->count) return 0;
    for (uint32_t t = s + run; t < s + want; t++)
      if (!pm_seg_is_free(r, t)) return 0;
    for (uint32_t t = s + run; t < s + want; t++) pm_seg_claim(r, t, SEG_HUGE_CONT, s);
  } else {
    for (uint32_t t = s + want; t < s + run; t++) pm_seg_release(r, t);
  }
  pm_seg_set_value(r, s, n);
  return 1;
}

/* The kind of p's segment (SEG_RAW_POOL or SEG_HUGE_HEAD) when p starts a live raw block, else -status. */
static int classify(const pm_region *r, uint32_t p) {
  if (p >= r->limit) return -PTR_OUTSIDE;
  if (p & 15u) return -PTR_MISALIGNED;
  uint32_t kind = pm_seg_kind(r, p >> SEGMENT_SHIFT);
  switch (kind) {
    case SEG_RAW_POOL: return pm_tlsf_is_live(r, p) ? (int)kind : -PTR_NOT_LIVE;
    case SEG_HUGE_HEAD: return (p & SEGMENT_MASK) ? -PTR_INSIDE_HUGE : (int)kind;
    case SEG_HUGE_CONT: return -PTR_INSIDE_HUGE;
    case SEG_ARENA: return -PTR_ARENA;
    case SEG_META: return -PTR_METADATA;
    default: return -PTR_FREE_SEGMENT;
  }
}

/* malloc: TLSF below the huge threshold, whole segments above it; 0 when the region is full. */
uint32_t pm_malloc(pm_region *r, uint32_t n) {
  uint32_t p = n <= RAW_HUGE_THRESHOLD ? pm_tlsf_malloc(r, n) : huge_malloc(r, n, 0);
  if (p != 0) count(r, 1, n);
  return p;
}

/* calloc: a huge block's clean segments are zeros already, so only cached ones and TLSF blocks are cleared. */
uint32_t pm_calloc(pm_region *r, uint32_t n) {
  if (n > RAW_HUGE_THRESHOLD) {
    uint32_t p = huge_malloc(r, n, 1);
    if (p != 0) count(r, 1, n);
    return p;
  }
  uint32_t p = pm_tlsf_malloc(r, n);
  if (p != 0) {
    memset(pm_bytes(r, p, n), 0, n);
    count(r, 1, n);
  }
  return p;
}

/* free: classify first, so a refused pointer changes nothing; free(0) does nothing, as C's does. */
int pm_free(pm_region *r, uint32_t p) {
  if (p == 0) return PTR_OK;
  int kind = classify(r, p);
  if (kind < 0) return -kind;
  uint32_t s = p >> SEGMENT_SHIFT;
  if (kind == SEG_RAW_POOL) {
    uint32_t h = p - BLOCK_HEADER_SIZE;
    count(r, -1, 0u - PM_U32(r, h + BLK_REQUESTED));
    pm_tlsf_free(r, h);
  } else {
    count(r, -1, 0u - pm_seg_value(r, s));
    huge_free(r, s);
  }
  return PTR_OK;
}

/* realloc: in place when it can (shrinking, or growing into free space after it), else move and copy. */
int64_t pm_realloc(pm_region *r, uint32_t p, uint32_t n) {
  if (p == 0) return pm_malloc(r, n);
  int kind = classify(r, p);
  if (kind < 0) return kind;
  uint32_t s = p >> SEGMENT_SHIFT;
  if (kind == SEG_RAW_POOL) {
    uint32_t h = p - BLOCK_HEADER_SIZE;
    uint32_t old = PM_U32(r, h + BLK_REQUESTED);
    if (n <= RAW_HUGE_THRESHOLD && pm_tlsf_resize_in_place(r, h, n)) {
      count(r, 0, n - old);
      return p;
    }
    uint32_t q = n <= RAW_HUGE_THRESHOLD ? pm_tlsf_malloc(r, n) : huge_malloc(r, n, 0);
    if (q == 0) return 0;
    copy(r, q, p, old);
    pm_tlsf_free(r, h);
    count(r, 0, n - old);
    return q;
  }
  uint32_t old = pm_seg_value(r, s);
  if (n <= RAW_HUGE_THRESHOLD) {
    uint32_t q = pm_tlsf_malloc(r, n);
    if (q == 0) return 0;
    copy(r, q, p, n);
    huge_free(r, s);
    count(r, 0, n - old);
    return q;
  }
  if (huge_resize_in_place(r, s, old, n)) {
    count(r, 0, n - old);
    return p;
  }
  uint32_t q = huge_malloc(r, n, 0);
  if (q == 0) return 0;
  copy(r, q, p, old);
  huge_free(r, s);
  count(r, 0, n - old);
  return q;
}

/* An arena: one segment, so it is 1 MiB-aligned and loses no pool to alignment; retried as huge_malloc is. */
uint32_t pm_arena_alloc(pm_region *r) {
  uint32_t s = pm_seg_alloc_one(r, SEG_ARENA, 0);
  if (s == 0 && pm_tlsf_drop_empty_pool(r)) s = pm_seg_alloc_one(r, SEG_ARENA, 0);
  return s * SEGMENT_SIZE;
}

/* Gives back an arena; a pointer that is not one is refused by the status that says why. */
int pm_arena_free(pm_region *r, uint32_t p) {
  if (p == 0) return PTR_OK;
  if (p >= r->limit) return PTR_OUTSIDE;
  if (p & SEGMENT_MASK) return PTR_NOT_ARENA;
  uint32_t s = p >> SEGMENT_SHIFT;
  uint32_t kind = pm_seg_kind(r, s);
  if (kind != SEG_ARENA) return kind == SEG_FREE_CLEAN || kind == SEG_FREE_CACHED ? PTR_FREE_SEGMENT : PTR_RAW_BLOCK;
  pm_seg_release(r, s);
  return PTR_OK;
}

/* Everything kept against thrashing goes back: the quick bins, the empty pool, then the segment cache. */
uint32_t pm_trim(pm_region *r) {
  pm_tlsf_drop_empty_pool(r);  // its segment joins the cache, flushed with the rest
  return pm_seg_flush_cache(r);
}
