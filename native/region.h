/*
 * The C raw allocator's view of a region: its base address and size. Every piece of allocator state
 * lives in the region itself (layout.h); this struct only caches what the header already says.
 */
#ifndef PYMEM_REGION_H
#define PYMEM_REGION_H

#include <stdint.h>
#include "layout.h"

typedef struct pm_region {
  uint8_t *base;
  uint32_t count;  /* segments, as in the header */
  uint64_t limit;  /* count * SEGMENT_SIZE: every valid pointer is below it */
  int last_dirty;  /* set by pm_seg_alloc_one: the segment came from the cache, its bytes are stale */
  /* Bit s set: segment s is mapped copy-on-write from an image file; NULL for a region made fresh.
   * Releasing such a segment must map anonymous memory over it: madvise would bring back the file's bytes. */
  uint32_t *file_backed;
  /* A shared heap's: this thread's slot + 1, the value it writes into HDR_LOCK while it runs an operation;
   * 0 for a private region, which takes no lock. */
  uint32_t holder;
} pm_region;

/*
 * Every byte the allocator touches is inside its region, checked. The region's metadata is writable
 * from JavaScript through the heap's views, so an offset read from it may be garbage; following one
 * outside the region would corrupt the Node process itself. Like glibc on a corrupt heap, the allocator
 * then stops the process with a message instead (heap.check() names the broken invariant). Cost: one
 * compare per access, not measurable beside the N-API call around it.
 */
#if defined(__GNUC__)
__attribute__((noreturn, cold))
#endif
void pm_corrupt(const pm_region *r, uint64_t offset, uint64_t length);

/* The `length` bytes at byte offset `off` of the region. */
static inline uint8_t *pm_bytes(const pm_region *r, uint64_t off, uint64_t length) {
  if (__builtin_expect(off + length > r->limit, 0)) pm_corrupt(r, off, length);
  return r->base + off;
}

/* The u32 field at byte offset `off` (offsets are u32: the region is at most 4 GiB). */
#define PM_U32(r, off) (*(uint32_t *)pm_bytes((r), (uint32_t)(off), 4u))

#endif
