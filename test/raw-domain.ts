// The RAW domain's C semantics (PyMem_Raw*), argument checks and pointer checks, on both backends.
import t from 'tap';
import { BACKENDS, heapOn, snapshot } from './helpers/backends';
import { InvalidPointerError, RAW_HUGE_THRESHOLD, SEGMENT_SIZE, type Heap } from '../lib/index';
import type { RawBackend } from '../lib/raw/backend';

const MiB = 1 << 20;

function fill(heap: Heap, p: number, n: number, seed: number): void {
  for (let i = 0; i < n; i++) heap.u8[p + i] = (seed + i * 7) & 255;
}

function holds(heap: Heap, p: number, n: number, seed: number): boolean {
  for (let i = 0; i < n; i++) if (heap.u8[p + i] !== ((seed + i * 7) & 255)) return false;
  return true;
}

function isZero(heap: Heap, p: number, n: number): boolean {
  return Buffer.compare(heap.view(p, n), Buffer.alloc(n)) === 0;
}

for (const backend of BACKENDS) {
  t.test(`RAW domain on ${backend}`, async (t) => {
    t.test('malloc returns distinct, 16-byte aligned, non-NULL blocks that hold their bytes', async (t) => {
      const heap = heapOn(backend);
      const sizes = [1, 15, 16, 17, 100, 512, 513, 4096, 65536, RAW_HUGE_THRESHOLD, RAW_HUGE_THRESHOLD + 1, 3 * MiB];
      const blocks = sizes.map((n, i) => {
        const p = heap.raw.malloc(n);
        fill(heap, p, n, i);
        return p;
      });
      t.ok(blocks.every((p) => p > 0 && p % 16 === 0), 'every pointer non-NULL and 16-aligned');
      t.equal(new Set(blocks).size, blocks.length, 'all distinct');
      t.ok(sizes.every((n, i) => holds(heap, blocks[i], n, i)), 'no block overwrote another');
      t.equal(heap.stats().rawBlocks, sizes.length);
      t.equal(heap.stats().rawBytes, sizes.reduce((a, b) => a + b, 0));
      t.equal(heap.stats().hugeBlocks, 2);
      heap.check();
      for (const p of blocks) heap.raw.free(p);
      t.equal(heap.stats().rawBlocks, 0);
      t.equal(heap.stats().rawBytes, 0);
      heap.check();
    });

    t.test('malloc(0) returns a unique non-NULL pointer each time', async (t) => {
      const heap = heapOn(backend);
      const a = heap.raw.malloc(0);
      const b = heap.raw.malloc(0);
      t.not(a, 0);
      t.not(b, 0);
      t.not(a, b);
      t.equal(heap.stats().rawBytes, 0, 'zero bytes requested');
      heap.raw.free(a);
      heap.raw.free(b);
      heap.check();
    });

    t.test('free(0) does nothing', async (t) => {
      const heap = heapOn(backend);
      const before = snapshot(heap);
      heap.raw.free(0);
      t.same(snapshot(heap).equals(before), true);
    });

    t.test('calloc returns zeroed memory, also where freed blocks left their bytes', async (t) => {
      const heap = heapOn(backend);
      for (const n of [1, 48, 1000, RAW_HUGE_THRESHOLD, 2 * MiB + 5]) {
        const dirty = heap.raw.malloc(n);
        heap.u8.fill(0xab, dirty, dirty + n);
        heap.raw.free(dirty);
        const p = heap.raw.calloc(n, 1);
        t.equal(p, dirty, `calloc(${n}) reuses the freed block`);
        t.ok(isZero(heap, p, n), `calloc(${n}, 1) is zeroed`);
        heap.raw.free(p);
      }
      const q = heap.raw.calloc(100, 8);
      t.ok(isZero(heap, q, 800), 'nelem * elsize bytes are zeroed');
      t.equal(heap.stats().rawBytes, 800);
      heap.check();
    });

    t.test('calloc of a large block over segments never used and over cached ones', async (t) => {
      const heap = heapOn(backend, { maxBytes: 32 * MiB });
      // Frees of whole segments go to the cache (still dirty) up to its size, then back to the OS.
      const big = heap.raw.malloc(12 * MiB);
      heap.u8.fill(0xcd, big, big + 12 * MiB);
      heap.raw.free(big);
      t.equal(heap.stats().segments.cached, 8, "eight segments cached (a quarter of the region's 32), the rest released");
      const p = heap.raw.calloc(12 * MiB, 1);
      t.equal(p, big);
      t.ok(isZero(heap, p, 12 * MiB), 'cached and released segments both read as zeros');
      const one = heap.raw.calloc(RAW_HUGE_THRESHOLD + 16, 1);
      t.ok(isZero(heap, one, RAW_HUGE_THRESHOLD + 16));
      heap.check();
    });

    t.test('calloc returns 0 when nelem * elsize overflows or cannot be served', async (t) => {
      const heap = heapOn(backend);
      const before = snapshot(heap);
      t.equal(heap.raw.calloc(2 ** 32, 2 ** 32), 0);
      t.equal(heap.raw.calloc(2 ** 53 - 1, 2), 0);
      t.equal(heap.raw.calloc(2 ** 31, 2), 0);
      t.equal(heap.raw.calloc(65536, 65536), 0);
      t.ok(snapshot(heap).equals(before), 'the heap is unchanged');
      const a = heap.raw.calloc(0, 5);
      const b = heap.raw.calloc(5, 0);
      const c = heap.raw.calloc(2 ** 40, 0);
      t.ok(a > 0 && b > 0 && c > 0 && a !== b && b !== c, 'zero-byte callocs are unique non-NULL blocks');
    });

    t.test('realloc(0, n) is malloc(n)', async (t) => {
      const heap = heapOn(backend);
      const p = heap.raw.realloc(0, 40);
      t.ok(p > 0);
      t.equal(heap.stats().rawBlocks, 1);
      t.equal(heap.stats().rawBytes, 40);
    });

    t.test('realloc keeps the contents across every kind of move', async (t) => {
      const heap = heapOn(backend, { maxBytes: 64 * MiB });
      const steps = [16, 40, 1000, 30000, RAW_HUGE_THRESHOLD, 600 * 1024, 3 * MiB, 9 * MiB, 2 * MiB, 5000, 100, 0, 7];
      let p = heap.raw.malloc(8);
      fill(heap, p, 8, 99);
      let kept = 8;
      const blocker = heap.raw.malloc(64); // keeps the first moves from always growing in place
      for (const n of steps) {
        const q = heap.raw.realloc(p, n);
        t.ok(q > 0, `realloc to ${n} succeeds`);
        t.ok(holds(heap, q, Math.min(kept, n), 99), `first ${Math.min(kept, n)} bytes kept at ${n}`);
        p = q;
        kept = Math.min(kept, n);
        if (n > kept) {
          fill(heap, p, n, 99);
          kept = n;
        }
        t.equal(heap.stats().rawBytes, n + 64);
        heap.check();
      }
      heap.raw.free(blocker);
      heap.raw.free(p);
      t.equal(heap.stats().rawBlocks, 0);
      heap.check();
    });

    t.test('realloc grows and shrinks in place when it can', async (t) => {
      const heap = heapOn(backend);
      const p = heap.raw.malloc(100);
      t.equal(heap.raw.realloc(p, 5000), p, 'grows into the free space after it');
      t.equal(heap.raw.realloc(p, 50), p, 'shrinks where it is');
      const fence = heap.raw.malloc(100);
      t.ok(fence > p && fence < p + 5000, 'the shrunk tail was given back');
      heap.raw.free(fence);
      const big = heap.raw.malloc(2 * MiB);
      t.equal(heap.raw.realloc(big, 5 * MiB), big, 'a large block grows over free segments after it');
      t.equal(heap.raw.realloc(big, 1 * MiB + 1), big, 'and shrinks, giving its tail segments back');
      t.equal(heap.stats().segments.huge, 2);
      heap.check();
    });

    t.test('a failed realloc returns 0 and keeps the old block and its bytes', async (t) => {
      const heap = heapOn(backend, { maxBytes: 8 * MiB });
      const small = heap.raw.malloc(300);
      fill(heap, small, 300, 5);
      const big = heap.raw.malloc(2 * MiB);
      fill(heap, big, 2 * MiB, 6);
      const before = snapshot(heap);
      t.equal(heap.raw.realloc(small, 7 * MiB), 0, 'pool block to an impossible size');
      t.equal(heap.raw.realloc(big, 7 * MiB), 0, 'large block to an impossible size');
      t.equal(heap.raw.realloc(big, 2 ** 40), 0, 'a valid size beyond any region');
      t.ok(snapshot(heap).equals(before), 'nothing changed');
      t.ok(holds(heap, small, 300, 5) && holds(heap, big, 2 * MiB, 6));
      heap.raw.free(small);
      heap.raw.free(big);
      heap.check();
    });

    t.test('a full heap: shrinking a large block that would need a new pool fails, keeping it', async (t) => {
      const heap = heapOn(backend, { maxBytes: 4 * MiB });
      const blocks = [1, 2, 3].map(() => heap.raw.malloc(MiB));
      fill(heap, blocks[0], 1000, 3);
      const before = snapshot(heap);
      t.equal(heap.raw.realloc(blocks[0], 100), 0, 'no segment is free for a pool to take the 100 bytes');
      t.ok(snapshot(heap).equals(before) && holds(heap, blocks[0], 1000, 3), 'the block and the heap are unchanged');
      heap.raw.free(blocks[2]);
      const q = heap.raw.realloc(blocks[0], 100);
      t.ok(q > 0 && holds(heap, q, 100, 3), 'with a segment free it moves into a pool');
      heap.check();
    });

    t.test('allocation up to the limit returns 0, and the heap works again after frees', async (t) => {
      const heap = heapOn(backend, { maxBytes: 4 * MiB });
      const blocks: number[] = [];
      for (let p; (p = heap.raw.malloc(RAW_HUGE_THRESHOLD + 1)) !== 0; ) blocks.push(p);
      t.equal(blocks.length, 3, 'three data segments, one large block each');
      t.equal(heap.raw.malloc(1), 0, 'no segment left for a pool');
      t.equal(heap.raw.calloc(1, 1), 0);
      t.equal(heap.arenaAlloc(), 0, 'nor an arena');
      heap.check();
      heap.raw.free(blocks.pop()!);
      for (let p; (p = heap.raw.malloc(1000)) !== 0; ) blocks.push(p);
      t.ok(blocks.length > 1000, `a pool's worth of small blocks (${blocks.length - 2})`);
      t.equal(heap.raw.malloc(2 ** 32 - 1), 0);
      t.equal(heap.raw.malloc(2 ** 52), 0, 'a valid size no heap can serve');
      heap.check();
      for (const p of blocks) heap.raw.free(p);
      t.equal(heap.stats().rawBlocks, 0);
      t.same(heap.stats().segments, { total: 4, free: 0, cached: 2, meta: 1, rawPool: 1, arena: 0, huge: 0 }, 'one empty pool kept');
      const again = heap.raw.malloc(3 * MiB - 1);
      t.ok(again > 0, 'the whole heap is usable again');
      heap.check();
    });

    t.test('sizes must be integers from 0 to 2^53 - 1', async (t) => {
      const heap = heapOn(backend);
      const before = snapshot(heap);
      for (const bad of ['5', null, undefined, 5n, {}, [4]]) {
        t.throws(() => heap.raw.malloc(bad as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }, `malloc(${String(bad)})`);
        t.throws(() => heap.raw.calloc(bad as never, 1), { code: 'ERR_INVALID_ARG_TYPE', message: /"nelem"/ });
        t.throws(() => heap.raw.calloc(1, bad as never), { code: 'ERR_INVALID_ARG_TYPE', message: /"elsize"/ });
        t.throws(() => heap.raw.realloc(0, bad as never), { code: 'ERR_INVALID_ARG_TYPE', message: /"size"/ });
      }
      for (const bad of [-1, 1.5, NaN, Infinity, -Infinity, 2 ** 53, -0.5]) {
        t.throws(() => heap.raw.malloc(bad), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }, `malloc(${bad})`);
        t.throws(() => heap.raw.calloc(bad, 1), { code: 'ERR_OUT_OF_RANGE' });
        t.throws(() => heap.raw.calloc(1, bad), { code: 'ERR_OUT_OF_RANGE' });
        t.throws(() => heap.raw.realloc(0, bad), { code: 'ERR_OUT_OF_RANGE' });
      }
      t.ok(snapshot(heap).equals(before), 'no bad argument changed anything');
      const said = (value: unknown): string => {
        try {
          heap.raw.malloc(value as number);
          return 'accepted';
        } catch (e) {
          return (e as Error).message;
        }
      };
      t.equal(said('5'), `The "size" argument must be of type number. Received type string ('5')`, "Node's wording");
      t.equal(said(function grow() {}), 'The "size" argument must be of type number. Received function grow');
      t.equal(said(() => 0), 'The "size" argument must be of type number. Received function <anonymous>');
      t.equal(said(new Map()), 'The "size" argument must be of type number. Received an instance of Map');
      t.equal(said(Object.create(null)), 'The "size" argument must be of type number. Received [Object: null prototype] {}');
      t.equal(said(undefined), 'The "size" argument must be of type number. Received undefined');
      t.equal(said(-1), 'The value of "size" is out of range. It must be an integer >= 0 and <= 2^53 - 1. Received -1');
    });

    t.test('pointers the RAW domain cannot have handed out are refused, changing nothing', async (t) => {
      const heap = heapOn(backend);
      const small = heap.raw.malloc(1000);
      const big = heap.raw.malloc(2 * MiB);
      const arena = heap.arenaAlloc();
      const freed = heap.raw.malloc(64);
      heap.raw.free(freed);
      const cases: [string, number, string][] = [
        ['outside the region', heap.maxBytes, 'outside'],
        ['far outside', 2 ** 40, 'outside'],
        ['negative', -16, 'outside'],
        ['misaligned', small + 8, 'misaligned'],
        ['in the metadata', 16, 'metadata'],
        ['in a free segment', heap.maxBytes - SEGMENT_SIZE, 'free-segment'],
        ['inside a pool block', small + 16, 'not-live'],
        ['already freed', freed, 'not-live'],
        ['inside a large block', big + 16, 'inside-block'],
        ['in a large block beyond its first segment', big + SEGMENT_SIZE, 'inside-block'],
        ['an arena', arena, 'arena'],
      ];
      const before = snapshot(heap);
      for (const [what, p, reason] of cases) {
        for (const op of [() => heap.raw.free(p), () => heap.raw.realloc(p, 10)]) {
          const error = t.throws(op, { name: 'InvalidPointerError', code: 'ERR_PYMEM_INVALID_POINTER', reason, pointer: p }, what) as unknown;
          t.ok(error instanceof InvalidPointerError);
          t.match((error as Error).message, p < 0 ? new RegExp(`^heap\\.raw\\.(free|realloc)\\(${p}\\): pointer ${p} \\(a negative number\\)`) : /^heap\.raw\.(free|realloc)\(0x/, 'names the function and the pointer');
        }
      }
      t.throws(() => heap.raw.free('16' as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
      t.throws(() => heap.raw.free(16.5), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
      t.throws(() => heap.raw.realloc(NaN, 1), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
      t.ok(snapshot(heap).equals(before), 'no refused pointer changed anything');
      heap.check();
    });

    t.test('arenas: whole aligned segments for the object allocator', async (t) => {
      const heap = heapOn(backend, { maxBytes: 8 * MiB });
      const arenas: number[] = [];
      for (let a; (a = heap.arenaAlloc()) !== 0; ) arenas.push(a);
      t.equal(arenas.length, 7);
      t.ok(arenas.every((a) => a % SEGMENT_SIZE === 0));
      t.equal(heap.stats().segments.arena, 7);
      t.equal(heap.raw.malloc(1), 0, 'arenas take the segments raw blocks would use');
      heap.arenaFree(0);
      const before = snapshot(heap);
      const raw = (() => {
        heap.arenaFree(arenas.pop()!);
        return heap.raw.malloc(2 * 1024);
      })();
      const after = snapshot(heap);
      for (const [p, reason] of [
        [arenas[0] + 16, 'not-arena'],
        [raw, 'not-arena'],
        [raw - (raw % SEGMENT_SIZE), 'raw-block'],
        [heap.maxBytes, 'outside'],
      ] as const) {
        t.throws(() => heap.arenaFree(p), { code: 'ERR_PYMEM_INVALID_POINTER', reason });
      }
      t.throws(() => heap.arenaFree(-1), { code: 'ERR_PYMEM_INVALID_POINTER', reason: 'outside' });
      t.throws(() => heap.arenaFree('x' as never), { code: 'ERR_INVALID_ARG_TYPE' });
      t.ok(snapshot(heap).equals(after), 'refused arena frees change nothing');
      t.notOk(after.equals(before));
      heap.raw.free(raw);
      for (const a of arenas) heap.arenaFree(a);
      t.throws(() => heap.arenaFree(arenas[0]), { code: 'ERR_PYMEM_INVALID_POINTER', reason: 'free-segment' }, 'an arena freed twice');
      t.equal(heap.stats().segments.arena, 0);
      heap.check();
    });

    t.test("an arena pymalloc is using cannot be given back under it; heap.check() finds one that was", async (t) => {
      const heap = heapOn(backend, { maxBytes: 8 * MiB });
      const block = heap.obj.malloc(64);
      const arena = block - (block % SEGMENT_SIZE);
      const before = snapshot(heap);
      t.throws(() => heap.arenaFree(arena), {
        code: 'ERR_PYMEM_INVALID_POINTER',
        reason: 'arena-in-use',
        message: `heap.arenaFree(0x${arena.toString(16)}): pointer ${arena} (0x${arena.toString(16)}) is an arena the object allocator is using; it gives back each of its arenas itself once the last block in it is freed`,
      });
      t.ok(snapshot(heap).equals(before), 'nothing changed');
      heap.check();
      // The raw allocator's own arenaFree, below the heap's guard (as heap.arenaFree called it before it
      // had one): the region is consistent for the raw allocator, and the checker names pymalloc's loss.
      (heap as unknown as { impl: RawBackend }).impl.arenaFree(arena);
      t.throws(() => heap.check(), { code: 'ERR_PYMEM_HEAP_CORRUPTION', invariant: 'pymalloc.arena.segment', message: new RegExp(`arena 0 at 0x${arena.toString(16)} lies on segment ${arena / SEGMENT_SIZE}, which the raw allocator holds as free`) });
      heap.close();
    });

    t.test('the last free segment goes to an arena even when an empty raw pool holds it', async (t) => {
      const heap = heapOn(backend, { maxBytes: 3 * MiB });
      heap.raw.free(heap.raw.malloc(64)); // the pool stays, empty, against thrashing
      const arena = heap.arenaAlloc();
      t.equal(heap.stats().segments.rawPool, 1);
      t.ok(arena > 0);
      const last = heap.arenaAlloc();
      t.ok(last > 0, 'the empty pool was given up for it');
      t.same(heap.stats().segments, { total: 3, free: 0, cached: 0, meta: 1, rawPool: 0, arena: 2, huge: 0 });
      t.equal(heap.arenaAlloc(), 0);
      heap.check();
    });
  });
}
