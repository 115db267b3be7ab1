/*
 * Layer 0/+1 boundary: the region's 1 MiB segments, their kinds, the free-segment map and the cache of
 * empty segments. lib/raw/segments.ts is the same algorithm over the same bytes. Costs: allocating one
 * segment scans at most 128 bitmap words, finding a run at most 4096 bits; both run once per pool,
 * arena or huge block, never per small block.
 */
#include "segments.h"
#include "os.h"


#define ENTRY(s) (SEG_TABLE + (s) * SEG_ENTRY_SIZE)
#define FREE_WORD(r, s) PM_U32(r, SEG_FREE_MAP + ((s) >> 5) * 4u)
#define CACHE_WORD(r, s) PM_U32(r, SEG_CACHE_MAP + ((s) >> 5) * 4u)
#define KIND_COUNT(r, k) PM_U32(r, KIND_COUNTS + (k) * 4u)

/* How many freed segments stay committed: a quarter of the region, at least 4 (lib/config.ts's segmentCacheMax). */
static uint32_t pm_segment_cache_max(uint32_t count) {
  uint32_t quarter = count >> SEGMENT_CACHE_SHIFT;
  return quarter > SEGMENT_CACHE_MIN ? quarter : SEGMENT_CACHE_MIN;
}

/* The struct over `count` segments at `base`: what the header says, cached; private (no lock) until a caller says otherwise. */
static void region_over(pm_region *r, uint8_t *base, uint32_t count, uint32_t *file_backed) {
  r->base = base;
  r->count = count;
  r->limit = (uint64_t)count * SEGMENT_SIZE;
  r->last_dirty = 0;
  r->file_backed = file_backed;
  r->holder = 0;
}

/* The header first, so a region is recognised (magic, layout version) by anything that reads it later. */
void pm_region_init(pm_region *r, uint8_t *base, uint32_t count) {
  region_over(r, base, count, NULL);
  PM_U32(r, HDR_MAGIC) = MAGIC;
  PM_U32(r, HDR_VERSION) = LAYOUT_VERSION;
  PM_U32(r, HDR_SEGMENT_SHIFT) = SEGMENT_SHIFT;
  PM_U32(r, HDR_SEGMENT_COUNT) = count;
  PM_U32(r, HDR_HUGE_THRESHOLD) = RAW_HUGE_THRESHOLD;
  PM_U32(r, HDR_CACHE_MAX) = pm_segment_cache_max(count);
  PM_U32(r, ENTRY(0) + SEG_KIND) = SEG_META;
  KIND_COUNT(r, SEG_META) = 1;
  KIND_COUNT(r, SEG_FREE_CLEAN) = count - 1;
  for (uint32_t s = 1; s < count; s++) FREE_WORD(r, s) |= 1u << (s & 31);
}

/* The header decides, before any other field is trusted: the TypeScript side has checked the rest. */
int pm_region_adopt(pm_region *r, uint8_t *base, uint32_t count, uint32_t *file_backed) {
  pm_region probe;
  region_over(&probe, base, count, file_backed);
  if (PM_U32(&probe, HDR_MAGIC) != MAGIC || PM_U32(&probe, HDR_VERSION) != LAYOUT_VERSION ||
      PM_U32(&probe, HDR_SEGMENT_SHIFT) != SEGMENT_SHIFT || PM_U32(&probe, HDR_SEGMENT_COUNT) != count)
    return 0;
  *r = probe;
  return 1;
}

/* A segment's pages back to the OS: anonymous ones by madvise, an image's by mapping anonymous memory over them. */
static void release_pages(pm_region *r, uint32_t s) {
  uint8_t *addr = pm_bytes(r, (uint64_t)s * SEGMENT_SIZE, SEGMENT_SIZE);
  if (r->file_backed != NULL && (r->file_backed[s >> 5] >> (s & 31)) & 1u) {
    pm_os_unmap_file(addr, SEGMENT_SIZE);
    r->file_backed[s >> 5] &= ~(1u << (s & 31));
  } else {
    pm_os_release(addr, SEGMENT_SIZE);
  }
}

/* The segment table's two words per segment: what it is, and a kind's one value (a huge head's size). */
uint32_t pm_seg_kind(const pm_region *r, uint32_t s) { return PM_U32(r, ENTRY(s) + SEG_KIND); }
uint32_t pm_seg_value(const pm_region *r, uint32_t s) { return PM_U32(r, ENTRY(s) + SEG_VALUE); }
void pm_seg_set_value(pm_region *r, uint32_t s, uint32_t value) { PM_U32(r, ENTRY(s) + SEG_VALUE) = value; }
int pm_seg_is_free(const pm_region *r, uint32_t s) { return (FREE_WORD(r, s) >> (s & 31)) & 1u; }

/* Every change of kind goes through here, so the per-kind counts stats() reads never drift. */
static void set_entry(pm_region *r, uint32_t s, uint32_t kind, uint32_t value) {
  KIND_COUNT(r, pm_seg_kind(r, s))--;
  KIND_COUNT(r, kind)++;
  PM_U32(r, ENTRY(s) + SEG_KIND) = kind;
  PM_U32(r, ENTRY(s) + SEG_VALUE) = value;
}

/* The lowest segment whose bit is set in the free map or the cached-segment map; 0 when none is. */
static uint32_t lowest_in(const pm_region *r, uint32_t map) {
  uint32_t words = (r->count + 31) >> 5;
  for (uint32_t w = 0; w < words; w++) {
    uint32_t bits = PM_U32(r, map + w * 4u);
    if (bits != 0) return (w << 5) + (uint32_t)__builtin_ctz(bits);
  }
  return 0;
}

/* A cached segment first: its pages are still committed, so reusing it costs no page faults. */
uint32_t pm_seg_alloc_one(pm_region *r, uint32_t kind, uint32_t value) {
  uint32_t s = lowest_in(r, PM_U32(r, CACHE_COUNT) > 0 ? SEG_CACHE_MAP : SEG_FREE_MAP);
  if (s == 0) return 0;
  r->last_dirty = pm_seg_claim(r, s, kind, value);
  return s;
}

/* First fit by address, skipping all-taken words 32 segments at a time; huge blocks are rare. */
uint32_t pm_seg_find_run(const pm_region *r, uint32_t n) {
  uint32_t run = 0, start = 0;
  for (uint32_t s = 1; s < r->count;) {
    uint32_t bits = FREE_WORD(r, s);
    if ((s & 31) == 0 && bits == 0) {
      run = 0;
      s += 32;
      continue;
    }
    if ((bits >> (s & 31)) & 1u) {
      if (run == 0) start = s;
      if (++run == n) return start;
    } else {
      run = 0;
    }
    s++;
  }
  return 0;
}

/* Reports a cached segment, so the caller zeroes stale bytes only where it promised zeros. */
int pm_seg_claim(pm_region *r, uint32_t s, uint32_t kind, uint32_t value) {
  int dirty = 0;
  if (pm_seg_kind(r, s) == SEG_FREE_CACHED) {
    dirty = 1;
    CACHE_WORD(r, s) &= ~(1u << (s & 31));
    PM_U32(r, CACHE_COUNT)--;
  }
  FREE_WORD(r, s) &= ~(1u << (s & 31));
  set_entry(r, s, kind, value);
  return dirty;
}

/* madvise per cached segment, so RSS falls at once; the free map keeps them free, now clean. */
uint32_t pm_seg_flush_cache(pm_region *r) {
  uint32_t n = PM_U32(r, CACHE_COUNT);
  uint32_t words = (r->count + 31) >> 5;
  for (uint32_t w = 0; w < words; w++) {
    for (uint32_t bits = PM_U32(r, SEG_CACHE_MAP + w * 4u); bits != 0; bits &= bits - 1) {
      uint32_t s = (w << 5) + (uint32_t)__builtin_ctz(bits);
      release_pages(r, s);
      set_entry(r, s, SEG_FREE_CLEAN, 0);
    }
    PM_U32(r, SEG_CACHE_MAP + w * 4u) = 0;
  }
  PM_U32(r, CACHE_COUNT) = 0;
  return n;
}

/* The cache absorbs free/alloc churn of whole segments without a syscall each time; past its bound, madvise. */
void pm_seg_release(pm_region *r, uint32_t s) {
  uint32_t n = PM_U32(r, CACHE_COUNT);
  if (n < PM_U32(r, HDR_CACHE_MAX)) { /* kept committed: the bound is the region's, in its header */
    CACHE_WORD(r, s) |= 1u << (s & 31);
    PM_U32(r, CACHE_COUNT) = n + 1;
    set_entry(r, s, SEG_FREE_CACHED, 0);
  } else {
    release_pages(r, s);
    set_entry(r, s, SEG_FREE_CLEAN, 0);
  }
  FREE_WORD(r, s) |= 1u << (s & 31);
}
