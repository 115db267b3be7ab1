'use strict';
// Run in a child process by test/loader.ts: creates two heaps as a user would and prints what the
// first got, with the warnings the process emitted. PYMEM_TEST_MAX_BYTES sets the region's size
// (default 2 MiB). Plain JavaScript over the compiled package, as every child of the tests: a
// TypeScript loader costs a child 1-2 s to start.
const { createHeap, nativeAddon } = require('../../dist/index.js');

const warnings = [];
process.on('warning', (w) => warnings.push({ name: w.name, code: w.code, message: w.message }));

const maxBytes = Number(process.env.PYMEM_TEST_MAX_BYTES ?? 2 << 20);
const native = nativeAddon();
try {
  const heap = createHeap({ maxBytes });
  const p = heap.raw.malloc(100);
  heap.check();
  createHeap({ maxBytes }).close();
  // Warnings are emitted on the next tick.
  setImmediate(() => console.log(JSON.stringify({ backend: heap.backend, reason: heap.backendReason, works: p > 0, native, warnings })));
} catch (e) {
  setImmediate(() => console.log(JSON.stringify({ code: e.code, message: e.message, native, warnings })));
}
