// heap.system: the C library's allocator, outside the heap and its figures, and kept apart from it.
import t from 'tap';
import { BACKENDS, heapOn, snapshot } from './helpers/backends';

for (const backend of BACKENDS) {
  t.test(`heap.system on ${backend}`, async (t) => {
    const heap = heapOn(backend);
    const before = heap.stats();
    const region = snapshot(heap);
    const buf = heap.system.malloc(1 << 20)!;
    t.ok(Buffer.isBuffer(buf) && buf.length === 1 << 20);
    buf.fill(0xab);
    t.equal(buf[12345], 0xab);
    const after = heap.stats();
    t.same([after.committedBytes, after.rawBlocks, after.segments, after.pymalloc], [before.committedBytes, before.rawBlocks, before.segments, before.pymalloc], 'in none of the heap figures');
    t.equal(Buffer.compare(region, snapshot(heap)), 0, 'the region untouched');
    t.equal(heap.system.malloc(0)!.length, 0, 'malloc(0) is a Buffer of length 0');
    t.equal(heap.system.malloc(2 ** 53 - 1), null, 'more than a Buffer can hold: NULL');

    const p = heap.obj.malloc(16);
    t.throws(() => heap.obj.free(buf as never), { code: 'ERR_PYMEM_MIXED_ALLOCATORS', name: 'TypeError', message: /heap\.obj\.free\(\) was given a Buffer/ });
    t.throws(() => heap.raw.realloc(buf as never, 8), { code: 'ERR_PYMEM_MIXED_ALLOCATORS' });
    t.throws(() => heap.system.free(p as never), { code: 'ERR_PYMEM_MIXED_ALLOCATORS', name: 'TypeError', message: /a heap pointer/ });
    t.throws(() => heap.system.free(Buffer.alloc(4)), { code: 'ERR_PYMEM_MIXED_ALLOCATORS', message: /not live memory/ });
    t.throws(() => heap.system.free({} as never), { code: 'ERR_INVALID_ARG_TYPE' });
    t.throws(() => heap.system.malloc(-1), { code: 'ERR_OUT_OF_RANGE' });
    t.equal(buf[0], 0xab, 'nothing was freed by the refused calls');
    heap.obj.free(p);

    heap.system.free(buf);
    t.equal(buf.length, 0, 'a freed Buffer is detached: no view of freed memory remains');
    t.throws(() => heap.system.free(buf), { code: 'ERR_PYMEM_MIXED_ALLOCATORS', message: /freed already/ }, 'double free caught');
    const other = heapOn(backend);
    const foreign = other.system.malloc(8)!;
    t.throws(() => heap.system.free(foreign), { code: 'ERR_PYMEM_MIXED_ALLOCATORS' }, "another heap's system memory");
    other.system.free(foreign);
    heap.check();
  });
}
