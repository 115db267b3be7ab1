'use strict';
// Run in a child process by test/obmalloc-stats.ts with PYMEM_MALLOCSTATS=1: fills two arenas of a heap
// and closes it, so that the statistics go to stderr at each new arena and at close.
const { createHeap } = require('../../dist/index.js');

const heap = createHeap({ backend: 'fallback', maxBytes: 16 << 20 });
for (let i = 0; i < 64 * 31 + 1; i++) heap.obj.malloc(512);
heap.close();
