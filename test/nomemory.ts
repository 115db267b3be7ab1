// heap.setNoMemory(start, stop) and heap.removeMemHooks(): _testcapi.set_nomemory's counting, exactly,
// on both backends, under the default and the debug allocators.
import t from 'tap';
import { BACKENDS, heapOn } from './helpers/backends';

/** Which of `count` calls of `call` returned NULL (1-based), freeing what the others returned. */
function failures(count: number, call: () => number, free: (p: number) => void): number[] {
  const failed: number[] = [];
  for (let i = 1; i <= count; i++) {
    const p = call();
    if (p === 0) failed.push(i);
    else free(p);
  }
  return failed;
}

for (const backend of BACKENDS) {
  for (const allocator of ['pymalloc', 'debug', 'malloc', 'malloc_debug'] as const) {
    t.test(`${backend}, ${allocator}`, async (t) => {
      const heap = heapOn(backend, { allocator });
      const name = heap.allocatorName();
      const mem = () => heap.mem.malloc(16);
      const free = (p: number) => heap.mem.free(p);

      heap.setNoMemory(2, 4);
      t.same(failures(8, mem, free), [3, 4], 'calls after the first 2, up to and including number 4, fail');
      t.equal(heap.allocatorName(), null, 'the hooks are installed');

      heap.setNoMemory(3);
      t.same(failures(6, mem, free), [4, 5, 6], 'stop 0: no end; calling again resets the count');

      heap.setNoMemory(0, -1);
      t.same(failures(3, mem, free), [1, 2, 3], 'stop below 0: no end either');

      heap.setNoMemory(1, 2);
      const p = heap.mem.malloc(8); // call 1
      t.ok(p > 0);
      t.equal(heap.mem.realloc(p, 100), 0, 'realloc is counted (call 2) and fails, keeping the block');
      t.equal(heap.mem.realloc(p, 100) > 0, true, 'call 3 succeeds');
      heap.setNoMemory(0, 2);
      t.equal(heap.raw.calloc(2, 8), 0, 'calloc is counted');

      heap.setNoMemory(1, 2);
      const q = heap.obj.malloc(8); // call 1
      t.equal(heap.obj.malloc(1000), 0, 'PyObject_Malloc(1000): the OBJ call (2) fails');
      heap.setNoMemory(1, 2);
      let big: number;
      if (allocator.startsWith('malloc')) {
        big = heap.obj.malloc(1000);
        t.ok(big > 0, "without pymalloc, PyObject_Malloc(1000) is one call (1): it succeeds");
      } else {
        t.equal(heap.obj.malloc(1000), 0, "the OBJ call (1) succeeds and pymalloc's RAW request (2) fails: NULL");
        big = heap.obj.malloc(1000);
        t.ok(big > 0, 'calls 3 and 4 succeed');
      }
      heap.setNoMemory(1, 2);
      const r = heap.obj.malloc(8); // call 1
      heap.obj.free(q);
      heap.obj.free(r);
      t.equal(heap.obj.malloc(8), 0, 'frees are not counted: this is call 2');
      heap.obj.free(big);
      heap.removeMemHooks();
      heap.removeMemHooks();
      t.equal(heap.allocatorName(), name, 'the domains hold what they held before');
      t.same(failures(4, mem, free), [], 'nothing fails after removeMemHooks');
      heap.check();
    });
  }
}

t.test('arguments are C ints', async (t) => {
  const heap = heapOn('fallback');
  t.throws(() => heap.setNoMemory('1' as unknown as number), { code: 'ERR_INVALID_ARG_TYPE', message: /"start"/ });
  t.throws(() => heap.setNoMemory(1, 2 ** 31), { code: 'ERR_OUT_OF_RANGE', message: /"stop"/ });
  t.throws(() => heap.setNoMemory(0.5), { code: 'ERR_OUT_OF_RANGE' });
  t.equal(heap.allocatorName(), 'pymalloc', 'a refused call installs nothing');
  heap.close();
  t.throws(() => heap.setNoMemory(0), { code: 'ERR_PYMEM_HEAP_CLOSED' });
  t.throws(() => heap.removeMemHooks(), { code: 'ERR_PYMEM_HEAP_CLOSED' });
});
