'use strict';
// Run as a worker thread by test/workers.ts: workerData = { backend, task, seed }. Each task creates
// its own heap in this thread and posts what it saw; 'spin' and 'leave-open' are ended from outside.
// Plain JavaScript over the compiled package: a TypeScript loader costs each thread 1-2 s to start.
const { parentPort, workerData } = require('node:worker_threads');
const { createHeap } = require('../../dist/index.js');
const { random } = require('../../dist/trace/workloads.js');

const { backend, task, seed } = workerData;
const port = parentPort;

/** test/helpers/random.ts's Random: a seeded float in [0, 1), and an integer in [lo, hi]. */
function seeded(s) {
  const next = random(s);
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) };
}
const heap = createHeap({ backend, maxBytes: 64 << 20 });

/** Random malloc/realloc/free in all three domains, each block filled with its id; returns live blocks. */
function churn(h, rng, steps) {
  const live = new Map();
  for (let i = 0; i < steps; i++) {
    const domain = ['raw', 'mem', 'obj'][rng.int(0, 2)];
    if (live.size > 0 && rng.next() < 0.45) {
      const [p, block] = [...live][rng.int(0, live.size - 1)];
      for (let j = 0; j < block.size; j++) if (h.u8[p + j] !== (block.id & 0xff)) throw new Error(`block ${block.id} at ${p} changed`);
      h[block.domain].free(p);
      live.delete(p);
    } else {
      const size = rng.next() < 0.9 ? rng.int(1, 512) : rng.int(513, 100_000);
      const p = h[domain].malloc(size);
      if (p === 0) continue;
      h.u8.fill(i & 0xff, p, p + size);
      live.set(p, { domain, size, id: i });
    }
  }
  h.check();
  return live;
}

switch (task) {
  case 'use': {
    const live = churn(heap, seeded(seed), 5000);
    const result = { backend: heap.backend, live: live.size, allocatedBlocks: heap.allocatedBlocks() };
    heap.close();
    let closedCode;
    try {
      heap.obj.malloc(16);
    } catch (e) {
      closedCode = e.code;
    }
    port.postMessage({ ...result, closedCode });
    break;
  }
  case 'post-own-heap': {
    const p = heap.obj.malloc(64);
    let error;
    try {
      port.postMessage(heap);
    } catch (e) {
      error = { name: e.name, message: e.message };
    }
    heap.obj.free(p);
    heap.check();
    port.postMessage({ error, stillWorks: heap.obj.malloc(64) > 0 });
    break;
  }
  case 'spin': {
    // Allocates until terminated: worker.terminate() stops it between two calls, or inside one.
    port.postMessage('spinning');
    const rng = seeded(seed);
    for (;;) churn(heap, rng, 1000);
  }
  default: {
    // 'leave-open': the thread ends with its heap open, 48 MiB of it written; the region goes with the
    // thread's finalizers.
    const p = heap.raw.malloc(48 << 20);
    heap.u8.fill(1, p, p + (48 << 20));
    port.postMessage('allocated');
  }
}
