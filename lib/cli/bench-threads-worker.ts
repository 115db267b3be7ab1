/**
 * A worker thread of `pymem bench --threads` (lib/cli/bench-threads-child.ts starts it). workerData:
 * { task, heap (a shared heap's handle, or null for a private heap of the worker's own), backend, pairs,
 * sync (word 0: threads at the barrier), ring (producer/consumer's), spins (before a waiting thread
 * sleeps) }. Posts its milliseconds and, the consumer, how many blocks arrived changed.
 *
 *   churn     thread-local churn: a window of WINDOW live blocks of 16 to 512 bytes; each pair frees
 *             one at a pseudo-random place and allocates a block of another size there, writing its
 *             first word (what a program does with a block it allocates)
 *   produce   allocates `pairs` blocks and passes each pointer through the ring
 *   consume   takes each pointer from the ring, reads its first word and frees it
 */
import { workerData, parentPort } from 'node:worker_threads';
import { createHeap } from '../create';
import { attachHeap, type SharedHeapHandle } from '../shared-heap';
import type { Heap } from '../heap';

/**
 * The ring's indices are published every 64 blocks: a store per block would move their cache line between
 * the cores at every block, which measures the ring, not the allocator (it halved the rate here).
 */
const BATCH_MASK = 63;

/** Live blocks per thread: enough to spread over several pools of each class, few enough for the cache. */
const WINDOW = 4096;

const { task, heap: handle, backend, pairs, spins } = workerData as { task: string; heap: SharedHeapHandle | null; backend: 'native' | 'fallback'; pairs: number; spins: number };
const heap: Heap = handle === null ? createHeap({ backend, maxBytes: 256 << 20 }) : attachHeap(handle);
const sync = new Int32Array(workerData.sync as SharedArrayBuffer);

/**
 * Waits until word `at` of the ring reaches `atLeast`: spins `spins` times first (the other thread is
 * usually a batch behind, and a sleep costs a system call on each side), then naps 20 us at a time.
 */
function waitUntil(ring: Int32Array, at: number, atLeast: number): void {
  let turn = 0;
  for (let seen = Atomics.load(ring, at); seen < atLeast; seen = Atomics.load(ring, at)) {
    if (turn++ >= spins) Atomics.wait(ring, at, seen, 0.02);
  }
}

/** Every thread's clock starts once all are attached and warmed. */
function barrier(threads: number): void {
  Atomics.add(sync, 0, 1);
  while (Atomics.load(sync, 0) < threads) Atomics.wait(sync, 0, Atomics.load(sync, 0), 1);
}

function churn(obj: Heap['obj'], u32: Uint32Array, n: number, window: Uint32Array): number {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const j = Math.imul(i, 2654435761) >>> 20 & (WINDOW - 1);
    obj.free(window[j]);
    const p = obj.malloc(16 + ((i >>> 3) % 32) * 16);
    u32[p >>> 2] = i;
    window[j] = p;
    sum += p;
  }
  return sum;
}

const window = new Uint32Array(WINDOW);
const obj = heap.obj;
const u32 = heap.u32;
let elapsed = 0;
/** The consumer's blocks whose first word was not what the producer wrote: 0 unless the heap is broken. */
let changed = 0;
if (task === 'churn') {
  for (let i = 0; i < WINDOW; i++) window[i] = obj.malloc(16 + (i % 32) * 16);
  churn(obj, u32, Math.min(pairs, 200_000), window); // warm-up: the JIT's tiers, the pools carved
  barrier(workerData.threads as number);
  const t0 = process.hrtime.bigint();
  churn(obj, u32, pairs, window);
  elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
  for (let i = 0; i < WINDOW; i++) obj.free(window[i]);
} else {
  const ring = new Int32Array(workerData.ring as SharedArrayBuffer);
  const slots = ring.length - 2; // word 0: blocks written, word 1: blocks read, then the ring
  barrier(2);
  const t0 = process.hrtime.bigint();
  if (task === 'produce') {
    for (let i = 0; i < pairs; i++) {
      const p = obj.malloc(16 + ((i >>> 3) % 32) * 16);
      u32[p >>> 2] = i;
      waitUntil(ring, 1, i - slots + 1); // a slot free
      ring[2 + (i % slots)] = p | 0;
      if ((i & BATCH_MASK) === BATCH_MASK || i === pairs - 1) Atomics.store(ring, 0, i + 1);
    }
  } else {
    for (let i = 0; i < pairs; i++) {
      waitUntil(ring, 0, i + 1); // block i written
      const p = ring[2 + (i % slots)] >>> 0;
      changed += +(u32[p >>> 2] !== i);
      obj.free(p);
      if ((i & BATCH_MASK) === BATCH_MASK || i === pairs - 1) Atomics.store(ring, 1, i + 1);
    }
  }
  elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
}
heap.close();
parentPort!.postMessage({ elapsed, changed });
