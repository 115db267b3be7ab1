/**
 * One thread's pymalloc in a shared heap: CPython's allocator (lib/pymalloc/obmalloc.ts) over the thread's
 * own state block and arenas, so that its hot paths take no lock and no atomic, as a private heap's do;
 * what it adds is for blocks that cross threads, after mimalloc's thread-free lists (mimalloc/src/free.c,
 * the design CPython 3.13's free-threaded build took):
 *
 *   free of a block whose pool this thread owns   the private path (poolFree), plain stores
 *   free of a block whose pool another slot owns  pushed onto the pool's deferred list with one
 *                                                 compare-exchange (deferFree); the first block pushed
 *                                                 onto an empty list also pushes the pool onto its
 *                                                 owner's stack (SLOT_DEFERRED), so the owner finds full
 *                                                 pools too, which no usedpools list holds
 *   no used pool left for a size class            the slow path first takes back the slot's stack and
 *                                                 each pool's list with one exchange each, and frees
 *                                                 those blocks as its own (collectDeferred)
 *
 * A pool's count still counts the blocks on its deferred list: they leave it when the owner frees them,
 * so a pool never empties (and moves to its arena's freepools) while another thread is pushing onto it.
 * Pushes and whole-list takes are ABA-free: nothing ever pops a single block off a deferred list or a
 * single pool off a stack. Raw blocks (0 or > 512 bytes) need none of this: any thread frees them under
 * the raw lock.
 *
 * Costs beside a private heap: a free compares the pool's owner with this slot (one load); a foreign free
 * costs two compare-exchanges and an add; the slow path one atomic load of the slot's stack.
 */
import { POOL_SIZE_MASK, POOL_OWNER, POOL_DEFERRED, POOL_DEFERRED_NEXT, FREED_KEY, PTR_DOUBLE_FREE, numBlocks } from '../pymalloc/layout';
import { Pymalloc, type ArenaAllocator, type OwnRequestMark, type RawCalls } from '../pymalloc/obmalloc';
import { POOL_NEXTPOOL } from '../pymalloc/layout';
import { slotRecord, SLOT_DEFERRED, SLOT_PENDING } from './layout';

const W = 2;
/** A free block's second word holds FREED_KEY (lib/pymalloc/obmalloc.ts). */
const KEY = 4;
/** Bounds a walk of one pool's deferred list, even a corrupted one. */
const MAX_POOL_BLOCKS = numBlocks(0);

/**
 * Pushes block p of `pool`, owned by slot `owner`, onto the pool's deferred list, and the pool onto the
 * owner's stack when the list was empty. The block is marked free first (its key), so that a second free
 * of it is caught (refuse, onDeferredList) wherever it comes from.
 */
export function deferFree(m: Uint32Array, i32: Int32Array, pool: number, p: number, owner: number): void {
  m[(p + KEY) >>> W] = FREED_KEY;
  const list = (pool + POOL_DEFERRED) >>> W;
  let head: number;
  do {
    head = Atomics.load(i32, list);
    m[p >>> W] = head;
  } while (Atomics.compareExchange(i32, list, head, p | 0) !== head);
  const record = slotRecord(owner);
  if (head === 0) {
    const stack = (record + SLOT_DEFERRED) >>> W;
    let top: number;
    do {
      top = Atomics.load(i32, stack);
      m[(pool + POOL_DEFERRED_NEXT) >>> W] = top;
    } while (Atomics.compareExchange(i32, stack, top, pool | 0) !== top);
  }
  Atomics.add(i32, (record + SLOT_PENDING) >>> W, 1);
}

export class SharedPymalloc extends Pymalloc {
  /** Word indices of this slot's stack of pools with deferred blocks, and of its pending count. */
  private readonly wStack: number;
  private readonly wPending: number;

  constructor(
    buffer: ArrayBuffer,
    raw: RawCalls,
    arenas: ArenaAllocator,
    own: OwnRequestMark,
    /** The thread's slot (lib/shared/layout.ts): what its pools' POOL_OWNER says. */
    readonly slot: number,
    /** The slot's state block (stateField); `adopt` runs over the state there, else it is initialised. */
    state: number,
    adopt: boolean,
  ) {
    super(buffer, raw, arenas, own, null, adopt, state);
    this.wStack = (slotRecord(slot) + SLOT_DEFERRED) >>> W;
    this.wPending = (slotRecord(slot) + SLOT_PENDING) >>> W;
  }

  /** This thread's usedpools, in its state block (the base class's is the private heap's constant). */
  protected override usedpoolsOrigin(): number {
    return this.usedpools;
  }

  /** A block of this thread's pool is freed as a private heap frees it; another's is deferred to its owner. */
  protected override poolFree(p: number): void {
    const pool = (p & ~POOL_SIZE_MASK) >>> 0;
    const owner = this.m[(pool + POOL_OWNER) >>> W];
    if (owner === this.slot) super.poolFree(p);
    else deferFree(this.m, this.i32, pool, p, owner);
  }

  /** The private checks, and a block waiting on its pool's deferred list is freed already. */
  protected override refuse(p: number): number {
    const status = super.refuse(p);
    if (status !== 0 || this.m[(p + KEY) >>> W] !== FREED_KEY) return status;
    return onDeferredList(this.m, this.i32, (p & ~POOL_SIZE_MASK) >>> 0, p) ? PTR_DOUBLE_FREE : 0;
  }

  /**
   * The slow path: blocks other threads freed come back first, and may give the size class a used pool
   * again; otherwise a new pool, stamped with this slot as its owner and an empty deferred list (no
   * block of it is out yet, so no other thread can be pushing onto it).
   */
  protected override allocateFromNewPool(size: number): number {
    if (Atomics.load(this.i32, this.wStack) !== 0 && this.collectDeferred() !== 0) {
      const head = this.usedpools + (size << 3);
      if (this.m[(head + POOL_NEXTPOOL) >>> W] !== head) return this.poolAlloc(size);
    }
    const bp = super.allocateFromNewPool(size);
    if (bp !== 0) {
      const pool = (bp & ~POOL_SIZE_MASK) >>> 0;
      this.m[(pool + POOL_OWNER) >>> W] = this.slot;
      Atomics.store(this.i32, (pool + POOL_DEFERRED) >>> W, 0);
    }
    return bp;
  }

  /**
   * Takes back every block other threads freed into this slot's pools: the stack with one exchange, then
   * each pool's list with one (its next link read first: once its list is taken, a new push may put the
   * pool on the fresh stack and rewrite that link). Returns how many blocks came back.
   */
  collectDeferred(): number {
    const m = this.m;
    const i32 = this.i32;
    let n = 0;
    let pool = Atomics.exchange(i32, this.wStack, 0) >>> 0;
    while (pool !== 0) {
      const next = m[(pool + POOL_DEFERRED_NEXT) >>> W];
      n += this.freeList(Atomics.exchange(i32, (pool + POOL_DEFERRED) >>> W, 0) >>> 0);
      pool = next;
    }
    if (n !== 0) Atomics.sub(i32, this.wPending, n);
    return n;
  }

  /** Frees each block of a taken deferred list into its pool, as the pool's owner. */
  private freeList(block: number): number {
    let n = 0;
    for (let b = block; b !== 0 && n <= MAX_POOL_BLOCKS; n++) {
      const next = this.m[b >>> W];
      super.poolFree(b);
      b = next;
    }
    return n;
  }
}

/**
 * Whether p is on its pool's deferred list: a walk of at most one pool's blocks. The list only grows at
 * its head or is taken whole, so a walk racing a push or a take reads links that stay valid.
 */
export function onDeferredList(m: Uint32Array, i32: Int32Array, pool: number, p: number): boolean {
  let b = Atomics.load(i32, (pool + POOL_DEFERRED) >>> W) >>> 0;
  for (let i = 0; b !== 0 && i < MAX_POOL_BLOCKS; i++) {
    if (b === p) return true;
    b = m[b >>> W];
  }
  return false;
}
