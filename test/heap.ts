// createHeap(), the heap's views, stats and close(), and how the backend is chosen.
import t from 'tap';
import { BACKENDS, heapOn } from './helpers/backends';
import { createHeap, DEFAULT_MAX_BYTES, MAX_MAX_BYTES, SEGMENT_SIZE, nativeAddon } from '../lib/index';

const MiB = 1 << 20;

t.test('createHeap validates its options', async (t) => {
  for (const bad of [null, 5, 'fallback']) {
    t.throws(() => createHeap(bad as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }, `options ${String(bad)}`);
  }
  t.throws(() => createHeap({ maxbytes: MiB } as never), { code: 'ERR_INVALID_ARG_VALUE', message: /"maxbytes" is not an option of createHeap/ });
  t.throws(() => createHeap({ backend: 'wasm' } as never), { code: 'ERR_INVALID_ARG_VALUE', message: /'auto', 'native' or 'fallback'/ });
  t.throws(() => createHeap({ maxBytes: '1048576' } as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  for (const bad of [0, MiB, 3.5 * MiB, 2 * MiB + 1, MAX_MAX_BYTES + MiB, -2 * MiB, NaN, Infinity]) {
    t.throws(() => createHeap({ maxBytes: bad, backend: 'fallback' }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }, `maxBytes ${bad}`);
  }
});

for (const backend of BACKENDS) {
  t.test(`a heap on ${backend}`, async (t) => {
    t.test('defaults to a 1 GiB region, committed only as it is used', async (t) => {
      const heap = createHeap({ backend });
      t.equal(heap.maxBytes, DEFAULT_MAX_BYTES);
      t.equal(heap.backend, backend);
      t.equal(heap.backendReason, `backend '${backend}' was requested`);
      const stats = heap.stats();
      t.equal(stats.reservedBytes, DEFAULT_MAX_BYTES);
      t.equal(stats.committedBytes, SEGMENT_SIZE, 'only the metadata segment');
      t.same(stats.segments, { total: 1024, free: 1023, cached: 0, meta: 1, rawPool: 0, arena: 0, huge: 0 });
      t.equal(stats.backend, backend);
      t.ok(stats.rss > 0);
      if (backend === 'native') t.ok(stats.residentBytes! > 0 && stats.residentBytes! <= 64 * 1024, `metadata pages resident: ${stats.residentBytes}`);
      else t.equal(stats.residentBytes, null);
      heap.close();
    });

    t.test('takes the largest region, 4 GiB, and serves its last bytes', async (t) => {
      const heap = createHeap({ backend, maxBytes: MAX_MAX_BYTES });
      const n = MAX_MAX_BYTES - 2 * SEGMENT_SIZE;
      const p = heap.raw.malloc(n);
      t.equal(p, SEGMENT_SIZE);
      heap.u8[p + n - 1] = 7;
      t.equal(heap.u8[MAX_MAX_BYTES - SEGMENT_SIZE - 1], 7, 'offsets up to 2^32 - 1 address the region');
      t.equal(heap.raw.malloc(n), 0);
      heap.check();
      // Closed with the block live: on the fallback, freeing it would read all 4 GiB for the pages
      // to zero (lib/raw/fallback.ts), many seconds on a machine whose page faults are slow.
      heap.close();
    });

    t.test('its views share the region', async (t) => {
      const heap = heapOn(backend);
      const p = heap.raw.malloc(32);
      heap.f64[(p + 8) >>> 3] = 1.5;
      t.equal(heap.dv.getFloat64(p + 8, true), 1.5);
      heap.i32[p >>> 2] = -2;
      t.equal(heap.u32[p >>> 2], 0xfffffffe);
      t.equal(heap.u8[p], 0xfe);
      const v = heap.view(p, 32);
      t.equal(v.length, 32);
      t.equal(v.byteOffset, p);
      v[1] = 0x11;
      t.equal(heap.u8[p + 1], 0x11);
      t.equal(heap.view(heap.maxBytes - 16, 16).length, 16);
      t.equal(heap.view(0, 0).length, 0);
      t.throws(() => heap.view(heap.maxBytes - 16, 17), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
      t.throws(() => heap.view(-1, 4), { code: 'ERR_OUT_OF_RANGE' });
      t.throws(() => heap.view(1.5, 4), { code: 'ERR_OUT_OF_RANGE' });
      t.throws(() => heap.view(p, '4' as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    });

    t.test('close() gives the region back; every later use is a clear error, never a crash', async (t) => {
      const heap = heapOn(backend);
      const p = heap.raw.malloc(100);
      const u8 = heap.u8;
      const f64 = heap.f64;
      const view = heap.view(p, 100);
      t.equal(heap.closed, false);
      heap.close();
      t.equal(heap.closed, true);
      t.equal(u8.length, 0, 'views taken before are empty, not dangling');
      t.equal(f64.length, 0);
      t.equal(view.length, 0);
      t.equal(u8[p], undefined, 'reading them is harmless');
      u8[p] = 1;
      const closed = { code: 'ERR_PYMEM_HEAP_CLOSED', message: /the heap is closed/ };
      t.throws(() => heap.raw.malloc(10), { ...closed, message: /^heap\.raw\.malloc: the heap is closed/ });
      t.throws(() => heap.raw.calloc(1, 1), closed);
      t.throws(() => heap.raw.realloc(p, 10), closed);
      t.throws(() => heap.raw.free(p), closed);
      t.throws(() => heap.arenaAlloc(), closed);
      t.throws(() => heap.arenaFree(SEGMENT_SIZE), closed);
      t.throws(() => heap.stats(), closed);
      t.throws(() => heap.check(), closed);
      t.throws(() => heap.view(p, 1), closed);
      for (const name of ['u8', 'i32', 'u32', 'f64', 'dv'] as const) t.throws(() => heap[name], { ...closed, message: new RegExp(`^heap\\.${name}:`) });
      heap.close();
      t.pass('closing twice is harmless');
    });
  });
}

t.test('the backend: option, PYMEM_BACKEND, and what auto chooses', async (t) => {
  const saved = process.env.PYMEM_BACKEND;
  t.teardown(() => {
    if (saved === undefined) delete process.env.PYMEM_BACKEND;
    else process.env.PYMEM_BACKEND = saved;
  });
  const addon = nativeAddon();
  t.equal(addon.available, true, 'the addon loads in this checkout');

  delete process.env.PYMEM_BACKEND;
  const auto = createHeap({ maxBytes: 2 * MiB });
  t.equal(auto.backend, 'native', 'auto takes the native addon when it loads');
  t.match(auto.backendReason, /^auto: native addon \/.*pymem\.node$/);

  for (const value of ['', 'auto']) {
    process.env.PYMEM_BACKEND = value;
    t.equal(createHeap({ maxBytes: 2 * MiB }).backend, 'native', `PYMEM_BACKEND='${value}' leaves auto alone`);
  }
  process.env.PYMEM_BACKEND = 'fallback';
  const forced = createHeap({ maxBytes: 2 * MiB });
  t.equal(forced.backend, 'fallback');
  t.equal(forced.backendReason, 'PYMEM_BACKEND=fallback');
  t.equal(createHeap({ maxBytes: 2 * MiB, backend: 'native' }).backend, 'native', 'an explicit backend wins over the variable');

  process.env.PYMEM_BACKEND = 'native';
  t.equal(createHeap({ maxBytes: 2 * MiB }).backendReason, 'PYMEM_BACKEND=native');
  t.equal(createHeap({ maxBytes: 2 * MiB, backend: 'fallback' }).backend, 'fallback');

  process.env.PYMEM_BACKEND = 'Native';
  t.throws(() => createHeap({ maxBytes: 2 * MiB }), { code: 'ERR_INVALID_ARG_VALUE', message: /PYMEM_BACKEND must be 'native', 'fallback' or 'auto'\. Received 'Native'/ });
});
