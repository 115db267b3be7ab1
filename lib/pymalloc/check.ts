/**
 * heap.check() for pymalloc: walks every invariant of its state in the region (counters, arena table,
 * unused and usable arena lists, nfp2lasta fingers, arena map, pools, free lists, usedpools), reading
 * bytes only. Throws HeapCorruptionError naming the first invariant broken. Linear in the arenas' pools
 * and free blocks; for tests and debugging.
 */
import {
  NB_SMALL_SIZE_CLASSES, POOL_SIZE, firstPool, POOL_OVERHEAD, ARENA_SIZE, ARENA_SIZE_MASK, ARENA_BITS,
  MAX_POOLS_IN_ARENA, POOL_COUNT, POOL_FREEBLOCK, POOL_NEXTPOOL, POOL_PREVPOOL, POOL_ARENAINDEX, POOL_SZIDX,
  POOL_NEXTOFFSET, POOL_MAXNEXTOFFSET, AO_ADDRESS, AO_POOL_ADDRESS, AO_NFREEPOOLS, AO_NTOTALPOOLS, AO_FREEPOOLS,
  AO_NEXTARENA, AO_PREVARENA, OBM_USABLE_ARENAS, OBM_UNUSED_ARENA_OBJECTS, OBM_MAXARENAS, OBM_NARENAS_CURRENT,
  OBM_NTIMES_ALLOCATED, OBM_NARENAS_HIGHWATER, OBM_RAW_ALLOCATED_BLOCKS, OBM_NFP2LASTA, OBM_ARENA_MAP,
  ARENA_MAP_ENTRY, ARENA_MAP_TAIL_HI, ARENA_MAP_TAIL_LO, ARENA_MAP_CARVED_LO, ARENA_MAP_CARVED_HI, ARENA_CAPACITY,
  INITIAL_ARENA_OBJECTS, AO_SIZE, OBM_ARENAS, POOL_BITS, FREED_KEY, OBM_STATE, usedpoolsHead, blockSize, stateField,
} from './layout';
import { MAX_SEGMENTS, SEGMENT_SHIFT } from '../config';
import { RAW_BLOCKS, SEG_FREE_CACHED, SEG_FREE_CLEAN } from '../raw/layout';
import { segmentKind } from '../raw/segments';
import { HeapCorruptionError, hex } from '../errors';

const W = 2;

function fail(invariant: string, detail: string): never {
  throw new HeapCorruptionError(`pymalloc.${invariant}`, detail);
}

/** An arena map entry as its fields read: tail_hi, tail_lo, carved_lo, carved_hi. */
type MapEntry = [hi: number, lo: number, carvedLo: number, carvedHi: number];

/** Whether ao is the offset of an arena object below maxarenas in the table at `table`. */
function isArenaObject(ao: number, table: number, maxarenas: number): boolean {
  return ao >= table && (ao - table) % AO_SIZE === 0 && (ao - table) / AO_SIZE < maxarenas;
}

/**
 * `segmentArenas`: the default arena allocator is in force, so every arena is a segment of its own.
 * `states`: where each pymalloc's state lies (stateField): a private heap's one, or each thread's of a
 * shared heap, which share the arena map and the raw allocator's count.
 */
export function checkPymalloc(m: Uint32Array, limit: number, segmentArenas: boolean, states: readonly number[] = [OBM_STATE]): void {
  const expectedMap = new Map<number, MapEntry>();
  const entryOf = (s: number): MapEntry => {
    let entry = expectedMap.get(s);
    if (entry === undefined) expectedMap.set(s, (entry = [0, 0, 0, 0]));
    return entry;
  };
  let rawAllocated = 0;
  for (const state of states) rawAllocated += checkState(m, limit, segmentArenas, state, entryOf);
  // Threads free each other's raw blocks, so one thread's count may wrap below 0: only the sum means anything.
  rawAllocated >>>= 0;
  if (rawAllocated > m[RAW_BLOCKS >>> W]) {
    fail('counters.raw', `${rawAllocated} raw-allocated object blocks, but only ${m[RAW_BLOCKS >>> W]} raw blocks live`);
  }
  const map = new Int32Array(m.buffer, OBM_ARENA_MAP, MAX_SEGMENTS * (ARENA_MAP_ENTRY / 4));
  const fields = [ARENA_MAP_TAIL_HI, ARENA_MAP_TAIL_LO, ARENA_MAP_CARVED_LO, ARENA_MAP_CARVED_HI];
  for (let s = 0; s < MAX_SEGMENTS; s++) {
    const expected = expectedMap.get(s) ?? [0, 0, 0, 0];
    const found = fields.map((field) => map[(s * ARENA_MAP_ENTRY + field) >>> W]);
    if (found.some((v, k) => v !== expected[k])) {
      fail('map.entry', `segment ${s} is mapped [${found.join(', ')}] (tail_hi, tail_lo, carved_lo, carved_hi), its arenas say [${expected.join(', ')}]`);
    }
  }
}

/** One pymalloc's state: everything but the shared arena map, whose entries it adds to; returns its raw count. */
function checkState(m: Uint32Array, limit: number, segmentArenas: boolean, state: number, entryOf: (s: number) => MapEntry): number {
  const at = (offset: number): number => m[offset >>> W];
  const f = (offset: number): number => stateField(state, offset);
  const table = f(OBM_ARENAS);
  const arenaObject = (i: number): number => table + i * AO_SIZE;
  const arenaIndex = (ao: number): number => (ao - table) / AO_SIZE;
  const maxarenas = at(f(OBM_MAXARENAS));
  // The table grows 16, 32, 64, ... up to its capacity, itself a multiple of 16.
  if (maxarenas % INITIAL_ARENA_OBJECTS !== 0 || maxarenas > ARENA_CAPACITY) fail('arenas.max', `maxarenas is ${maxarenas}`);

  // unused_arena_objects: exactly the slots without an arena.
  const unused = new Set<number>();
  for (let ao = at(f(OBM_UNUSED_ARENA_OBJECTS)); ao !== 0; ao = at(ao + AO_NEXTARENA)) {
    if (!isArenaObject(ao, table, maxarenas)) fail('unused.link', `${hex(ao)} is not an arena object`);
    if (unused.has(ao)) fail('unused.cycle', `arena object ${arenaIndex(ao)} appears twice`);
    if (at(ao + AO_ADDRESS) !== 0) fail('unused.address', `arena object ${arenaIndex(ao)} is unused but has an arena at ${hex(at(ao + AO_ADDRESS))}`);
    unused.add(ao);
  }

  // Live arenas, their pools and the map.
  const inUsedpools = new Set<number>();
  const usedPools = new Map<number, number>(); // pool -> size class, for pools that must be in usedpools
  let live = 0;
  for (let i = 0; i < maxarenas; i++) {
    const ao = arenaObject(i);
    const address = at(ao + AO_ADDRESS);
    if (address === 0) {
      if (!unused.has(ao)) fail('unused.missing', `arena object ${i} has no arena and is not on unused_arena_objects`);
      continue;
    }
    live++;
    if (address % 16 !== 0 || address + ARENA_SIZE > limit) fail('arena.address', `arena ${i} at ${hex(address)} is not inside the region`);
    // The default arena allocator's arenas are segments the raw allocator gave out. A free segment
    // under a live arena (heap.arenaFree of it, a wild write to the segment table) would be handed
    // out again over live blocks.
    const kind = segmentKind(m, address >>> SEGMENT_SHIFT);
    if (segmentArenas && (kind === SEG_FREE_CLEAN || kind === SEG_FREE_CACHED)) fail('arena.segment', `arena ${i} at ${hex(address)} lies on segment ${address >>> SEGMENT_SHIFT}, which the raw allocator holds as free`);
    const tail = address & ARENA_SIZE_MASK;
    const s = address >>> ARENA_BITS;
    entryOf(s)[0] = tail === 0 ? -1 : tail;
    if (tail !== 0) entryOf(s + 1)[1] = tail;
    const first = firstPool(address);
    const total = first === address ? MAX_POOLS_IN_ARENA : MAX_POOLS_IN_ARENA - 1;
    if (at(ao + AO_NTOTALPOOLS) !== total) fail('arena.ntotalpools', `arena ${i} has ntotalpools ${at(ao + AO_NTOTALPOOLS)}, expected ${total}`);
    const poolAddress = at(ao + AO_POOL_ADDRESS);
    if (poolAddress < first || poolAddress > first + total * POOL_SIZE || (poolAddress - first) % POOL_SIZE !== 0) {
      fail('arena.pool_address', `arena ${i} carves next at ${hex(poolAddress)}, outside its pools`);
    }
    const carved = (poolAddress - first) / POOL_SIZE;
    const empty = new Set<number>();
    for (let pool = at(ao + AO_FREEPOOLS); pool !== 0; pool = at(pool + POOL_NEXTPOOL)) {
      if (pool < first || pool >= poolAddress || (pool - first) % POOL_SIZE !== 0) fail('freepools.link', `arena ${i} lists ${hex(pool)}, not one of its carved pools`);
      if (empty.has(pool)) fail('freepools.cycle', `arena ${i} lists pool ${hex(pool)} twice`);
      empty.add(pool);
    }
    if (at(ao + AO_NFREEPOOLS) !== empty.size + total - carved) {
      fail('arena.nfreepools', `arena ${i} has nfreepools ${at(ao + AO_NFREEPOOLS)}, but ${empty.size} empty and ${total - carved} uncarved pools`);
    }
    for (let pool = first; pool < poolAddress; pool += POOL_SIZE) {
      checkPool(m, pool, i, empty.has(pool), usedPools);
      // Carved pools are counted in their segment's entry: carved_hi in the arena's first segment, carved_lo past it.
      const index = ((pool & ARENA_SIZE_MASK) >>> POOL_BITS) + 1;
      if (pool >>> ARENA_BITS === s) entryOf(s)[3] = index;
      else entryOf(s + 1)[2] = index;
    }
  }
  if (live !== at(f(OBM_NARENAS_CURRENT))) fail('counters.current', `${live} arenas live, narenas_currently_allocated says ${at(f(OBM_NARENAS_CURRENT))}`);
  if (at(f(OBM_NARENAS_HIGHWATER)) < live || at(f(OBM_NTIMES_ALLOCATED)) < at(f(OBM_NARENAS_HIGHWATER))) {
    fail('counters.arenas', `allocated total ${at(f(OBM_NTIMES_ALLOCATED))}, highwater ${at(f(OBM_NARENAS_HIGHWATER))}, current ${live}`);
  }

  // usedpools: each class's circular list holds exactly its pools with free blocks and blocks in use.
  for (let size = 0; size < NB_SMALL_SIZE_CLASSES; size++) {
    const head = f(usedpoolsHead(size));
    let prev = head;
    for (let pool = at(head + POOL_NEXTPOOL); pool !== head; pool = at(pool + POOL_NEXTPOOL)) {
      if (usedPools.get(pool) !== size || inUsedpools.has(pool)) fail('usedpools.member', `class ${size} lists ${hex(pool)}, not a partly used pool of that class, or twice`);
      if (at(pool + POOL_PREVPOOL) !== prev) fail('usedpools.link', `pool ${hex(pool)}'s prevpool is ${hex(at(pool + POOL_PREVPOOL))}, expected ${hex(prev)}`);
      inUsedpools.add(pool);
      prev = pool;
    }
    if (at(head + POOL_PREVPOOL) !== prev) fail('usedpools.link', `class ${size}'s list ends at ${hex(prev)} but its head's prevpool is ${hex(at(head + POOL_PREVPOOL))}`);
  }
  for (const pool of usedPools.keys()) if (!inUsedpools.has(pool)) fail('usedpools.missing', `pool ${hex(pool)} has free blocks and blocks in use but is in no usedpools list`);

  checkUsableArenas(m, maxarenas, f, table);
  return at(f(OBM_RAW_ALLOCATED_BLOCKS));
}

/** One carved pool: empty ones are on freepools; others have a consistent count, carving mark and free list. */
function checkPool(m: Uint32Array, pool: number, arena: number, isEmpty: boolean, used: Map<number, number>): void {
  const at = (offset: number): number => m[offset >>> W];
  if (at(pool + POOL_ARENAINDEX) !== arena) fail('pool.arenaindex', `pool ${hex(pool)} says arena ${at(pool + POOL_ARENAINDEX)}, it is in arena ${arena}`);
  const count = at(pool + POOL_COUNT);
  if (isEmpty !== (count === 0)) fail('pool.empty', `pool ${hex(pool)} has ${count} blocks in use ${isEmpty ? 'but is on freepools' : 'and is not on freepools'}`);
  if (count === 0) return;
  const size = at(pool + POOL_SZIDX);
  if (size >= NB_SMALL_SIZE_CLASSES) fail('pool.szidx', `pool ${hex(pool)} has size class ${size}`);
  const bs = blockSize(size);
  const nextoffset = at(pool + POOL_NEXTOFFSET);
  if (at(pool + POOL_MAXNEXTOFFSET) !== POOL_SIZE - bs || nextoffset < POOL_OVERHEAD + bs || nextoffset > POOL_SIZE || (nextoffset - POOL_OVERHEAD) % bs !== 0) {
    fail('pool.offsets', `pool ${hex(pool)} of class ${size} has nextoffset ${nextoffset}, maxnextoffset ${at(pool + POOL_MAXNEXTOFFSET)}`);
  }
  const carvedBlocks = (nextoffset - POOL_OVERHEAD) / bs;
  const seen = new Set<number>();
  for (let block = at(pool + POOL_FREEBLOCK); block !== 0; block = at(block)) {
    const offset = block - pool - POOL_OVERHEAD;
    if (offset < 0 || block + bs > pool + nextoffset || offset % bs !== 0) fail('pool.freeblock', `pool ${hex(pool)}'s free list reaches ${hex(block)}, not one of its carved blocks`);
    if (seen.has(block)) fail('pool.freecycle', `pool ${hex(pool)}'s free list reaches ${hex(block)} twice`);
    if (at(block + 4) !== FREED_KEY) fail('pool.freekey', `free block ${hex(block)} of pool ${hex(pool)} has lost its key (${hex(at(block + 4))}): written after its free?`);
    seen.add(block);
  }
  // nextoffset <= POOL_SIZE bounds the carved blocks by numBlocks(size), so the count is bounded too.
  if (count + seen.size !== carvedBlocks) fail('pool.count', `pool ${hex(pool)}: ${count} blocks in use and ${seen.size} free, but ${carvedBlocks} carved`);
  if (seen.size !== 0) used.set(pool, size);
}

/** usable_arenas: doubly linked, live arenas with free pools only, all of them, sorted by nfreepools; nfp2lasta its fingers. */
function checkUsableArenas(m: Uint32Array, maxarenas: number, f: (offset: number) => number, table: number): void {
  const at = (offset: number): number => m[offset >>> W];
  const arenaObject = (i: number): number => table + i * AO_SIZE;
  const arenaIndex = (ao: number): number => (ao - table) / AO_SIZE;
  const listed = new Set<number>();
  const rightmost = new Map<number, number>();
  let prev = 0;
  let lastNf = 0;
  for (let ao = at(f(OBM_USABLE_ARENAS)); ao !== 0; ao = at(ao + AO_NEXTARENA)) {
    if (!isArenaObject(ao, table, maxarenas) || at(ao + AO_ADDRESS) === 0) fail('usable.link', `usable_arenas reaches ${hex(ao)}, not a live arena`);
    if (listed.has(ao)) fail('usable.cycle', `arena ${arenaIndex(ao)} appears twice`);
    if (at(ao + AO_PREVARENA) !== prev) fail('usable.link', `arena ${arenaIndex(ao)}'s prevarena is ${hex(at(ao + AO_PREVARENA))}, expected ${hex(prev)}`);
    const nf = at(ao + AO_NFREEPOOLS);
    if (nf === 0 || nf < lastNf) fail('usable.order', `arena ${arenaIndex(ao)} has ${nf} free pools after one with ${lastNf}`);
    listed.add(ao);
    rightmost.set(nf, ao);
    prev = ao;
    lastNf = nf;
  }
  for (let i = 0; i < maxarenas; i++) {
    const ao = arenaObject(i);
    if (at(ao + AO_ADDRESS) !== 0 && at(ao + AO_NFREEPOOLS) !== 0 && !listed.has(ao)) fail('usable.missing', `arena ${i} has free pools but is not in usable_arenas`);
  }
  for (let nf = 0; nf <= MAX_POOLS_IN_ARENA; nf++) {
    const finger = at(f(OBM_NFP2LASTA) + nf * 4);
    if (finger !== (rightmost.get(nf) ?? 0)) fail('nfp2lasta', `nfp2lasta[${nf}] is ${hex(finger)}, the rightmost usable arena with ${nf} free pools is ${hex(rightmost.get(nf) ?? 0)}`);
  }
}
