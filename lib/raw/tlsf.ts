/**
 * Layer +1: general-purpose blocks in raw pools, with TLSF (two-level segregated fit): O(1) good-fit
 * allocation through two bitmap lookups, boundary tags through the always-kept `prev` link, immediate
 * coalescing on free. native/tlsf.c is the same algorithm over the same bytes.
 *
 * Cost per malloc: one bitmap search (two find-first-set), one list unlink, at most one split and one
 * list insert, one live-map bit: about 30 u32 loads and stores, no JS allocation. Per free: at most two
 * unlinks (coalescing both neighbours) and one insert. Blocks of up to 4 KiB skip all of that through
 * the quick bins (lib/raw/layout.ts): a pop or a push of a few loads, and the live-map bit.
 */
import { SEGMENT_SHIFT, SEGMENT_SIZE, TLSF_FL_SHIFT, TLSF_SL_LOG2, TLSF_SL_COUNT } from '../config';
import {
  BLK_SIZE, BLK_PREV, BLK_REQUESTED, BLK_RESERVED, BLK_NEXT_FREE, BLK_PREV_FREE, BLOCK_HEADER_SIZE, BLOCK_FREE_BIT,
  BLOCK_SIZE_MASK, BLOCK_MIN_SIZE, TLSF_FL_BITMAP, TLSF_SL_BITMAPS, TLSF_HEADS, EMPTY_POOL, POOL_FIRST_BLOCK,
  POOL_SENTINEL, POOL_BLOCK_MAX, POOL_LIVE_MAP, POOL_LIVE_MAP_BYTES, SEG_RAW_POOL, QUICK_BINS, QUICK_BIN_COUNT,
  QUICK_MAX_BLOCK, QUICK_DEPTH, QUICK_COUNT_MASK,
} from './layout';
import type { Segments } from './segments';

const SMALL_BLOCK = 1 << TLSF_FL_SHIFT;

/**
 * The block size (header included) that serves a request of n bytes; n = 0 is served as 1, as CPython
 * does, so the smallest block is BLOCK_MIN_SIZE (32).
 */
export function blockSizeFor(n: number): number {
  return ((n === 0 ? 1 : n) + BLOCK_HEADER_SIZE + 15) & ~15;
}

/** The free list (first level * 32 + second level) a free block of `size` bytes belongs to. */
export function listIndex(size: number): number {
  if (size < SMALL_BLOCK) return size >>> 4;
  const f = 31 - Math.clz32(size);
  return ((f - (TLSF_FL_SHIFT - 1)) << TLSF_SL_LOG2) | ((size >>> (f - TLSF_SL_LOG2)) ^ TLSF_SL_COUNT);
}

/** The first list whose every block holds `size` bytes: round up to the next list boundary (good fit). */
function searchIndex(size: number): number {
  if (size >= SMALL_BLOCK) size += (1 << (31 - Math.clz32(size) - TLSF_SL_LOG2)) - 1;
  return listIndex(size);
}

/** The index of the live-map word holding payload p's bit; the bit is 1 << ((p >>> 4) & 31). */
function liveWord(p: number): number {
  const offset = p & (SEGMENT_SIZE - 1);
  return ((p - offset + POOL_LIVE_MAP) >>> 2) + (offset >>> 9);
}

/** Whether p is the payload of a live block: its bit in its pool's live map. */
export function isLive(m: Uint32Array, p: number): boolean {
  return (m[liveWord(p)] & (1 << ((p >>> 4) & 31))) !== 0;
}

/** Sets or clears payload p's bit in its pool's live map. */
function setLive(m: Uint32Array, p: number, live: boolean): void {
  const word = liveWord(p);
  if (live) m[word] |= 1 << ((p >>> 4) & 31);
  else m[word] &= ~(1 << ((p >>> 4) & 31));
}

/**
 * The quick bins' pop: a kept block of exactly `size` bytes (blockSizeFor(n)) made live for a request
 * of n bytes; its payload, or 0 when the bin is empty or size is past the bins. Exported because the
 * native backend runs it in JS over the region before it calls C (lib/raw/native.ts); native/tlsf.c's
 * pm_tlsf_malloc opens with the same steps.
 */
export function quickTake(m: Uint32Array, size: number, n: number): number {
  if (size > QUICK_MAX_BLOCK) return 0;
  const bin = (QUICK_BINS >>> 2) + ((size - BLOCK_MIN_SIZE) >>> 4);
  const word = m[bin];
  if (word === 0) return 0;
  const h = word - (word & QUICK_COUNT_MASK); // not `& ~15`: that is signed, and h may pass 2^31
  m[bin] = m[(h + BLK_REQUESTED) >>> 2] | ((word & QUICK_COUNT_MASK) - 1);
  m[(h + BLK_REQUESTED) >>> 2] = n;
  setLive(m, h + BLOCK_HEADER_SIZE, true);
  return h + BLOCK_HEADER_SIZE;
}

/**
 * The quick bins' push of the live block h of `size` bytes: no longer live, kept whole. Returns false,
 * changing nothing, when size is past the bins or its bin is full. (pm_tlsf_free's opening steps.)
 */
export function quickPut(m: Uint32Array, h: number, size: number): boolean {
  if (size > QUICK_MAX_BLOCK) return false;
  const bin = (QUICK_BINS >>> 2) + ((size - BLOCK_MIN_SIZE) >>> 4);
  const word = m[bin];
  if ((word & QUICK_COUNT_MASK) >= QUICK_DEPTH) return false;
  setLive(m, h + BLOCK_HEADER_SIZE, false);
  m[(h + BLK_REQUESTED) >>> 2] = word - (word & QUICK_COUNT_MASK);
  m[bin] = h | ((word & QUICK_COUNT_MASK) + 1);
  return true;
}

export class Tlsf {
  private readonly m: Uint32Array;
  private readonly u8: Uint8Array;

  constructor(m: Uint32Array, u8: Uint8Array, private readonly segments: Segments) {
    this.m = m;
    this.u8 = u8;
  }

  /** Allocates a block for n bytes (n <= RAW_HUGE_THRESHOLD) and returns its payload, 0 when out of memory. */
  malloc(n: number): number {
    const m = this.m;
    const size = blockSizeFor(n);
    const kept = quickTake(m, size, n);
    if (kept !== 0) return kept;
    let h = this.takeFree(size);
    // Blocks kept in the quick bins may make room, coalesced, before a new pool is taken.
    if (h === 0 && this.flushQuick()) h = this.takeFree(size);
    if (h === 0) {
      h = this.newPool();
      if (h === 0) return 0;
    } else if ((m[(h + BLK_SIZE) >>> 2] & BLOCK_SIZE_MASK) === POOL_BLOCK_MAX) {
      m[EMPTY_POOL >>> 2] = 0; // the kept empty pool is empty no longer
    }
    const whole = m[(h + BLK_SIZE) >>> 2] & BLOCK_SIZE_MASK;
    this.split(h, whole, size);
    m[(h + BLK_REQUESTED) >>> 2] = n;
    m[(h + BLK_RESERVED) >>> 2] = 0;
    const p = h + BLOCK_HEADER_SIZE;
    setLive(m, p, true);
    return p;
  }

  /**
   * Frees the live block with header h: into its quick bin when it has room, else back to TLSF,
   * coalesced with free neighbours (a wholly free pool is given back).
   */
  free(h: number): void {
    const m = this.m;
    const size = m[(h + BLK_SIZE) >>> 2];
    if (quickPut(m, h, size)) return;
    setLive(m, h + BLOCK_HEADER_SIZE, false);
    this.release(h, size);
  }

  /**
   * Gives every block in the quick bins back to TLSF, coalesced. Returns whether there was any. Cost:
   * 256 loads, and a TLSF free per block kept (at most 1,792).
   */
  flushQuick(): boolean {
    const m = this.m;
    let any = false;
    for (let bin = QUICK_BINS >>> 2; bin < (QUICK_BINS >>> 2) + QUICK_BIN_COUNT; bin++) {
      const word = m[bin];
      if (word === 0) continue;
      let h = word - (word & QUICK_COUNT_MASK);
      m[bin] = 0;
      any = true;
      while (h !== 0) {
        const next = m[(h + BLK_REQUESTED) >>> 2];
        this.release(h, m[(h + BLK_SIZE) >>> 2]);
        h = next;
      }
    }
    return any;
  }

  /** TLSF's free of the block h of `size` bytes, no longer live: coalesces, and gives back a wholly free pool. */
  private release(h: number, size: number): void {
    const m = this.m;
    const prev = m[(h + BLK_PREV) >>> 2];
    if (prev !== 0) {
      const psize = m[(prev + BLK_SIZE) >>> 2];
      if (psize & BLOCK_FREE_BIT) {
        this.unlink(prev, psize & BLOCK_SIZE_MASK);
        size += psize & BLOCK_SIZE_MASK;
        h = prev;
      }
    }
    const nsize = m[(h + size + BLK_SIZE) >>> 2];
    if (nsize & BLOCK_FREE_BIT) {
      this.unlink(h + size, nsize & BLOCK_SIZE_MASK);
      size += nsize & BLOCK_SIZE_MASK;
    }
    m[(h + BLK_SIZE) >>> 2] = size | BLOCK_FREE_BIT;
    m[(h + size + BLK_PREV) >>> 2] = h;
    if (size === POOL_BLOCK_MAX) {
      // The pool is wholly free: keep one such pool, as CPython keeps one empty arena (bpo-37257).
      if (m[EMPTY_POOL >>> 2] === 0) {
        m[EMPTY_POOL >>> 2] = h >>> SEGMENT_SHIFT;
      } else {
        this.segments.release(h >>> SEGMENT_SHIFT);
        return;
      }
    }
    this.link(h, size);
  }

  /**
   * Resizes the live block h to serve n bytes without moving it: shrinks it (the tail becomes free) or
   * grows it into a free next block. Returns false, changing nothing, when it cannot.
   */
  resizeInPlace(h: number, n: number): boolean {
    const m = this.m;
    const size = blockSizeFor(n);
    let cur = m[(h + BLK_SIZE) >>> 2];
    if (size > cur) {
      const nsize = m[(h + cur + BLK_SIZE) >>> 2];
      if (!(nsize & BLOCK_FREE_BIT) || cur + (nsize & BLOCK_SIZE_MASK) < size) return false;
      this.unlink(h + cur, nsize & BLOCK_SIZE_MASK);
      cur += nsize & BLOCK_SIZE_MASK;
      m[(h + cur + BLK_PREV) >>> 2] = h;
    }
    this.split(h, cur, size);
    m[(h + BLK_REQUESTED) >>> 2] = n;
    return true;
  }

  /**
   * Makes h, spanning `whole` bytes, an in-use block of `size` bytes; a tail of at least BLOCK_MIN_SIZE
   * becomes a free block, merged with the next block when that one is free.
   */
  private split(h: number, whole: number, size: number): void {
    const m = this.m;
    let rest = whole - size;
    if (rest < BLOCK_MIN_SIZE) {
      m[(h + BLK_SIZE) >>> 2] = whole;
      return;
    }
    m[(h + BLK_SIZE) >>> 2] = size;
    const r = h + size;
    const nsize = m[(h + whole + BLK_SIZE) >>> 2];
    if (nsize & BLOCK_FREE_BIT) {
      this.unlink(h + whole, nsize & BLOCK_SIZE_MASK);
      rest += nsize & BLOCK_SIZE_MASK;
    }
    m[(r + BLK_SIZE) >>> 2] = rest | BLOCK_FREE_BIT;
    m[(r + BLK_PREV) >>> 2] = h;
    m[(r + rest + BLK_PREV) >>> 2] = r;
    this.link(r, rest);
  }

  /** Unlinks and returns a free block of at least `size` bytes, 0 when no list can serve it. */
  private takeFree(size: number): number {
    const m = this.m;
    const idx = searchIndex(size);
    let fl = idx >>> TLSF_SL_LOG2;
    let slMap = m[(TLSF_SL_BITMAPS >>> 2) + fl] & (~0 << (idx & (TLSF_SL_COUNT - 1)));
    if (slMap === 0) {
      const flMap = m[TLSF_FL_BITMAP >>> 2] & (~0 << (fl + 1));
      if (flMap === 0) return 0;
      fl = 31 - Math.clz32(flMap & -flMap);
      slMap = m[(TLSF_SL_BITMAPS >>> 2) + fl];
    }
    const list = (fl << TLSF_SL_LOG2) | (31 - Math.clz32(slMap & -slMap));
    const h = m[(TLSF_HEADS >>> 2) + list];
    this.unlink(h, m[(h + BLK_SIZE) >>> 2] & BLOCK_SIZE_MASK);
    return h;
  }

  /** Pushes the free block h of `size` bytes on the front of its list. */
  private link(h: number, size: number): void {
    const m = this.m;
    const list = listIndex(size);
    const head = m[(TLSF_HEADS >>> 2) + list];
    m[(h + BLK_NEXT_FREE) >>> 2] = head;
    m[(h + BLK_PREV_FREE) >>> 2] = 0;
    if (head !== 0) m[(head + BLK_PREV_FREE) >>> 2] = h;
    m[(TLSF_HEADS >>> 2) + list] = h;
    const fl = list >>> TLSF_SL_LOG2;
    m[(TLSF_SL_BITMAPS >>> 2) + fl] |= 1 << (list & (TLSF_SL_COUNT - 1));
    m[TLSF_FL_BITMAP >>> 2] |= 1 << fl;
  }

  private unlink(h: number, size: number): void {
    const m = this.m;
    const list = listIndex(size);
    const next = m[(h + BLK_NEXT_FREE) >>> 2];
    const prev = m[(h + BLK_PREV_FREE) >>> 2];
    if (prev !== 0) m[(prev + BLK_NEXT_FREE) >>> 2] = next;
    else m[(TLSF_HEADS >>> 2) + list] = next;
    if (next !== 0) m[(next + BLK_PREV_FREE) >>> 2] = prev;
    if (m[(TLSF_HEADS >>> 2) + list] === 0) {
      const fl = list >>> TLSF_SL_LOG2;
      const sl = (m[(TLSF_SL_BITMAPS >>> 2) + fl] &= ~(1 << (list & (TLSF_SL_COUNT - 1))));
      if (sl === 0) m[TLSF_FL_BITMAP >>> 2] &= ~(1 << fl);
    }
  }

  /**
   * Gives the quick bins' blocks back to TLSF and the kept empty pool's segment back, so that a request
   * for whole segments can have it; the thrashing it guards against matters less than failing. Returns
   * false when there was nothing to give back (a retry cannot succeed).
   */
  dropEmptyPool(): boolean {
    const m = this.m;
    // Flushing the quick bins can empty pools: beyond the one kept, they go back at once.
    const flushed = this.flushQuick();
    const s = m[EMPTY_POOL >>> 2];
    if (s === 0) return flushed;
    this.unlink(s * SEGMENT_SIZE + POOL_FIRST_BLOCK, POOL_BLOCK_MAX);
    m[EMPTY_POOL >>> 2] = 0;
    this.segments.release(s);
    return true;
  }

  /** Takes a segment for a new pool; returns its single free block, unlinked, or 0. */
  private newPool(): number {
    const m = this.m;
    const s = this.segments.allocOne(SEG_RAW_POOL, 0);
    if (s === 0) return 0;
    const base = s * SEGMENT_SIZE;
    // A clean segment reads as zeros; a cached one may hold an old live map.
    if (this.segments.lastDirty) this.u8.fill(0, base + POOL_LIVE_MAP, base + POOL_LIVE_MAP + POOL_LIVE_MAP_BYTES);
    const h = base + POOL_FIRST_BLOCK;
    const end = base + POOL_SENTINEL;
    m[(h + BLK_SIZE) >>> 2] = POOL_BLOCK_MAX | BLOCK_FREE_BIT;
    m[(h + BLK_PREV) >>> 2] = 0;
    m[(end + BLK_SIZE) >>> 2] = 0;
    m[(end + BLK_PREV) >>> 2] = h;
    m[(end + BLK_REQUESTED) >>> 2] = 0;
    m[(end + BLK_RESERVED) >>> 2] = 0;
    return h;
  }
}
