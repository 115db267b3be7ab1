/**
 * One heap for every worker thread. createHeap({ shared: true }) makes a region in a SharedArrayBuffer;
 * heap.share() gives the value postMessage() or workerData carries, and attachHeap(value) in another
 * thread gives that thread a Heap over the same region, with its own views and its own allocator state.
 * A block allocated in one thread may be read, written and freed in any other.
 *
 *   thread A                                   thread B
 *   SharedHeap (slot 0)                        SharedHeap (slot 1)
 *    |-- SharedPymalloc: A's arenas, pools      |-- SharedPymalloc: B's arenas, pools
 *    |     (no lock, no atomic on hot paths;    |     B's free of A's block: a compare-exchange
 *    |      lib/shared/pymalloc.ts)             |     onto its pool's deferred list, for A to take
 *    '-- raw allocator, under the region's      '-- the same raw allocator, the same lock
 *        raw lock (lib/shared/backends.ts)
 *                   one SharedArrayBuffer: the region, the slot table (lib/shared/layout.ts)
 *
 * What a shared heap does not do yet, each refused with ERR_PYMEM_SHARED_UNSUPPORTED and the reason:
 * the objects layer and its collector (reference counts and a collection would need every thread
 * stopped), tracemalloc and the debug hooks (their tables and serial numbers live in one thread's
 * JavaScript, and a block freed in another would escape them), heap images and roots, and an arena
 * allocator of the program's own (a thread's arenas must be whole segments of the region).
 */
import type { Worker } from 'node:worker_threads';
import { threadId } from 'node:worker_threads';
import { sharedOwnerMark } from './thread';
import { SEGMENT_SIZE } from './config';
import { invalidArgType, invalidArgValue, sharedUnsupported, MemoryError } from './errors';
import { Heap, checkOptions, type HeapOptions } from './heap';
import { warnFallback } from './raw/open';
import { OBM_STATE_BYTES } from './pymalloc/layout';
import type { Objects } from './objects/objects';
import type { GarbageCollector } from './objects/gc';
import type { BackendName, RawBackend } from './raw/backend';
import type { ArenaAllocator } from './pymalloc/obmalloc';
import { deferredCount, type SharedPymalloc } from './shared/pymalloc';
import { openSharedBackend } from './shared/open';
import { slotState } from './shared/layout';
import { RegionLock } from './shared/lock';
import { repairState } from './shared/repair';
import { rollback } from './shared/journal';
import { checkShared } from './shared/check';
import {
  markShared, isShared, claimSlot, setSlotState, abandonSlot, slotsOwnedBy, stateBlocks, type Claim,
} from './shared/slots';

/** What heap.share() returns: plain data and the SharedArrayBuffer, which postMessage() shares, not copies. */
export interface SharedHeapHandle {
  readonly kind: 'pymem.SharedHeap';
  readonly buffer: SharedArrayBuffer;
  /** The backend every thread runs: one heap runs one kind of lock. */
  readonly backend: BackendName;
  /** The allocators MEM and OBJ start with in every thread. */
  readonly allocator: 'pymalloc' | 'malloc';
}

const HANDLE_KIND = 'pymem.SharedHeap';
const NO_OBJECTS = "its objects' reference counts and the cyclic collector would need every thread stopped at once, which a later version will do";
const NO_HOOKS = "the hooks keep their tables in one thread's JavaScript, and a block freed by another thread would escape them";

export class SharedHeap extends Heap {
  /** Keeps this thread's Heap object out of postMessage(), with a message that says what to send instead. */
  override readonly owner: symbol = sharedOwnerMark();
  /** This thread's slot in the heap's slot table (0 for the thread that made it, if it still holds it). */
  readonly slot: number;
  private readonly region: SharedArrayBuffer;
  private readonly base: 'pymalloc' | 'malloc';
  /** Views of this heap's own, kept past close() for watch()'s work on the shared memory. */
  private readonly words: Uint32Array;
  private readonly ints: Int32Array;
  private readonly lock: RegionLock;

  /** @internal use createHeap({ shared: true }) or attachHeap() */
  constructor(region: SharedArrayBuffer, claim: Claim, base: 'pymalloc' | 'malloc', reason: string, opened: RawBackend, state: number) {
    super(opened, reason, { base, debug: false }, false, 0, undefined, { slot: claim.slot, state, adopt: claim.state !== 0 });
    this.slot = claim.slot;
    this.region = region;
    this.base = base;
    this.words = new Uint32Array(region);
    this.ints = new Int32Array(region);
    this.lock = new RegionLock(this.ints, claim.slot + 1);
    Object.defineProperty(this.tracemalloc, 'start', {
      configurable: true, // close() replaces it, as it replaces every method, with one that says the heap is closed
      value: () => {
        throw sharedUnsupported('heap.tracemalloc.start()', NO_HOOKS);
      },
    });
  }

  /** The value to hand another thread (postMessage, workerData) for attachHeap(). */
  share(): SharedHeapHandle {
    this.assertOpen('heap.share');
    return { kind: HANDLE_KIND, buffer: this.region, backend: this.backend, allocator: this.base };
  }

  /**
   * Gives the heap back the slot of `worker` when it exits, however it ends (its work done, or
   * worker.terminate() in the middle of an allocation): the worker's pymalloc state is rebuilt from its
   * pools (lib/shared/repair.ts) and left for the next thread that attaches, blocks in use included.
   * A thread that closes its heap gives its slot back itself; watch() covers the ones that cannot.
   */
  watch(worker: Worker): void {
    this.assertOpen('heap.watch');
    if (typeof worker !== 'object' || worker === null || typeof worker.once !== 'function' || typeof worker.threadId !== 'number') {
      throw invalidArgType('worker', 'Worker', worker);
    }
    const thread = worker.threadId;
    worker.once('exit', () => this.reclaim(thread));
  }

  /** The work of watch() once `thread` has exited: nothing of it runs any more. */
  private reclaim(thread: number): void {
    for (const slot of slotsOwnedBy(this.ints, thread)) {
      // Only the fallback's lock can be held by a dead thread (the C allocator's is taken inside one
      // call): the operation it was in is undone from the journal before the lock goes on.
      if (this.lock.seizeFrom(slot + 1)) {
        if (rollback(this.words) < 0) {
          process.emitWarning(`pymem: thread ${thread} was stopped inside a raw operation too large for the shared heap's journal; heap.check() says what it left`, { code: 'PYMEM_SHARED_UNDONE' });
        }
        this.lock.release();
      }
      const state = slotState(this.words, slot);
      if (state !== 0) repairState(this.words, this.ints, state, slot);
      abandonSlot(this.ints, slot);
    }
  }

  override get objects(): Objects {
    throw sharedUnsupported('heap.objects', NO_OBJECTS);
  }

  override get gc(): GarbageCollector {
    throw sharedUnsupported('heap.gc', NO_OBJECTS);
  }

  override setupDebugHooks(): void {
    throw sharedUnsupported('heap.setupDebugHooks()', NO_HOOKS);
  }

  override setArenaAllocator(allocator: ArenaAllocator): void {
    void allocator;
    throw sharedUnsupported('heap.setArenaAllocator()', "each thread's arenas must be whole segments of the region, which the threads' frees and repairs rely on");
  }

  override save(file: string): number {
    void file;
    throw sharedUnsupported('heap.save()', 'an image is a private heap\'s: save a private heap, or copy the blocks into one');
  }

  override setRoot(p: number): void {
    void p;
    throw sharedUnsupported('heap.setRoot()', "the root is what a heap image keeps, and a shared heap has none (hand pointers to other threads in messages)");
  }

  /**
   * Walks every invariant of the region, every thread's pymalloc, and the deferred lists between them.
   * It holds the raw lock meanwhile, so that no thread's raw allocator or arena acquisition moves under
   * it; each thread's pools run without a lock, so the other threads must be still: between operations
   * (waiting for a message, for instance) or exited. A thread working on its pools during check() can
   * make it report a broken invariant that is not there.
   */
  override check(): void {
    this.assertOpen('heap.check');
    this.lock.acquire();
    try {
      super.check();
      checkShared(this.words);
    } finally {
      this.lock.release();
    }
  }

  /** Takes back the blocks other threads freed into this thread's pools, then leaves its slot to the next thread. */
  override close(): void {
    if (this.closed) return;
    (this.pymalloc as SharedPymalloc).collectDeferred();
    super.close();
    abandonSlot(this.ints, this.slot);
  }

  override pymallocStates(): readonly number[] {
    return stateBlocks(this.ints);
  }

  /** Blocks on the threads' deferred lists: walked, so exact when the other threads are still. */
  protected override deferredBlocks(): number {
    let n = 0;
    for (const state of stateBlocks(this.ints)) n += deferredCount(this.words, this.ints, state);
    return n;
  }
}

/** Options a shared heap has no use for, and why (createHeap({ shared: true })). */
const SHARED_REFUSED: Record<string, string> = {
  image: "an image is a private heap's",
  verify: "an image is a private heap's",
  gcAtBytes: NO_OBJECTS,
};

/** createHeap({ shared: true }): the region, this thread's slot and the heap over them. */
export function createSharedHeap(options: HeapOptions): SharedHeap {
  // debugAbort is checked with the rest, and has nothing to do: a shared heap has no debug hooks.
  const { backend, maxBytes, allocator } = checkOptions(options);
  for (const name of Object.keys(options)) if (name in SHARED_REFUSED) throw sharedUnsupported(`option "${name}"`, SHARED_REFUSED[name]);
  if (allocator.debug) throw sharedUnsupported('a debug allocator (pymalloc_debug, malloc_debug, debug)', `its hooks cannot run on a shared heap: ${NO_HOOKS}`);
  const buffer = new SharedArrayBuffer(maxBytes);
  markShared(new Int32Array(buffer));
  return attachTo(buffer, backend, allocator.base, false);
}

/**
 * In another thread, the heap heap.share() handed over: a Heap of this thread's over the same region.
 * Takes a slot of the heap's slot table, an abandoned one (a closed or exited thread's, its pools
 * included) before a never used one.
 */
export function attachHeap(value: SharedHeapHandle): SharedHeap {
  if (typeof value !== 'object' || value === null || value.kind !== HANDLE_KIND) throw invalidArgType('value', 'the object heap.share() returned', value);
  const { buffer, backend, allocator } = value;
  if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength % SEGMENT_SIZE !== 0 || !isShared(new Int32Array(buffer, 0, Math.min(buffer.byteLength, SEGMENT_SIZE) >>> 2))) {
    throw invalidArgValue('value.buffer', buffer, "must be the SharedArrayBuffer of a shared heap's region, as heap.share() gives it");
  }
  if (backend !== 'native' && backend !== 'fallback') throw invalidArgValue('value.backend', backend, "must be 'native' or 'fallback'");
  if (allocator !== 'pymalloc' && allocator !== 'malloc') throw invalidArgValue('value.allocator', allocator, "must be 'pymalloc' or 'malloc'");
  return attachTo(buffer, backend, allocator, true);
}

/** This thread's slot, backend and pymalloc state over the region; the slot goes back if any of it fails. */
function attachTo(buffer: SharedArrayBuffer, backend: 'auto' | BackendName, base: 'pymalloc' | 'malloc', adopt: boolean): SharedHeap {
  const ints = new Int32Array(buffer);
  const claim = claimSlot(ints, threadId);
  try {
    const opened = openSharedBackend(backend, { buffer, holder: claim.slot + 1, adopt });
    if (opened.fellBack) warnFallback(opened.reason);
    let state = claim.state;
    if (state === 0) {
      state = opened.backend.calloc(OBM_STATE_BYTES);
      if (state === 0) throw new MemoryError(OBM_STATE_BYTES, `the shared heap has no room for this thread's allocator state (${OBM_STATE_BYTES} bytes)`);
      setSlotState(ints, claim.slot, state);
    }
    return new SharedHeap(buffer, claim, base, opened.reason, opened.backend, state);
  } catch (error) {
    abandonSlot(ints, claim.slot);
    throw error;
  }
}
