/*
 * The region's one function that is not inline: the stop for an offset outside the region
 * (region.h says why the allocator stops rather than follows it).
 */
#include "region.h"

#include <stdio.h>
#include <stdlib.h>

void pm_corrupt(const pm_region *r, uint64_t offset, uint64_t length) {
  fprintf(stderr,
          "pymem: the heap's metadata is corrupt: the allocator was led to bytes 0x%llx..0x%llx, outside its "
          "%llu-byte region. Something wrote over the allocator's own data through the heap's views; "
          "heap.check() names what. Aborting rather than touch memory outside the region.\n",
          (unsigned long long)offset, (unsigned long long)(offset + length), (unsigned long long)r->limit);
  abort();
}
