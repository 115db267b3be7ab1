// pymem/capi: CPython's C names over the default heap.
import t from 'tap';
import * as capi from '../lib/capi';
import { defaultHeap } from '../lib/index';

t.test('the C names reach the default heap with CPython semantics', async (t) => {
  const heap = defaultHeap();
  t.equal(defaultHeap(), heap, 'one default heap, created on first use');
  t.same([capi.PYMEM_DOMAIN_RAW, capi.PYMEM_DOMAIN_MEM, capi.PYMEM_DOMAIN_OBJ], [0, 1, 2]);
  const blocks = [
    capi.PyMem_RawMalloc(10), capi.PyMem_RawCalloc(2, 5), capi.PyMem_Malloc(10), capi.PyMem_Calloc(2, 5), capi.PyObject_Malloc(10), capi.PyObject_Calloc(2, 5),
  ];
  t.ok(blocks.every((p) => p > 0) && new Set(blocks).size === 6);
  t.equal(capi._Py_GetAllocatedBlocks(), 4, 'MEM and OBJ blocks');
  const frees = [capi.PyMem_RawFree, capi.PyMem_RawFree, capi.PyMem_Free, capi.PyMem_Free, capi.PyObject_Free, capi.PyObject_Free];
  const moved = [capi.PyMem_RawRealloc(blocks[0], 20), capi.PyMem_Realloc(blocks[2], 1000), capi.PyObject_Realloc(blocks[4], 13)];
  t.equal(moved[2], blocks[4], 'PyObject_Realloc to 13 of a 16-byte block stays');
  [blocks[0], blocks[2], blocks[4]] = moved;
  blocks.forEach((p, i) => frees[i](p));
  t.equal(capi._Py_GetAllocatedBlocks(), 0);
  t.equal(capi.PyMem_Malloc(2 ** 53 - 1), 0, 'NULL where CPython returns NULL');
  heap.check();
});

t.test('PyMem_New, PyMem_Resize and PyMem_Del, with the overflow guard', async (t) => {
  const p = capi.PyMem_New(Float64Array, 4);
  t.ok(p > 0);
  defaultHeap().f64.set([1, 2, 3, 4], p / 8);
  const q = capi.PyMem_Resize(p, 8, 100);
  t.same([...defaultHeap().f64.subarray(q / 8, q / 8 + 4)], [1, 2, 3, 4]);
  t.equal(capi.PyMem_New(8, 2 ** 51), 0, 'n * sizeof(T) beyond PY_SSIZE_T_MAX is NULL');
  t.equal(capi.PyMem_Resize(q, 16, 2 ** 50), 0, 'and leaves the block');
  t.equal(capi.PyMem_NEW, capi.PyMem_New);
  t.equal(capi.PyMem_RESIZE, capi.PyMem_Resize);
  t.equal(capi.PyMem_DEL, capi.PyMem_Free);
  capi.PyMem_Del(q);
  t.throws(() => capi.PyMem_New('double' as never, 1), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => capi.PyMem_Resize(0, 0, 1), { code: 'ERR_OUT_OF_RANGE' });
  defaultHeap().check();
});

t.test('allocator control by domain number; unknown domains as CPython treats them', async (t) => {
  const saved = capi.PyMem_GetAllocator(capi.PYMEM_DOMAIN_MEM);
  let calls = 0;
  capi.PyMem_SetAllocator(capi.PYMEM_DOMAIN_MEM, { ...saved, malloc: (n: number) => (calls++, saved.malloc!(n)) } as never);
  capi.PyMem_Free(capi.PyMem_Malloc(8));
  t.equal(calls, 1);
  t.equal(capi._PyMem_GetCurrentAllocatorName(), null);
  capi.PyMem_SetAllocator(capi.PYMEM_DOMAIN_MEM, saved as never);
  t.equal(capi._PyMem_GetCurrentAllocatorName(), 'pymalloc');
  t.same(capi.PyMem_GetAllocator(7), { malloc: null, calloc: null, realloc: null, free: null }, 'unknown domain: all NULL');
  t.same(capi.PyMem_GetAllocator(0.5), { malloc: null, calloc: null, realloc: null, free: null });
  capi.PyMem_SetAllocator(-1, null as never);
  t.equal(capi._PyMem_GetCurrentAllocatorName(), 'pymalloc', 'unknown domain: ignored');
  const arenas = capi.PyObject_GetArenaAllocator();
  let arenaCalls = 0;
  capi.PyObject_SetArenaAllocator({ alloc: (n) => (arenaCalls++, arenas.alloc(n)), free: arenas.free });
  const blocks = Array.from({ length: 64 * 31 + 1 }, () => capi.PyObject_Malloc(512));
  t.ok(arenaCalls >= 1, 'new arenas came through the hook');
  blocks.forEach(capi.PyObject_Free);
  capi.PyObject_SetArenaAllocator(arenas);
});

t.test('a closed default heap is replaced on next use', async (t) => {
  const first = defaultHeap();
  first.close();
  const p = capi.PyMem_Malloc(8);
  t.not(defaultHeap(), first);
  t.ok(p > 0);
});

t.test('PyMem_SetupDebugHooks, _PyObject_IsFreed and _PyMem_IsPtrFreed on the default heap', async (t) => {
  capi.PyMem_SetupDebugHooks();
  capi.PyMem_SetupDebugHooks();
  t.equal(capi._PyMem_GetCurrentAllocatorName(), 'pymalloc_debug');
  const op = capi.PyObject_Malloc(16);
  t.ok(capi._PyObject_IsFreed(op), 'uninitialised: ob_type is 0xCD bytes');
  t.ok(capi._PyMem_IsPtrFreed(0) && capi._PyMem_IsPtrFreed(0xdddddddd));
  t.notOk(capi._PyMem_IsPtrFreed(op), 'a pointer value, not what it points to');
  capi.PyObject_Free(op);
  t.throws(() => capi.PyObject_Free(op), { code: 'ERR_PYMEM_DOUBLE_FREE' });
  defaultHeap().close();
});

t.test('PyTraceMalloc_Track and PyTraceMalloc_Untrack on the default heap', async (t) => {
  t.equal(capi.PyTraceMalloc_Track(5, 4096, 123), -2, 'not tracing');
  defaultHeap().tracemalloc.start();
  t.equal(capi.PyTraceMalloc_Track(5, 4096, 123), 0);
  t.same(defaultHeap().tracemalloc.getTracedMemory(), [123, 123]);
  t.equal(capi.PyTraceMalloc_Untrack(5, 4096), 0);
  defaultHeap().tracemalloc.stop();
  t.equal(capi.PyTraceMalloc_Untrack(5, 4096), -2);
});

t.test('objects by their C names: references, constructors, interning, hashing', async (t) => {
  const heap = defaultHeap();
  const o = heap.objects;
  t.same([capi.Py_None(), capi.Py_True(), capi.Py_False()], [o.None, o.True, o.False]);
  const blocks = heap.allocatedBlocks();
  const n = capi.PyLong_FromLongLong(10n ** 20n);
  t.equal(capi.Py_REFCNT(n), 1);
  t.equal(capi.Py_NewRef(n), n);
  capi.Py_XINCREF(n);
  t.equal(capi.Py_REFCNT(n), 3);
  capi.Py_DECREF(n);
  capi.Py_XDECREF(n);
  capi.Py_XINCREF(0);
  capi.Py_XDECREF(0);
  t.equal(o.toJS(n), 10n ** 20n);
  capi.Py_DECREF(n);
  t.equal(heap.allocatedBlocks(), blocks, 'the last Py_DECREF deallocated it');
  t.equal(capi.PyLong_FromLongLong(7), o.int(7), 'the small-int cache');
  const f = capi.PyFloat_FromDouble(0.5);
  t.equal(o.toJS(f), 0.5);
  capi.Py_DECREF(f);
  t.equal(capi.PyFloat_FromDouble(1.5), f, 'the float freelist');
  const s = capi.PyUnicode_FromString('caf\xe9');
  t.equal(o.sizeof(s), 61);
  const interned = capi.PyUnicode_InternFromString('capi name');
  t.equal(capi.PyUnicode_InternFromString('capi name'), interned);
  t.equal(capi.Py_REFCNT(interned), 4294967295);
  t.equal(capi.PyObject_Hash(capi.PyBytes_FromStringAndSize(Buffer.from('abc'))), -4594863902769663758n, "hash(b'abc') with PYTHONHASHSEED=0");
  t.throws(() => capi.Py_INCREF(0), { code: 'ERR_PYMEM_NOT_AN_OBJECT' }, 'Py_INCREF(NULL) is an error, Py_XINCREF(NULL) is not');
  heap.check();
});
