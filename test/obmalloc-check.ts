// heap.check() for pymalloc: each invariant, broken on purpose in an otherwise healthy heap, is found and named.
import t from 'tap';
import { BACKENDS, heapOn } from './helpers/backends';
import type { Heap } from '../lib/index';
import {
  POOL_SIZE, POOL_COUNT, POOL_FREEBLOCK, POOL_NEXTPOOL, POOL_PREVPOOL, POOL_ARENAINDEX, POOL_SZIDX, POOL_NEXTOFFSET,
  AO_ADDRESS, AO_POOL_ADDRESS, AO_NFREEPOOLS, AO_NTOTALPOOLS, AO_FREEPOOLS, AO_NEXTARENA, AO_PREVARENA,
  OBM_USABLE_ARENAS, OBM_UNUSED_ARENA_OBJECTS, OBM_MAXARENAS, OBM_NARENAS_CURRENT, OBM_NARENAS_HIGHWATER,
  OBM_RAW_ALLOCATED_BLOCKS, OBM_NFP2LASTA, OBM_ARENA_MAP, ARENA_MAP_ENTRY, ARENA_MAP_TAIL_HI, ARENA_MAP_CARVED_HI, ARENA_BITS,
  usedpoolsHead, arenaObject, numBlocks,
} from '../lib/pymalloc/layout';

/**
 * Arena 0 full of 512-byte blocks; arena 1 with a pool of three 16-byte blocks (pool0), an empty pool
 * (pool1) and a pool of one 112-byte block; one block of the object allocator in the raw allocator.
 */
function scene(backend: 'native' | 'fallback'): { heap: Heap; pool0: number; pool1: number; arena1: number } {
  const heap = heapOn(backend);
  for (let i = 0; i < 64 * numBlocks(31); i++) heap.obj.malloc(512);
  const a = [heap.obj.malloc(16), heap.obj.malloc(16), heap.obj.malloc(16)];
  const e = heap.obj.malloc(500);
  heap.obj.malloc(100);
  heap.obj.free(e);
  heap.obj.malloc(1000);
  heap.check();
  return { heap, pool0: a[0] - (a[0] % POOL_SIZE), pool1: e - (e % POOL_SIZE), arena1: a[0] - (a[0] % (1 << ARENA_BITS)) };
}

type Scene = ReturnType<typeof scene>;
const ao0 = arenaObject(0);
const ao1 = arenaObject(1);
const CASES: [invariant: string, what: string, corrupt: (s: Scene, set: (offset: number, value: number) => void) => void][] = [
  ['arenas.max', 'maxarenas not a multiple of 16', (_, set) => set(OBM_MAXARENAS, 17)],
  ['arenas.max', 'maxarenas beyond the table', (_, set) => set(OBM_MAXARENAS, 4112)],
  ['unused.link', 'unused list to a non-object', (_, set) => set(OBM_UNUSED_ARENA_OBJECTS, 0x12345)],
  ['unused.cycle', 'unused list loops', (_, set) => set(arenaObject(3) + AO_NEXTARENA, arenaObject(2))],
  ['unused.address', 'an unused object with an arena', (_, set) => set(arenaObject(2) + AO_ADDRESS, 0x500000)],
  ['unused.missing', 'an arena-less object off the list', (_, set) => set(OBM_UNUSED_ARENA_OBJECTS, arenaObject(3))],
  ['arena.address', 'arena not 16-aligned', (s, set) => set(ao1 + AO_ADDRESS, s.arena1 + 8)],
  ['arena.ntotalpools', 'ntotalpools', (_, set) => set(ao1 + AO_NTOTALPOOLS, 63)],
  ['arena.pool_address', 'carving mark off a pool', (s, set) => set(ao1 + AO_POOL_ADDRESS, s.arena1 + 100)],
  ['freepools.link', 'freepools to a non-pool', (_, set) => set(ao1 + AO_FREEPOOLS, 0x12340)],
  ['freepools.cycle', 'freepools loops', (s, set) => set(s.pool1 + POOL_NEXTPOOL, s.pool1)],
  ['arena.nfreepools', 'nfreepools', (_, set) => set(ao1 + AO_NFREEPOOLS, 5)],
  ['counters.current', 'narenas_currently_allocated', (_, set) => set(OBM_NARENAS_CURRENT, 3)],
  ['counters.arenas', 'highwater below current', (_, set) => set(OBM_NARENAS_HIGHWATER, 1)],
  ['counters.raw', 'raw_allocated_blocks', (_, set) => set(OBM_RAW_ALLOCATED_BLOCKS, 99)],
  ['map.entry', 'arena map entry', (s, set) => set(OBM_ARENA_MAP + (s.arena1 >>> ARENA_BITS) * ARENA_MAP_ENTRY + ARENA_MAP_TAIL_HI, 5)],
  ['map.entry', "arena map entry's count of carved pools", (s, set) => set(OBM_ARENA_MAP + (s.arena1 >>> ARENA_BITS) * ARENA_MAP_ENTRY + ARENA_MAP_CARVED_HI, 64)],
  ['usedpools.member', 'a pool in the wrong class list', (s, set) => {
    set(usedpoolsHead(5) + POOL_NEXTPOOL, s.pool0);
  }],
  ['usedpools.link', "a pool's prevpool", (s, set) => set(s.pool0 + POOL_PREVPOOL, 0x4440)],
  ['usedpools.link', "a list head's prevpool", (_, set) => set(usedpoolsHead(0) + POOL_PREVPOOL, 0x4440)],
  ['usedpools.missing', 'a partly used pool off its list', (_, set) => {
    set(usedpoolsHead(0) + POOL_NEXTPOOL, usedpoolsHead(0));
    set(usedpoolsHead(0) + POOL_PREVPOOL, usedpoolsHead(0));
  }],
  ['pool.arenaindex', 'arenaindex', (s, set) => set(s.pool0 + POOL_ARENAINDEX, 0)],
  ['pool.empty', 'an empty pool with a count', (s, set) => set(s.pool1 + POOL_COUNT, 1)],
  ['pool.empty', 'a pool without blocks in use off freepools', (s, set) => set(s.pool0 + POOL_COUNT, 0)],
  ['pool.szidx', 'szidx', (s, set) => set(s.pool0 + POOL_SZIDX, 40)],
  ['pool.offsets', 'nextoffset', (s, set) => set(s.pool0 + POOL_NEXTOFFSET, 7)],
  ['pool.freeblock', 'free list off the blocks', (s, set) => set(s.pool0 + POOL_FREEBLOCK, s.pool0 + 8)],
  ['pool.freecycle', 'free list loops', (s, set) => set(s.pool0 + 48 + 3 * 16, s.pool0 + 48 + 3 * 16)],
  ['pool.count', 'count against the free list', (s, set) => set(s.pool0 + POOL_COUNT, 2)],
  ['usable.link', 'usable_arenas to a non-arena', (_, set) => set(OBM_USABLE_ARENAS, 0x999)],
  ['usable.link', "an arena's prevarena", (_, set) => set(ao1 + AO_PREVARENA, ao0)],
  ['usable.cycle', 'usable_arenas loops', (_, set) => {
    set(ao1 + AO_NEXTARENA, ao1);
    set(ao1 + AO_PREVARENA, 0);
  }],
  ['usable.order', 'a full arena after one with free pools', (_, set) => {
    set(ao1 + AO_NEXTARENA, ao0);
    set(ao0 + AO_PREVARENA, ao1);
  }],
  ['usable.missing', 'an arena with free pools off the list', (_, set) => set(OBM_USABLE_ARENAS, 0)],
  ['nfp2lasta', 'a finger lost', (_, set) => set(OBM_NFP2LASTA + 62 * 4, 0)],
  ['nfp2lasta', 'a finger where no arena has that count', (_, set) => set(OBM_NFP2LASTA + 5 * 4, ao1)],
];

for (const backend of BACKENDS) {
  t.test(`heap.check() finds each broken pymalloc invariant on ${backend}`, async (t) => {
    for (const [invariant, what, corrupt] of CASES) {
      const s = scene(backend);
      corrupt(s, (offset, value) => {
        s.heap.u32[offset >>> 2] = value;
      });
      t.throws(() => s.heap.check(), { name: 'HeapCorruptionError', code: 'ERR_PYMEM_HEAP_CORRUPTION', invariant: `pymalloc.${invariant}` }, what);
      s.heap.close();
    }
  });
}
