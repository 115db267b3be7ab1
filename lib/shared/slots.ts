/**
 * The slot table of a shared heap (lib/shared/layout.ts): which thread runs which pymalloc state.
 *
 *   FREE ──claim──> OWNED ──close(), or heap.watch() sees the worker exit──> ABANDONED
 *                     ^                                                        │
 *                     └───────────── claim (preferred to a FREE slot) ─────────┘
 *
 * A thread that attaches takes an abandoned slot when there is one: it adopts that slot's arenas and
 * pools whole, blocks in use included, and the blocks other threads freed into them meanwhile (still on
 * the pools' deferred lists, taken back on its first slow path). So a thread's pools outlive it and are
 * reused by the next, and no block is freed twice: only the slot's one owner frees into its pools.
 * Every change of state is a compare-exchange, so two threads attaching at once never take one slot.
 */
import { invalidState } from '../errors';
import {
  SHARED_MAGIC, SH_MAGIC, SLOT_COUNT, SLOT_STATE, SLOT_THREAD, SLOT_PYMALLOC, SLOT_FREE, SLOT_OWNED,
  SLOT_ABANDONED, slotRecord,
} from './layout';

const W = 2;

/** Marks a fresh region as a shared heap's, for attachHeap to recognise. */
export function markShared(i32: Int32Array): void {
  Atomics.store(i32, SH_MAGIC >>> W, SHARED_MAGIC);
}

export function isShared(i32: Int32Array): boolean {
  return Atomics.load(i32, SH_MAGIC >>> W) === SHARED_MAGIC;
}

/** A slot taken for a thread, and whether it came with another thread's state (an abandoned slot's). */
export interface Claim {
  readonly slot: number;
  /** The slot's pymalloc state block, 0 when the slot has never had one. */
  readonly state: number;
}

/** Takes a slot for thread `thread`: an abandoned one first, else a free one; throws when all are owned. */
export function claimSlot(i32: Int32Array, thread: number): Claim {
  for (const from of [SLOT_ABANDONED, SLOT_FREE]) {
    for (let slot = 0; slot < SLOT_COUNT; slot++) {
      const record = slotRecord(slot);
      if (Atomics.compareExchange(i32, (record + SLOT_STATE) >>> W, from, SLOT_OWNED) !== from) continue;
      Atomics.store(i32, (record + SLOT_THREAD) >>> W, thread);
      return { slot, state: Atomics.load(i32, (record + SLOT_PYMALLOC) >>> W) >>> 0 };
    }
  }
  throw invalidState(`this shared heap has ${SLOT_COUNT} threads attached, as many as it can hold: close the heap in a thread that is done with it, or watch() its workers so that their slots come back when they exit`);
}

/** Records the slot's state block once its first owner has allocated it. */
export function setSlotState(i32: Int32Array, slot: number, state: number): void {
  Atomics.store(i32, (slotRecord(slot) + SLOT_PYMALLOC) >>> W, state | 0);
}

/** The slot's owner is done with it (closed, or exited): its pools wait for the next thread. */
export function abandonSlot(i32: Int32Array, slot: number): void {
  const record = slotRecord(slot);
  Atomics.store(i32, (record + SLOT_THREAD) >>> W, 0);
  Atomics.store(i32, (record + SLOT_STATE) >>> W, SLOT_ABANDONED);
}

/** The slots thread `thread` owns: what heap.watch() abandons when its worker exits. */
export function slotsOwnedBy(i32: Int32Array, thread: number): number[] {
  const owned: number[] = [];
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    const record = slotRecord(slot);
    if (Atomics.load(i32, (record + SLOT_STATE) >>> W) === SLOT_OWNED && Atomics.load(i32, (record + SLOT_THREAD) >>> W) === thread) owned.push(slot);
  }
  return owned;
}

/** Every pymalloc state block of the heap, owned or abandoned: what its figures and checks add up. */
export function stateBlocks(i32: Int32Array): number[] {
  const states: number[] = [];
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    const state = Atomics.load(i32, (slotRecord(slot) + SLOT_PYMALLOC) >>> W) >>> 0;
    if (state !== 0) states.push(state);
  }
  return states;
}
