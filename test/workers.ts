// worker_threads: each thread creates and uses heaps of its own, at the same time as the others; a
// heap handed to another thread is refused at once with a message that says why; a thread that ends
// with its heap open, or is terminated in the middle of an allocation, takes its region with it and
// the process goes on. Every case runs on both backends.
import t from 'tap';
import { MessageChannel, Worker } from 'node:worker_threads';
import * as path from 'node:path';
import { BACKENDS, heapOn } from './helpers/backends';
import type { BackendName } from '../lib/index';

const WORKER = path.join(__dirname, 'helpers', 'worker-heap.js');

/**
 * A worker on `task`, and the promise of its exit code (listened for at once: it may exit early). It
 * starts without this process's node options: a worker inherits them, the test runner's TypeScript
 * loader among them, which costs each thread a second to start.
 */
function start(backend: BackendName, task: string, seed = 1): Worker & { exited: Promise<number> } {
  const worker = new Worker(WORKER, { workerData: { backend, task, seed }, execArgv: [] });
  return Object.assign(worker, { exited: new Promise<number>((resolve) => worker.once('exit', resolve)) });
}

/** The first message of a worker, or its error. */
function firstMessage<T>(worker: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

const refused = (what: string) => ({
  name: 'DataCloneError',
  message: `Symbol(pymem: ${what} belongs to the thread that created it (thread 0) and cannot be sent to another thread; create a heap in each worker) could not be cloned.`,
});

for (const backend of BACKENDS) {
  t.test(backend, async (t) => {
    t.test('each thread creates and uses its own heap, all at the same time', async (t) => {
      const workers = [1, 2, 3].map((seed) => start(backend, 'use', seed));
      const results = workers.map((w) => firstMessage<{ backend: string; live: number; allocatedBlocks: number; closedCode: string }>(w));
      // Meanwhile this thread works on a heap of its own.
      const heap = heapOn(backend);
      const blocks = Array.from({ length: 1000 }, (_, i) => heap.obj.malloc(1 + (i % 500)));
      heap.check();
      for (const result of await Promise.all(results)) {
        t.equal(result.backend, backend);
        t.ok(result.live > 100, `${result.live} blocks live, checked and verified in the worker`);
        t.ok(result.allocatedBlocks > 0);
        t.equal(result.closedCode, 'ERR_PYMEM_HEAP_CLOSED', 'a closed heap in a worker: a clear error');
      }
      t.same(await Promise.all(workers.map((w) => w.exited)), [0, 0, 0]);
      for (const p of blocks) heap.obj.free(p);
      t.equal(heap.allocatedBlocks(), 0);
      heap.check();
      heap.close();
    });

    t.test('a heap, a domain or heap.system sent to another thread is refused before anything is copied', async (t) => {
      const heap = heapOn(backend, { maxBytes: 1 << 30 });
      const p = heap.obj.malloc(100);
      const { port1, port2 } = new MessageChannel();
      t.teardown(() => port1.close());
      t.throws(() => port1.postMessage(heap), refused('a Heap'));
      t.throws(() => port1.postMessage({ nested: [heap] }), refused('a Heap'), 'wherever it sits in the message');
      t.throws(() => port1.postMessage(heap.obj), refused('the heap.obj domain'));
      t.throws(() => port1.postMessage(heap.system), refused('heap.system'));
      t.throws(() => structuredClone(heap), refused('a Heap'));
      t.throws(() => new Worker(WORKER, { workerData: heap }), refused('a Heap'), 'workerData too');
      // The refusals left the heap as it was.
      heap.obj.free(p);
      heap.check();
      t.equal(heap.allocatedBlocks(), 0);
      port2.close();
      heap.close();
    });

    t.test('a worker that tries to send its heap back is refused the same way and keeps its heap', async (t) => {
      const worker = start(backend, 'post-own-heap');
      const result = await firstMessage<{ error: { name: string; message: string }; stillWorks: boolean }>(worker);
      t.match(result.error, { name: 'DataCloneError', message: /^Symbol\(pymem: a Heap belongs to the thread that created it \(thread [1-9]\d*\)/ });
      t.equal(result.stillWorks, true);
      t.equal(await worker.exited, 0);
    });

    t.test('a thread that ends with its heap open takes its region with it', async (t) => {
      const rss = () => process.memoryUsage().rss;
      const before = rss();
      for (let round = 0; round < 5; round++) {
        const open = start(backend, 'leave-open');
        t.equal(await firstMessage(open), 'allocated');
        t.equal(await open.exited, 0);
      }
      // 5 x 48 MiB were written; kept, they would show in this process's RSS.
      const grown = rss() - before;
      t.ok(grown < 120 << 20, `RSS grew ${(grown / 2 ** 20).toFixed(0)} MiB after 240 MiB written in heaps left open`);
    });

    t.test('a thread terminated in the middle of allocating ends cleanly, and this one goes on', async (t) => {
      for (let round = 0; round < 2; round++) {
        const spinning = start(backend, 'spin', round);
        t.equal(await firstMessage(spinning), 'spinning');
        await new Promise((resolve) => setTimeout(resolve, 20));
        t.equal(await spinning.terminate(), 1, 'terminated mid-churn');
      }
      const heap = heapOn(backend);
      t.ok(heap.obj.malloc(10) > 0);
      heap.check();
      heap.close();
    });
  });
}

t.test("the region's memory cannot be moved to another thread by a transfer list", async (t) => {
  // Native: the region is an external ArrayBuffer, which Node will not transfer; it copies it, and
  // the heap keeps its memory.
  const native = heapOn('native');
  const p = native.obj.malloc(16);
  native.u8[p] = 7;
  const copy = structuredClone(native.u8, { transfer: [native.u8.buffer as ArrayBuffer] });
  copy[p] = 9;
  t.equal(native.u8.length, native.maxBytes, 'still attached');
  t.equal(native.u8[p], 7, 'the receiver got a copy');
  native.obj.free(p);
  native.check();
  native.close();
  // The fallback's region is a plain ArrayBuffer, which a transfer list detaches: the heap has no
  // memory left, and heap.check() says what happened.
  const fallback = heapOn('fallback');
  structuredClone(fallback.u8, { transfer: [fallback.u8.buffer as ArrayBuffer] });
  t.throws(() => fallback.check(), { code: 'ERR_PYMEM_HEAP_CORRUPTION', invariant: 'region.attached', message: /was in the transfer list of postMessage\(\) or structuredClone\(\)/ });
  fallback.close();
  t.equal(fallback.closed, true, 'and it can still be closed');
});
