/*
 * A shared heap's raw lock (lib/shared/lock.ts is the TypeScript side's): HDR_LOCK holds 0, or the
 * holder's slot + 1. Every operation of the C allocator runs inside one N-API call, so a thread that
 * worker.terminate() stops can never be stopped holding it: termination waits for the call to return.
 * Held for one operation (tens of nanoseconds to a segment's madvise), so waiters spin, then yield.
 */
#ifndef PYMEM_LOCK_H
#define PYMEM_LOCK_H

#include <sched.h>

#include "region.h"

/* Spins before yielding: an operation is far shorter than a time slice, so the holder is usually running. */
#define PM_LOCK_SPINS 64

/* Tells the CPU this is a spin-wait loop: it saves power and leaves the core to its hyper-thread sibling. */
static inline void pm_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* Takes the lock of a shared region; a private one (holder 0) has none to take. */
static inline void pm_lock(pm_region *r) {
  if (r->holder == 0) return;
  uint32_t *word = &PM_U32(r, HDR_LOCK);
  for (unsigned spins = 0;; spins++) {
    uint32_t expected = 0;
    if (__atomic_compare_exchange_n(word, &expected, r->holder, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
    if (spins >= PM_LOCK_SPINS) sched_yield();
    else pm_cpu_relax();
  }
}

/* Release order: every write of the operation is visible before the next holder's first read. */
static inline void pm_unlock(pm_region *r) {
  if (r->holder != 0) __atomic_store_n(&PM_U32(r, HDR_LOCK), 0u, __ATOMIC_RELEASE);
}

#endif
