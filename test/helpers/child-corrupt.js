'use strict';
// Run in a child process by test/binding.ts: scribbles over the heap's metadata as a buggy program
// might, then asks for memory that makes the allocator follow the garbage.
const { createHeap } = require('../../dist/index.js');
const { EMPTY_POOL } = require('../../dist/raw/layout.js');

const heap = createHeap({ backend: process.argv[2], maxBytes: 8 << 20 });
heap.raw.free(heap.raw.malloc(100)); // an empty pool, kept
for (let p; (p = heap.raw.malloc(1 << 20)) !== 0; ) heap.u8[p] = 1; // fill the rest with large blocks
heap.u32[EMPTY_POOL >>> 2] = 0x5a5a5a5a; // the wild write
const p = heap.raw.malloc(1 << 20); // no segment free: the allocator turns to the kept empty pool
let check = 'passed';
try {
  heap.check();
} catch (e) {
  check = e.message;
}
console.log(JSON.stringify({ returned: p, check }));
