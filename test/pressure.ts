// Memory pressure on both backends: a heap at its limit frees unreachable cycles, the freelists and
// empty arenas and segments, then calls heap.onMemoryPressure()'s callbacks and retries, before it
// answers NULL or MemoryError; it fails only when live data fills it, and goes on working afterwards.
// Requests failed by fault injection, and those larger than the region, get no response. The gcAtBytes
// soft mark runs collections before the limit is reached. heap.stats().memoryPressure counts it all.
import t from 'tap';
import { BACKENDS, heapOn } from './helpers/backends';
import { captureStderr } from './helpers/stderr';
import { ring } from './helpers/cycles';
import { createHeap, type Heap, type MemoryPressureInfo, type MemoryPressureStats } from '../lib/index';

const MiB = 1 << 20;

/** Builds and drops `count` rings of ten lists, each holding a 100-character str: ~1.5 KiB of cyclic garbage each. */
function garbage(heap: Heap, count: number): void {
  const o = heap.objects;
  for (let i = 0; i < count; i++) {
    const r = ring(heap, 10);
    const s = o.str('x'.repeat(100 + (i % 50)));
    o.listAppend(r, s);
    o.decref(s);
    o.decref(r);
  }
}

function pressure(heap: Heap): MemoryPressureStats {
  return heap.stats().memoryPressure;
}

for (const backend of BACKENDS) {
  t.test(backend, async (t) => {
    t.test('a heap at its limit recovers memory from unreachable cycles instead of failing', async (t) => {
      const heap = heapOn(backend, { maxBytes: 4 * MiB });
      const gc = heap.gc;
      gc.disable();
      const start = heap.allocatedBlocks();
      t.same(pressure(heap), {
        responses: 0, collections: 0, freeListClears: 0, arenasReleased: 0, segmentsReleased: 0, callbacks: 0, recovered: 0, failed: 0, softCollections: 0,
      });
      // ~30 MiB of cycles through a 4 MiB region, with automatic collection off.
      garbage(heap, 20_000);
      const stats = pressure(heap);
      t.ok(stats.responses >= 3, `${stats.responses} responses`);
      t.equal(stats.collections, stats.responses, 'each ran a full collection');
      t.equal(stats.recovered, stats.responses, 'and each request was served when retried');
      t.equal(stats.failed, 0);
      t.equal(stats.freeListClears, stats.responses);
      t.ok(stats.arenasReleased > 0 && stats.segmentsReleased > 0, `${stats.arenasReleased} arenas and ${stats.segmentsReleased} segments given back`);
      t.equal(gc.getStats()[2].collections, stats.collections, 'the collections are full ones, in heap.gc’s figures too');
      heap.check();
      gc.collect();
      t.equal(heap.allocatedBlocks(), start, 'every block back after the last collection');
    });

    t.test('MemoryError only when live data fills the heap; the heap works afterwards', async (t) => {
      const heap = heapOn(backend, { maxBytes: 4 * MiB });
      const o = heap.objects;
      const start = heap.allocatedBlocks();
      heap.gc.disable();
      garbage(heap, 1500);
      const live: number[] = [];
      let error: unknown;
      try {
        for (;;) live.push(o.str('live '.repeat(40)));
      } catch (e) {
        error = e;
      }
      t.match(error, { name: 'MemoryError', code: 'ERR_PYMEM_NO_MEMORY' });
      const stats = pressure(heap);
      t.equal(stats.failed, 1, 'one request failed, after its response');
      t.ok(stats.recovered > 0, `${stats.recovered} requests were served by a response before that`);
      const bytes = live.reduce((sum, p) => sum + o.sizeof(p), 0);
      t.ok(bytes > 2.5 * MiB, `${live.length} live strs of ${bytes} bytes hold the heap's 3 MiB of segments`);
      heap.check();
      // The heap goes on: half the live data dropped, as much again fits.
      for (const p of live.splice(0, live.length >> 1)) o.decref(p);
      const more = live.length >> 1;
      for (let i = 0; i < more; i++) live.push(o.str('again '.repeat(30)));
      heap.check();
      for (const p of live) o.decref(p);
      heap.gc.collect();
      t.equal(heap.allocatedBlocks(), start);
    });

    t.test('onMemoryPressure: callbacks run after the heap’s own actions, then the request is retried', async (t) => {
      const heap = heapOn(backend, { maxBytes: 8 * MiB });
      let ballast = heap.raw.malloc(3 * MiB);
      t.ok(ballast > 0);
      const seen: MemoryPressureInfo[] = [];
      const remove = heap.onMemoryPressure((info) => {
        seen.push(info);
        if (ballast !== 0) heap.raw.free(ballast);
        ballast = 0;
      });
      const p = heap.raw.malloc(5 * MiB);
      t.ok(p > 0, 'the callback freed enough: the retry is served');
      t.same(seen, [{ requested: 5 * MiB }]);
      t.match(pressure(heap), { responses: 1, collections: 0, freeListClears: 0, callbacks: 1, recovered: 1, failed: 0 }, 'no objects layer: nothing to collect or clear');
      t.equal(heap.raw.malloc(5 * MiB), 0, 'with nothing left to free, the request fails');
      t.match(pressure(heap), { responses: 2, callbacks: 2, recovered: 1, failed: 1 });

      remove();
      remove();
      t.equal(heap.raw.malloc(5 * MiB), 0);
      t.equal(seen.length, 2, 'a removed callback is not called (removing it twice is harmless)');

      const err = captureStderr(() => {
        const off = heap.onMemoryPressure(function failing() {
          throw new Error('pressure callback failure');
        });
        t.equal(heap.mem.malloc(5 * MiB), 0, 'a throwing callback: the request is answered all the same');
        off();
      });
      t.match(err, /^Exception ignored in a memory pressure callback:\nError: pressure callback failure\n/);
      const off = heap.onMemoryPressure(() => {
        throw 42;
      });
      t.equal(captureStderr(() => heap.raw.malloc(5 * MiB)), 'Exception ignored in a memory pressure callback:\n42\n');
      off();
      t.throws(() => heap.onMemoryPressure('gc' as unknown as () => void), { code: 'ERR_INVALID_ARG_TYPE' });
      heap.raw.free(p);
      heap.check();
    });

    t.test('requests through pymalloc get one response, for the request as a whole', async (t) => {
      const heap = heapOn(backend, { maxBytes: 4 * MiB });
      // Fill the region: two large raw blocks, then small pymalloc blocks until no arena can be had.
      const ballast = [heap.raw.malloc(MiB), heap.raw.malloc(MiB)];
      const small: number[] = [];
      for (let p = heap.mem.malloc(64); p !== 0; p = heap.mem.malloc(64)) small.push(p);
      const before = pressure(heap);
      t.equal(before.failed, 1, 'the request that found no arena failed after one response');
      // Each call frees one ballast block: one response per request shows as one block per request.
      const calls: number[] = [];
      heap.onMemoryPressure(({ requested }) => {
        calls.push(requested);
        heap.raw.free(ballast.pop() as number);
      });
      t.ok(heap.mem.malloc(64) > 0, 'a small block, from a new arena');
      t.same(calls, [64], 'one response, told the size of pymalloc’s request');
      // Large blocks go through pymalloc to the RAW domain: until one finds the region full.
      let p = 0;
      for (let i = 0; i < 1000 && calls.length === 1; i++) p = heap.obj.malloc(4000);
      t.ok(p > 0, 'the large block that found the region full, served after the response');
      t.same(calls, [64, 4000], 'one response for it, not a second one for its call to the RAW domain');
      t.equal(pressure(heap).responses, before.responses + 2);
      heap.check();
    });

    t.test('fault injection, hooks answering NULL and requests larger than the region get no response', async (t) => {
      const heap = heapOn(backend, { maxBytes: 4 * MiB });
      heap.objects;
      let calls = 0;
      heap.onMemoryPressure(() => calls++);
      heap.setNoMemory(0);
      t.equal(heap.mem.malloc(16), 0);
      t.equal(heap.raw.malloc(16), 0);
      t.throws(() => heap.objects.list(), { name: 'MemoryError' });
      heap.removeMemHooks();
      // A hook on RAW answering NULL to pymalloc's request for a large block: a hook's answer, not exhaustion.
      const raw = heap.getAllocator('raw');
      heap.setAllocator('raw', { ...raw, malloc: () => 0 });
      t.equal(heap.mem.malloc(2000), 0);
      heap.setAllocator('raw', raw);
      t.equal(heap.raw.malloc(4 * MiB + 1), 0, 'larger than the region: it can never fit');
      t.equal(heap.mem.realloc(0, 8 * MiB), 0);
      t.equal(calls, 0);
      t.equal(pressure(heap).responses, 0);
      heap.check();
    });

    t.test('gcAtBytes: a collection when committed bytes first rise above the mark', async (t) => {
      const heap = heapOn(backend, { maxBytes: 16 * MiB, gcAtBytes: 4 * MiB });
      const gc = heap.gc;
      gc.setThreshold(0);
      const start = heap.allocatedBlocks();
      garbage(heap, 20_000);
      const stats = pressure(heap);
      t.ok(stats.softCollections >= 3, `${stats.softCollections} collections at the mark`);
      t.equal(stats.responses, 0, 'the limit was never reached');
      t.equal(gc.getStats()[2].collections, stats.softCollections);
      t.ok(heap.stats().committedBytes <= 6 * MiB, `committed bytes stayed near the mark: ${heap.stats().committedBytes}`);
      gc.collect();
      t.equal(heap.allocatedBlocks(), start);

      // Above the mark with live data: one collection, then none until committed bytes fall below it again.
      const live = Array.from({ length: 30_000 }, (_, i) => heap.objects.str(`live ${i} `.repeat(20)));
      const soft = pressure(heap).softCollections;
      t.equal(soft, stats.softCollections + 1, 'one collection as the live data crossed the mark');
      for (let i = 0; i < 1000; i++) heap.objects.decref(heap.objects.str('more'));
      for (const domain of [heap.raw, heap.mem, heap.obj]) domain.free(domain.calloc(4, 100));
      t.equal(pressure(heap).softCollections, soft, 'none while committed bytes stay above it');
      for (const p of live) heap.objects.decref(p);
      gc.collect();
      heap.objects.decref(heap.objects.str('below'));

      gc.disable();
      garbage(heap, 20_000);
      t.equal(pressure(heap).softCollections, soft, 'none while automatic collection is disabled');
      t.ok(pressure(heap).responses > 0, 'the limit’s response still collects');
      heap.check();
    });

    t.test('gcAtBytes is checked', async (t) => {
      for (const bad of [0, -1, 1.5, 16 * MiB, 2 ** 53]) {
        t.throws(() => createHeap({ backend, maxBytes: 16 * MiB, gcAtBytes: bad }), { code: 'ERR_OUT_OF_RANGE', message: /gcAtBytes/ }, String(bad));
      }
      t.throws(() => createHeap({ backend, gcAtBytes: '1' as unknown as number }), { code: 'ERR_INVALID_ARG_TYPE' });
    });
  });
}
