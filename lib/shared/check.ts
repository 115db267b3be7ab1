/**
 * heap.check()'s part for what a shared heap adds to pymalloc (lib/pymalloc/check.ts checks each
 * thread's state as a private heap's): every carved pool names its slot as its owner; each deferred list
 * holds carved blocks of its pool that are on no free list, each once; and the slots' pending counts add
 * up to the blocks on those lists. Reads only, and reads other threads' pools: it needs them to be still
 * (heap.check() says how).
 */
import {
  POOL_SIZE, POOL_OVERHEAD, POOL_OWNER, POOL_DEFERRED, POOL_FREEBLOCK, POOL_SZIDX, POOL_NEXTOFFSET, POOL_COUNT,
  AO_ADDRESS, AO_POOL_ADDRESS, AO_SIZE, OBM_MAXARENAS, OBM_ARENAS, firstPool, blockSize, stateField,
} from '../pymalloc/layout';
import { HeapCorruptionError, hex } from '../errors';
import { SLOT_COUNT, SLOT_PYMALLOC, slotRecord } from './layout';
import { pendingBlocks } from './slots';

const W = 2;

function fail(invariant: string, detail: string): never {
  throw new HeapCorruptionError(`shared.${invariant}`, detail);
}

export function checkShared(m: Uint32Array, i32: Int32Array): void {
  let deferred = 0;
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    const state = m[(slotRecord(slot) + SLOT_PYMALLOC) >>> W];
    if (state === 0) continue;
    const table = stateField(state, OBM_ARENAS);
    const maxarenas = m[stateField(state, OBM_MAXARENAS) >>> W];
    for (let i = 0; i < maxarenas; i++) {
      const address = m[(table + i * AO_SIZE + AO_ADDRESS) >>> W];
      if (address === 0) continue;
      for (let pool = firstPool(address); pool < m[(table + i * AO_SIZE + AO_POOL_ADDRESS) >>> W]; pool += POOL_SIZE) {
        if (m[(pool + POOL_COUNT) >>> W] === 0) {
          if (m[(pool + POOL_DEFERRED) >>> W] !== 0) fail('deferred.empty', `empty pool ${hex(pool)} has blocks on its deferred list`);
          continue;
        }
        if (m[(pool + POOL_OWNER) >>> W] !== slot) fail('pool.owner', `pool ${hex(pool)} of slot ${slot}'s arena ${i} says its owner is slot ${m[(pool + POOL_OWNER) >>> W]}`);
        deferred += checkDeferred(m, pool);
      }
    }
  }
  const pending = pendingBlocks(i32);
  if (pending !== deferred) fail('pending', `the slots count ${pending} blocks freed by other threads, the pools' deferred lists hold ${deferred}`);
}

/** One pool's deferred list: its length. */
function checkDeferred(m: Uint32Array, pool: number): number {
  const bs = blockSize(m[(pool + POOL_SZIDX) >>> W]);
  const end = pool + m[(pool + POOL_NEXTOFFSET) >>> W];
  const free = new Set<number>();
  for (let b = m[(pool + POOL_FREEBLOCK) >>> W]; b !== 0 && !free.has(b); b = m[b >>> W]) free.add(b);
  const seen = new Set<number>();
  for (let b = m[(pool + POOL_DEFERRED) >>> W]; b !== 0; b = m[b >>> W]) {
    const offset = b - pool - POOL_OVERHEAD;
    if (offset < 0 || offset % bs !== 0 || b + bs > end) fail('deferred.block', `pool ${hex(pool)}'s deferred list reaches ${hex(b)}, not one of its carved blocks`);
    if (seen.has(b) || free.has(b)) fail('deferred.twice', `block ${hex(b)} of pool ${hex(pool)} is freed twice (deferred list${free.has(b) ? ' and free list' : ', twice'})`);
    seen.add(b);
  }
  return seen.size;
}
