// glibc's malloc/free replaying a sequence file of bench/obmalloc/sequence.mjs: the baseline the
// object allocator is compared with. Prints the nanoseconds per free+malloc pair of the timed part.
// Built by bench/obmalloc.mjs with `cc -O2`.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint32_t *read_file(const char *path, size_t *words) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long bytes = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint32_t *data = malloc((size_t)bytes);
  if (!data || fread(data, 1, (size_t)bytes, f) != (size_t)bytes) return NULL;
  fclose(f);
  *words = (size_t)bytes / 4;
  return data;
}

int main(int argc, char **argv) {
  size_t words;
  uint32_t *seq = argc == 2 ? read_file(argv[1], &words) : NULL;
  if (!seq || seq[0] != 0x71736d70u) {
    fprintf(stderr, "usage: replay SEQUENCE_FILE\n");
    return 2;
  }
  uint32_t live = seq[1], ops = seq[2];
  const uint32_t *initial = seq + 3, *slots = initial + live, *sizes = slots + ops;
  void **blocks = malloc(sizeof(void *) * live);
  for (uint32_t k = 0; k < live; k++) blocks[k] = malloc(initial[k]);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (uint32_t i = 0; i < ops; i++) {
    uint32_t k = slots[i];
    free(blocks[k]);
    blocks[k] = malloc(sizes[i]);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
  // Touch the results so the loop cannot be optimised away.
  uintptr_t sum = 0;
  for (uint32_t k = 0; k < live; k++) sum += (uintptr_t)blocks[k];
  printf("{\"nsPerPair\":%.3f,\"check\":%u}\n", ns / ops, (unsigned)(sum & 1));
  return 0;
}
