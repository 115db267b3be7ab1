/**
 * One thread's pymalloc in a shared heap: CPython's allocator (lib/pymalloc/obmalloc.ts) over the thread's
 * own state block and arenas, so that its hot paths take no lock and no atomic, as a private heap's do;
 * what it adds is for blocks that cross threads, after mimalloc's thread-free lists (mimalloc/src/free.c,
 * the design CPython 3.13's free-threaded build took):
 *
 *   free of a block of this thread's pool       the private path (poolFree), plain stores
 *   free of a block of another thread's pool    pushed onto that thread's deferred list of the block's
 *                                               size class with one compare-exchange (deferFree)
 *   no used pool left for a size class          the slow path first takes that class's deferred list
 *                                               back with one exchange, and frees its blocks as its own
 *
 * A pool's count still counts the blocks on a deferred list: they leave it when the owner frees them, so
 * a pool never empties (and moves to its arena's freepools) while another thread holds a block of it
 * for a push. The lists are per owner and class, not per pool: a full pool is in no list the owner walks,
 * and a pool header's cache line is the owner's alone (its count and free list change on every malloc).
 * Pushes and whole-list takes are ABA-free: nothing ever pops a single block off a list. Raw blocks (0 or
 * > 512 bytes) need none of this: any thread frees them under the raw lock.
 *
 * Costs beside a private heap: a free compares the pool's owner with this slot (one load); a foreign free
 * costs the owner's state block from the slot table and a compare-exchange; the slow path one atomic load.
 */
import { POOL_SIZE_MASK, POOL_OWNER, POOL_SZIDX, POOL_NEXTPOOL, FREED_KEY, PTR_DOUBLE_FREE, NB_SMALL_SIZE_CLASSES } from '../pymalloc/layout';
import { Pymalloc, type ArenaAllocator, type OwnRequestMark, type RawCalls } from '../pymalloc/obmalloc';
import { slotState, deferredHead } from './layout';

const W = 2;
/** A free block's second word holds FREED_KEY (lib/pymalloc/obmalloc.ts). */
const KEY = 4;

/**
 * Pushes block p of size class `size` onto the deferred list of the thread whose state block is at
 * `state`. The block is marked free first (its key), so that a second free of it is caught (refuse,
 * onDeferredList) wherever it comes from.
 */
export function deferFree(m: Uint32Array, i32: Int32Array, state: number, size: number, p: number): void {
  m[(p + KEY) >>> W] = FREED_KEY;
  const list = deferredHead(state, size) >>> W;
  let head: number;
  do {
    head = Atomics.load(i32, list);
    m[p >>> W] = head;
  } while (Atomics.compareExchange(i32, list, head, p | 0) !== head);
}

/** Blocks on every deferred list of the state block at `state`: walked, for figures and checks. */
export function deferredCount(m: Uint32Array, i32: Int32Array, state: number): number {
  let n = 0;
  for (let size = 0; size < NB_SMALL_SIZE_CLASSES; size++) {
    for (let b = Atomics.load(i32, deferredHead(state, size) >>> W) >>> 0; b !== 0 && n < m.length; b = m[b >>> W]) n++;
  }
  return n;
}

export class SharedPymalloc extends Pymalloc {
  constructor(
    buffer: ArrayBuffer,
    raw: RawCalls,
    arenas: ArenaAllocator,
    own: OwnRequestMark,
    /** The thread's slot (lib/shared/layout.ts): what its pools' POOL_OWNER says. */
    readonly slot: number,
    /** The slot's state block (stateField); `adopt` runs over the state there, else it is initialised. */
    private readonly state: number,
    adopt: boolean,
  ) {
    super(buffer, raw, arenas, own, null, adopt, state);
  }

  /** This thread's usedpools, in its state block (the base class's is the private heap's constant). */
  protected override usedpoolsOrigin(): number {
    return this.usedpools;
  }

  /** A block of this thread's pool is freed as a private heap frees it; another's is deferred to its owner. */
  protected override poolFree(p: number): void {
    const m = this.m;
    const pool = (p & ~POOL_SIZE_MASK) >>> 0;
    const owner = m[(pool + POOL_OWNER) >>> W];
    if (owner === this.slot) super.poolFree(p);
    else deferFree(m, this.i32, slotState(m, owner), m[(pool + POOL_SZIDX) >>> W], p);
  }

  /** The private checks, and a block waiting on its owner's deferred list is freed already. */
  protected override refuse(p: number): number {
    const status = super.refuse(p);
    if (status !== 0 || this.m[(p + KEY) >>> W] !== FREED_KEY) return status;
    return onDeferredList(this.m, this.i32, p) ? PTR_DOUBLE_FREE : 0;
  }

  /**
   * The slow path: the blocks of the class other threads freed come back first, and may give it a used
   * pool again; otherwise a new pool, stamped with this slot as its owner (no block of it is out yet, so
   * no other thread reads the stamp before it is there).
   */
  protected override allocateFromNewPool(size: number): number {
    const list = deferredHead(this.state, size) >>> W;
    if (Atomics.load(this.i32, list) !== 0) {
      this.freeList(Atomics.exchange(this.i32, list, 0) >>> 0);
      const head = this.usedpools + (size << 3);
      if (this.m[(head + POOL_NEXTPOOL) >>> W] !== head) return this.poolAlloc(size);
    }
    const bp = super.allocateFromNewPool(size);
    if (bp !== 0) this.m[((((bp & ~POOL_SIZE_MASK) >>> 0) + POOL_OWNER) >>> W)] = this.slot;
    return bp;
  }

  /** Takes back every block other threads freed into this thread's pools (close() does, before it leaves). */
  collectDeferred(): void {
    for (let size = 0; size < NB_SMALL_SIZE_CLASSES; size++) this.freeList(Atomics.exchange(this.i32, deferredHead(this.state, size) >>> W, 0) >>> 0);
  }

  /** Frees each block of a taken deferred list into its pool, as the pool's owner. */
  private freeList(block: number): void {
    const m = this.m;
    for (let b = block, n = 0; b !== 0 && n < m.length; n++) {
      const next = m[b >>> W];
      super.poolFree(b);
      b = next;
    }
  }
}

/**
 * Whether p is on its pool owner's deferred list of its class: a walk of that list. The list only grows
 * at its head or is taken whole, so a walk racing a push or a take reads links that stay valid. Only a
 * free of a block whose key is set pays for it: a double free, or data that holds the key by chance.
 */
export function onDeferredList(m: Uint32Array, i32: Int32Array, p: number): boolean {
  const pool = (p & ~POOL_SIZE_MASK) >>> 0;
  const state = slotState(m, m[(pool + POOL_OWNER) >>> W]);
  let b = Atomics.load(i32, deferredHead(state, m[(pool + POOL_SZIDX) >>> W]) >>> W) >>> 0;
  for (let i = 0; b !== 0 && i < m.length; i++) {
    if (b === p) return true;
    b = m[b >>> W];
  }
  return false;
}
