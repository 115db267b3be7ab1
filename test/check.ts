// heap.check(): each invariant, broken on purpose in an otherwise healthy heap, is found and named.
import t from 'tap';
import { BACKENDS, heapOn } from './helpers/backends';
import { HeapCorruptionError, SEGMENT_SIZE, type Heap } from '../lib/index';
import {
  HDR_MAGIC, HDR_VERSION, HDR_SEGMENT_COUNT, HDR_SEGMENT_SHIFT, HDR_HUGE_THRESHOLD, HDR_CACHE_MAX, KIND_COUNTS, SEG_CACHE_MAP,
  CACHE_COUNT, EMPTY_POOL, RAW_BLOCKS, RAW_BYTES, TLSF_FL_BITMAP, TLSF_SL_BITMAPS, TLSF_HEADS, SEG_TABLE,
  SEG_ENTRY_SIZE, SEG_KIND, SEG_VALUE, SEG_FREE_MAP, SEG_ARENA, SEG_FREE_CLEAN, SEG_FREE_CACHED, BLK_SIZE,
  BLK_PREV, BLK_REQUESTED, BLK_PREV_FREE, BLK_NEXT_FREE, BLOCK_FREE_BIT, POOL_SENTINEL, POOL_LIVE_MAP, QUICK_BINS,
} from '../lib/raw/layout';
import { listIndex } from '../lib/raw/tlsf';

const MiB = 1 << 20;

interface Scene {
  heap: Heap;
  /** Pool blocks in use around one freed block: a, [b freed], c, d; q, freed into its quick bin. */
  a: number;
  b: number;
  c: number;
  q: number;
  /** A large block of three segments and an arena. */
  huge: number;
  arena: number;
}

function scene(backend: 'native' | 'fallback'): Scene {
  const heap = heapOn(backend);
  const a = heap.raw.malloc(100);
  const b = heap.raw.malloc(4200); // past the quick bins' sizes: its free goes to TLSF
  const c = heap.raw.malloc(300);
  heap.raw.malloc(5000);
  const q = heap.raw.malloc(150);
  heap.raw.malloc(150);
  heap.raw.free(b);
  heap.raw.free(q);
  const huge = heap.raw.malloc(3 * MiB);
  heap.raw.free(heap.raw.malloc(2 * MiB)); // two cached segments
  const arena = heap.arenaAlloc();
  heap.check();
  return { heap, a, b, c, q, huge, arena };
}

const u32 = (heap: Heap, offset: number): { get: () => number; set: (v: number) => void } => ({
  get: () => heap.u32[offset >>> 2],
  set: (v) => {
    heap.u32[offset >>> 2] = v;
  },
});
const entry = (s: number, field: number): number => SEG_TABLE + s * SEG_ENTRY_SIZE + field;
const segmentOf = (p: number): number => Math.floor(p / SEGMENT_SIZE);
const toggleLive = (heap: Heap, p: number): void => {
  const base = p - (p % SEGMENT_SIZE);
  const g = (p - base) >>> 4;
  heap.u32[((base + POOL_LIVE_MAP) >>> 2) + (g >>> 5)] ^= 1 << (g & 31);
};
const clearLive = toggleLive;
/** The offset of the quick bin that the block of payload p belongs to, by its size word. */
const quickBin = (heap: Heap, p: number): number => QUICK_BINS + ((heap.u32[(p - 16 + BLK_SIZE) >>> 2] - 32) >>> 4) * 4;
/** Moves the free block b from its own list to `list`, bitmaps kept consistent with the heads. */
const moveToList = (heap: Heap, b: number, list: number): void => {
  const h = b - 16;
  const own = listIndex(heap.u32[(h + BLK_SIZE) >>> 2] & ~15);
  heap.u32[(TLSF_HEADS >>> 2) + own] = heap.u32[(h + BLK_NEXT_FREE) >>> 2];
  heap.u32[(TLSF_SL_BITMAPS >>> 2) + (own >>> 5)] &= ~(1 << (own & 31));
  if (list >= 0) {
    heap.u32[(TLSF_HEADS >>> 2) + list] = h;
    heap.u32[(TLSF_SL_BITMAPS >>> 2) + (list >>> 5)] |= 1 << (list & 31);
  }
  let fl = 0;
  for (let row = 0; row < 12; row++) if (heap.u32[(TLSF_SL_BITMAPS >>> 2) + row] !== 0) fl |= 1 << row;
  heap.u32[TLSF_FL_BITMAP >>> 2] = fl;
};

const corruptions: [invariant: string, what: string, corrupt: (s: Scene) => void][] = [
  ['null.guard', 'a struct written through a NULL pointer', ({ heap }) => heap.dv.setFloat64(8, 1.5, true)],
  ['header.magic', 'the magic number is overwritten', ({ heap }) => u32(heap, HDR_MAGIC).set(0)],
  ['header.version', 'an unknown layout version', ({ heap }) => u32(heap, HDR_VERSION).set(99)],
  ['header.segmentCount', 'the segment count disagrees with the region', ({ heap }) => u32(heap, HDR_SEGMENT_COUNT).set(17)],
  ['header.segmentShift', 'another segment size', ({ heap }) => u32(heap, HDR_SEGMENT_SHIFT).set(21)],
  ['header.hugeThreshold', 'another huge threshold', ({ heap }) => u32(heap, HDR_HUGE_THRESHOLD).set(4096)],
  ['header.cacheMax', 'another cache size', ({ heap }) => u32(heap, HDR_CACHE_MAX).set(2)],
  ['segment.kind', 'a segment of an unknown kind', ({ heap }) => u32(heap, entry(15, SEG_KIND)).set(9)],
  ['segment.freeMap', 'a segment in use marked free', ({ heap, arena }) => {
    const s = segmentOf(arena);
    heap.u32[(SEG_FREE_MAP >>> 2) + (s >>> 5)] |= 1 << (s & 31);
  }],
  ['segment.meta', 'segment 0 no longer the metadata', ({ heap }) => u32(heap, entry(0, SEG_KIND)).set(SEG_ARENA)],
  ['segment.hugeRun', 'a large block continued from the wrong head', ({ heap, huge }) => u32(heap, entry(segmentOf(huge) + 1, SEG_VALUE)).set(1)],
  ['segment.hugeRun', 'a large block running past the region', ({ heap, huge }) => u32(heap, entry(segmentOf(huge), SEG_VALUE)).set(15 * MiB)],
  ['segment.hugeRun', 'a continuation with no large block before it', ({ heap, huge }) => {
    u32(heap, entry(segmentOf(huge), SEG_KIND)).set(SEG_ARENA);
    u32(heap, entry(segmentOf(huge), SEG_VALUE)).set(0);
  }],
  ['segment.hugeSize', 'a large block too small to be one', ({ heap, huge }) => u32(heap, entry(segmentOf(huge), SEG_VALUE)).set(100)],
  ['segment.value', 'an arena with a value', ({ heap, arena }) => u32(heap, entry(segmentOf(arena), SEG_VALUE)).set(5)],
  ['segment.kindCounts', 'the arena count off by one', ({ heap }) => u32(heap, KIND_COUNTS + SEG_ARENA * 4).set(2)],
  ['segment.cache', 'the cache map marking a segment in use', ({ heap, arena }) => {
    const s = segmentOf(arena);
    heap.u32[(SEG_CACHE_MAP >>> 2) + (s >>> 5)] |= 1 << (s & 31);
  }],
  ['segment.cache', 'more cached segments than the region keeps', ({ heap }) => u32(heap, CACHE_COUNT).set(5)],
  ['segment.cache', 'a cache count the map disagrees with', ({ heap }) => u32(heap, CACHE_COUNT).set(3)],
  ['segment.cache', 'a cache-map bit beyond the region', ({ heap }) => u32(heap, SEG_CACHE_MAP + 12).set(1)],
  ['segment.cache', 'a cached segment missing from the cache', ({ heap }) => {
    u32(heap, entry(15, SEG_KIND)).set(SEG_FREE_CACHED);
    u32(heap, KIND_COUNTS + SEG_FREE_CLEAN * 4).set(u32(heap, KIND_COUNTS + SEG_FREE_CLEAN * 4).get() - 1);
    u32(heap, KIND_COUNTS + SEG_FREE_CACHED * 4).set(u32(heap, KIND_COUNTS + SEG_FREE_CACHED * 4).get() + 1);
  }],
  ['segment.freeMap', 'a segment beyond the region marked free', ({ heap }) => u32(heap, SEG_FREE_MAP).set(u32(heap, SEG_FREE_MAP).get() | (1 << 20))],
  ['pool.blockSize', 'a block smaller than any block', ({ heap, a }) => u32(heap, a - 16 + BLK_SIZE).set(16)],
  ['pool.prevLink', 'a broken back link', ({ heap, c }) => u32(heap, c - 16 + BLK_PREV).set(0)],
  ['pool.coalesced', 'two free blocks side by side', ({ heap, c }) => {
    u32(heap, c - 16 + BLK_SIZE).set(u32(heap, c - 16 + BLK_SIZE).get() | BLOCK_FREE_BIT);
    clearLive(heap, c);
  }],
  ['pool.liveMap', 'a block in use not marked live', ({ heap, a }) => clearLive(heap, a)],
  ['pool.liveMap', 'a free block marked live', ({ heap, b }) => toggleLive(heap, b)],
  ['pool.liveMap', 'a live bit where no block starts', ({ heap, a }) => toggleLive(heap, a + 32)],
  ['pool.emptyPool', 'a wholly free pool that is not the kept one', ({ heap }) => {
    const blocks = [1, 2, 3, 4].map(() => heap.raw.malloc(256 * 1024)); // the fourth needs a second pool
    heap.raw.free(blocks[3]); // which, wholly free, is kept
    u32(heap, EMPTY_POOL).set(0);
  }],
  ['block.reserved', 'a write just below a payload', ({ heap, a }) => u32(heap, a - 4).set(0xdead)],
  ['block.requested', 'a request larger than its block', ({ heap, a }) => u32(heap, a - 16 + BLK_REQUESTED).set(100000)],
  ['pool.sentinel', 'the pool sentinel overwritten', ({ heap, a }) => u32(heap, a - (a % SEGMENT_SIZE) + POOL_SENTINEL + BLK_SIZE).set(48)],
  ['pool.emptyPool', 'an arena kept as the empty pool', ({ heap, arena }) => u32(heap, EMPTY_POOL).set(segmentOf(arena))],
  ['tlsf.bitmap', 'a first-level bit beyond the last row', ({ heap }) => u32(heap, TLSF_FL_BITMAP).set(u32(heap, TLSF_FL_BITMAP).get() | (1 << 20))],
  ['tlsf.bitmap', 'a second-level bit for an empty list', ({ heap, b }) => {
    const own = listIndex(heap.u32[(b - 16 + BLK_SIZE) >>> 2] & ~15);
    heap.u32[(TLSF_SL_BITMAPS >>> 2) + (own >>> 5)] |= 1 << ((own + 1) & 31);
  }],
  ['tlsf.list', 'a block in use on a free list', ({ heap, a, b }) => u32(heap, b - 16 + BLK_NEXT_FREE).set(a - 16)],
  ['tlsf.list', 'a free block on another size\'s list', ({ heap, b }) => moveToList(heap, b, 100)],
  ['tlsf.list', 'a free block on no list', ({ heap, b }) => moveToList(heap, b, -1)],
  ['tlsf.bitmap', 'a first-level bit for an empty row', ({ heap }) => u32(heap, TLSF_FL_BITMAP).set(u32(heap, TLSF_FL_BITMAP).get() ^ (1 << 11))],
  ['tlsf.list', 'a free block with a wrong back link', ({ heap, b }) => u32(heap, b - 16 + BLK_PREV_FREE).set(0x12340)],
  ['quick.count', 'a quick bin counting more than its depth', ({ heap, q }) => u32(heap, quickBin(heap, q)).set(q - 16 + 8)],
  ['quick.count', "a quick bin's chain longer than its count", ({ heap, a, q }) => u32(heap, q - 16 + BLK_REQUESTED).set(a - 16)],
  ['quick.block', 'a quick bin holding a live block of another size', ({ heap, a, q }) => u32(heap, quickBin(heap, q)).set(a - 16 + 1)],
  ['quick.block', 'a quick bin holding an arena', ({ heap, arena, q }) => u32(heap, quickBin(heap, q)).set(arena + 1)],
  ['quick.block', 'a block kept in a quick bin marked live', ({ heap, q }) => toggleLive(heap, q)],
  ['block.reserved', 'a write just below a block kept in a quick bin', ({ heap, q }) => u32(heap, q - 4).set(1)],
  ['pool.liveMap', 'a block in use but neither live nor kept', ({ heap, q }) => u32(heap, quickBin(heap, q)).set(0)],
  ['counters.rawBlocks', 'the block counter off by one', ({ heap }) => u32(heap, RAW_BLOCKS).set(u32(heap, RAW_BLOCKS).get() + 1)],
  ['counters.rawBytes', 'the byte counter off by one', ({ heap }) => u32(heap, RAW_BYTES).set(u32(heap, RAW_BYTES).get() + 1)],
];

for (const backend of BACKENDS) {
  t.test(`heap.check() on ${backend}`, async (t) => {
    for (const [invariant, what, corrupt] of corruptions) {
      const s = scene(backend);
      corrupt(s);
      const error = t.throws(() => s.heap.check(), { name: 'HeapCorruptionError', code: 'ERR_PYMEM_HEAP_CORRUPTION', invariant }, `${what}: ${invariant}`);
      t.ok(error instanceof HeapCorruptionError);
      t.match((error as Error).message, new RegExp(`^heap check failed: ${invariant.replace('.', '\\.')}: \\S`));
      s.heap.close();
    }
  });
}
