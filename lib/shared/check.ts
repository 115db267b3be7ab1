/**
 * heap.check()'s part for what a shared heap adds to pymalloc (lib/pymalloc/check.ts checks each
 * thread's state as a private heap's): every carved pool in use names its slot as its owner, and each
 * thread's deferred lists hold carved blocks of its own pools, of the list's size class, on no free list,
 * each once. Reads only, and reads other threads' pools: it needs them to be still (heap.check() says how).
 */
import {
  POOL_SIZE, POOL_SIZE_MASK, POOL_OVERHEAD, POOL_OWNER, POOL_FREEBLOCK, POOL_SZIDX, POOL_NEXTOFFSET, POOL_COUNT, AO_ADDRESS,
  AO_POOL_ADDRESS, AO_SIZE, OBM_ARENAS, NB_SMALL_SIZE_CLASSES, blockSize, stateField, liveArenas,
} from '../pymalloc/layout';
import { HeapCorruptionError, hex } from '../errors';
import { SLOT_COUNT, slotState, deferredHead } from './layout';

const W = 2;

function fail(invariant: string, detail: string): never {
  throw new HeapCorruptionError(`shared.${invariant}`, detail);
}

export function checkShared(m: Uint32Array): void {
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    const state = slotState(m, slot);
    if (state === 0) continue;
    for (const ao of liveArenas(m, [state])) {
      for (let pool = m[(ao + AO_ADDRESS) >>> W]; pool < m[(ao + AO_POOL_ADDRESS) >>> W]; pool += POOL_SIZE) {
        if (m[(pool + POOL_COUNT) >>> W] !== 0 && m[(pool + POOL_OWNER) >>> W] !== slot) {
          fail('pool.owner', `pool ${hex(pool)} of slot ${slot}'s arena ${(ao - stateField(state, OBM_ARENAS)) / AO_SIZE} says its owner is slot ${m[(pool + POOL_OWNER) >>> W]}`);
        }
      }
    }
    for (let size = 0; size < NB_SMALL_SIZE_CLASSES; size++) checkDeferred(m, slot, size, m[deferredHead(state, size) >>> W]);
  }
}

/** One deferred list: blocks of the slot's pools in use, of class `size`, carved, free nowhere else, each once. */
function checkDeferred(m: Uint32Array, slot: number, size: number, head: number): void {
  const seen = new Set<number>();
  const free = new Map<number, Set<number>>();
  const freeOf = (pool: number): Set<number> => {
    let blocks = free.get(pool);
    if (blocks === undefined) {
      blocks = new Set<number>();
      for (let b = m[(pool + POOL_FREEBLOCK) >>> W]; b !== 0 && !blocks.has(b); b = m[b >>> W]) blocks.add(b);
      free.set(pool, blocks);
    }
    return blocks;
  };
  const bs = blockSize(size);
  for (let b = head; b !== 0; b = m[b >>> W]) {
    const pool = (b & ~POOL_SIZE_MASK) >>> 0;
    const offset = b - pool - POOL_OVERHEAD;
    if (m[(pool + POOL_OWNER) >>> W] !== slot || m[(pool + POOL_COUNT) >>> W] === 0 || m[(pool + POOL_SZIDX) >>> W] !== size || offset < 0 || offset % bs !== 0 || b + bs > pool + m[(pool + POOL_NEXTOFFSET) >>> W]) {
      fail('deferred.block', `slot ${slot}'s deferred list of class ${size} reaches ${hex(b)}, not a carved block of one of its pools in use of that class`);
    }
    if (seen.has(b) || freeOf(pool).has(b)) fail('deferred.twice', `block ${hex(b)} is freed twice (slot ${slot}'s deferred list of class ${size}${seen.has(b) ? ', twice' : ' and its pool\'s free list'})`);
    seen.add(b);
  }
}
