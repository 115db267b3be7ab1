/**
 * pymalloc's byte layout: its constants (CPython 3.12, 64-bit Linux) and where its state lives in the
 * region. Every byte of it is in the region, read through a Uint32Array at `offset >>> 2`; the only JS
 * state is a constant lookup table. The raw allocator (C or TypeScript) never reads these bytes, so
 * they are not part of the layout the addon is checked against.
 *
 * Pointers inside this state are region offsets, 0 being NULL, exactly as CPython's are addresses:
 * an arena object "pointer" is the offset of its 32-byte record in the arena table.
 *
 * Segment 0, after the raw allocator's metadata (META_RAW_END):
 *
 *   0x19000 counters        usable_arenas, unused_arena_objects, maxarenas, narenas_currently_allocated,
 *                           ntimes_arena_allocated, narenas_highwater, raw_allocated_blocks   (8 x u32)
 *   0x19020 usedpools       per size class, the nextpool/prevpool pair of a fake pool header (32 x 2 x u32)
 *   0x19120 nfp2lasta       per free-pool count 0..64, the rightmost usable arena with it  (65 x u32)
 *   0x19300 arena map       per segment, arena coverage and carved pools                  (4096 x 16 B)
 *   0x29300 arena table     arena objects                                                  (4096 x 32 B)
 *   0x49300 end
 */
import { ALIGNMENT_SHIFT, MAX_SEGMENTS, SEGMENT_SHIFT, SEGMENT_SIZE } from '../config';
import { META_RAW_END } from '../raw/layout';

/** CPython's SMALL_REQUEST_THRESHOLD: larger requests (and 0) go to the raw allocator. */
export const SMALL_REQUEST_THRESHOLD = 512;
export const NB_SMALL_SIZE_CLASSES = SMALL_REQUEST_THRESHOLD >>> ALIGNMENT_SHIFT;
/** CPython 3.10+ on 64-bit (USE_LARGE_POOLS): 16 KiB pools. */
export const POOL_BITS = 14;
export const POOL_SIZE = 1 << POOL_BITS;
export const POOL_SIZE_MASK = POOL_SIZE - 1;
/** CPython 3.10+ on 64-bit (USE_LARGE_ARENAS): 1 MiB arenas, one segment of the region each. */
export const ARENA_BITS = SEGMENT_SHIFT;
export const ARENA_SIZE = SEGMENT_SIZE;
export const ARENA_SIZE_MASK = ARENA_SIZE - 1;
export const MAX_POOLS_IN_ARENA = ARENA_SIZE / POOL_SIZE;
/** CPython's arena vector starts with 16 objects and doubles. */
export const INITIAL_ARENA_OBJECTS = 16;
/** A pool's szidx before its first use: no size class, so its first use initialises it. */
export const DUMMY_SIZE_IDX = 0xffff;

/**
 * Pool header, at the start of each pool. CPython's is 48 bytes with 8-byte pointers; ours holds u32
 * offsets and keeps the 48 bytes (POOL_OVERHEAD), so every pool holds exactly CPython's block counts.
 *
 *   +0  count          allocated blocks
 *   +4  freeblock      head of the pool's free list; each free block's first u32 is the next one
 *   +8  nextpool       usedpools list (circular), or the arena's freepools list (singly linked)
 *   +12 prevpool
 *   +16 arenaindex     index of the arena object
 *   +20 szidx          size class
 *   +24 nextoffset     offset of the next never-used block: blocks are carved lazily
 *   +28 maxnextoffset  POOL_SIZE - block size: the last offset a block can start at
 *   +32 owner          a shared heap's (lib/shared/): the slot of the thread whose arena holds the pool;
 *                      a private heap never writes it
 *   +36 (12 bytes unused)
 */
export const POOL_COUNT = 0;
export const POOL_FREEBLOCK = 4;
export const POOL_NEXTPOOL = 8;
export const POOL_PREVPOOL = 12;
export const POOL_ARENAINDEX = 16;
export const POOL_SZIDX = 20;
export const POOL_NEXTOFFSET = 24;
export const POOL_MAXNEXTOFFSET = 28;
export const POOL_OWNER = 32;
export const POOL_OVERHEAD = 48;

/**
 * Arena object, 32 bytes in the arena table:
 *
 *   +0  address       the arena's first byte; 0 when the object has no arena (on unused_arena_objects)
 *   +4  pool_address  the next pool to carve
 *   +8  nfreepools    empty pools on freepools plus pools never carved
 *   +12 ntotalpools   64, or 63 when the arena does not start on a pool boundary
 *   +16 freepools     empty pools, singly linked through nextpool
 *   +20 nextarena     usable_arenas (doubly linked), or unused_arena_objects (singly linked)
 *   +24 prevarena
 */
export const AO_ADDRESS = 0;
export const AO_POOL_ADDRESS = 4;
export const AO_NFREEPOOLS = 8;
export const AO_NTOTALPOOLS = 12;
export const AO_FREEPOOLS = 16;
export const AO_NEXTARENA = 20;
export const AO_PREVARENA = 24;
export const AO_SIZE = 32;

// The state's place in segment 0.
export const OBM_USABLE_ARENAS = META_RAW_END;
export const OBM_UNUSED_ARENA_OBJECTS = META_RAW_END + 4;
export const OBM_MAXARENAS = META_RAW_END + 8;
export const OBM_NARENAS_CURRENT = META_RAW_END + 12;
export const OBM_NTIMES_ALLOCATED = META_RAW_END + 16;
export const OBM_NARENAS_HIGHWATER = META_RAW_END + 20;
/** Blocks of the object allocator that live in the raw allocator (requests of 0 or > 512 bytes). */
export const OBM_RAW_ALLOCATED_BLOCKS = META_RAW_END + 24;
export const OBM_USEDPOOLS = META_RAW_END + 0x20;
export const OBM_NFP2LASTA = OBM_USEDPOOLS + NB_SMALL_SIZE_CLASSES * 8;
export const OBM_ARENA_MAP = META_RAW_END + 0x300;
/**
 * Arena map entry, per segment: CPython's arena_map_bot_t entry (tail_hi, tail_lo), and how many of the
 * segment's pools are carved, so that free() tells a carved pool from the map entry it has loaded
 * anyway, without the pool's arena object.
 *
 *   +0  tail_hi    i32  an arena starts in this segment at tail_hi (-1: at 0); 0 when none does
 *   +4  tail_lo    i32  an arena that started in the previous segment covers [0, tail_lo)
 *   +8  carved_lo  u32  pools [0, carved_lo) of this segment are carved pools of the tail_lo arena
 *   +12 carved_hi  u32  pools below carved_hi, from the first whole pool at or after tail_hi, are
 *                       carved pools of the arena starting here (pool index = offset in segment >> 14)
 */
export const ARENA_MAP_ENTRY = 16;
export const ARENA_MAP_TAIL_HI = 0;
export const ARENA_MAP_TAIL_LO = 4;
export const ARENA_MAP_CARVED_LO = 8;
export const ARENA_MAP_CARVED_HI = 12;
export const OBM_ARENAS = OBM_ARENA_MAP + MAX_SEGMENTS * ARENA_MAP_ENTRY;
/** Arena objects the table holds: one per segment, more than any region can give arenas for. */
export const ARENA_CAPACITY = MAX_SEGMENTS;
export const OBM_END = OBM_ARENAS + ARENA_CAPACITY * AO_SIZE;

/**
 * Where a pymalloc's state lies. A private heap has one pymalloc, its state at OBM_STATE as drawn above. A shared
 * heap (lib/shared/) runs one per thread, each over a state block of OBM_STATE_BYTES laid out as above from the
 * block's start, with one arena map for all: the map is indexed by address, and a thread freeing a block must find
 * its arena without knowing whose it is. So every field but the arena map lies at `stateField(state, OBM_X)`; a
 * state block keeps the thread's deferred lists where the map would be (lib/shared/layout.ts), the rest of those
 * 64 KiB unused (a block is one allocation per thread, and one layout is worth more).
 */
export const OBM_STATE = META_RAW_END;
export const OBM_STATE_BYTES = OBM_END - OBM_STATE;
export function stateField(state: number, offset: number): number {
  return offset - OBM_STATE + state;
}

/**
 * CPython's usedpools trick: the list head of size class i is a fake pool header whose nextpool and
 * prevpool fields are the pair at OBM_USEDPOOLS + 8 i, so list code needs no special case for the head,
 * and the list is empty when the head's nextpool is the head itself.
 */
export function usedpoolsHead(size: number): number {
  return OBM_USEDPOOLS + (size << 3) - POOL_NEXTPOOL;
}

/** INDEX2SIZE: the block size of size class i. */
export function blockSize(size: number): number {
  return (size + 1) << ALIGNMENT_SHIFT;
}

/** NUMBLOCKS: blocks in a pool of size class i (1021 of 16 bytes, 31 of 512). */
export function numBlocks(size: number): number {
  return Math.floor((POOL_SIZE - POOL_OVERHEAD) / blockSize(size));
}

/** arena object index -> its pointer in the arena table (a private heap's). */
export function arenaObject(index: number): number {
  return OBM_ARENAS + index * AO_SIZE;
}

/**
 * The arena objects with an arena, of each pymalloc state at `states` (stateField: a private heap's one,
 * or a shared heap's threads'), in table order: what the figures, the checks and the map walk.
 */
export function liveArenas(m: Uint32Array, states: readonly number[]): number[] {
  const live: number[] = [];
  for (const state of states) {
    const table = stateField(state, OBM_ARENAS);
    const count = m[stateField(state, OBM_MAXARENAS) >>> 2];
    for (let ao = table; ao < table + count * AO_SIZE; ao += AO_SIZE) if (m[(ao + AO_ADDRESS) >>> 2] !== 0) live.push(ao);
  }
  return live;
}

/**
 * The first pool of an arena at `address`: the first pool boundary at or after it (an arena from a
 * custom arena allocator need not be aligned, and then holds one pool fewer). Addition only, so an
 * offset above 2^31 stays a positive number.
 */
export function firstPool(address: number): number {
  return address + ((POOL_SIZE - (address & POOL_SIZE_MASK)) & POOL_SIZE_MASK);
}

/**
 * Why the object allocator refused a pointer. These extend the raw allocator's PTR_* statuses
 * (lib/raw/layout.ts) and are TypeScript-only: the C allocator never sees an arena's pools.
 */
export const PTR_POOL_HEADER = 16;
export const PTR_NOT_BLOCK = 17;
export const PTR_FREE_POOL = 18;
export const PTR_UNCARVED = 19;
/** heap.arenaFree() of an arena pymalloc still uses: only pymalloc gives its arenas back. */
export const PTR_ARENA_IN_USE = 20;
/** A block already on its pool's free list: freed twice, or realloc'd after its free. */
export const PTR_DOUBLE_FREE = 21;

/**
 * glibc's tcache key, for pymalloc: written in a block's second word when it joins its pool's free list
 * (free, or carving), cleared when malloc hands it out. A free that finds the key confirms by walking
 * the pool's free list, so user data that happens to hold it costs a walk, never a false refusal; a
 * write after free that clobbers it lets a double free through, as in glibc. Any value serves; this one
 * is rare in data (not a small integer, an ASCII run or a float's usual high bits).
 */
export const FREED_KEY = 0xf4eeb10c;

/**
 * BLOCK_START[class * 32 + (j >>> 5)] bit (j & 31): whether 16 j bytes past a pool's first block is
 * the start of a block of that class. One load answers "aligned for its pool's size class" on the free
 * path, where a division by the block size would cost several times more.
 */
export const BLOCK_START = new Uint32Array(NB_SMALL_SIZE_CLASSES * 32);
for (let size = 0; size < NB_SMALL_SIZE_CLASSES; size++) {
  for (let j = 0; j < POOL_SIZE >>> ALIGNMENT_SHIFT; j += size + 1) BLOCK_START[size * 32 + (j >>> 5)] |= 1 << (j & 31);
}

function assert(ok: boolean, what: string): void {
  /* c8 ignore next -- fires only when an edit makes the layout inconsistent; it then fails every test */
  if (!ok) throw new Error(`pymem pymalloc layout: ${what}`);
}
assert(NB_SMALL_SIZE_CLASSES === 32 && MAX_POOLS_IN_ARENA === 64, "CPython 3.12's 32 classes and 64 pools per arena");
assert(numBlocks(0) === 1021 && numBlocks(31) === 31, "CPython 3.12's pool capacities");
assert(POOL_OWNER + 4 <= POOL_OVERHEAD, 'the pool header fits POOL_OVERHEAD');
assert(OBM_NFP2LASTA + (MAX_POOLS_IN_ARENA + 1) * 4 <= OBM_ARENA_MAP, 'nfp2lasta ends before the arena map');
assert(OBM_RAW_ALLOCATED_BLOCKS + 4 <= OBM_USEDPOOLS, 'the counters end before usedpools');
assert(OBM_END <= SEGMENT_SIZE, "pymalloc's state fits segment 0");
