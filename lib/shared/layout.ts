/**
 * A shared heap's byte layout: what lets several threads run one region at once. Every field is a u32, in
 * segment 0 or in a thread's state block, read through an Int32Array with Atomics wherever another thread
 * may write it at the same time.
 *
 *   0x10018 raw lock      HDR_LOCK (lib/raw/layout.ts): the raw allocator's lock, 0 when free, else the
 *                         holder's slot + 1; the C allocator takes it too (native/lock.h)
 *   0xf0000 magic         "pmsh": the region is a shared heap's (createHeap({ shared: true }))
 *   0xf0004 lock waiters  threads asleep in Atomics.wait on the raw lock (the fallback's lock only)
 *   0xf0040 slots         SLOT_COUNT records of SLOT_SIZE bytes, one per thread attached:
 *
 *     +0  state     SLOT_FREE, SLOT_OWNED or SLOT_ABANDONED; changed by compare-exchange only
 *     +4  thread    the owner's Node threadId (heap.watch(worker) finds a worker's slot by it)
 *     +8  pymalloc  the slot's pymalloc state block, a raw block of OBM_STATE_BYTES (0 before first use),
 *                   which holds the slot's deferred lists too (deferredHead below)
 *
 *   0xf1000 raw journal   the fallback's undo log of the operation under the raw lock (lib/shared/journal.ts):
 *                         a count, then [word index, old value] pairs, up to 0x100000
 *
 * 0xf0000 is past every byte the private layers use in segment 0 (the objects' statics end at 0x541e0,
 * lib/objects/layout.ts checks it); a shared heap never sets up the objects layer, and a private heap
 * never writes these bytes.
 */
import { SEGMENT_SIZE } from '../config';
import { OBM_ARENA_MAP, OBM_STATE, OBM_ARENAS, NB_SMALL_SIZE_CLASSES } from '../pymalloc/layout';

/** "pmsh" read as a little-endian u32. */
export const SHARED_MAGIC = 0x68736d70;
export const SH_MAGIC = 0xf0000;
export const SH_WAITERS = 0xf0004;
export const SH_SLOTS = 0xf0040;
export const SH_JOURNAL = 0xf1000;
/** Entries the journal holds: the rest of segment 0. A TLSF operation stores about 30 words, trim() about 6 a segment. */
export const JOURNAL_CAPACITY = (SEGMENT_SIZE - SH_JOURNAL - 8) / 8;

/**
 * Threads a heap can have attached at once. 64 covers Node's practical worker counts (a worker costs
 * about 10 MiB of its own); a slot costs 32 bytes here and OBM_STATE_BYTES in the region once used.
 */
export const SLOT_COUNT = 64;
export const SLOT_SIZE = 32;
export const SLOT_STATE = 0;
export const SLOT_THREAD = 4;
export const SLOT_PYMALLOC = 8;

export const SLOT_FREE = 0;
export const SLOT_OWNED = 1;
export const SLOT_ABANDONED = 2;

/**
 * A thread's deferred lists, in its pymalloc state block where a private heap's arena map lies (a state
 * block leaves that space unused, lib/pymalloc/layout.ts says why): per size class, the head of a list of
 * blocks of that class that other threads freed, linked through each block's first u32, pushed by
 * compare-exchange and taken whole by the owner. Each head has a cache line of its own, so that threads
 * freeing blocks of different classes into one owner do not write the same line.
 *
 *   state block + DEFERRED_HEADS + 64 c    head of size class c's list (u32), then 60 bytes of padding
 */
export const DEFERRED_HEADS = OBM_ARENA_MAP - OBM_STATE;
export const DEFERRED_STRIDE = 64;

/** The byte offset of size class `size`'s deferred head in the state block at `state`. */
export function deferredHead(state: number, size: number): number {
  return state + DEFERRED_HEADS + size * DEFERRED_STRIDE;
}

/** The byte offset of slot i's record. */
export function slotRecord(i: number): number {
  return SH_SLOTS + i * SLOT_SIZE;
}

/**
 * Slot i's pymalloc state block (0 before its first owner made one), read plainly: it is written once,
 * before any pool of the slot exists for another thread to free into (slots.ts's setSlotState).
 */
export function slotState(m: Uint32Array, i: number): number {
  return m[(slotRecord(i) + SLOT_PYMALLOC) >>> 2];
}

function assert(ok: boolean, what: string): void {
  /* c8 ignore next -- fires only when an edit makes the layout inconsistent; it then fails every test */
  if (!ok) throw new Error(`pymem shared layout: ${what}`);
}
assert(slotRecord(SLOT_COUNT) <= SH_JOURNAL, 'the slot table ends before the journal');
assert(OBM_ARENA_MAP + NB_SMALL_SIZE_CLASSES * DEFERRED_STRIDE <= OBM_ARENAS, "the deferred heads fit the state block's unused arena map");
assert(SLOT_PYMALLOC + 4 <= SLOT_SIZE, 'a slot record fits SLOT_SIZE');
