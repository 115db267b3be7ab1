/*
 * Layer 0: what the raw allocator asks of the operating system. The region is reserved once, at its
 * full length, and never moves; pages are committed by the kernel when first written.
 */
#ifndef PYMEM_OS_H
#define PYMEM_OS_H

#include <stddef.h>
#include <stdint.h>

/* Reserves `length` bytes of zeroed, private, lazily committed memory; NULL on failure (errno set). */
uint8_t *pm_os_reserve(size_t length);

/* Gives the pages of [addr, addr + length) back to the OS; they read as zeros afterwards. */
void pm_os_release(uint8_t *addr, size_t length);

/* Maps [offset, offset + length) of file fd copy-on-write over [addr, addr + length) of a reserve:
 * pages are read when first touched, and writes never reach the file. 0, or -1 (errno set). */
int pm_os_map_file(uint8_t *addr, size_t length, int fd, uint64_t offset);

/* Replaces a file mapping made by pm_os_map_file with fresh anonymous memory, which reads as zeros. */
void pm_os_unmap_file(uint8_t *addr, size_t length);

/* Unmaps a reserve made by pm_os_reserve. */
void pm_os_unreserve(uint8_t *base, size_t length);

/* Bytes of [base, base + length) resident in RAM, or -1 when the OS cannot say. */
int64_t pm_os_resident(uint8_t *base, size_t length);

#endif
