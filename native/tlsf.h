/* General-purpose blocks in raw pools with TLSF (twin of lib/raw/tlsf.ts). */
#ifndef PYMEM_TLSF_H
#define PYMEM_TLSF_H

#include "region.h"

/* The block size (header included) that serves n bytes; n = 0 is served as 1. */
uint32_t pm_block_size_for(uint32_t n);
/* Allocates a block for n <= RAW_HUGE_THRESHOLD bytes; returns its payload, 0 when out of memory. */
uint32_t pm_tlsf_malloc(pm_region *r, uint32_t n);
/* Frees the live block with header h, coalescing; gives back a wholly free pool beyond the one kept. */
void pm_tlsf_free(pm_region *r, uint32_t h);
/* Resizes live block h to serve n bytes without moving it; 0 (nothing changed) when it cannot. */
int pm_tlsf_resize_in_place(pm_region *r, uint32_t h, uint32_t n);
/* Gives the quick bins' blocks to TLSF; 0 when they were empty. */
int pm_tlsf_flush_quick(pm_region *r);
/* Flushes the quick bins and gives the kept empty pool's segment back; 0 when there was nothing to give. */
int pm_tlsf_drop_empty_pool(pm_region *r);
/* Whether p is the payload of a live block (its bit in the pool's live map). */
int pm_tlsf_is_live(const pm_region *r, uint32_t p);

#endif
