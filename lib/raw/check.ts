/**
 * heap.check() for the raw allocator: walks every invariant of the region's metadata, segments, pools,
 * blocks and free lists, reading bytes only, so it checks either backend. Throws HeapCorruptionError
 * naming the first invariant broken. Cost: linear in the region's live segments (every block of every
 * pool is visited once); meant for tests and debugging, not for hot paths.
 */
import { SEGMENT_SIZE, SEGMENT_SHIFT, RAW_HUGE_THRESHOLD, MAX_SEGMENTS, TLSF_FL_COUNT, TLSF_SL_COUNT, TLSF_SL_LOG2, segmentCacheMax } from '../config';
import {
  NULL_GUARD_BYTES, MAGIC, LAYOUT_VERSION, HDR_MAGIC, HDR_VERSION, HDR_SEGMENT_SHIFT, HDR_SEGMENT_COUNT, HDR_HUGE_THRESHOLD, HDR_CACHE_MAX,
  RAW_BLOCKS, RAW_BYTES, EMPTY_POOL, CACHE_COUNT, SEG_CACHE_MAP, KIND_COUNTS, TLSF_FL_BITMAP, TLSF_SL_BITMAPS, TLSF_HEADS,
  SEG_FREE_MAP, SEG_KIND_COUNT, SEG_KIND_NAMES, SEG_FREE_CLEAN,
  SEG_FREE_CACHED, SEG_META, SEG_RAW_POOL, SEG_HUGE_HEAD, SEG_HUGE_CONT, POOL_FIRST_BLOCK, POOL_SENTINEL,
  POOL_BLOCK_MAX, POOL_LIVE_MAP, POOL_LIVE_MAP_BYTES, BLK_SIZE, BLK_PREV, BLK_REQUESTED, BLK_RESERVED,
  BLK_NEXT_FREE, BLK_PREV_FREE, BLOCK_FREE_BIT, BLOCK_SIZE_MASK, BLOCK_MIN_SIZE, BLOCK_HEADER_SIZE,
  QUICK_BINS, QUICK_BIN_COUNT, QUICK_DEPTH, QUICK_COUNT_MASK,
} from './layout';
import { blockSizeFor, isLive, listIndex } from './tlsf';
import { segmentKind, segmentValue } from './segments';
import { allZero, countBits } from './scan';
import { HeapCorruptionError, hex } from '../errors';

function fail(invariant: string, detail: string): never {
  throw new HeapCorruptionError(invariant, detail);
}

function expectHeader(m: Uint32Array, offset: number, name: string, expected: number): void {
  const found = m[offset >>> 2];
  if (found !== expected) fail(`header.${name}`, `expected ${hex(expected)}, found ${hex(found)}`);
}

/** Walks the whole raw allocator of a region of `segmentCount` segments. */
export function checkRegion(m: Uint32Array, segmentCount: number): void {
  const guard = new Uint8Array(m.buffer, 0, NULL_GUARD_BYTES);
  if (!allZero(guard)) {
    const at = guard.findIndex((byte) => byte !== 0);
    fail('null.guard', `byte ${at} (0x${at.toString(16)}) of the region's first ${NULL_GUARD_BYTES} is ${guard[at]}, not 0: a write through a NULL (0) pointer?`);
  }
  expectHeader(m, HDR_MAGIC, 'magic', MAGIC);
  expectHeader(m, HDR_VERSION, 'version', LAYOUT_VERSION);
  expectHeader(m, HDR_SEGMENT_SHIFT, 'segmentShift', SEGMENT_SHIFT);
  expectHeader(m, HDR_SEGMENT_COUNT, 'segmentCount', segmentCount);
  expectHeader(m, HDR_HUGE_THRESHOLD, 'hugeThreshold', RAW_HUGE_THRESHOLD);
  expectHeader(m, HDR_CACHE_MAX, 'cacheMax', segmentCacheMax(segmentCount));
  const huge = checkSegments(m, segmentCount);
  checkCache(m, segmentCount);
  const quick = checkQuickBins(m, segmentCount);
  const pools = checkPools(m, segmentCount, quick);
  checkFreeLists(m, pools.free);
  const blocks = pools.usedBlocks + huge.blocks;
  if (m[RAW_BLOCKS >>> 2] !== blocks) fail('counters.rawBlocks', `the counter says ${m[RAW_BLOCKS >>> 2]}, the region holds ${blocks}`);
  const bytes = (pools.usedBytes + huge.bytes) >>> 0;
  if (m[RAW_BYTES >>> 2] !== bytes) fail('counters.rawBytes', `the counter says ${m[RAW_BYTES >>> 2]}, the region's blocks requested ${bytes}`);
}

/** The segment table, the free map and the kind counts; returns the huge blocks' count and bytes. */
function checkSegments(m: Uint32Array, count: number): { blocks: number; bytes: number } {
  const counts = new Array<number>(SEG_KIND_COUNT).fill(0);
  let runEnd = 0;
  let head = 0;
  let blocks = 0;
  let bytes = 0;
  for (let s = 0; s < count; s++) {
    const kind = segmentKind(m, s);
    const value = segmentValue(m, s);
    if (kind >= SEG_KIND_COUNT) fail('segment.kind', `segment ${s} has kind ${kind}`);
    counts[kind]++;
    const free = (m[(SEG_FREE_MAP >>> 2) + (s >>> 5)] >>> (s & 31)) & 1;
    if (free !== (kind === SEG_FREE_CLEAN || kind === SEG_FREE_CACHED ? 1 : 0)) {
      fail('segment.freeMap', `segment ${s} is ${SEG_KIND_NAMES[kind]} but its free-map bit is ${free}`);
    }
    if ((s === 0) !== (kind === SEG_META)) fail('segment.meta', `segment ${s} is ${SEG_KIND_NAMES[kind]}`);
    if (s < runEnd) {
      if (kind !== SEG_HUGE_CONT || value !== head) fail('segment.hugeRun', `segment ${s} should continue the large block at segment ${head}`);
      continue;
    }
    if (kind === SEG_HUGE_CONT) fail('segment.hugeRun', `segment ${s} continues a large block but follows none`);
    if (kind === SEG_HUGE_HEAD) {
      if (value <= RAW_HUGE_THRESHOLD) fail('segment.hugeSize', `the large block at segment ${s} holds ${value} bytes`);
      runEnd = s + Math.ceil(value / SEGMENT_SIZE);
      if (runEnd > count) fail('segment.hugeRun', `the large block at segment ${s} runs past the region's end`);
      head = s;
      blocks++;
      bytes += value;
    } else if (value !== 0) {
      fail('segment.value', `segment ${s} (${SEG_KIND_NAMES[kind]}) has value ${value}`);
    }
  }
  for (let s = count; s < MAX_SEGMENTS; s++) {
    if ((m[(SEG_FREE_MAP >>> 2) + (s >>> 5)] >>> (s & 31)) & 1) fail('segment.freeMap', `segment ${s} is beyond the region but marked free`);
  }
  for (let kind = 0; kind < SEG_KIND_COUNT; kind++) {
    const stored = m[(KIND_COUNTS >>> 2) + kind];
    if (stored !== counts[kind]) fail('segment.kindCounts', `${stored} ${SEG_KIND_NAMES[kind]} segments counted, ${counts[kind]} in the table`);
  }
  return { blocks, bytes };
}

/** The cached-segment map: exactly the cached segments, as many as CACHE_COUNT says, at most cacheMax. */
function checkCache(m: Uint32Array, count: number): void {
  const n = m[CACHE_COUNT >>> 2];
  const max = segmentCacheMax(count);
  if (n > max) fail('segment.cache', `${n} cached segments, at most ${max} allowed`);
  for (let s = 0; s < MAX_SEGMENTS; s++) {
    const bit = (m[(SEG_CACHE_MAP >>> 2) + (s >>> 5)] >>> (s & 31)) & 1;
    const cached = s < count && segmentKind(m, s) === SEG_FREE_CACHED ? 1 : 0;
    if (bit !== cached) fail('segment.cache', `segment ${s} is ${cached ? '' : 'not '}cached but its cache-map bit is ${bit}`);
  }
  const cached = m[(KIND_COUNTS >>> 2) + SEG_FREE_CACHED];
  if (cached !== n) fail('segment.cache', `${cached} segments are cached but the cache counts ${n}`);
}

/**
 * The quick bins: each bin's count is the length of its chain, at most QUICK_DEPTH, of distinct blocks
 * of the bin's size in raw pools, none of them live. Returns the blocks kept; checkPools then finds each
 * of them in use to TLSF, where it is walked.
 */
function checkQuickBins(m: Uint32Array, count: number): Set<number> {
  const kept = new Set<number>();
  for (let bin = 0; bin < QUICK_BIN_COUNT; bin++) {
    const word = m[(QUICK_BINS >>> 2) + bin];
    const size = BLOCK_MIN_SIZE + bin * 16;
    const n = word & QUICK_COUNT_MASK;
    if (n > QUICK_DEPTH) fail('quick.count', `the quick bin of ${size}-byte blocks counts ${n}, at most ${QUICK_DEPTH} allowed`);
    let h = word - n;
    for (let i = 0; i < n; i++) {
      const s = h >>> SEGMENT_SHIFT;
      const where = `the quick bin of ${size}-byte blocks holds ${hex(h)}`;
      if (h === 0 || s >= count || segmentKind(m, s) !== SEG_RAW_POOL || (h & 15) !== 0 || kept.has(h)) fail('quick.block', `${where}, not a distinct block in a raw pool`);
      if (m[(h + BLK_SIZE) >>> 2] !== size) fail('quick.block', `${where}, whose size word is ${hex(m[(h + BLK_SIZE) >>> 2])}`);
      if (isLive(m, h + BLOCK_HEADER_SIZE)) fail('quick.block', `${where}, which is live`);
      kept.add(h);
      h = m[(h + BLK_REQUESTED) >>> 2];
    }
    if (h !== 0) fail('quick.count', `the quick bin of ${size}-byte blocks counts ${n} but its chain goes on at ${hex(h)}`);
  }
  return kept;
}

/** Every pool's blocks, physically; returns the free blocks found and the blocks in use. */
function checkPools(m: Uint32Array, count: number, quick: Set<number>): { free: Set<number>; usedBlocks: number; usedBytes: number } {
  const free = new Set<number>();
  let usedBlocks = 0;
  let usedBytes = 0;
  const emptyPool = m[EMPTY_POOL >>> 2];
  if (emptyPool !== 0) {
    const h = emptyPool * SEGMENT_SIZE + POOL_FIRST_BLOCK;
    if (emptyPool >= count || segmentKind(m, emptyPool) !== SEG_RAW_POOL || m[(h + BLK_SIZE) >>> 2] !== (POOL_BLOCK_MAX | BLOCK_FREE_BIT)) {
      fail('pool.emptyPool', `segment ${emptyPool} is kept as the empty raw pool but is not one`);
    }
  }
  for (let s = 1; s < count; s++) {
    if (segmentKind(m, s) !== SEG_RAW_POOL) continue;
    const base = s * SEGMENT_SIZE;
    const end = base + POOL_SENTINEL;
    let prev = 0;
    let prevFree = false;
    let live = 0;
    let h = base + POOL_FIRST_BLOCK;
    while (h < end) {
      const word = m[(h + BLK_SIZE) >>> 2];
      const size = word & BLOCK_SIZE_MASK;
      const isFree = (word & BLOCK_FREE_BIT) !== 0;
      const where = `block ${hex(h)} (segment ${s})`;
      if ((word & 15 & ~BLOCK_FREE_BIT) !== 0 || size < BLOCK_MIN_SIZE || h + size > end) fail('pool.blockSize', `${where} has size word ${hex(word)}`);
      if (m[(h + BLK_PREV) >>> 2] !== prev) fail('pool.prevLink', `${where} links back to ${hex(m[(h + BLK_PREV) >>> 2])}, not ${hex(prev)}`);
      const p = h + BLOCK_HEADER_SIZE;
      if (isFree) {
        if (prevFree) fail('pool.coalesced', `free blocks ${hex(prev)} and ${hex(h)} are adjacent`);
        if (isLive(m, p)) fail('pool.liveMap', `free ${where} is marked live`);
        if (size === POOL_BLOCK_MAX && emptyPool !== s) fail('pool.emptyPool', `segment ${s} is wholly free but not the kept empty pool`);
        free.add(h);
      } else if (quick.has(h)) {
        // Kept in a quick bin (checked there): in use to TLSF, not live, its requested word a link.
        if (m[(h + BLK_RESERVED) >>> 2] !== 0) fail('block.reserved', `the word just below the kept block ${hex(p)} is ${hex(m[(h + BLK_RESERVED) >>> 2])}, not 0`);
      } else {
        if (!isLive(m, p)) fail('pool.liveMap', `${where} is in use but not marked live`);
        if (m[(h + BLK_RESERVED) >>> 2] !== 0) fail('block.reserved', `the word just below payload ${hex(p)} is ${hex(m[(h + BLK_RESERVED) >>> 2])}, not 0: written before the block's start?`);
        const requested = m[(h + BLK_REQUESTED) >>> 2];
        if (blockSizeFor(requested) > size) fail('block.requested', `${where} of ${size} bytes records a request of ${requested}`);
        usedBlocks++;
        usedBytes += requested;
        live++;
      }
      prevFree = isFree;
      prev = h;
      h += size;
    }
    if (h !== end || m[(end + BLK_SIZE) >>> 2] !== 0 || m[(end + BLK_PREV) >>> 2] !== prev || m[(end + BLK_REQUESTED) >>> 2] !== 0 || m[(end + BLK_RESERVED) >>> 2] !== 0) {
      fail('pool.sentinel', `segment ${s}'s blocks do not end at an intact sentinel at ${hex(end)}`);
    }
    const map = (base + POOL_LIVE_MAP) >>> 2;
    const bits = countBits(m, map, map + POOL_LIVE_MAP_BYTES / 4);
    if (bits !== live) fail('pool.liveMap', `segment ${s} has ${bits} live bits for ${live} blocks in use`);
  }
  return { free, usedBlocks, usedBytes };
}

/** The TLSF bitmaps and lists: exactly the free blocks of the pools, each once, on its own list. */
function checkFreeLists(m: Uint32Array, free: Set<number>): void {
  const flMap = m[TLSF_FL_BITMAP >>> 2];
  if (flMap >>> TLSF_FL_COUNT !== 0) fail('tlsf.bitmap', `first-level bitmap ${hex(flMap)} has bits beyond row ${TLSF_FL_COUNT - 1}`);
  const listed = new Set<number>();
  for (let fl = 0; fl < TLSF_FL_COUNT; fl++) {
    const slMap = m[(TLSF_SL_BITMAPS >>> 2) + fl];
    if (((flMap >>> fl) & 1) !== (slMap !== 0 ? 1 : 0)) fail('tlsf.bitmap', `row ${fl}: first-level bit disagrees with second-level bitmap ${hex(slMap)}`);
    for (let sl = 0; sl < TLSF_SL_COUNT; sl++) {
      const list = (fl << TLSF_SL_LOG2) | sl;
      let h = m[(TLSF_HEADS >>> 2) + list];
      if (((slMap >>> sl) & 1) !== (h !== 0 ? 1 : 0)) fail('tlsf.bitmap', `list (${fl}, ${sl}): bitmap bit disagrees with head ${hex(h)}`);
      let back = 0;
      while (h !== 0) {
        if (!free.has(h) || listed.has(h)) fail('tlsf.list', `list (${fl}, ${sl}) holds ${hex(h)}, which is not a free block or is listed twice`);
        if (listIndex(m[(h + BLK_SIZE) >>> 2] & BLOCK_SIZE_MASK) !== list) fail('tlsf.list', `block ${hex(h)} is on list (${fl}, ${sl}), not its own`);
        if (m[(h + BLK_PREV_FREE) >>> 2] !== back) fail('tlsf.list', `block ${hex(h)} links back to ${hex(m[(h + BLK_PREV_FREE) >>> 2])}, not ${hex(back)}`);
        listed.add(h);
        back = h;
        h = m[(h + BLK_NEXT_FREE) >>> 2];
      }
    }
  }
  if (listed.size !== free.size) fail('tlsf.list', `${free.size} free blocks in the pools, ${listed.size} on the free lists`);
}
