/* Segments: kinds, the free-segment map and the cache of empty segments (twin of lib/raw/segments.ts). */
#ifndef PYMEM_SEGMENTS_H
#define PYMEM_SEGMENTS_H

#include "region.h"

/* Writes a new region's metadata: every segment but 0 free and clean. The region must be all zeros. */
void pm_region_init(pm_region *r, uint8_t *base, uint32_t count);
/* Runs over a region whose metadata is already there (an image's); 0 when its header is not one of
 * this layout for `count` segments, and then r is left unset. */
int pm_region_adopt(pm_region *r, uint8_t *base, uint32_t count, uint32_t *file_backed);

uint32_t pm_seg_kind(const pm_region *r, uint32_t s);
uint32_t pm_seg_value(const pm_region *r, uint32_t s);
void pm_seg_set_value(pm_region *r, uint32_t s, uint32_t value);
int pm_seg_is_free(const pm_region *r, uint32_t s);

/* One free segment for `kind`: the last cached, else the lowest clean; 0 when none. Sets last_dirty. */
uint32_t pm_seg_alloc_one(pm_region *r, uint32_t kind, uint32_t value);
/* The lowest index starting n consecutive free segments; 0 when there is no such run. */
uint32_t pm_seg_find_run(const pm_region *r, uint32_t n);
/* Takes the free segment s; returns 1 when it was cached (stale bytes), 0 when clean. */
int pm_seg_claim(pm_region *r, uint32_t s, uint32_t kind, uint32_t value);
/* Frees segment s: into the cache while it has room, else back to the OS. */
void pm_seg_release(pm_region *r, uint32_t s);
/* Gives every cached segment's pages back to the OS; returns how many there were. */
uint32_t pm_seg_flush_cache(pm_region *r);

#endif
