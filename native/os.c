/*
 * Layer 0 on POSIX: an mmap reserve with MAP_NORESERVE (no swap is reserved for the untouched bulk of
 * a 1-4 GiB region), madvise(MADV_DONTNEED) to release (RSS falls at once and the pages read back as
 * zeros, which is what lets the fallback stay byte-identical by zero-filling), mincore for residency.
 * MADV_FREE would be cheaper but leaves RSS high until the kernel reclaims, and its pages are not
 * guaranteed to read as zeros.
 */
#define _DEFAULT_SOURCE
#include "os.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0
#endif

/* One mapping for the region's life, so offsets never move; pages commit when first written. */
uint8_t *pm_os_reserve(size_t length) {
  void *p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? NULL : (uint8_t *)p;
}

/* DONTNEED drops the pages at once and they read back as zeros, as the fallback's zero-fill does. A shared
 * heap's region is V8's SharedArrayBuffer memory, which need not start on a page: the partial pages at the
 * ends are zeroed instead, so the range reads back as zeros either way. */
void pm_os_release(uint8_t *addr, size_t length) {
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t start = ((uintptr_t)addr + page - 1) & ~(page - 1);
  uintptr_t end = ((uintptr_t)addr + length) & ~(page - 1);
  if (end <= start) {
    memset(addr, 0, length);
    return;
  }
  memset(addr, 0, start - (uintptr_t)addr);
  /* Cannot fail for a page-aligned range inside memory of our own (our mapping, or V8's calloc'ed one). */
  (void)madvise((void *)start, end - start, MADV_DONTNEED);
  memset((void *)end, 0, (uintptr_t)addr + length - end);
}

/* MAP_FIXED over our own reserve: only the image's segments change, the region stays where it is. */
int pm_os_map_file(uint8_t *addr, size_t length, int fd, uint64_t offset) {
  void *p = mmap(addr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, (off_t)offset);
  return p == MAP_FAILED ? -1 : 0;
}

/* DONTNEED on a private file mapping would read the file again, so the range gets anonymous pages. */
void pm_os_unmap_file(uint8_t *addr, size_t length) {
  (void)mmap(addr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
}

/* close() and the last finalizer end the mapping; munmap cannot fail on a mapping of our own. */
void pm_os_unreserve(uint8_t *base, size_t length) {
  (void)munmap(base, length);
}

/* RSS of the region alone, which the process's RSS cannot give: mincore's residency bit per page. */
int64_t pm_os_resident(uint8_t *base, size_t length) {
  long page = sysconf(_SC_PAGESIZE); /* 4 KiB here; 16 or 64 KiB on some arm64 kernels */
  if (page <= 0) return -1;
  /* mincore wants a page-aligned start: a shared heap's region may begin inside a page. */
  size_t lead = (uintptr_t)base & ((uintptr_t)page - 1);
  base -= lead;
  length += lead;
  size_t pages = (length + (size_t)page - 1) / (size_t)page;
  /* One byte per page: 256 KiB for a 1 GiB region, freed at once; only stats() calls this. */
  unsigned char *vec = malloc(pages);
  if (vec == NULL) return -1;
  int64_t resident = -1;
  if (mincore(base, length, vec) == 0) {
    resident = 0;
    for (size_t i = 0; i < pages; i++) resident += vec[i] & 1;
    resident *= page;
  }
  free(vec);
  return resident;
}
