// pymalloc through the MEM and OBJ domains, on both backends: size classes, pools, realloc's rules,
// arenas given back, pointers refused, allocator control, and random operations under heap.check().
import t from 'tap';
import { EMPTY_FREE_LISTS } from './helpers/free-lists';
import { BACKENDS, heapOn, snapshot } from './helpers/backends';
import { Random } from './helpers/random';
import { InvalidPointerError, createHeap, type Heap, type Allocator } from '../lib/index';
import { POOL_SIZE, POOL_OVERHEAD, POOL_ARENAINDEX, ARENA_SIZE, blockSize, numBlocks } from '../lib/pymalloc/layout';

const MiB = 1 << 20;
const poolOf = (p: number): number => p - (p % POOL_SIZE);

/** Whether p lies in one of the arenas a tracedHeap's arena allocator handed out (default arenas are whole segments). */
function inArena(heap: Heap, p: number): boolean {
  return arenaBases(heap).has(p - (p % ARENA_SIZE));
}

const arenaLog = new WeakMap<Heap, Set<number>>();
function arenaBases(heap: Heap): Set<number> {
  return arenaLog.get(heap) ?? new Set();
}

/** A heap whose arena allocator records the arenas it hands out (and forgets those given back). */
function tracedHeap(backend: 'native' | 'fallback', options: Parameters<typeof heapOn>[1] = {}): Heap {
  const heap = heapOn(backend, options);
  const bases = new Set<number>();
  const inner = heap.getArenaAllocator();
  heap.setArenaAllocator({
    alloc: (size) => {
      const p = inner.alloc(size);
      if (p !== 0) bases.add(p);
      return p;
    },
    free: (p, size) => {
      bases.delete(p);
      inner.free(p, size);
    },
  });
  arenaLog.set(heap, bases);
  return heap;
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof InvalidPointerError) return e.reason;
    throw e;
  }
  return 'accepted';
}

for (const backend of BACKENDS) {
  t.test(`pymalloc on ${backend}`, async (t) => {
    t.test('every size class: blocks come from pools of their class, carved in order, and hold their bytes', async (t) => {
      const heap = tracedHeap(backend);
      for (const domain of ['mem', 'obj'] as const) {
        const blocks: [p: number, n: number][] = [];
        for (let n = 1; n <= 512; n++) {
          const p = heap[domain].malloc(n);
          heap.u8.fill(n & 255, p, p + n);
          blocks.push([p, n]);
        }
        t.ok(blocks.every(([p]) => p % 16 === 0 && inArena(heap, p)), `${domain}: 16-aligned blocks inside arenas`);
        // The 16 requests of one class share a pool: the first at the pool's first block, then one block further each.
        for (let size = 0; size < 32; size++) {
          const ofClass = blocks.slice(size * 16, size * 16 + 16).map(([p]) => p);
          const pool = poolOf(ofClass[0]);
          if (domain === 'mem') t.equal(ofClass[0], pool + POOL_OVERHEAD, `class ${size} starts its pool`);
          t.same(ofClass.map((p) => p - ofClass[0]), ofClass.map((_, i) => i * blockSize(size)), `class ${size} carved in order`);
        }
        t.ok(blocks.every(([p, n]) => heap.u8.subarray(p, p + n).every((b) => b === (n & 255))), `${domain}: no block overwrote another`);
        t.equal(heap.allocatedBlocks(), 512, 'sys.getallocatedblocks() counts them');
        heap.check();
        for (const [p] of blocks) heap[domain].free(p);
        t.equal(heap.allocatedBlocks(), 0);
        heap.check();
      }
    });

    t.test('requests of 0 and above 512 bytes go to the raw allocator, and are counted', async (t) => {
      const heap = tracedHeap(backend);
      const zero = [heap.obj.malloc(0), heap.obj.malloc(0), heap.mem.calloc(0, 8)];
      const big = [heap.obj.malloc(513), heap.mem.malloc(100_000), heap.obj.calloc(2, 300)];
      t.equal(new Set(zero).size, 3, 'malloc(0) gives distinct pointers');
      t.ok([...zero, ...big].every((p) => p !== 0 && !inArena(heap, p)), 'none in an arena');
      t.equal(heap.stats().rawBlocks, 6);
      t.equal(heap.stats().pymalloc.rawAllocatedBlocks, 6);
      t.equal(heap.allocatedBlocks(), 6);
      heap.check();
      for (const p of [...zero, ...big]) heap.obj.free(p);
      t.equal(heap.stats().rawBlocks, 0);
      t.equal(heap.allocatedBlocks(), 0);
      heap.check();
    });

    t.test('calloc zeroes a reused block', async (t) => {
      const heap = heapOn(backend);
      const p = heap.obj.malloc(200);
      heap.u8.fill(0xee, p, p + 208);
      heap.obj.free(p);
      const q = heap.obj.calloc(25, 8);
      t.equal(q, p, 'the block just freed is reused first');
      t.ok(heap.u8.subarray(q, q + 200).every((b) => b === 0));
      t.equal(heap.obj.calloc(2 ** 27, 2 ** 27), 0, 'an overflowing product is NULL');
      const region = snapshot(heap);
      t.equal(heap.obj.calloc(1, 2 ** 32 + 16), 0, 'a product above 2^32 is no small request: the raw allocator refuses it');
      t.equal(Buffer.compare(region, snapshot(heap)), 0, 'and nothing was written');
      heap.check();
    });

    t.test("realloc keeps a block in place for sizes in its class down to 3/4 of it, else moves it", async (t) => {
      const heap = tracedHeap(backend);
      const p = heap.obj.malloc(64); // class 3, 64-byte blocks
      for (let i = 0; i < 64; i++) heap.u8[p + i] = i;
      for (const n of [64, 60, 49]) t.equal(heap.obj.realloc(p, n), p, `realloc to ${n} stays (4n > 3 x 64)`);
      const moved = heap.obj.realloc(p, 48); // 4 x 48 = 192, not > 192
      t.not(moved, p, 'realloc to 48 moves: shrinking by a quarter is worth a copy');
      t.same([...heap.u8.subarray(moved, moved + 48)], [...Array(48).keys()], 'the first 48 bytes moved with it');
      const grown = heap.obj.realloc(moved, 300);
      t.same([...heap.u8.subarray(grown, grown + 48)], [...Array(48).keys()], 'growth copies the whole old block');
      const raw = heap.obj.realloc(grown, 5000);
      t.ok(raw !== 0 && inArena(heap, grown) && !inArena(heap, raw), 'moved to the raw allocator');
      t.same([...heap.u8.subarray(raw, raw + 48)], [...Array(48).keys()]);
      t.equal(heap.stats().pymalloc.rawAllocatedBlocks, 1);
      const stillRaw = heap.obj.realloc(raw, 100);
      t.equal(heap.stats().pymalloc.rawAllocatedBlocks, 1, 'a raw block stays raw when shrunk below 512');
      t.equal(refusal(() => heap.raw.realloc(stillRaw, 100)), 'accepted', 'it is still a raw block');
      const fresh = heap.obj.realloc(0, 10);
      t.equal(heap.allocatedBlocks(), 2, 'realloc(0, n) is malloc(n)');
      const one = heap.obj.realloc(fresh, 0);
      t.not(one, 0, 'realloc(p, 0) resizes to a unique block and does not free');
      t.equal(heap.allocatedBlocks(), 2);
      t.equal(heap.obj.realloc(one, 2 ** 40), 0, 'an unservable size fails...');
      t.equal(heap.allocatedBlocks(), 2, '...and keeps the block');
      heap.obj.free(one);
      heap.obj.free(stillRaw);
      t.equal(heap.allocatedBlocks(), 0);
      heap.check();
    });

    t.test('a failed move keeps the old block and its bytes', async (t) => {
      const heap = heapOn(backend, { maxBytes: 4 * MiB });
      const p = heap.obj.malloc(100);
      heap.u8.fill(7, p, p + 100);
      const hog: number[] = [];
      for (const size of [200_000, 16_000, 1000, 16]) for (let q = heap.raw.malloc(size); q !== 0; q = heap.raw.malloc(size)) hog.push(q);
      t.equal(heap.obj.realloc(p, 1000), 0);
      t.ok(heap.u8.subarray(p, p + 100).every((b) => b === 7));
      heap.obj.free(p);
      for (const q of hog) heap.raw.free(q);
      heap.check();
    });

    t.test('small requests fall back to the raw allocator when no arena can be had', async (t) => {
      const heap = tracedHeap(backend, { maxBytes: 4 * MiB }); // metadata and 3 segments
      const keep = heap.raw.malloc(4096); // one raw pool
      const blocks: number[] = [];
      while (heap.stats().pymalloc.rawAllocatedBlocks === 0) blocks.push(heap.obj.malloc(512));
      t.equal(blocks.length, 2 * 64 * numBlocks(31) + 1, 'two arenas filled, then no third to be had');
      const last = blocks[blocks.length - 1];
      t.ok(last !== 0 && !inArena(heap, last), 'PyMem_RawMalloc served the next one');
      t.equal(heap.allocatedBlocks(), blocks.length);
      heap.check();
      for (const p of blocks) heap.obj.free(p);
      heap.raw.free(keep);
      heap.check();
      t.equal(heap.allocatedBlocks(), 0);
    });

    t.test('an arena is given back when its last block is freed, except the last usable one', async (t) => {
      const heap = tracedHeap(backend);
      const perArena = 64 * numBlocks(31);
      const blocks: number[] = [];
      for (let i = 0; i < 3 * perArena + 1; i++) blocks.push(heap.obj.malloc(512));
      t.equal(arenaBases(heap).size, 4);
      t.equal(heap.stats().segments.arena, 4);
      t.equal(heap.stats().pymalloc.unusedPools, 63, 'three full arenas and one with a single pool in use');
      // Empty the second arena: it goes back to the raw allocator at once (the fourth is further right).
      for (const p of blocks.slice(perArena, 2 * perArena)) heap.obj.free(p);
      t.equal(arenaBases(heap).size, 3);
      t.equal(heap.stats().segments.arena, 3);
      t.match(heap.stats().pymalloc, { arenasAllocatedTotal: 4, arenasReclaimed: 1, arenasHighwater: 4, arenasCurrent: 3 });
      heap.check();
      // Empty the others: all go back but the last usable one, kept empty against thrashing.
      for (const p of [...blocks.slice(0, perArena), ...blocks.slice(2 * perArena)]) heap.obj.free(p);
      t.equal(arenaBases(heap).size, 1);
      t.match(heap.stats().pymalloc, { arenasCurrent: 1, arenasReclaimed: 3, unusedPools: 64, allocatedBytes: 0 });
      heap.check();
      // The kept arena serves the next request without a new one.
      heap.obj.free(heap.obj.malloc(8));
      t.equal(heap.stats().pymalloc.arenasAllocatedTotal, 4);
    });

    t.test('usable arenas are kept sorted by free pools: the fullest fills first', async (t) => {
      const heap = tracedHeap(backend);
      const perPool = numBlocks(31);
      const pools: number[][] = [];
      for (let i = 0; i < 3 * 64; i++) pools.push(Array.from({ length: perPool }, () => heap.obj.malloc(512)));
      // Free 5 pools of arena 0, 2 of arena 1, 9 of arena 2: the next pools come from arena 1, then 0, then 2.
      const free = (arena: number, count: number): void => {
        for (let k = 0; k < count; k++) for (const p of pools[arena * 64 + k]) heap.obj.free(p);
      };
      free(0, 5);
      free(1, 2);
      free(2, 9);
      heap.check();
      const arenaOfNext = (): number => Math.floor(heap.obj.malloc(512) / ARENA_SIZE);
      const base = Math.floor(pools[0][0] / ARENA_SIZE);
      const order: number[] = [];
      for (let k = 0; k < 16; k++) {
        order.push(arenaOfNext() - base);
        for (let j = 1; j < perPool; j++) heap.obj.malloc(512);
      }
      t.same(order, [1, 1, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
      heap.check();
    });

    t.test('fragmentation figures after a known sequence match the hand-computed ones', async (t) => {
      const heap = heapOn(backend);
      // 2,000 blocks of 24 bytes (class 1, 32-byte blocks, 510 per pool): 4 pools, the last with 470.
      const small = Array.from({ length: 2000 }, () => heap.obj.malloc(24));
      // 10 blocks of 400 bytes (class 24, 400-byte blocks, 40 per pool): 1 pool.
      const mid = Array.from({ length: 10 }, () => heap.mem.malloc(400));
      // Free the first pool's 510 blocks (it becomes empty, an unused pool) and every 4th block elsewhere.
      small.slice(0, 510).forEach((p) => heap.obj.free(p));
      let freed = 510;
      for (let i = 510; i < 2000; i += 4, freed++) heap.obj.free(small[i]);
      heap.mem.free(mid[0]);
      const s = heap.stats().pymalloc;
      const inUse32 = 2000 - freed; // 1,490 - 373 = 1,117
      t.equal(inUse32, 1117);
      t.same(s.classes, [
        { sizeClass: 1, blockSize: 32, pools: 3, blocksInUse: 1117, availableBlocks: 3 * 510 - 1117 },
        { sizeClass: 24, blockSize: 400, pools: 1, blocksInUse: 9, availableBlocks: 40 - 9 },
      ]);
      t.equal(s.allocatedBytes, 1117 * 32 + 9 * 400);
      t.equal(s.availableBytes, (3 * 510 - 1117) * 32 + 31 * 400);
      t.equal(s.unusedPools, 64 - 4, '60 pools never carved or emptied: 59 uncarved and the first 32-byte pool');
      t.equal(s.poolHeaderBytes, 4 * 48);
      // (16,384 - 48) % 32 = 16 per 32-byte pool; (16,384 - 48) % 400 = 336 for the 400-byte pool.
      t.equal(s.quantizationBytes, 3 * 16 + 336);
      t.equal(s.arenaAlignmentBytes, 0);
      t.equal(s.allocatedBytes + s.availableBytes + s.unusedPools * POOL_SIZE + s.poolHeaderBytes + s.quantizationBytes, ARENA_SIZE);
      t.equal(s.allocatedBlocks, 1117 + 9);
      heap.check();
    });

    t.test('pointers that are no live block are refused, and nothing changes', async (t) => {
      const heap = tracedHeap(backend);
      const a = heap.obj.malloc(32);
      const b = heap.obj.malloc(32);
      const lone = heap.obj.malloc(500); // alone in its pool
      heap.obj.free(lone); // the pool is empty now
      const before = snapshot(heap);
      const cases: [string, () => void][] = [
        ['pool-header', () => heap.obj.free(poolOf(a) + 16)],
        ['not-block', () => heap.obj.free(a + 16)],
        ['not-block', () => heap.mem.realloc(b + 32 + 16, 8)],
        ['free-pool', () => heap.obj.free(lone)],
        ['uncarved', () => heap.obj.free(poolOf(a) + 10 * POOL_SIZE + 48)],
        ['uncarved', () => heap.obj.free(b + 2 * 32)],
        ['outside', () => heap.obj.free(heap.maxBytes + 64)],
        ['metadata', () => heap.mem.free(0x20000)],
        ['free-segment', () => heap.obj.free(8 * MiB)],
        ['arena', () => heap.raw.free(a)],
        ['arena', () => heap.raw.realloc(a, 64)],
      ];
      for (const [reason, fn] of cases) t.equal(refusal(fn), reason, `${reason}: ${fn}`);
      t.throws(() => heap.obj.free(a + 16), /heap\.obj\.free\(0x[0-9a-f]+\): pointer \d+ \(0x[0-9a-f]+\) is not on a block boundary/);
      t.throws(() => heap.obj.free(-16), { code: 'ERR_PYMEM_INVALID_POINTER', reason: 'outside', message: "heap.obj.free(-16): pointer -16 (a negative number) is outside the heap's region" });
      t.throws(() => heap.raw.free(-5), { code: 'ERR_PYMEM_INVALID_POINTER', reason: 'outside', message: "heap.raw.free(-5): pointer -5 (a negative number) is outside the heap's region" });
      t.throws(() => heap.obj.free(1.5), { code: 'ERR_OUT_OF_RANGE' });
      t.throws(() => heap.mem.free('16' as unknown as number), { code: 'ERR_INVALID_ARG_TYPE' });
      t.throws(() => heap.obj.malloc(-1), { code: 'ERR_OUT_OF_RANGE' });
      t.throws(() => heap.obj.calloc(1, NaN), { code: 'ERR_OUT_OF_RANGE' });
      t.equal(Buffer.compare(before, snapshot(heap)), 0, 'the region is byte for byte unchanged');
      // An uncarved pool whose header holds garbage: an arena index past the table is no pool's.
      const stray = poolOf(a) + 20 * POOL_SIZE;
      heap.u32[(stray + POOL_ARENAINDEX) >>> 2] = 0x7fffffff;
      t.equal(refusal(() => heap.obj.free(stray + 48)), 'uncarved', 'a garbage arena index');
      heap.u32[(stray + POOL_ARENAINDEX) >>> 2] = 0;
      // The default arena allocator: more than a segment is 0; a pointer that is no arena is refused.
      const arenas = heapOn(backend).getArenaAllocator();
      t.same([arenas.alloc(ARENA_SIZE + 1), arenas.alloc(0)], [0, 0]);
      t.throws(() => arenas.free(16, ARENA_SIZE), { code: 'ERR_PYMEM_INVALID_POINTER', reason: 'not-arena', message: /^arena allocator free\(0x10\): pointer 16 \(0x10\) is not the start of an arena$/ });
      heap.obj.free(a);
      heap.obj.free(b);
      heap.check();
    });

    t.test("allocator 'malloc': the raw allocator serves every domain", async (t) => {
      const heap = heapOn(backend, { allocator: 'malloc' });
      t.equal(heap.allocatorName(), 'malloc');
      const p = heap.obj.malloc(16);
      t.equal(heap.stats().segments.arena, 0, 'no arena');
      t.equal(heap.stats().rawBlocks, 1);
      t.equal(heap.allocatedBlocks(), 0, 'sys.getallocatedblocks() is 0 with PYTHONMALLOC=malloc');
      t.equal(heap.debugMallocStats(), EMPTY_FREE_LISTS, "sys._debugmallocstats() prints no pymalloc section, only the free lists'");
      t.equal(refusal(() => heap.mem.free(p + 16)), 'not-live');
      t.throws(() => heap.mem.free(p + 16), /^heap\.mem\.free\(/);
      heap.mem.free(p);
      heap.check();
    });

    t.test('setAllocator: a counting hook wraps the current allocator, and restoring it restores the name', async (t) => {
      const heap = heapOn(backend);
      t.equal(heap.allocatorName(), 'pymalloc');
      const counts = { malloc: 0, calloc: 0, realloc: 0, free: 0, rawMalloc: 0 };
      const obj = heap.getAllocator('obj');
      const raw = heap.getAllocator('raw');
      const hook: Allocator = {
        malloc: (n) => (counts.malloc++, obj.malloc(n)),
        calloc: (nelem, elsize) => (counts.calloc++, obj.calloc(nelem, elsize)),
        realloc: (p, n) => (counts.realloc++, obj.realloc(p, n)),
        free: (p) => (counts.free++, obj.free(p)),
      };
      heap.setAllocator('obj', hook);
      heap.setAllocator('raw', { ...raw, malloc: (n) => (counts.rawMalloc++, raw.malloc(n)) });
      t.equal(heap.allocatorName(), null, 'no name while hooked');
      t.equal(heap.debugMallocStats(), EMPTY_FREE_LISTS, 'the pymalloc section is not printed while OBJ is hooked (as under tracemalloc)');
      const p = heap.obj.realloc(heap.obj.calloc(2, 8), 100);
      const big = heap.obj.malloc(1000);
      heap.obj.free(p);
      heap.obj.free(big);
      heap.mem.free(heap.mem.malloc(8));
      t.same(counts, { malloc: 1, calloc: 1, realloc: 1, free: 2, rawMalloc: 1 }, "OBJ's calls, and pymalloc's raw request, were seen; MEM's were not");
      t.equal(heap.getAllocator('obj').malloc, hook.malloc, 'getAllocator returns what was set');
      heap.setAllocator('obj', obj);
      heap.setAllocator('raw', raw);
      t.equal(heap.allocatorName(), 'pymalloc');
      t.throws(() => heap.getAllocator('gpu' as 'raw'), { code: 'ERR_INVALID_ARG_VALUE' });
      t.throws(() => heap.setAllocator('mem', { ...obj, free: undefined } as unknown as Allocator), { code: 'ERR_INVALID_ARG_TYPE', message: /allocator\.free/ });
      t.throws(() => heap.setAllocator('mem', null as unknown as Allocator), { code: 'ERR_INVALID_ARG_TYPE' });
      heap.check();
    });

    t.test('setArenaAllocator: arenas not on a pool boundary lose one pool, and are found by address', async (t) => {
      const heap = heapOn(backend);
      const bases = new Map<number, number>();
      // Arenas carved 4 KiB into raw blocks, as mmap's arenas are page- but not pool-aligned in CPython.
      heap.setArenaAllocator({
        alloc: (size) => {
          const block = heap.raw.malloc(size + POOL_SIZE);
          if (block === 0) return 0;
          bases.set(block + 4096, block);
          return block + 4096;
        },
        free: (p) => {
          heap.raw.free(bases.get(p)!);
          bases.delete(p);
        },
      });
      const blocks = Array.from({ length: 63 * numBlocks(0) + 1 }, () => heap.obj.malloc(16));
      t.equal(bases.size, 2, 'the 64th pool of 16-byte blocks needs a second arena: each has 63');
      const s = heap.stats().pymalloc;
      t.equal(s.arenaAlignmentBytes, 2 * POOL_SIZE);
      t.equal(s.unusedPools, 62);
      t.ok(heap.debugMallocStats().includes('# bytes lost to arena alignment    =               32,768\n'));
      heap.check();
      for (const p of blocks) heap.obj.free(p);
      t.equal(bases.size, 1, 'the emptied arena went back through the hook');
      heap.check();
      t.equal(heap.stats().rawBlocks, 1);
    });

    t.test('an arena allocator returning garbage is an error, and the heap stays usable', async (t) => {
      const heap = heapOn(backend);
      const good = heap.getArenaAllocator();
      for (const bad of [-1, 8, 2 ** 40, 15 * MiB + 16, 'x']) {
        heap.setArenaAllocator({ alloc: () => bad as number, free: () => undefined });
        t.throws(() => heap.obj.malloc(8), { code: 'ERR_INVALID_RETURN_VALUE' }, String(bad));
        heap.check();
      }
      heap.setArenaAllocator({ alloc: () => 0, free: () => undefined });
      t.equal(heap.stats().pymalloc.arenasCurrent, 0);
      t.equal(heap.obj.malloc(8) > 0, true, 'no arena: the raw allocator serves the request');
      heap.setArenaAllocator(good);
      t.ok(heap.obj.malloc(8) > 0);
      t.equal(heap.stats().pymalloc.arenasCurrent, 1);
      t.throws(() => heap.setArenaAllocator({ alloc: 1 } as never), { code: 'ERR_INVALID_ARG_TYPE' });
      t.throws(() => heap.setArenaAllocator(undefined as never), { code: 'ERR_INVALID_ARG_TYPE' });
      heap.check();
    });

    t.test('a closed heap refuses its domains and every allocator function taken from it', async (t) => {
      const heap = heapOn(backend);
      const obj = heap.getAllocator('obj');
      const raw = heap.getAllocator('raw');
      const arenas = heap.getArenaAllocator();
      heap.close();
      const closed = { code: 'ERR_PYMEM_HEAP_CLOSED' };
      for (const fn of [() => heap.obj.malloc(1), () => heap.mem.free(0), () => obj.malloc(8), () => raw.free(64), () => arenas.alloc(ARENA_SIZE), () => heap.system.malloc(1)]) {
        t.throws(fn, closed);
      }
      for (const fn of [() => heap.getAllocator('mem'), () => heap.allocatorName(), () => heap.debugMallocStats(), () => heap.allocatedBlocks()]) t.throws(fn, closed);
    });

    t.test(`random operations on all three domains keep every invariant`, async (t) => {
      const heap = heapOn(backend, { maxBytes: 32 * MiB });
      const rng = new Random(7 + backend.length);
      const live: { p: number; n: number; d: 'raw' | 'mem' | 'obj'; tag: number }[] = [];
      const domains = ['raw', 'mem', 'obj'] as const;
      const sizeOf = (): number => (rng.next() < 0.9 ? rng.int(0, 512) : rng.int(513, 20_000));
      let bad = 0;
      for (let i = 1; i <= 30_000; i++) {
        const r = rng.next();
        if (live.length > 0 && r < 0.45) {
          const k = rng.int(0, live.length - 1);
          const b = live[k];
          if (b.n > 0 && heap.u8[b.p] !== b.tag) bad++;
          heap[b.d].free(b.p);
          live[k] = live[live.length - 1];
          live.pop();
        } else if (live.length > 0 && r < 0.6) {
          const b = live[rng.int(0, live.length - 1)];
          const n = sizeOf();
          const q = heap[b.d].realloc(b.p, n);
          if (q !== 0) {
            if (b.n > 0 && n > 0 && heap.u8[q] !== b.tag) bad++;
            b.p = q;
            b.n = n;
            if (n > 0) heap.u8[q] = b.tag;
          }
        } else {
          const d = domains[rng.int(0, 2)];
          const n = sizeOf();
          const p = rng.next() < 0.2 ? heap[d].calloc(n, 1) : heap[d].malloc(n);
          if (p === 0) continue;
          const tag = i & 255;
          if (n > 0) heap.u8[p] = tag;
          live.push({ p, n, d, tag });
        }
        if (i % 3000 === 0) heap.check();
      }
      t.equal(bad, 0, 'every block kept its first byte through reallocs');
      const objBlocks = live.filter((b) => b.d !== 'raw');
      t.equal(heap.allocatedBlocks(), objBlocks.length, 'allocatedBlocks counts MEM and OBJ blocks, wherever they live');
      for (const b of live) heap[b.d].free(b.p);
      heap.check();
      t.equal(heap.allocatedBlocks(), 0);
      t.equal(heap.stats().rawBlocks, 0);
    });
  });
}

t.test('PYMEM_ALLOCATOR chooses for heaps created without an allocator option', async (t) => {
  const saved = process.env.PYMEM_ALLOCATOR;
  t.teardown(() => {
    if (saved === undefined) delete process.env.PYMEM_ALLOCATOR;
    else process.env.PYMEM_ALLOCATOR = saved;
  });
  const nameWith = (value: string): string | null => {
    process.env.PYMEM_ALLOCATOR = value;
    return createHeap({ backend: 'fallback', maxBytes: 2 * MiB }).allocatorName();
  };
  t.same(['malloc', 'pymalloc', 'default', ''].map(nameWith), ['malloc', 'pymalloc', 'pymalloc', 'pymalloc'], "'default' and empty are pymalloc, as _PyMem_GetCurrentAllocatorName answers");
  process.env.PYMEM_ALLOCATOR = 'malloc';
  t.equal(createHeap({ backend: 'fallback', maxBytes: 2 * MiB, allocator: 'pymalloc' }).allocatorName(), 'pymalloc', 'the option wins');
  t.throws(() => nameWith('jemalloc'), { code: 'ERR_INVALID_ARG_VALUE', message: /PYMEM_ALLOCATOR must be one of 'default', 'pymalloc', 'malloc'/ });
  delete process.env.PYMEM_ALLOCATOR;
  t.throws(() => createHeap({ allocator: 'mimalloc' as 'malloc' }), { code: 'ERR_INVALID_ARG_VALUE', message: /option "allocator"/ });
});
