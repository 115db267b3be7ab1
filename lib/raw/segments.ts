/**
 * Layer 0/+1 boundary: the region's 1 MiB segments, their kinds, the free-segment map and the cache of
 * empty segments. native/segments.c is the same algorithm over the same bytes.
 *
 * Cost: allocOne() scans the cached-segment map, or when nothing is cached the free map (at most 128
 * words each); findRun() scans the free map bit by bit (at most 4096 steps); they run once per pool,
 * arena or huge block, never per small block.
 */
import { SEGMENT_SHIFT, SEGMENT_SIZE, RAW_HUGE_THRESHOLD, segmentCacheMax } from '../config';
import {
  MAGIC, LAYOUT_VERSION, HDR_MAGIC, HDR_VERSION, HDR_SEGMENT_SHIFT, HDR_SEGMENT_COUNT, HDR_HUGE_THRESHOLD,
  HDR_CACHE_MAX, KIND_COUNTS, SEG_CACHE_MAP, CACHE_COUNT, SEG_FREE_MAP, SEG_TABLE, SEG_ENTRY_SIZE, SEG_KIND, SEG_VALUE,
  SEG_FREE_CLEAN, SEG_FREE_CACHED, SEG_META,
} from './layout';

/** What the allocator asks of the operating system (native: madvise; fallback: zero-fill). */
export interface RegionOS {
  /** The pages of [offset, offset + length) are no longer needed; afterwards they read as zeros. */
  release(offset: number, length: number): void;
}

/** Writes a new region's metadata: every segment but 0 free and clean. The region must be all zeros. */
export function initRegion(m: Uint32Array, segmentCount: number): void {
  m[HDR_MAGIC >>> 2] = MAGIC;
  m[HDR_VERSION >>> 2] = LAYOUT_VERSION;
  m[HDR_SEGMENT_SHIFT >>> 2] = SEGMENT_SHIFT;
  m[HDR_SEGMENT_COUNT >>> 2] = segmentCount;
  m[HDR_HUGE_THRESHOLD >>> 2] = RAW_HUGE_THRESHOLD;
  m[HDR_CACHE_MAX >>> 2] = segmentCacheMax(segmentCount);
  m[(SEG_TABLE + SEG_KIND) >>> 2] = SEG_META;
  m[(KIND_COUNTS >>> 2) + SEG_META] = 1;
  m[(KIND_COUNTS >>> 2) + SEG_FREE_CLEAN] = segmentCount - 1;
  for (let s = 1; s < segmentCount; s++) m[(SEG_FREE_MAP >>> 2) + (s >>> 5)] |= 1 << (s & 31);
}

/** The kind of segment s, from the table. */
export function segmentKind(m: Uint32Array, s: number): number {
  return m[(SEG_TABLE + s * SEG_ENTRY_SIZE + SEG_KIND) >>> 2];
}

/** Segment s's value: a huge head's requested size, a continuation's head, else 0. */
export function segmentValue(m: Uint32Array, s: number): number {
  return m[(SEG_TABLE + s * SEG_ENTRY_SIZE + SEG_VALUE) >>> 2];
}

export class Segments {
  readonly m: Uint32Array;
  readonly count: number;
  /** Set by allocOne(): claim()'s answer for the segment it took. */
  lastDirty = 0;

  constructor(m: Uint32Array, private readonly os: RegionOS) {
    this.m = m;
    this.count = m[HDR_SEGMENT_COUNT >>> 2];
  }

  kind(s: number): number {
    return segmentKind(this.m, s);
  }

  value(s: number): number {
    return segmentValue(this.m, s);
  }

  setValue(s: number, value: number): void {
    this.m[(SEG_TABLE + s * SEG_ENTRY_SIZE + SEG_VALUE) >>> 2] = value;
  }

  isFree(s: number): boolean {
    return (this.m[(SEG_FREE_MAP >>> 2) + (s >>> 5)] & (1 << (s & 31))) !== 0;
  }

  private setEntry(s: number, kind: number, value: number): void {
    const m = this.m;
    const e = (SEG_TABLE + s * SEG_ENTRY_SIZE) >>> 2;
    m[(KIND_COUNTS >>> 2) + m[e]]--;
    m[(KIND_COUNTS >>> 2) + kind]++;
    m[e] = kind;
    m[e + 1] = value;
  }

  /**
   * Takes one free segment for `kind`: the lowest cached one (its pages are still committed), else
   * the lowest clean one. Returns its index, 0 when none is free; sets lastDirty.
   */
  allocOne(kind: number, value: number): number {
    const s = this.lowestIn(this.m[CACHE_COUNT >>> 2] > 0 ? SEG_CACHE_MAP : SEG_FREE_MAP);
    if (s === 0) return 0;
    this.lastDirty = this.claim(s, kind, value);
    return s;
  }

  /** The lowest segment whose bit is set in the map at `map` (free or cached), 0 when none is. */
  private lowestIn(map: number): number {
    const m = this.m;
    const words = (this.count + 31) >>> 5;
    for (let w = 0; w < words; w++) {
      const bits = m[(map >>> 2) + w];
      if (bits !== 0) return (w << 5) + (31 - Math.clz32(bits & -bits));
    }
    return 0;
  }

  /** The lowest index starting `n` consecutive free segments, 0 when there is no such run. */
  findRun(n: number): number {
    const m = this.m;
    let run = 0;
    let start = 0;
    for (let s = 1; s < this.count; ) {
      const bits = m[(SEG_FREE_MAP >>> 2) + (s >>> 5)];
      if ((s & 31) === 0 && bits === 0) {
        run = 0;
        s += 32;
        continue;
      }
      if ((bits >>> (s & 31)) & 1) {
        if (run === 0) start = s;
        if (++run === n) return start;
      } else {
        run = 0;
      }
      s++;
    }
    return 0;
  }

  /** Takes the free segment `s` for `kind`. Returns 1 when it was cached (stale bytes), 0 when clean. */
  claim(s: number, kind: number, value: number): number {
    const m = this.m;
    let dirty = 0;
    if (this.kind(s) === SEG_FREE_CACHED) {
      dirty = 1;
      m[(SEG_CACHE_MAP >>> 2) + (s >>> 5)] &= ~(1 << (s & 31));
      m[CACHE_COUNT >>> 2]--;
    }
    m[(SEG_FREE_MAP >>> 2) + (s >>> 5)] &= ~(1 << (s & 31));
    this.setEntry(s, kind, value);
    return dirty;
  }

  /** Gives every cached segment's pages back to the OS; returns how many there were. */
  flushCache(): number {
    const m = this.m;
    const n = m[CACHE_COUNT >>> 2];
    const words = (this.count + 31) >>> 5;
    for (let w = 0; w < words; w++) {
      for (let bits = m[(SEG_CACHE_MAP >>> 2) + w]; bits !== 0; bits &= bits - 1) {
        const s = (w << 5) + (31 - Math.clz32(bits & -bits));
        this.os.release(s * SEGMENT_SIZE, SEGMENT_SIZE);
        this.setEntry(s, SEG_FREE_CLEAN, 0);
      }
      m[(SEG_CACHE_MAP >>> 2) + w] = 0;
    }
    m[CACHE_COUNT >>> 2] = 0;
    return n;
  }

  /** Frees segment `s`: into the cache while it has room, else back to the OS. */
  release(s: number): void {
    const m = this.m;
    const n = m[CACHE_COUNT >>> 2];
    if (n < m[HDR_CACHE_MAX >>> 2]) { // the region's bound, in its header, as the C twin reads it
      m[(SEG_CACHE_MAP >>> 2) + (s >>> 5)] |= 1 << (s & 31);
      m[CACHE_COUNT >>> 2] = n + 1;
      this.setEntry(s, SEG_FREE_CACHED, 0);
    } else {
      this.os.release(s * SEGMENT_SIZE, SEGMENT_SIZE);
      this.setEntry(s, SEG_FREE_CLEAN, 0);
    }
    m[(SEG_FREE_MAP >>> 2) + (s >>> 5)] |= 1 << (s & 31);
  }
}
