/**
 * Layer +1, the raw allocator in TypeScript: the twin of native/raw.c, over the same bytes. Arguments
 * arrive validated by lib/domains/domain.ts (sizes are u32 integers, pointers u32 integers); pointers are
 * checked here against the region's state, so that a bad one is refused before anything changes.
 *
 *   n <= RAW_HUGE_THRESHOLD   a TLSF block in a raw pool              (lib/raw/tlsf.ts)
 *   n >  RAW_HUGE_THRESHOLD   a run of whole segments, pointer = its first segment's start
 *   arenaAlloc()              one whole segment for the object allocator (CPython's arena allocator)
 */
import { SEGMENT_SIZE, SEGMENT_SHIFT, RAW_HUGE_THRESHOLD } from '../config';
import {
  BLK_REQUESTED, BLOCK_HEADER_SIZE, HDR_SEGMENT_COUNT, RAW_BLOCKS, RAW_BYTES, SEG_RAW_POOL, SEG_HUGE_HEAD,
  SEG_HUGE_CONT, SEG_ARENA, SEG_META, SEG_FREE_CLEAN, SEG_FREE_CACHED, PTR_OK, PTR_OUTSIDE, PTR_MISALIGNED,
  PTR_METADATA, PTR_FREE_SEGMENT, PTR_ARENA, PTR_NOT_LIVE, PTR_INSIDE_HUGE, PTR_NOT_ARENA, PTR_RAW_BLOCK,
} from './layout';
import { Segments, initRegion, type RegionOS } from './segments';
import { Tlsf, isLive } from './tlsf';

const SEGMENT_MASK = SEGMENT_SIZE - 1;

/** The raw allocator's figures: live blocks and their requested bytes (native/raw.c's count()). */
export function countRaw(m: Uint32Array, blocks: number, bytes: number): void {
  m[RAW_BLOCKS >>> 2] += blocks;
  m[RAW_BYTES >>> 2] += bytes;
}

export class RawAllocator {
  readonly m: Uint32Array;
  readonly u8: Uint8Array;
  private readonly segments: Segments;
  private readonly tlsf: Tlsf;
  /** The region's size in bytes; every valid pointer is below it. */
  private readonly limit: number;

  /**
   * Writes a new region's metadata into `buffer` (all zeros, `segmentCount` segments long) and runs
   * over it; with `adopt`, runs over the metadata already there (an image's, checked by lib/image/).
   */
  constructor(
    buffer: ArrayBuffer,
    os: RegionOS,
    segmentCount: number,
    adopt = false,
    /** The words every metadata store goes through: the region's own, or a shared heap's journal of them (lib/shared/journal.ts). */
    words: Uint32Array = new Uint32Array(buffer),
  ) {
    this.m = words;
    this.u8 = new Uint8Array(buffer);
    if (!adopt) initRegion(this.m, segmentCount);
    this.segments = new Segments(this.m, os);
    this.tlsf = new Tlsf(this.m, this.u8, this.segments);
    this.limit = this.m[HDR_SEGMENT_COUNT >>> 2] * SEGMENT_SIZE;
  }

  malloc(n: number): number {
    const p = n <= RAW_HUGE_THRESHOLD ? this.tlsf.malloc(n) : this.hugeMalloc(n, false);
    if (p !== 0) this.count(1, n);
    return p;
  }

  /** A zeroed block of n bytes (the RAW domain has already multiplied and checked nelem * elsize). */
  calloc(n: number): number {
    if (n > RAW_HUGE_THRESHOLD) {
      const p = this.hugeMalloc(n, true);
      if (p !== 0) this.count(1, n);
      return p;
    }
    const p = this.tlsf.malloc(n);
    if (p !== 0) {
      this.u8.fill(0, p, p + n);
      this.count(1, n);
    }
    return p;
  }

  /** Returns PTR_OK, or why p cannot be freed (nothing changed then). free(0) does nothing. */
  free(p: number): number {
    if (p === 0) return PTR_OK;
    const kind = this.classify(p);
    if (kind < 0) return -kind;
    const s = p >>> SEGMENT_SHIFT;
    if (kind === SEG_RAW_POOL) {
      const h = p - BLOCK_HEADER_SIZE;
      this.count(-1, -this.m[(h + BLK_REQUESTED) >>> 2]);
      this.tlsf.free(h);
    } else {
      this.count(-1, -this.segments.value(s));
      this.hugeFree(s);
    }
    return PTR_OK;
  }

  /**
   * Returns the block's new pointer, 0 when out of memory (p untouched), or -status when p is refused.
   * A block stays where it is when it can: shrinking, or growing into free space right after it.
   */
  realloc(p: number, n: number): number {
    if (p === 0) return this.malloc(n);
    const kind = this.classify(p);
    if (kind < 0) return kind;
    const m = this.m;
    const s = p >>> SEGMENT_SHIFT;
    if (kind === SEG_RAW_POOL) {
      const h = p - BLOCK_HEADER_SIZE;
      const old = m[(h + BLK_REQUESTED) >>> 2];
      if (n <= RAW_HUGE_THRESHOLD && this.tlsf.resizeInPlace(h, n)) {
        this.count(0, n - old);
        return p;
      }
      // Growing: the old block cannot be larger than the new one, so all of it is copied.
      const q = n <= RAW_HUGE_THRESHOLD ? this.tlsf.malloc(n) : this.hugeMalloc(n, false);
      if (q === 0) return 0;
      this.u8.copyWithin(q, p, p + old);
      this.tlsf.free(h);
      this.count(0, n - old);
      return q;
    }
    const old = this.segments.value(s);
    if (n <= RAW_HUGE_THRESHOLD) {
      // Shrunk to a pool block's size: move it there and give the segments back.
      const q = this.tlsf.malloc(n);
      if (q === 0) return 0;
      this.u8.copyWithin(q, p, p + n);
      this.hugeFree(s);
      this.count(0, n - old);
      return q;
    }
    if (this.hugeResizeInPlace(s, old, n)) {
      this.count(0, n - old);
      return p;
    }
    const q = this.hugeMalloc(n, false);
    if (q === 0) return 0;
    this.u8.copyWithin(q, p, p + old);
    this.hugeFree(s);
    this.count(0, n - old);
    return q;
  }

  /** One free segment for the object allocator, its start 1 MiB-aligned; 0 when none is free. */
  arenaAlloc(): number {
    let s = this.segments.allocOne(SEG_ARENA, 0);
    if (s === 0 && this.tlsf.dropEmptyPool()) s = this.segments.allocOne(SEG_ARENA, 0);
    return s * SEGMENT_SIZE;
  }

  /**
   * Gives the OS every free segment kept against thrashing: the empty raw pool TLSF keeps, then the
   * segment cache. Returns how many segments went back. (native/raw.c's pm_trim.)
   */
  trim(): number {
    this.tlsf.dropEmptyPool();
    return this.segments.flushCache();
  }

  /**
   * Gives back an arena from arenaAlloc(). Returns PTR_OK or why p is not one (nothing changed then).
   * arenaFree(0) does nothing, as CPython's arena allocator ignores NULL.
   */
  arenaFree(p: number): number {
    if (p === 0) return PTR_OK;
    if (p >= this.limit) return PTR_OUTSIDE;
    if (p & SEGMENT_MASK) return PTR_NOT_ARENA;
    const s = p >>> SEGMENT_SHIFT;
    const kind = this.segments.kind(s);
    if (kind !== SEG_ARENA) return kind === SEG_FREE_CLEAN || kind === SEG_FREE_CACHED ? PTR_FREE_SEGMENT : PTR_RAW_BLOCK;
    this.segments.release(s);
    return PTR_OK;
  }

  /**
   * The kind of p's segment (SEG_RAW_POOL or SEG_HUGE_HEAD) when p is the start of a live raw block,
   * else -status, saying why it is not. Reads only.
   */
  private classify(p: number): number {
    if (p >= this.limit) return -PTR_OUTSIDE;
    if (p & 15) return -PTR_MISALIGNED;
    const kind = this.segments.kind(p >>> SEGMENT_SHIFT);
    switch (kind) {
      case SEG_RAW_POOL:
        return isLive(this.m, p) ? kind : -PTR_NOT_LIVE;
      case SEG_HUGE_HEAD:
        return p & SEGMENT_MASK ? -PTR_INSIDE_HUGE : kind;
      case SEG_HUGE_CONT:
        return -PTR_INSIDE_HUGE;
      case SEG_ARENA:
        return -PTR_ARENA;
      case SEG_META:
        return -PTR_METADATA;
      default:
        return -PTR_FREE_SEGMENT;
    }
  }

  private count(blocks: number, bytes: number): void {
    countRaw(this.m, blocks, bytes);
  }

  /**
   * A run of whole segments for n > RAW_HUGE_THRESHOLD bytes; with `zero`, stale bytes are cleared.
   * When no run is free, the kept empty pool is given up and the search made once more.
   */
  private hugeMalloc(n: number, zero: boolean): number {
    const run = Math.ceil(n / SEGMENT_SIZE);
    if (run >= this.segments.count) return 0;
    let s = this.hugeClaim(run, n, zero);
    if (s === 0 && this.tlsf.dropEmptyPool()) s = this.hugeClaim(run, n, zero);
    return s * SEGMENT_SIZE;
  }

  private hugeClaim(run: number, n: number, zero: boolean): number {
    const segs = this.segments;
    let s: number;
    if (run === 1) {
      s = segs.allocOne(SEG_HUGE_HEAD, n);
      if (s !== 0 && zero && segs.lastDirty) this.u8.fill(0, s * SEGMENT_SIZE, s * SEGMENT_SIZE + n);
    } else {
      s = segs.findRun(run);
      if (s !== 0) for (let i = 0; i < run; i++) this.claimHugeSegment(s, s + i, n, zero);
    }
    return s;
  }

  /** Claims segment `t` as part of the huge block starting at segment `s`, zeroing its stale bytes on request. */
  private claimHugeSegment(s: number, t: number, n: number, zero: boolean): void {
    const dirty = this.segments.claim(t, t === s ? SEG_HUGE_HEAD : SEG_HUGE_CONT, t === s ? n : s);
    if (zero && dirty) {
      const start = t * SEGMENT_SIZE;
      this.u8.fill(0, start, start + Math.min(SEGMENT_SIZE, s * SEGMENT_SIZE + n - start));
    }
  }

  private hugeFree(s: number): void {
    const run = Math.ceil(this.segments.value(s) / SEGMENT_SIZE);
    for (let i = 0; i < run; i++) this.segments.release(s + i);
  }

  /** Resizes the huge block at segment s from `old` to n bytes without moving it, when the segments allow. */
  private hugeResizeInPlace(s: number, old: number, n: number): boolean {
    const segs = this.segments;
    const run = Math.ceil(old / SEGMENT_SIZE);
    const want = Math.ceil(n / SEGMENT_SIZE);
    if (want > run) {
      if (s + want > segs.count) return false;
      for (let t = s + run; t < s + want; t++) if (!segs.isFree(t)) return false;
      for (let t = s + run; t < s + want; t++) segs.claim(t, SEG_HUGE_CONT, s);
    } else {
      for (let t = s + want; t < s + run; t++) segs.release(t);
    }
    segs.setValue(s, n);
    return true;
  }
}
