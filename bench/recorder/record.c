/*
 * An LD_PRELOAD recorder of allocation traces (the format of lib/trace/format.ts): every malloc,
 * calloc, realloc and free of a process, by block ID, written to a file.
 *
 *   cc -O2 -shared -fPIC -o record.so record.c
 *   PYMEM_TRACE_FILE=out.trace [PYMEM_TRACE_LIMIT=N] [PYMEM_TRACE_WAIT=1] LD_PRELOAD=./record.so program ...
 *
 * With PYMEM_TRACE_WAIT=1 nothing is recorded until the program calls pymem_trace_start() (exported
 * by the recorder; from Python, ctypes.CDLL(None).pymem_trace_start()), so that a trace can leave out
 * the program's start-up; pymem_trace_stop() ends the trace. Blocks allocated before the start are not
 * in the table, so their frees and reallocs are left out, and the trace stays self-consistent.
 *
 * It interposes the four functions and forwards to glibc's own entry points (__libc_malloc and its
 * siblings, so no dlsym, which itself allocates). Each block gets the next ID when it is allocated; a
 * table from address to ID (open addressing, linear probing, backward-shift deletion) lives in mmap'ed
 * memory so that the recorder never calls the allocator it records. Events go through a 1 MiB buffer
 * to write(2). A mutex serialises threads; a thread-local flag keeps calls the recorder itself makes
 * (none are expected) out of the trace. After PYMEM_TRACE_LIMIT events, or once the process begins to
 * exit, nothing more is written: blocks live then stay live at the end of the trace.
 *
 * Allocations through posix_memalign, aligned_alloc, memalign or valloc are not recorded; a free or
 * realloc of such a block is left out too, since its address is not in the table.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int inside;
static int fd = -2; /* -2: not opened yet, -1: not recording */
static int waiting = -1; /* -1: PYMEM_TRACE_WAIT not read yet, 1: waiting for pymem_trace_start() */
static unsigned long long limit = ~0ULL, events, next_id = 1;

static char out[1 << 20];
static size_t used;

struct slot { uintptr_t addr; unsigned long long id; };
static struct slot *table;
static size_t capacity, count; /* capacity: a power of two */

static void flush(void) {
  size_t done = 0;
  while (done < used) {
    ssize_t n = write(fd, out + done, used - done);
    if (n <= 0) break;
    done += (size_t)n;
  }
  used = 0;
}

static void emit(const char *text) {
  size_t n = strlen(text);
  if (used + n > sizeof out) flush();
  memcpy(out + used, text, n);
  used += n;
}

/* Appends ' ' and the decimal digits of v. */
static char *number(char *p, unsigned long long v) {
  char digits[24];
  int k = 0;
  do digits[k++] = (char)('0' + v % 10); while ((v /= 10) != 0);
  *p++ = ' ';
  while (k) *p++ = digits[--k];
  return p;
}

static void event(char kind, unsigned long long id, int nvalues, unsigned long long v1, unsigned long long v2) {
  char line[80], *p = line;
  *p++ = kind;
  p = number(p, id);
  if (nvalues > 0) p = number(p, v1);
  if (nvalues > 1) p = number(p, v2);
  *p++ = '\n';
  *p = 0;
  emit(line);
  if (++events >= limit) {
    flush();
    close(fd);
    fd = -1;
  }
}

static size_t home(uintptr_t addr) { return (size_t)((addr >> 4) * 0x9e3779b97f4a7c15ULL) & (capacity - 1); }

static int grow(void) {
  size_t old = capacity;
  struct slot *from = table;
  capacity = old ? old * 2 : (1u << 20);
  table = mmap(NULL, capacity * sizeof *table, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (table == MAP_FAILED) return -1;
  for (size_t i = 0; i < old; i++) {
    if (!from[i].addr) continue;
    size_t j = home(from[i].addr);
    while (table[j].addr) j = (j + 1) & (capacity - 1);
    table[j] = from[i];
  }
  if (from) munmap(from, old * sizeof *from);
  return 0;
}

static unsigned long long insert(uintptr_t addr) {
  if ((count + 1) * 2 > capacity && grow() != 0) return 0;
  size_t j = home(addr);
  while (table[j].addr) j = (j + 1) & (capacity - 1);
  table[j].addr = addr;
  table[j].id = next_id++;
  count++;
  return table[j].id;
}

/* Removes addr; returns its ID, or 0 when it was not recorded. */
static unsigned long long take(uintptr_t addr) {
  if (!capacity) return 0;
  size_t j = home(addr);
  while (table[j].addr != addr) {
    if (!table[j].addr) return 0;
    j = (j + 1) & (capacity - 1);
  }
  unsigned long long id = table[j].id;
  /* Backward-shift deletion: move later members of the probe run into the hole. */
  size_t hole = j;
  for (size_t k = (j + 1) & (capacity - 1); table[k].addr; k = (k + 1) & (capacity - 1)) {
    size_t h = home(table[k].addr);
    if (((k - h) & (capacity - 1)) >= ((k - hole) & (capacity - 1))) {
      table[hole] = table[k];
      hole = k;
    }
  }
  table[hole].addr = 0;
  count--;
  return id;
}

/* Enters the recorder: 1 when this call is to be recorded, with the lock held. */
static int enter(void) {
  if (inside) return 0;
  pthread_mutex_lock(&lock);
  if (waiting < 0) {
    const char *wait = getenv("PYMEM_TRACE_WAIT");
    waiting = wait != NULL && wait[0] == '1';
  }
  if (fd == -2 && !waiting) {
    const char *file = getenv("PYMEM_TRACE_FILE");
    const char *max = getenv("PYMEM_TRACE_LIMIT");
    if (max) limit = strtoull(max, NULL, 10);
    fd = file ? open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
    if (fd >= 0) emit("pymem-trace 1\n");
  }
  if (fd < 0) {
    pthread_mutex_unlock(&lock);
    return 0;
  }
  inside = 1;
  return 1;
}

static void leave(void) {
  inside = 0;
  pthread_mutex_unlock(&lock);
}

void *malloc(size_t n) {
  void *p = __libc_malloc(n);
  if (p && enter()) {
    unsigned long long id = insert((uintptr_t)p);
    if (id) event('m', id, 1, n, 0);
    leave();
  }
  return p;
}

void *calloc(size_t nelem, size_t elsize) {
  void *p = __libc_calloc(nelem, elsize);
  if (p && enter()) {
    unsigned long long id = insert((uintptr_t)p);
    if (id) event('c', id, 2, nelem, elsize);
    leave();
  }
  return p;
}

void *realloc(void *old, size_t n) {
  if (!old) return malloc(n);
  void *p = __libc_realloc(old, n);
  if ((p || n == 0) && enter()) {
    unsigned long long id = take((uintptr_t)old);
    if (id && p) {
      /* The block keeps its ID at its new address. */
      size_t j = home((uintptr_t)p);
      while (table[j].addr) j = (j + 1) & (capacity - 1);
      table[j].addr = (uintptr_t)p;
      table[j].id = id;
      count++;
      event('r', id, 1, n, 0);
    } else if (id) {
      event('f', id, 0, 0, 0); /* realloc(p, 0) freed it */
    }
    leave();
  }
  return p;
}

void free(void *p) {
  if (p && enter()) {
    unsigned long long id = take((uintptr_t)p);
    if (id) event('f', id, 0, 0, 0);
    leave();
  }
  __libc_free(p);
}

void pymem_trace_start(void) {
  pthread_mutex_lock(&lock);
  waiting = 0;
  pthread_mutex_unlock(&lock);
}

void pymem_trace_stop(void) {
  pthread_mutex_lock(&lock);
  if (fd >= 0) {
    flush();
    close(fd);
  }
  fd = -1;
  pthread_mutex_unlock(&lock);
}

__attribute__((destructor)) static void finish(void) { pymem_trace_stop(); }
