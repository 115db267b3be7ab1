/**
 * Rebuilds the pymalloc state of a thread that ended without closing its heap: a worker that
 * worker.terminate() stopped, at whatever point of an operation V8 stopped it. heap.watch() runs it,
 * in the watching thread, once the worker has exited; the slot is then abandoned, consistent, for the
 * next thread that attaches (lib/shared/slots.ts).
 *
 * What a stopped thread leaves: every store of pymalloc is to a single aligned u32, and its free lists
 * are whole after each store (poolFree links the block before listing it, poolExtend carves before it
 * lists), so the ground truth is each carved pool's free list, its carving mark and its size class.
 * Everything derived from them is rebuilt here, as CPython would after a fork:
 *
 *   the slot    its deferred lists taken, each block pushed onto its pool's free list
 *   each pool   its count = carved blocks - free blocks;
 *               empty ones go to their arena's freepools, partly used ones to usedpools
 *   each arena  nfreepools, freepools, its arena map entry (marked live, carved pools counted)
 *   the state   usable_arenas sorted by free pools, nfp2lasta, unused_arena_objects, the arena counters
 *
 * A block taken off a free list by an operation that never returned stays in use: no thread holds it,
 * but nothing says so. A pool stopped halfway through its first use for a size class (its class, carving
 * mark and free list do not agree) held no block yet and is made empty. An arena the raw allocator had
 * handed over and the arena table did not yet record is not found (a leaked segment, 1 MiB).
 */
import {
  NB_SMALL_SIZE_CLASSES, POOL_SIZE, POOL_OVERHEAD, MAX_POOLS_IN_ARENA, POOL_COUNT, POOL_FREEBLOCK, POOL_NEXTPOOL,
  POOL_PREVPOOL, POOL_ARENAINDEX, POOL_SZIDX, POOL_NEXTOFFSET, POOL_MAXNEXTOFFSET, POOL_OWNER, POOL_SIZE_MASK,
  AO_ADDRESS, AO_POOL_ADDRESS, AO_NFREEPOOLS, AO_NTOTALPOOLS, AO_FREEPOOLS, AO_NEXTARENA, AO_PREVARENA, AO_SIZE,
  OBM_USABLE_ARENAS, OBM_UNUSED_ARENA_OBJECTS, OBM_MAXARENAS, OBM_NARENAS_CURRENT, OBM_NTIMES_ALLOCATED,
  OBM_NARENAS_HIGHWATER, OBM_NFP2LASTA, OBM_ARENAS, OBM_ARENA_MAP, ARENA_MAP_ENTRY, ARENA_MAP_TAIL_HI, ARENA_MAP_CARVED_HI,
  ARENA_BITS, DUMMY_SIZE_IDX, FREED_KEY, blockSize, usedpoolsHead, stateField,
} from '../pymalloc/layout';
import { deferredHead } from './layout';

const W = 2;
const KEY = 4;

/** Rebuilds slot `slot`'s state at `state` (see above); returns the deferred blocks it took back. */
export function repairState(m: Uint32Array, i32: Int32Array, state: number, slot: number): number {
  const f = (offset: number): number => stateField(state, offset) >>> W;
  const table = stateField(state, OBM_ARENAS);
  const maxarenas = m[f(OBM_MAXARENAS)];
  // Blocks other threads freed go onto their pools' free lists first: the counts below then leave them out.
  let taken = 0;
  for (let size = 0; size < NB_SMALL_SIZE_CLASSES; size++) taken += takeDeferred(m, i32, deferredHead(state, size));
  for (let size = 0; size < NB_SMALL_SIZE_CLASSES; size++) {
    const head = stateField(state, usedpoolsHead(size));
    m[(head + POOL_NEXTPOOL) >>> W] = head;
    m[(head + POOL_PREVPOOL) >>> W] = head;
  }
  let live = 0;
  let unused = 0;
  const usable: number[] = [];
  for (let i = maxarenas - 1; i >= 0; i--) {
    const ao = table + i * AO_SIZE;
    const address = m[(ao + AO_ADDRESS) >>> W];
    if (address === 0) {
      m[(ao + AO_NEXTARENA) >>> W] = unused;
      unused = ao;
      continue;
    }
    live++;
    // A shared heap's arenas are whole segments (it refuses arena allocators of the program's own).
    const first = address;
    const total = MAX_POOLS_IN_ARENA;
    const carvedEnd = m[(ao + AO_POOL_ADDRESS) >>> W];
    let freepools = 0;
    let nfree = total - (carvedEnd - first) / POOL_SIZE;
    for (let pool = carvedEnd - POOL_SIZE; pool >= first; pool -= POOL_SIZE) {
      m[(pool + POOL_ARENAINDEX) >>> W] = i;
      m[(pool + POOL_OWNER) >>> W] = slot;
      const count = recount(m, pool);
      m[(pool + POOL_COUNT) >>> W] = count;
      if (count === 0) {
        m[(pool + POOL_NEXTPOOL) >>> W] = freepools;
        freepools = pool;
        nfree++;
      } else if (m[(pool + POOL_FREEBLOCK) >>> W] !== 0) {
        const head = stateField(state, usedpoolsHead(m[(pool + POOL_SZIDX) >>> W]));
        const next = m[(head + POOL_NEXTPOOL) >>> W];
        m[(pool + POOL_NEXTPOOL) >>> W] = next;
        m[(pool + POOL_PREVPOOL) >>> W] = head;
        m[(next + POOL_PREVPOOL) >>> W] = pool;
        m[(head + POOL_NEXTPOOL) >>> W] = pool;
      }
    }
    m[(ao + AO_NTOTALPOOLS) >>> W] = total;
    m[(ao + AO_FREEPOOLS) >>> W] = freepools;
    m[(ao + AO_NFREEPOOLS) >>> W] = nfree;
    // The default arena allocator's arenas are whole segments: the map entry marks it, with its carved pools.
    const e = (OBM_ARENA_MAP + (address >>> ARENA_BITS) * ARENA_MAP_ENTRY) >>> W;
    i32[e + (ARENA_MAP_TAIL_HI >>> W)] = -1;
    m[e + (ARENA_MAP_CARVED_HI >>> W)] = (carvedEnd - first) / POOL_SIZE;
    if (nfree > 0) usable.push(ao);
  }
  m[f(OBM_UNUSED_ARENA_OBJECTS)] = unused;

  // usable_arenas, sorted by free pools (the sort is stable: ties stay in table order), and its fingers.
  usable.sort((a, b) => m[(a + AO_NFREEPOOLS) >>> W] - m[(b + AO_NFREEPOOLS) >>> W] || a - b);
  for (let nf = 0; nf <= MAX_POOLS_IN_ARENA; nf++) m[f(OBM_NFP2LASTA) + nf] = 0;
  let prev = 0;
  for (const ao of usable) {
    m[(ao + AO_PREVARENA) >>> W] = prev;
    prev = ao;
  }
  // The next links from the right, where the rightmost arena with each count is met first.
  let next = 0;
  for (let k = usable.length - 1; k >= 0; k--) {
    const ao = usable[k];
    m[(ao + AO_NEXTARENA) >>> W] = next;
    const nf = m[(ao + AO_NFREEPOOLS) >>> W];
    if (m[f(OBM_NFP2LASTA) + nf] === 0) m[f(OBM_NFP2LASTA) + nf] = ao;
    next = ao;
  }
  m[f(OBM_USABLE_ARENAS)] = next;
  // newArena() counts an arena before it records its address, so these can only have been ahead.
  m[f(OBM_NARENAS_CURRENT)] = live;
  m[f(OBM_NARENAS_HIGHWATER)] = Math.max(m[f(OBM_NARENAS_HIGHWATER)], live);
  m[f(OBM_NTIMES_ALLOCATED)] = Math.max(m[f(OBM_NTIMES_ALLOCATED)], m[f(OBM_NARENAS_HIGHWATER)]);
  return taken;
}

/** Whether the pool's class, carving mark and limit agree: it has been set up for a size class. */
function setUp(m: Uint32Array, pool: number): boolean {
  const size = m[(pool + POOL_SZIDX) >>> W];
  if (size >= NB_SMALL_SIZE_CLASSES) return false;
  const bs = blockSize(size);
  const nextoffset = m[(pool + POOL_NEXTOFFSET) >>> W];
  return m[(pool + POOL_MAXNEXTOFFSET) >>> W] === POOL_SIZE - bs && nextoffset >= POOL_OVERHEAD + bs && nextoffset <= POOL_SIZE && (nextoffset - POOL_OVERHEAD) % bs === 0;
}

/**
 * A deferred list, taken whole, each block pushed onto its pool's free list; how many blocks it held.
 * (A pool not set up for a class can have none: no block of it was ever handed out. recount() makes such
 * a pool fresh anyway.)
 */
function takeDeferred(m: Uint32Array, i32: Int32Array, head: number): number {
  let b = Atomics.exchange(i32, head >>> W, 0) >>> 0;
  let n = 0;
  while (b !== 0 && n < m.length) {
    const next = m[b >>> W];
    const pool = (b & ~POOL_SIZE_MASK) >>> 0;
    m[b >>> W] = m[(pool + POOL_FREEBLOCK) >>> W];
    m[(b + KEY) >>> W] = FREED_KEY;
    m[(pool + POOL_FREEBLOCK) >>> W] = b;
    n++;
    b = next;
  }
  return n;
}

/**
 * Blocks in use in the pool: carved blocks less those on its free list. A pool not set up for a class
 * is made empty and fresh; a free list that leaves the pool's carved blocks (not something a stopped
 * thread leaves) is cut where it does, for heap.check() to report the count it then finds.
 */
function recount(m: Uint32Array, pool: number): number {
  if (!setUp(m, pool)) {
    m[(pool + POOL_SZIDX) >>> W] = DUMMY_SIZE_IDX;
    return 0;
  }
  const bs = blockSize(m[(pool + POOL_SZIDX) >>> W]);
  const nextoffset = m[(pool + POOL_NEXTOFFSET) >>> W];
  const carved = (nextoffset - POOL_OVERHEAD) / bs;
  let free = 0;
  let link = pool + POOL_FREEBLOCK;
  for (let b = m[link >>> W]; b !== 0; b = m[b >>> W]) {
    const offset = b - pool - POOL_OVERHEAD;
    if (offset < 0 || offset % bs !== 0 || b + bs > pool + nextoffset || free >= carved) {
      m[link >>> W] = 0;
      break;
    }
    free++;
    link = b;
  }
  return carved - free;
}
