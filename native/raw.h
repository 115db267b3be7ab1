/*
 * Layer +1, the raw allocator's API over a region (twin of lib/raw/allocator.ts). Sizes and pointers
 * are u32 offsets; the caller (lib/domains/domain.ts) has validated the arguments' types.
 */
#ifndef PYMEM_RAW_H
#define PYMEM_RAW_H

#include "region.h"

uint32_t pm_malloc(pm_region *r, uint32_t n);
uint32_t pm_calloc(pm_region *r, uint32_t n);
/* The new pointer, 0 when out of memory (p untouched), or -status when p is refused. */
int64_t pm_realloc(pm_region *r, uint32_t p, uint32_t n);
/* PTR_OK, or why p was refused (nothing changed then). */
int pm_free(pm_region *r, uint32_t p);
uint32_t pm_arena_alloc(pm_region *r);
int pm_arena_free(pm_region *r, uint32_t p);
/* Gives the OS every free segment the allocator keeps against thrashing (the empty raw pool, the
 * segment cache); returns how many segments went back. */
uint32_t pm_trim(pm_region *r);

#endif
