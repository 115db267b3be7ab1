'use strict';
// Run in a child process by test/debug-abort.ts: a one-byte buffer overflow on a heap that aborts as
// CPython does. argv: backend, then 'option' (createHeap's debugAbort) or 'env' (PYMEM_DEBUG_ABORT=1,
// PYMEM_ALLOCATOR=debug). Prints the block's pointer first, so that the test can write the report it expects.
const { createHeap } = require('../../dist/index.js');

const [backend, how] = process.argv.slice(2);
const heap = how === 'option' ? createHeap({ backend, maxBytes: 8 << 20, allocator: 'debug', debugAbort: true }) : createHeap({ backend, maxBytes: 8 << 20 });
const p = heap.mem.malloc(16);
process.stdout.write(`${p}\n`);
heap.u8[p + 16] = 0x78; // the 'x' of _testcapi.pymem_buffer_overflow
heap.mem.free(p);
process.stdout.write('not reached\n');
