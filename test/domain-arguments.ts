// A domain validates its arguments the same way whatever allocator it holds: the heap's own (which
// validate for themselves and are the domain's methods), debug hooks, or a user's functions (which the
// domain wraps). Each case: the same error, or the same NULL with the block intact.
import t from 'tap';
import { BACKENDS, heapOn } from './helpers/backends';
import type { Domain, Heap } from '../lib/index';

type Installed = 'own' | 'debug' | 'user';
const INSTALLED: readonly Installed[] = ['own', 'debug', 'user'];

function heapWith(backend: (typeof BACKENDS)[number], installed: Installed): { heap: Heap; calls: string[] } {
  const heap = heapOn(backend, installed === 'debug' ? { allocator: 'debug' } : {});
  const calls: string[] = [];
  if (installed === 'user') {
    for (const name of ['raw', 'mem', 'obj'] as const) {
      const inner = heap.getAllocator(name);
      heap.setAllocator(name, {
        malloc: (n) => (calls.push(`${name}.malloc(${n})`), inner.malloc(n)),
        calloc: (nelem, elsize) => (calls.push(`${name}.calloc(${nelem}, ${elsize})`), inner.calloc(nelem, elsize)),
        realloc: (p, n) => (calls.push(`${name}.realloc(${n})`), inner.realloc(p, n)),
        free: (p) => (calls.push(`${name}.free`), inner.free(p)),
      });
    }
  }
  return { heap, calls };
}

for (const backend of BACKENDS) {
  for (const installed of INSTALLED) {
    t.test(`${backend}, the domains holding ${installed === 'own' ? "the heap's own allocators" : installed === 'debug' ? 'debug hooks' : "a user's functions"}`, async (t) => {
      const { heap, calls } = heapWith(backend, installed);
      for (const name of ['raw', 'mem', 'obj'] as const) {
        const d: Domain = heap[name];
        const p = d.malloc(100);
        heap.u8.fill(7, p, p + 100);
        const bad = (call: () => unknown, code: string, message: RegExp, what: string): void => {
          t.throws(call, { code, message }, `heap.${name}: ${what}`);
        };
        bad(() => d.malloc(-1), 'ERR_OUT_OF_RANGE', /"size"/, 'malloc of a negative size');
        bad(() => d.malloc('8' as unknown as number), 'ERR_INVALID_ARG_TYPE', /"size"/, 'malloc of a string');
        bad(() => d.calloc(1.5, 8), 'ERR_OUT_OF_RANGE', /"nelem"/, 'calloc of a fractional count');
        bad(() => d.calloc(8, null as unknown as number), 'ERR_INVALID_ARG_TYPE', /"elsize"/, 'calloc of a null size');
        bad(() => d.realloc('p' as unknown as number, 8), 'ERR_INVALID_ARG_TYPE', /"ptr"/, 'realloc of a string pointer');
        bad(() => d.realloc(p, -2), 'ERR_OUT_OF_RANGE', /"size"/, 'realloc to a negative size');
        bad(() => d.free(2.5), 'ERR_OUT_OF_RANGE', /"ptr"/, 'free of a fractional pointer');
        bad(() => d.free(-16), 'ERR_PYMEM_INVALID_POINTER', new RegExp(`^heap\\.${name}\\.free\\(-16\\)`), 'free of a negative pointer names the domain');
        bad(() => d.realloc(2 ** 40, 8), 'ERR_PYMEM_INVALID_POINTER', new RegExp(`^heap\\.${name}\\.realloc\\(`), 'realloc of a pointer past 2^32 names the domain');
        t.equal(d.malloc(2 ** 40), 0, `heap.${name}: a valid size larger than any region is NULL`);
        t.equal(d.calloc(2 ** 32 - 1, 2 ** 32 - 1), 0, `heap.${name}: two u32 factors whose product passes 2^53 are NULL (CPython's overflow guard)`);
        t.equal(d.calloc(2 ** 40, 2 ** 20), 0, `heap.${name}: a product past 2^53 is NULL`);
        t.equal(d.realloc(p, 2 ** 40), 0, `heap.${name}: realloc to a size larger than any region is NULL`);
        t.ok(heap.u8.subarray(p, p + 100).every((b) => b === 7), `heap.${name}: the block is intact after the failed realloc`);
        d.free(p);
      }
      if (installed === 'user') {
        t.notOk(calls.some((c) => /-|NaN|e\+|\.5/.test(c)), "a user's functions never see an invalid argument");
        t.ok(calls.includes(`raw.malloc(${2 ** 32 - 1})`), 'a size larger than any region reaches them as 2^32 - 1');
      }
      heap.check();
      heap.close();
    });
  }
}
