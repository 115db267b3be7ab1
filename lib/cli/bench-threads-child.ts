/**
 * One measurement of `pymem bench --threads`, in a process of its own:
 *
 *   node dist/cli/bench-threads-main.js BACKEND SCENARIO PAIRS
 *
 * SCENARIO: private-1 (one worker churning on a private heap of its own), shared-1 and shared-2 (one
 * or two workers churning, each on its own blocks, in one shared heap), prodcons (one worker allocates,
 * another frees, through a ring). Every scenario runs in workers, so that the main thread's event loop
 * and its JIT state are out of every figure. Prints one JSON line: the pairs (a malloc and its free)
 * per second over all threads, from the slowest thread's time.
 */
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import { createHeap } from '../create';
import type { SharedHeap } from '../shared-heap';

export const SCENARIOS = ['private-1', 'shared-1', 'shared-2', 'prodcons'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface ThreadMeasurement {
  /** malloc/free pairs per second, all threads together. */
  pairsPerSecond: number;
  /** Blocks the consumer found changed since the producer wrote them (0 but on a broken heap). */
  changed: number;
}

/** The compiled worker, beside this module in dist/cli/ (the tests load this module from there too). */
const WORKER = path.join(__dirname, 'bench-threads-worker.js');

function run(worker: Worker): Promise<{ elapsed: number; changed: number }> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

/** Producer/consumer's ring: pointers in flight at most (a multiple of the worker's batch of 64). */
const RING_SLOTS = 16384;
/** Turns a waiting thread spins before it sleeps: a few tens of microseconds, longer than a batch takes. */
const SPINS = 20_000;

/** `ringSlots` and `spins`: the ring's size and the waits' spins (a test makes both wait for certain). */
export async function measureThreads(backend: 'native' | 'fallback', scenario: Scenario, pairs: number, ringSlots = RING_SLOTS, spins = SPINS): Promise<ThreadMeasurement> {
  const heap = scenario === 'private-1' ? null : (createHeap({ shared: true, backend, maxBytes: 256 << 20 }) as SharedHeap);
  const handle = heap === null ? null : heap.share();
  const sync = new SharedArrayBuffer(4);
  const ring = new SharedArrayBuffer(4 * (2 + ringSlots));
  const tasks = scenario === 'prodcons' ? ['produce', 'consume'] : scenario === 'shared-2' ? ['churn', 'churn'] : ['churn'];
  // Without this process's node flags, as every measurement runs (lib/cli/child.ts says why).
  const workers = tasks.map((task) => new Worker(WORKER, { workerData: { task, heap: handle, backend, pairs, sync, ring, spins, threads: tasks.length }, execArgv: [] }));
  const results = await Promise.all(workers.map(run));
  const times = results.map((r) => r.elapsed);
  const threadPairs = scenario === 'prodcons' ? pairs : pairs * tasks.length;
  if (heap !== null) {
    heap.check();
    heap.close();
  }
  return { pairsPerSecond: threadPairs / (Math.max(...times) / 1000), changed: results.reduce((n, r) => n + r.changed, 0) };
}
