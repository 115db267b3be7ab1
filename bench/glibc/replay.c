/*
 * The benchmark's baseline: the C library's malloc, calloc, realloc and free replaying a program file
 * (lib/trace/binary.ts) exactly as pymem's contenders do, in the same process layout: one replay that
 * warms up (and touches the memory the allocator will reuse), then TIMED timed ones, each from an
 * empty heap, the figure their median. `pymem bench` builds it with `cc -O2` when a compiler is there.
 *
 *   replay PROGRAM_FILE    prints {"nsPerEvent": ..., "rssGrowth": ..., "failed": ...}
 *
 * rssGrowth is the process's peak RSS (VmHWM) less its RSS before the first replay, in bytes (Linux;
 * elsewhere the figure is not measured and reads as 0 or less).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { OP_MALLOC, OP_CALLOC, OP_REALLOC, OP_FREE };

struct program {
  uint32_t events, slots;
  const uint32_t *slot;
  const double *a, *b;
  const uint8_t *op;
};

static unsigned char *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *data = n > 0 ? malloc((size_t)n) : NULL;
  if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
    fclose(f);
    free(data);
    return NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return data;
}

static int load(const unsigned char *data, size_t size, struct program *p) {
  uint32_t header[4];
  if (size < 32) return -1;
  memcpy(header, data, sizeof header);
  if (header[0] != 0x70746d70u || header[1] != 1) return -1;
  p->events = header[2];
  p->slots = header[3];
  size_t slot = 32, a = slot + 4 * ((size_t)p->events + (p->events & 1)), b = a + 8 * (size_t)p->events, op = b + 8 * (size_t)p->events;
  if (size != op + p->events) return -1;
  p->slot = (const uint32_t *)(data + slot);
  p->a = (const double *)(data + a);
  p->b = (const double *)(data + b);
  p->op = data + op;
  return 0;
}

/* Timed replays, as lib/cli/bench-child.ts's TIMED_REPLAYS: a short trace's one replay is a scheduler's toy. */
#define TIMED 5

/* One replay. Returns failed allocations. */
static uint32_t replay(const struct program *p, void **ptr) {
  uint32_t failed = 0;
  for (uint32_t i = 0; i < p->events; i++) {
    uint32_t s = p->slot[i];
    switch (p->op[i]) {
      case OP_MALLOC:
        if (!(ptr[s] = malloc((size_t)p->a[i]))) failed++;
        break;
      case OP_CALLOC:
        if (!(ptr[s] = calloc((size_t)p->a[i], (size_t)p->b[i]))) failed++;
        break;
      case OP_REALLOC: {
        void *q = realloc(ptr[s], (size_t)p->a[i]);
        if (q) ptr[s] = q;
        else failed++;
        break;
      }
      default:
        free(ptr[s]);
        ptr[s] = NULL;
    }
  }
  return failed;
}

/* Frees what a replay left, so that the next starts from an empty heap. */
static void free_live(const struct program *p, void **ptr) {
  for (uint32_t s = 0; s < p->slots; s++) free(ptr[s]), ptr[s] = NULL;
}

/* The current RSS, in bytes (statm counts pages); 0 where there is no /proc. */
static long rss_now(void) {
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    fclose(f);
  }
  return resident * sysconf(_SC_PAGESIZE);
}

/*
 * The peak RSS, in bytes: VmHWM, which a process starts afresh at exec. getrusage's maxrss is no use on
 * Linux, which carries it over from the parent (a bench process larger than this one).
 */
static long rss_peak(void) {
  char line[256];
  long kb = 0;
  FILE *f = fopen("/proc/self/status", "r");
  if (f) {
    while (fgets(line, sizeof line, f))
      if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
    fclose(f);
  }
  return kb * 1024;
}

int main(int argc, char **argv) {
  size_t size = 0;
  unsigned char *data = argc == 2 ? read_file(argv[1], &size) : NULL;
  struct program p;
  if (!data || load(data, size, &p) != 0) {
    fprintf(stderr, "usage: replay PROGRAM_FILE (a pymem program file, version 1)\n");
    return 2;
  }
  void **ptr = calloc(p.slots ? p.slots : 1, sizeof *ptr);
  long before = rss_now();
  replay(&p, ptr);
  free_live(&p, ptr);
  double times[TIMED];
  uint32_t failed = 0;
  for (int r = 0; r < TIMED; r++) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    failed = replay(&p, ptr);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    times[r] = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    free_live(&p, ptr);
    for (int k = r; k > 0 && times[k] < times[k - 1]; k--) { /* insertion sort: the median is the middle */
      double t = times[k];
      times[k] = times[k - 1];
      times[k - 1] = t;
    }
  }
  double ns = times[TIMED / 2];
  printf("{\"nsPerEvent\":%.3f,\"rssGrowth\":%ld,\"failed\":%u}\n", ns / (p.events ? p.events : 1), rss_peak() - before, failed);
  return 0;
}
