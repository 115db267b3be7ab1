'use strict';
// Run as a worker thread by test/shared.ts: workerData = { heap: heap.share(), task, ... }. Each task
// attaches to the shared heap and works in it at the same time as other threads. Plain JavaScript over
// the compiled package: a TypeScript loader costs each thread 1-2 s to start.
const { parentPort, workerData } = require('node:worker_threads');
const { attachHeap } = require('../../dist/index.js');
const { random } = require('../../dist/trace/workloads.js');

const heap = attachHeap(workerData.heap);
const port = parentPort;

function seeded(s) {
  const next = random(s);
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) };
}

/** The byte block `id` holds at offset j: changes along the block, so a shifted or overlapping block shows. */
const pattern = (id, j) => (id * 31 + j) & 0xff;

function fill(p, size, id) {
  for (let j = 0; j < size; j++) heap.u8[p + j] = pattern(id, j);
}

function intact(p, size, id) {
  for (let j = 0; j < size; j++) if (heap.u8[p + j] !== pattern(id, j)) return false;
  return true;
}

/** Waits until `count` threads have arrived at word 0 of `sync`, so that they start at once. */
function barrier(sync, count) {
  Atomics.add(sync, 0, 1);
  while (Atomics.load(sync, 0) < count) Atomics.wait(sync, 0, Atomics.load(sync, 0), 1);
}

/** Frees block b (checked first); throws, ending the worker with the reason, when it was changed. */
function release(b) {
  if (!intact(b.p, b.size, b.id)) throw new Error(`block ${b.id} at ${b.p} (${b.size} bytes, ${b.domain}) was changed before its free`);
  heap[b.domain].free(b.p);
}

switch (workerData.task) {
  case 'atomic': {
    // Word `word` of the heap, incremented n times by each of `threads` threads at once.
    const { n, word, plain, threads } = workerData;
    const sync = new Int32Array(workerData.sync);
    barrier(sync, threads);
    const i32 = heap.i32;
    if (plain) for (let i = 0; i < n; i++) i32[word]++;
    else for (let i = 0; i < n; i++) Atomics.add(i32, word, 1);
    port.postMessage('done');
    break;
  }
  case 'churn': {
    // Random malloc/realloc/free in the three domains; then the blocks another worker handed over are
    // freed here, each checked, among this thread's own operations.
    const rng = seeded(workerData.seed);
    const live = [];
    const domains = ['raw', 'mem', 'obj'];
    let ops = 0;
    const step = (i) => {
      if (live.length > 0 && rng.next() < 0.45) {
        const k = rng.int(0, live.length - 1);
        const b = live[k];
        if (rng.next() < 0.2) {
          if (!intact(b.p, b.size, b.id)) throw new Error(`block ${b.id} changed before its realloc`);
          const size = rng.next() < 0.9 ? rng.int(1, 512) : rng.int(513, 20_000);
          const q = heap[b.domain].realloc(b.p, size);
          if (q === 0) return;
          for (let j = 0; j < Math.min(size, b.size); j++) if (heap.u8[q + j] !== pattern(b.id, j)) throw new Error(`block ${b.id} lost its bytes in a realloc`);
          live[k] = { ...b, p: q, size, id: b.id };
          fill(q, size, b.id);
        } else {
          release(b);
          live[k] = live[live.length - 1];
          live.pop();
        }
      } else {
        const domain = domains[rng.int(0, 2)];
        const size = rng.next() < 0.9 ? rng.int(1, 512) : rng.int(513, 20_000);
        const p = heap[domain].malloc(size);
        if (p === 0) return;
        const id = workerData.seed * 1_000_000 + i;
        fill(p, size, id);
        live.push({ p, size, id, domain });
      }
      ops++;
    };
    for (let i = 0; i < workerData.steps; i++) step(i);
    port.postMessage({ handOver: live.splice(0, live.length >>> 1), slot: heap.slot });
    port.once('message', (received) => {
      const sync = new Int32Array(workerData.sync);
      barrier(sync, workerData.threads);
      for (let i = 0; i < received.length || i < workerData.steps; i++) {
        if (i < received.length) release(received[i]);
        if (i < workerData.steps) step(workerData.steps + i);
      }
      port.postMessage({ live, ops });
    });
    break;
  }
  case 'produce': {
    // Blocks into a ring of `ring.length` pointers (word 0: written count, word 1: read count, then the ring).
    const { n } = workerData;
    const ring = new Int32Array(workerData.ring);
    const slots = ring.length - 2;
    for (let i = 0; i < n; i++) {
      const size = 1 + ((i * 7919) % 512);
      const p = heap.obj.malloc(size);
      if (p === 0) throw new Error('out of memory');
      fill(p, size, i);
      while (i - Atomics.load(ring, 1) >= slots) Atomics.wait(ring, 1, Atomics.load(ring, 1), 1);
      Atomics.store(ring, 2 + (i % slots), p | 0);
      Atomics.store(ring, 0, i + 1);
      Atomics.notify(ring, 0);
    }
    port.postMessage({ produced: n, allocatedBlocks: heap.allocatedBlocks() });
    break;
  }
  case 'consume': {
    const { n } = workerData;
    const ring = new Int32Array(workerData.ring);
    const slots = ring.length - 2;
    let bad = 0;
    for (let i = 0; i < n; i++) {
      while (Atomics.load(ring, 0) <= i) Atomics.wait(ring, 0, Atomics.load(ring, 0), 1);
      const p = Atomics.load(ring, 2 + (i % slots)) >>> 0;
      if (!intact(p, 1 + ((i * 7919) % 512), i)) bad++;
      heap.obj.free(p);
      Atomics.store(ring, 1, i + 1);
      Atomics.notify(ring, 1);
    }
    port.postMessage({ consumed: n, bad });
    break;
  }
  case 'loop': {
    // Runs until terminated. Each block it completes is published in `table` (pointer, size, id per
    // entry); a block is unpublished before its free, so every published block is whole at any moment.
    const table = new Int32Array(workerData.table);
    const entries = table.length / 3;
    const rng = seeded(workerData.seed);
    Atomics.store(table, 0, 0);
    let signalled = false;
    for (let i = 1; ; i++) {
      const e = rng.int(0, entries - 1);
      const p = Atomics.load(table, e * 3) >>> 0;
      if (p !== 0) {
        const size = table[e * 3 + 1];
        const id = table[e * 3 + 2];
        Atomics.store(table, e * 3, 0);
        if (!intact(p, size, id)) throw new Error(`published block ${id} changed`);
        (size > 512 ? heap.mem : heap.obj).free(p);
      } else {
        const size = rng.next() < 0.95 ? rng.int(1, 512) : rng.int(513, 8192);
        const q = (size > 512 ? heap.mem : heap.obj).malloc(size);
        if (q === 0) continue;
        fill(q, size, i);
        table[e * 3 + 1] = size;
        table[e * 3 + 2] = i;
        Atomics.store(table, e * 3, q | 0);
      }
      // Tell the main thread the loop runs (with blocks in flight), once.
      if (!signalled && i === 20_000) {
        signalled = true;
        port.postMessage('running');
      }
    }
  }
  case 'idle': {
    // Attaches, allocates `n` blocks, says so, and waits for the word to free them.
    const blocks = [];
    for (let i = 0; i < workerData.n; i++) blocks.push(heap.obj.malloc(48));
    port.postMessage({ slot: heap.slot, allocatedBlocks: heap.allocatedBlocks() });
    port.once('message', () => {
      for (const p of blocks) heap.obj.free(p);
      heap.close();
      port.postMessage('closed');
    });
    break;
  }
  case 'die-holding-lock': {
    // Stands for a thread stopped in the middle of a raw operation of the fallback: takes the raw lock
    // as its slot, stores garbage over raw metadata through the journal (or outgrows it), and exits.
    const { journaled } = require('../../dist/shared/journal.js');
    const { HDR_LOCK, RAW_BLOCKS, TLSF_FL_BITMAP } = require('../../dist/raw/layout.js');
    const { SH_JOURNAL } = require('../../dist/shared/layout.js');
    const words = new Uint32Array(workerData.heap.buffer);
    if (Atomics.compareExchange(heap.i32, HDR_LOCK >>> 2, 0, heap.slot + 1) !== 0) throw new Error('the lock was taken');
    port.postMessage([words[RAW_BLOCKS >>> 2], words[TLSF_FL_BITMAP >>> 2]]);
    const logged = journaled(words);
    logged[RAW_BLOCKS >>> 2] = 0xdead;
    logged[TLSF_FL_BITMAP >>> 2] = 0xffffffff;
    if (workerData.overflow) words[SH_JOURNAL >>> 2] = 0xffffffff;
    process.exit(0);
  }
  default:
    throw new Error(`unknown task ${workerData.task}`);
}
