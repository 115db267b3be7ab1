/**
 * pymalloc's statistics: the figures of _PyObject_DebugMallocStats (CPython 3.12) read from the region,
 * sys.getallocatedblocks(), and the text of sys._debugmallocstats()'s pymalloc section. Where CPython
 * prints its radix tree's nodes, the text shows what stands in for them here: the region's segments.
 */
import { SEGMENT_SIZE } from '../config';
import {
  SMALL_REQUEST_THRESHOLD, NB_SMALL_SIZE_CLASSES, POOL_SIZE, firstPool, POOL_OVERHEAD, ARENA_SIZE, POOL_COUNT,
  POOL_SZIDX, AO_ADDRESS, AO_POOL_ADDRESS, AO_NFREEPOOLS, OBM_NTIMES_ALLOCATED, OBM_NARENAS_HIGHWATER,
  OBM_RAW_ALLOCATED_BLOCKS, OBM_STATE, blockSize, numBlocks, stateField, liveArenas,
} from './layout';
import type { SegmentCounts } from '../raw/stats';

/** One size class's row of the table: only classes with at least one pool in use are printed. */
export interface SizeClassStats {
  sizeClass: number;
  blockSize: number;
  pools: number;
  blocksInUse: number;
  availableBlocks: number;
}

/** pymalloc's figures, as _PyObject_DebugMallocStats computes them. */
export interface PymallocStats {
  arenasAllocatedTotal: number;
  arenasReclaimed: number;
  arenasHighwater: number;
  arenasCurrent: number;
  /** Bytes in blocks handed out (whole blocks: a 20-byte request counts 32). */
  allocatedBytes: number;
  /** Bytes in free blocks of pools in use, carved or not. */
  availableBytes: number;
  /** Empty pools plus pools never carved, in all arenas. */
  unusedPools: number;
  poolHeaderBytes: number;
  /** Bytes at the end of each pool in use that no whole block fits. */
  quantizationBytes: number;
  /** A pool per arena that does not start on a pool boundary (0 with the default arena allocator). */
  arenaAlignmentBytes: number;
  /** Blocks of the object allocator that live in the raw allocator (requests of 0 or > 512 bytes). */
  rawAllocatedBlocks: number;
  /** sys.getallocatedblocks(): raw-allocated blocks plus blocks in use in every pool. */
  allocatedBlocks: number;
  classes: SizeClassStats[];
}

const W = 2;

/**
 * Walks every carved pool of every arena: linear in the arenas, for statistics, not hot paths. `states`:
 * where each pymalloc's state lies (stateField), a private heap's one or each thread's of a shared heap,
 * whose figures add up; `pending`, blocks freed by other threads that their pools' owners have not
 * taken back yet: allocatedBlocks leaves them out, the pool and class figures count them in their pools,
 * where they still are.
 */
export function readPymallocStats(m: Uint32Array, states: readonly number[] = [OBM_STATE], pending = 0): PymallocStats {
  const pools = new Array<number>(NB_SMALL_SIZE_CLASSES).fill(0);
  const inUse = new Array<number>(NB_SMALL_SIZE_CLASSES).fill(0);
  const free = new Array<number>(NB_SMALL_SIZE_CLASSES).fill(0);
  let arenas = 0;
  let unusedPools = 0;
  let alignment = 0;
  let total = 0;
  let highwater = 0;
  let rawAllocatedBlocks = 0;
  for (const state of states) {
    total += m[stateField(state, OBM_NTIMES_ALLOCATED) >>> W];
    highwater += m[stateField(state, OBM_NARENAS_HIGHWATER) >>> W];
    rawAllocatedBlocks += m[stateField(state, OBM_RAW_ALLOCATED_BLOCKS) >>> W];
  }
  for (const ao of liveArenas(m, states)) {
    const address = m[(ao + AO_ADDRESS) >>> W];
    arenas++;
    unusedPools += m[(ao + AO_NFREEPOOLS) >>> W];
    const base = firstPool(address);
    if (base !== address) alignment += POOL_SIZE;
    for (let pool = base; pool < m[(ao + AO_POOL_ADDRESS) >>> W]; pool += POOL_SIZE) {
      const count = m[(pool + POOL_COUNT) >>> W];
      if (count === 0) continue; // empty: counted among the unused pools
      const size = m[(pool + POOL_SZIDX) >>> W];
      pools[size]++;
      inUse[size] += count;
      free[size] += numBlocks(size) - count;
    }
  }
  // A thread's count may wrap below 0 (threads free each other's raw blocks): the sum is the figure.
  rawAllocatedBlocks >>>= 0;
  const classes: SizeClassStats[] = [];
  let allocatedBytes = 0;
  let availableBytes = 0;
  let headers = 0;
  let quantization = 0;
  let blocks = 0;
  for (let size = 0; size < NB_SMALL_SIZE_CLASSES; size++) {
    if (pools[size] === 0) continue;
    const bs = blockSize(size);
    classes.push({ sizeClass: size, blockSize: bs, pools: pools[size], blocksInUse: inUse[size], availableBlocks: free[size] });
    allocatedBytes += inUse[size] * bs;
    availableBytes += free[size] * bs;
    headers += pools[size] * POOL_OVERHEAD;
    quantization += pools[size] * ((POOL_SIZE - POOL_OVERHEAD) % bs);
    blocks += inUse[size];
  }
  return {
    arenasAllocatedTotal: total,
    arenasReclaimed: total - arenas,
    arenasHighwater: highwater,
    arenasCurrent: arenas,
    allocatedBytes,
    availableBytes,
    unusedPools,
    poolHeaderBytes: headers,
    quantizationBytes: quantization,
    arenaAlignmentBytes: alignment,
    rawAllocatedBlocks,
    allocatedBlocks: rawAllocatedBlocks + blocks - pending,
    classes,
  };
}

/** printone: the label padded to column 35, '=', the value right-aligned in 21 columns with thousands commas. */
export function printone(label: string, value: number): string {
  const digits = String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${label.padEnd(35)}=${digits.padStart(21)}\n`;
}

function column(value: number, width: number): string {
  return String(value).padStart(width);
}

/** The figures of the region printed where CPython prints its arena map. */
export interface RegionFigures {
  reservedBytes: number;
  committedBytes: number;
  segments: SegmentCounts;
}

/** How the pymalloc section starts: a reader tells from it whether the section is there. */
export const PYMALLOC_STATS_HEADING = 'Small block threshold';

/** sys._debugmallocstats()'s pymalloc section: CPython's layout, with the region where the radix tree was. */
export function formatDebugMallocStats(s: PymallocStats, region: RegionFigures): string {
  let out = `${PYMALLOC_STATS_HEADING} = ${SMALL_REQUEST_THRESHOLD}, in ${NB_SMALL_SIZE_CLASSES} size classes.\n\n`;
  out += 'class   size   num pools   blocks in use  avail blocks\n';
  out += '-----   ----   ---------   -------------  ------------\n';
  for (const c of s.classes) {
    out += `${column(c.sizeClass, 5)} ${column(c.blockSize, 6)} ${column(c.pools, 11)} ${column(c.blocksInUse, 15)} ${column(c.availableBlocks, 13)}\n`;
  }
  out += '\n';
  out += printone('# arenas allocated total', s.arenasAllocatedTotal);
  out += printone('# arenas reclaimed', s.arenasReclaimed);
  out += printone('# arenas highwater mark', s.arenasHighwater);
  out += printone('# arenas allocated current', s.arenasCurrent);
  out += printone(`${s.arenasCurrent} arenas * ${ARENA_SIZE} bytes/arena`, s.arenasCurrent * ARENA_SIZE);
  out += '\n';
  out += printone('# bytes in allocated blocks', s.allocatedBytes);
  out += printone('# bytes in available blocks', s.availableBytes);
  out += printone(`${s.unusedPools} unused pools * ${POOL_SIZE} bytes`, s.unusedPools * POOL_SIZE);
  out += printone('# bytes lost to pool headers', s.poolHeaderBytes);
  out += printone('# bytes lost to quantization', s.quantizationBytes);
  out += printone('# bytes lost to arena alignment', s.arenaAlignmentBytes);
  const total = s.allocatedBytes + s.availableBytes + s.unusedPools * POOL_SIZE + s.poolHeaderBytes + s.quantizationBytes + s.arenaAlignmentBytes;
  out += printone('Total', total);
  const seg = region.segments;
  out += '\nregion segments\n';
  out += printone('# segments of metadata', seg.meta);
  out += printone('# segments of arenas', seg.arena);
  out += printone('# segments of raw pools', seg.rawPool);
  out += printone('# segments of large raw blocks', seg.huge);
  out += printone('# segments free, kept committed', seg.cached);
  out += printone('# segments free', seg.free);
  out += printone(`${seg.total} segments * ${SEGMENT_SIZE} bytes`, region.reservedBytes);
  out += '\n';
  out += printone('# bytes reserved', region.reservedBytes);
  out += printone('# bytes committed', region.committedBytes);
  return out;
}
