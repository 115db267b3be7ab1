// One heap for every worker thread (lib/shared-heap.ts, lib/shared/): threads allocate, read, write and
// free each other's blocks at the same time; a terminated worker's pools are rebuilt and adopted; every
// case runs on both backends, and heap.check() (with the deferred lists) closes each.
import t from 'tap';
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { PACKAGE_ROOT } from '../lib/raw/native';
import { BACKENDS } from './helpers/backends';
import { attachHeap, createHeap, SharedHeap, type BackendName, type SharedHeapHandle } from '../lib/index';
import { SLOT_COUNT, SH_JOURNAL } from '../lib/shared/layout';
import { RAW_BLOCKS, TLSF_FL_BITMAP } from '../lib/raw/layout';
import { FREED_KEY } from '../lib/pymalloc/layout';
import { readHeapModel } from '../lib/map/model';

const WORKER = path.join(__dirname, 'helpers', 'worker-shared.js');

type Started = Worker & { exited: Promise<number> };

/** A worker on `task` over `heap`, without this process's node options (a TypeScript loader costs each thread a second). */
function start(heap: SharedHeap, task: string, data: Record<string, unknown> = {}): Started {
  const worker = new Worker(WORKER, { workerData: { heap: heap.share(), task, ...data }, execArgv: [] });
  heap.watch(worker);
  return Object.assign(worker, { exited: new Promise<number>((resolve) => worker.once('exit', resolve)) });
}

function message<T>(worker: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

const pattern = (id: number, j: number): number => (id * 31 + j) & 0xff;

function shared(backend: BackendName, maxBytes = 64 << 20): SharedHeap {
  const heap = createHeap({ shared: true, backend, maxBytes });
  if (!(heap instanceof SharedHeap)) throw new Error('createHeap({ shared: true }) made a private heap');
  return heap;
}

for (const backend of BACKENDS) {
  t.test(backend, async (t) => {
    t.test("Atomics on the heap's views are atomic across threads, where plain increments are not", async (t) => {
      const heap = shared(backend, 4 << 20);
      const p = heap.obj.malloc(16);
      const word = p >>> 2;
      const n = 500_000;
      const run = async (plain: boolean): Promise<number> => {
        heap.i32[word] = 0;
        const sync = new SharedArrayBuffer(4);
        const workers = [0, 1].map(() => start(heap, 'atomic', { n, word, plain, threads: 2, sync }));
        await Promise.all(workers.map((w) => message(w)));
        await Promise.all(workers.map((w) => w.exited));
        return heap.i32[word];
      };
      t.equal(await run(false), 2 * n, 'no increment lost');
      // Two threads' plain read-modify-writes lose increments when they overlap; how many is the scheduler's.
      t.comment(`plain i32[w]++ from two threads kept ${await run(true)} of ${2 * n} increments`);
      heap.check();
      heap.close();
    });

    t.test('4 workers run random operations at once, each freeing blocks another allocated', async (t) => {
      const heap = shared(backend);
      const sync = new SharedArrayBuffer(4);
      const workers = [1, 2, 3, 4].map((seed) => start(heap, 'churn', { seed, steps: 3000, sync, threads: 4 }));
      const first = await Promise.all(workers.map((w) => message<{ handOver: { p: number }[]; slot: number }>(w)));
      t.same(new Set(first.map((m) => m.slot)).size, 4, 'each thread has a slot of its own');
      // Between the phases every worker waits for its message, so the heap is still: check() may read every thread's pools.
      heap.check();
      const results = workers.map((w) => message<{ live: { p: number; size: number; id: number; domain: string }[]; ops: number }>(w));
      workers.forEach((w, k) => w.postMessage(first[(k + 1) % 4].handOver));
      const done = await Promise.all(results);
      heap.check();
      const live = done.flatMap((d) => d.live);
      // sys.getallocatedblocks() counts the object allocator's blocks: MEM's and OBJ's, not RAW's.
      const objectBlocks = live.filter((b) => b.domain !== 'raw').length;
      t.equal(heap.allocatedBlocks(), objectBlocks, 'allocatedBlocks() counts every thread, blocks freed across threads not among them');
      for (const b of live) {
        let whole = true;
        for (let j = 0; j < b.size; j++) if (heap.u8[b.p + j] !== pattern(b.id, j)) whole = false;
        if (!whole) t.fail(`block ${b.id} changed`);
      }
      const stats = heap.stats();
      t.equal(stats.pymalloc.allocatedBlocks, objectBlocks, 'stats() adds up every thread');
      t.ok(stats.pymalloc.arenasCurrent >= 4, 'each thread allocates from arenas of its own');
      await Promise.all(workers.map((w) => w.exited));
      heap.close();
    });

    t.test('producer/consumer: 100,000 blocks allocated in one thread are freed in another', async (t) => {
      const heap = shared(backend);
      const n = 100_000;
      const ring = new SharedArrayBuffer(4 * (2 + 1024));
      const producer = start(heap, 'produce', { n, ring });
      const consumer = start(heap, 'consume', { n, ring });
      const [produced, consumed] = await Promise.all([message<{ produced: number }>(producer), message<{ consumed: number; bad: number }>(consumer)]);
      t.same([produced.produced, consumed.consumed, consumed.bad], [n, n, 0], 'every block arrived whole');
      await Promise.all([producer.exited, consumer.exited]);
      t.equal(heap.allocatedBlocks(), 0, 'every block is free, those still on deferred lists included');
      heap.check();
      // The producer's slot, rebuilt when it exited, is adopted whole by the next thread; its deferred blocks come back.
      const next = attachHeap(heap.share());
      t.ok(next.slot === 1 || next.slot === 2, `an exited worker's slot is taken again (slot ${next.slot})`);
      const blocks = Array.from({ length: 5000 }, () => next.obj.malloc(64));
      t.equal(heap.allocatedBlocks(), 5000);
      for (const p of blocks) heap.obj.free(p);
      heap.check();
      next.close();
      heap.check();
      heap.close();
    });

    t.test('a worker terminated in the middle of its loop: check() passes and every published block is whole', async (t) => {
      const heap = shared(backend);
      const mine = Array.from({ length: 2000 }, (_, i) => {
        const p = heap.obj.malloc(1 + (i % 512));
        for (let j = 0; j < 1 + (i % 512); j++) heap.u8[p + j] = pattern(i, j);
        return p;
      });
      const table = new SharedArrayBuffer(4 * 3 * 4096);
      for (let round = 0; round < 3; round++) {
        const worker = start(heap, 'loop', { table, seed: round + 1 });
        t.equal(await message(worker), 'running');
        await new Promise((resolve) => setTimeout(resolve, 5 + round * 7));
        await worker.terminate();
        await worker.exited;
        heap.check();
        const entries = new Int32Array(table);
        let published = 0;
        for (let e = 0; e < entries.length / 3; e++) {
          const p = entries[e * 3] >>> 0;
          if (p === 0) continue;
          published++;
          const [size, id] = [entries[e * 3 + 1], entries[e * 3 + 2]];
          for (let j = 0; j < size; j++) if (heap.u8[p + j] !== pattern(id, j)) t.fail(`published block ${id} changed`);
          (size > 512 ? heap.mem : heap.obj).free(p);
          entries[e * 3] = 0;
        }
        t.ok(published > 0, `round ${round}: ${published} blocks the worker published, freed here`);
        heap.check();
      }
      mine.forEach((p, i) => {
        for (let j = 0; j < 1 + (i % 512); j++) if (heap.u8[p + j] !== pattern(i, j)) t.fail(`block ${i} of the main thread changed`);
        heap.obj.free(p);
      });
      heap.check();
      // At most a block per round was between its unpublishing and its free, or taken off a free list and not yet returned.
      t.ok(heap.allocatedBlocks() <= 6, `${heap.allocatedBlocks()} blocks held by no thread after three terminations`);
      heap.close();
    });

    t.test('check() and the figures while other threads sit idle with blocks of their own', async (t) => {
      const heap = shared(backend);
      const workers = [100, 200].map((n) => start(heap, 'idle', { n }));
      const said = await Promise.all(workers.map((w) => message<{ slot: number; allocatedBlocks: number }>(w)));
      t.same(said.map((s) => s.slot).sort(), [1, 2]);
      const mine = Array.from({ length: 50 }, () => heap.raw.malloc(1000));
      heap.check();
      t.equal(heap.allocatedBlocks(), 300);
      t.equal(heap.stats().rawBlocks, 50 + 3, 'raw blocks: the main thread\'s, and each thread\'s allocator state');
      workers.forEach((w) => w.postMessage('free'));
      await Promise.all(workers.map((w) => message(w)));
      await Promise.all(workers.map((w) => w.exited));
      t.equal(heap.allocatedBlocks(), 0);
      for (const p of mine) heap.raw.free(p);
      heap.check();
      heap.close();
    });
  });
}

t.test("a thread that exits holding the raw lock: the journal undoes its stores and the lock goes on", async (t) => {
  for (const backend of BACKENDS) {
    const heap = shared(backend, 8 << 20);
    const worker = start(heap, 'die-holding-lock');
    const before = await message<number[]>(worker);
    await worker.exited;
    t.same([heap.u32[RAW_BLOCKS >>> 2], heap.u32[TLSF_FL_BITMAP >>> 2]], before, `${backend}: the words it stored are as they were`);
    t.equal(heap.u32[SH_JOURNAL >>> 2], 0, 'and the journal is empty');
    heap.raw.free(heap.raw.malloc(2000)); // the lock is free again
    heap.check();
    // An operation that outgrew the journal cannot be undone: the heap says so, and check() says what is left.
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
    const overflowing = start(heap, 'die-holding-lock', { overflow: true });
    await overflowing.exited;
    const warning = await warned;
    t.match(warning, { name: 'Warning', code: 'PYMEM_SHARED_UNDONE', message: /too large for the shared heap's journal/ });
    t.throws(() => heap.check(), { code: 'ERR_PYMEM_HEAP_CORRUPTION' });
    heap.close();
  }
});

t.test('slots and cross-thread frees, deterministically: several attachments in one thread', async (t) => {
  for (const backend of BACKENDS) {
    const a = shared(backend, 32 << 20);
    const b = attachHeap(a.share());
    t.equal([a.slot, b.slot].join(), '0,1');
    const p = a.obj.malloc(40);
    b.obj.free(b.obj.malloc(40));
    t.equal(readHeapModel(a).arenas.length, 2, "the heap's map draws every thread's arenas");
    b.obj.free(p);
    t.equal(a.allocatedBlocks(), 0, 'a block freed by another slot is free at once in the figures');
    a.check();
    t.throws(() => b.obj.free(p), { code: 'ERR_PYMEM_INVALID_POINTER' }, 'a second free, from either slot, is a double free');
    t.throws(() => a.obj.free(p), { code: 'ERR_PYMEM_INVALID_POINTER' });
    // Deeper in the deferred list too; and a live block whose bytes happen to hold the free key is freed.
    const p2 = a.obj.malloc(40);
    b.obj.free(p2);
    t.throws(() => b.obj.free(p), { code: 'ERR_PYMEM_INVALID_POINTER', reason: 'double-free' });
    const keyed = a.obj.malloc(40);
    a.u32[(keyed >>> 2) + 1] = FREED_KEY;
    b.obj.free(keyed);
    t.equal(a.allocatedBlocks(), 0);
    a.obj.free(a.obj.malloc(40)); // a free by the owner of its own block
    // The owner takes its deferred blocks back on its slow path, when its used pool of the class runs
    // out (340 blocks of 48 bytes to a pool, 3 of them deferred): until then the blocks wait.
    const q = Array.from({ length: 337 }, () => a.obj.malloc(40));
    t.notOk(q.includes(p), 'the deferred blocks wait for the slow path');
    q.push(a.obj.malloc(40));
    t.ok([p, p2, keyed].includes(q[337]), 'the slow path takes them back, and hands one out first');
    for (const x of q) b.obj.free(x);
    a.check();
    b.close();
    const c = attachHeap(a.share());
    t.equal(c.slot, 1, "a closed thread's slot is the next one taken");
    const more: SharedHeap[] = [];
    for (let i = 2; i < SLOT_COUNT; i++) more.push(attachHeap(a.share()));
    t.throws(() => attachHeap(a.share()), { code: 'ERR_INVALID_STATE', message: /64 threads attached/ });
    for (const h of more) h.close();
    c.close();
    a.check();
    a.close();
  }
});

t.test('what a shared heap refuses, and why', async (t) => {
  const heap = shared('fallback', 4 << 20);
  const unsupported = { code: 'ERR_PYMEM_SHARED_UNSUPPORTED' };
  t.throws(() => heap.objects, { ...unsupported, message: /heap.objects is not available on a shared heap: its objects' reference counts/ });
  t.throws(() => heap.gc, unsupported);
  t.throws(() => heap.tracemalloc.start(), { ...unsupported, message: /tracemalloc/ });
  t.equal(heap.tracemalloc.isTracing(), false);
  t.throws(() => heap.setupDebugHooks(), unsupported);
  t.throws(() => heap.save('/tmp/never.pymem'), unsupported);
  t.throws(() => heap.setRoot(0), unsupported);
  t.throws(() => heap.setArenaAllocator({ alloc: () => 0, free: () => {} }), unsupported);
  t.throws(() => createHeap({ shared: true, allocator: 'debug' }), { ...unsupported, message: /^a debug allocator \(pymalloc_debug, malloc_debug, debug\) is not available on a shared heap/ });
  t.throws(() => createHeap({ shared: true, debugAbort: 1 as unknown as boolean }), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => createHeap({ shared: true, gcAtBytes: 1 << 20 }), unsupported);
  t.throws(() => createHeap({ shared: true, image: '/tmp/x.pymem' }), unsupported);
  t.throws(() => createHeap({ shared: 1 as unknown as boolean }), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => attachHeap({} as SharedHeapHandle), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => attachHeap({ ...heap.share(), buffer: new SharedArrayBuffer(2 << 20) }), { code: 'ERR_INVALID_ARG_VALUE' });
  t.throws(() => attachHeap({ ...heap.share(), backend: 'wasm' as BackendName }), { code: 'ERR_INVALID_ARG_VALUE' });
  t.throws(() => attachHeap({ ...heap.share(), allocator: 'debug' as 'malloc' }), { code: 'ERR_INVALID_ARG_VALUE' });
  t.throws(() => heap.watch({} as Worker), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => structuredClone(heap), {
    name: 'DataCloneError',
    message: "Symbol(pymem: this SharedHeap is thread 0's view of a shared heap and cannot be sent to another thread; send heap.share() and call attachHeap() there) could not be cloned.",
  });
  // The malloc allocators work: MEM and OBJ go to the raw allocator, under its lock.
  const raw = createHeap({ shared: true, backend: 'fallback', maxBytes: 4 << 20, allocator: 'malloc' }) as SharedHeap;
  const other = attachHeap(raw.share());
  t.equal(other.allocatorName(), 'malloc');
  other.obj.free(raw.obj.malloc(100));
  raw.check();
  other.close();
  raw.close();
  heap.close();
  heap.close(); // harmless
  t.throws(() => heap.share(), { code: 'ERR_PYMEM_HEAP_CLOSED' });
  // Where the addon cannot load, 'auto' runs a shared heap on the fallback and says so once, as a private heap does.
  const empty = mkdtempSync(path.join(tmpdir(), 'pymem-no-addon-'));
  const child = spawnSync(process.execPath, ['-e', "const h = require('./dist/index.js').createHeap({ shared: true, maxBytes: 2 << 20 }); console.log(h.backend, h.backendReason)"], {
    cwd: PACKAGE_ROOT, encoding: 'utf8', env: { ...process.env, PYMEM_PREBUILD: empty, PYMEM_BACKEND: '' },
  });
  rmSync(empty, { recursive: true, force: true });
  t.match(child.stdout, /^fallback auto: the native addon is not available: /);
  t.match(child.stderr, /Warning: pymem runs on its TypeScript fallback/);
});
