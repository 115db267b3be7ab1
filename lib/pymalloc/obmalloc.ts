/**
 * Layer +2, pymalloc: CPython 3.12's small-object allocator (Objects/obmalloc.c), over arenas from the
 * arena allocator and with every byte of its state in the region (lib/pymalloc/layout.ts draws it).
 *
 *   request 1..512 bytes   a block of size class (n - 1) >> 4 in a 16 KiB pool of a 1 MiB arena
 *   request 0 or > 512     the RAW domain (PyMem_RawMalloc), counted in raw_allocated_blocks
 *
 * Arguments arrive validated by the domain (sizes and pointers are u32 integers). A pointer that is not
 * the start of a live block is refused with a PTR_* status before anything changes: outside every arena
 * it goes to the raw allocator, which refuses what it did not hand out; inside an arena it must be in a
 * carved, non-empty pool, past the header, on a block boundary of the pool's class and below the pool's
 * carving mark. A block already on its pool's free list is a double free, caught as glibc's tcache
 * catches one (FREED_KEY in lib/pymalloc/layout.ts): CPython leaves it undefined.
 *
 * Hot paths: malloc from a used pool is one list-head load, a count increment, a free-list pop and the
 * key's clearing, about a dozen typed-array accesses; free into a pool that stays used is the arena
 * map entry (three loads, one cache line), the pool checks (four loads), the key's test and a
 * free-list push. Neither allocates a JS object.
 */
import { ALIGNMENT_SHIFT } from '../config';
import {
  SMALL_REQUEST_THRESHOLD, POOL_SIZE, POOL_SIZE_MASK, ARENA_SIZE, ARENA_SIZE_MASK, ARENA_BITS, MAX_POOLS_IN_ARENA, firstPool,
  INITIAL_ARENA_OBJECTS, DUMMY_SIZE_IDX, POOL_COUNT, POOL_FREEBLOCK, POOL_NEXTPOOL, POOL_PREVPOOL, POOL_ARENAINDEX,
  POOL_SZIDX, POOL_NEXTOFFSET, POOL_MAXNEXTOFFSET, POOL_OVERHEAD, AO_ADDRESS, AO_POOL_ADDRESS, AO_NFREEPOOLS,
  AO_NTOTALPOOLS, AO_FREEPOOLS, AO_NEXTARENA, AO_PREVARENA, OBM_USABLE_ARENAS, OBM_UNUSED_ARENA_OBJECTS,
  OBM_MAXARENAS, OBM_NARENAS_CURRENT, OBM_NTIMES_ALLOCATED, OBM_NARENAS_HIGHWATER, OBM_RAW_ALLOCATED_BLOCKS,
  OBM_NFP2LASTA, OBM_ARENA_MAP, ARENA_MAP_ENTRY, ARENA_MAP_TAIL_HI, ARENA_MAP_TAIL_LO, ARENA_MAP_CARVED_LO,
  ARENA_MAP_CARVED_HI, OBM_ARENAS, AO_SIZE, ARENA_CAPACITY, NB_SMALL_SIZE_CLASSES, BLOCK_START, PTR_POOL_HEADER,
  PTR_NOT_BLOCK, PTR_FREE_POOL, PTR_UNCARVED, PTR_DOUBLE_FREE, FREED_KEY, POOL_BITS, numBlocks,
  blockSize, usedpoolsHead, stateField, OBM_STATE, OBM_USEDPOOLS,
} from './layout';
import { invalidReturnValue } from '../errors';

/** What pymalloc calls for blocks it does not serve: the RAW domain's public functions. */
export interface RawCalls {
  malloc(n: number): number;
  calloc(nelem: number, elsize: number): number;
  realloc(p: number, n: number): number;
  free(p: number): void;
}

/**
 * What pymalloc tells the layer above about its own requests to the RAW domain (over 512 bytes, or
 * when no arena can be had): `nested` is true for the length of each such call. A failure there is not
 * the end of the request: the request's own allocator answers memory pressure once, with a retry of
 * the whole request, so the RAW call must not answer it too (lib/domains/pressure.ts implements this).
 * A flag rather than a second entry into RAW, because pymalloc must call RAW's public functions: hooks
 * installed on RAW see pymalloc's blocks, as in CPython.
 */
export interface OwnRequestMark {
  nested: boolean;
}

/** CPython's PyObjectArenaAllocator: alloc(size) returns an arena's address or 0; free(ptr, size). */
export interface ArenaAllocator {
  alloc(size: number): number;
  free(ptr: number, size: number): void;
}

/** Word index of a byte offset: every field is a u32 at a 4-byte-aligned offset. */
const W = 2;
/** refuse()'s answer for a pointer no arena covers: it belongs to the raw allocator. */
const OUTSIDE_ARENAS = -1;
/** A free block's second word holds FREED_KEY (its first links the free list). */
const KEY = 4;
/** The most blocks a pool holds (1021 of 16 bytes): bounds a free-list walk, even over a corrupted list. */
const MAX_POOL_BLOCKS = numBlocks(0);

export class Pymalloc {
  protected readonly m: Uint32Array;
  protected readonly i32: Int32Array;
  private readonly u8: Uint8Array;
  /** The region's length: an arena must lie inside it. */
  private readonly limit: number;
  /**
   * Where this pymalloc's state lies (OBM_STATE for a private heap, a thread's block in a shared one): the
   * word index of each counter, and the byte offsets of usedpools[0]'s fake pool header and of the arena
   * table. One field load each on the hot paths, beside the typed array's own.
   */
  protected readonly wUsable: number;
  protected readonly wUnused: number;
  protected readonly wMaxarenas: number;
  protected readonly wCurrent: number;
  protected readonly wTimes: number;
  protected readonly wHighwater: number;
  protected readonly wRawBlocks: number;
  protected readonly wNfp2lasta: number;
  protected readonly usedpools: number;
  protected readonly arenaTable: number;
  /** The RAW domain, through which requests of 0 or > 512 bytes go (hooks on RAW see them, as in CPython). */
  raw: RawCalls;
  /** The arena allocator in force (heap.setArenaAllocator replaces it). */
  arenas: ArenaAllocator;

  /**
   * Initialises pymalloc's state in a fresh region (all its bytes zero) and runs over it; with
   * `adopt`, runs over the state already there (an image's).
   */
  constructor(
    buffer: ArrayBuffer,
    raw: RawCalls,
    arenas: ArenaAllocator,
    /** Set while pymalloc calls `raw` for a request of its own (see OwnRequestMark). */
    private readonly own: OwnRequestMark,
    /** Called at the start of every new_arena(), for PYMEM_MALLOCSTATS (PYTHONMALLOCSTATS); null without it. */
    private readonly onNewArena: (() => void) | null = null,
    adopt = false,
    /** The state's first byte (see stateField): OBM_STATE, or a thread's block of a shared heap. */
    state = OBM_STATE,
  ) {
    this.wUsable = stateField(state, OBM_USABLE_ARENAS) >>> W;
    this.wUnused = stateField(state, OBM_UNUSED_ARENA_OBJECTS) >>> W;
    this.wMaxarenas = stateField(state, OBM_MAXARENAS) >>> W;
    this.wCurrent = stateField(state, OBM_NARENAS_CURRENT) >>> W;
    this.wTimes = stateField(state, OBM_NTIMES_ALLOCATED) >>> W;
    this.wHighwater = stateField(state, OBM_NARENAS_HIGHWATER) >>> W;
    this.wRawBlocks = stateField(state, OBM_RAW_ALLOCATED_BLOCKS) >>> W;
    this.wNfp2lasta = stateField(state, OBM_NFP2LASTA) >>> W;
    this.usedpools = usedpoolsHead(0) - OBM_STATE + state;
    this.arenaTable = stateField(state, OBM_ARENAS);
    this.m = new Uint32Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.u8 = new Uint8Array(buffer);
    this.limit = buffer.byteLength;
    this.raw = raw;
    this.arenas = arenas;
    if (adopt) return;
    for (let size = 0; size < NB_SMALL_SIZE_CLASSES; size++) {
      const head = this.usedpools + (size << 3);
      this.m[(head + POOL_NEXTPOOL) >>> W] = head;
      this.m[(head + POOL_PREVPOOL) >>> W] = head;
    }
  }

  /** _PyObject_Malloc: a block of n bytes; 0 when neither pymalloc nor the raw allocator can serve it. */
  malloc(n: number): number {
    if (((n - 1) >>> 0) < SMALL_REQUEST_THRESHOLD) {
      const bp = this.poolAlloc((n - 1) >>> ALIGNMENT_SHIFT);
      if (bp !== 0) return bp;
    }
    const p = this.rawCall(n, 0, 0);
    if (p !== 0) this.m[this.wRawBlocks]++;
    return p;
  }

  /** _PyObject_Calloc: nelem * elsize zeroed bytes (the domain has checked the product). */
  calloc(nelem: number, elsize: number): number {
    const n = nelem * elsize;
    // n may exceed 2^32 here (up to 2^53 - 1), so no u32 trick: (n - 1) >>> 0 would wrap into a small class.
    if (n !== 0 && n <= SMALL_REQUEST_THRESHOLD) {
      const bp = this.poolAlloc((n - 1) >>> ALIGNMENT_SHIFT);
      if (bp !== 0) {
        this.u8.fill(0, bp, bp + n);
        return bp;
      }
    }
    const p = this.rawCall(nelem, elsize, 1);
    if (p !== 0) this.m[this.wRawBlocks]++;
    return p;
  }

  /**
   * The RAW domain's malloc(a), calloc(a, b) or realloc(a, b) (op 0, 1, 2), flagged as pymalloc's own
   * (OwnRequestMark); a refused pointer's error still clears the mark.
   */
  private rawCall(a: number, b: number, op: number): number {
    this.own.nested = true;
    try {
      return op === 0 ? this.raw.malloc(a) : op === 1 ? this.raw.calloc(a, b) : this.raw.realloc(a, b);
    } finally {
      this.own.nested = false;
    }
  }

  /**
   * _PyObject_Free. Returns 0, or the PTR_* status saying why p is not a live pymalloc block (nothing
   * changed then). Pointers outside every arena go to the RAW domain's free, which throws for its own.
   */
  free(p: number): number {
    if (p === 0) return 0;
    const status = this.refuse(p);
    if (status === 0) {
      this.poolFree(p);
      return 0;
    }
    if (status !== OUTSIDE_ARENAS) return status;
    this.raw.free(p);
    this.m[this.wRawBlocks]--;
    return 0;
  }

  /**
   * _PyObject_Realloc: the new pointer, 0 when out of memory (p intact), or -status when p is refused.
   * A pymalloc block stays where it is when n is in its class and at least 3/4 of it; otherwise it
   * moves (possibly into the raw allocator). A raw block stays raw, whatever n (CPython: the size of a
   * C block is unknown, bug 1185883).
   */
  realloc(p: number, n: number): number {
    if (p === 0) return this.malloc(n);
    const status = this.refuse(p);
    if (status === OUTSIDE_ARENAS) return this.rawCall(p, n, 2);
    if (status !== 0) return -status;
    const size = blockSize(this.m[(((p & ~POOL_SIZE_MASK) >>> 0) + POOL_SZIDX) >>> W]);
    let copy = size;
    if (n <= size) {
      // Shrinking by less than a quarter (or not at all) keeps the block: it is not worth a copy.
      if (4 * n > 3 * size) return p;
      copy = n;
    }
    const bp = this.malloc(n);
    if (bp === 0) return 0;
    this.u8.copyWithin(bp, p, p + copy);
    this.poolFree(p);
    return bp;
  }

  /**
   * address_in_range (CPython 3.10+'s radix tree, flattened): whether p lies in an arena, as refuse()
   * reads it from the arena map. Each segment's entry says which part of it arenas cover: [0, tail_lo) belongs to an arena that started in the
   * previous segment, [tail_hi, 1 MiB) to one starting in this one; tail_hi -1 is an arena starting
   * exactly at the segment.
   */
  addressInRange(p: number): boolean {
    return this.refuse(p) !== OUTSIDE_ARENAS;
  }

  /**
   * Why p is not the start of a live block: a PTR_* status, 0 when it is one, OUTSIDE_ARENAS when no
   * arena covers it. address_in_range and the pool checks in one: the arena map entry that says p is in
   * an arena also says how many of its segment's pools are carved, so a stale or never-written pool
   * header is never read. Reads only.
   */
  protected refuse(p: number): number {
    const m = this.m;
    const e = (OBM_ARENA_MAP + (p >>> ARENA_BITS) * ARENA_MAP_ENTRY) >>> W;
    const tail = p & ARENA_SIZE_MASK;
    const hi = this.i32[e + (ARENA_MAP_TAIL_HI >>> W)];
    let carved: number;
    if (tail < this.i32[e + (ARENA_MAP_TAIL_LO >>> W)]) {
      carved = m[e + (ARENA_MAP_CARVED_LO >>> W)];
    } else if (tail >= hi && hi !== 0) {
      // Below an unaligned arena's first whole pool lies memory of the arena but of no pool.
      if ((tail & ~POOL_SIZE_MASK) < hi) return PTR_UNCARVED;
      carved = m[e + (ARENA_MAP_CARVED_HI >>> W)];
    } else {
      return OUTSIDE_ARENAS;
    }
    if (tail >>> POOL_BITS >= carved) return PTR_UNCARVED;
    const pool = (p & ~POOL_SIZE_MASK) >>> 0;
    if (m[(pool + POOL_COUNT) >>> W] === 0) return PTR_FREE_POOL;
    const offset = p - pool - POOL_OVERHEAD;
    if (offset < 0) return PTR_POOL_HEADER;
    const size = m[(pool + POOL_SZIDX) >>> W];
    const j = offset >>> ALIGNMENT_SHIFT;
    if ((offset & ((1 << ALIGNMENT_SHIFT) - 1)) !== 0 || ((BLOCK_START[(size << 5) + (j >>> 5)] >>> (j & 31)) & 1) === 0) {
      return PTR_NOT_BLOCK;
    }
    if (offset + POOL_OVERHEAD >= m[(pool + POOL_NEXTOFFSET) >>> W]) return PTR_UNCARVED;
    if (m[(p + KEY) >>> W] === FREED_KEY && this.onFreeList(pool, p)) return PTR_DOUBLE_FREE;
    return 0;
  }

  /** Whether block p is on its pool's free list: a walk of at most MAX_POOL_BLOCKS links. */
  private onFreeList(pool: number, p: number): boolean {
    const m = this.m;
    let b = m[(pool + POOL_FREEBLOCK) >>> W];
    for (let i = 0; b !== 0 && i < MAX_POOL_BLOCKS; i++) {
      if (b === p) return true;
      b = m[b >>> W];
    }
    return false;
  }

  /**
   * usedpoolsHead(0) of this pymalloc's state, for the hot path: a private heap's is a constant, and V8
   * inlines this call and folds it, where a load of the `usedpools` field measured 9 instructions more
   * per malloc (callgrind, 2% of a free/malloc pair). A shared heap's thread overrides it with its field.
   */
  protected usedpoolsOrigin(): number {
    return OBM_USEDPOOLS - POOL_NEXTPOOL;
  }

  /** pymalloc_alloc for size class `size`: a block, or 0 when no arena can be had. */
  protected poolAlloc(size: number): number {
    const m = this.m;
    const head = this.usedpoolsOrigin() + (size << 3); // usedpoolsHead(size), written out on the hot path
    const pool = m[(head + POOL_NEXTPOOL) >>> W];
    if (pool === head) return this.allocateFromNewPool(size);
    m[(pool + POOL_COUNT) >>> W]++;
    const bp = m[(pool + POOL_FREEBLOCK) >>> W];
    const next = m[bp >>> W];
    m[(pool + POOL_FREEBLOCK) >>> W] = next;
    m[(bp + KEY) >>> W] = 0;
    if (next === 0) this.poolExtend(pool, size);
    return bp;
  }

  /** The pool's free list ran dry: carve the next never-used block, or, when none is left, unlink the full pool. */
  private poolExtend(pool: number, size: number): void {
    const m = this.m;
    const nextoffset = m[(pool + POOL_NEXTOFFSET) >>> W];
    if (nextoffset <= m[(pool + POOL_MAXNEXTOFFSET) >>> W]) {
      // The block is made a free block, then carved, then listed: a thread stopped between any two of
      // these stores (worker.terminate() on a shared heap) leaves a pool whose free list is whole.
      const block = pool + nextoffset;
      m[block >>> W] = 0;
      m[(block + KEY) >>> W] = FREED_KEY;
      m[(pool + POOL_NEXTOFFSET) >>> W] = nextoffset + ((size + 1) << ALIGNMENT_SHIFT); // blockSize(size)
      m[(pool + POOL_FREEBLOCK) >>> W] = block;
      return;
    }
    const next = m[(pool + POOL_NEXTPOOL) >>> W];
    const prev = m[(pool + POOL_PREVPOOL) >>> W];
    m[(next + POOL_PREVPOOL) >>> W] = prev;
    m[(prev + POOL_NEXTPOOL) >>> W] = next;
  }

  /**
   * allocate_from_new_pool: takes a pool from the most used usable arena (the list's head), an empty
   * one it cached or a new one carved from its untouched part, links it at the front of usedpools[size]
   * and returns its first block. An empty pool reused for the class it had keeps its free list.
   */
  protected allocateFromNewPool(size: number): number {
    const m = this.m;
    let ao = m[this.wUsable];
    if (ao === 0) {
      ao = this.newArena();
      if (ao === 0) return 0;
      m[this.wUsable] = ao;
      m[(ao + AO_NEXTARENA) >>> W] = 0;
      m[(ao + AO_PREVARENA) >>> W] = 0;
      m[this.wNfp2lasta + m[(ao + AO_NFREEPOOLS) >>> W]] = ao;
    }
    // The arena is about to lose a free pool: it stops being the rightmost with nf and may become the
    // rightmost with nf - 1 (it is the list's head, so everything left of it has fewer).
    const nf = m[(ao + AO_NFREEPOOLS) >>> W];
    if (m[this.wNfp2lasta + nf] === ao) m[this.wNfp2lasta + nf] = 0;
    if (nf > 1) m[this.wNfp2lasta + nf - 1] = ao;

    let pool = m[(ao + AO_FREEPOOLS) >>> W];
    if (pool !== 0) {
      m[(ao + AO_FREEPOOLS) >>> W] = m[(pool + POOL_NEXTPOOL) >>> W];
    } else {
      pool = m[(ao + AO_POOL_ADDRESS) >>> W];
      m[(pool + POOL_ARENAINDEX) >>> W] = (ao - this.arenaTable) / AO_SIZE;
      m[(pool + POOL_SZIDX) >>> W] = DUMMY_SIZE_IDX;
      m[(ao + AO_POOL_ADDRESS) >>> W] = pool + POOL_SIZE;
      this.markCarved(pool);
    }
    m[(ao + AO_NFREEPOOLS) >>> W] = nf - 1;
    if (nf === 1) {
      // Wholly allocated: it leaves usable_arenas.
      const next = m[(ao + AO_NEXTARENA) >>> W];
      m[this.wUsable] = next;
      if (next !== 0) m[(next + AO_PREVARENA) >>> W] = 0;
    }

    const head = this.usedpools + (size << 3);
    m[(pool + POOL_NEXTPOOL) >>> W] = head;
    m[(pool + POOL_PREVPOOL) >>> W] = head;
    m[(head + POOL_NEXTPOOL) >>> W] = pool;
    m[(head + POOL_PREVPOOL) >>> W] = pool;
    m[(pool + POOL_COUNT) >>> W] = 1;
    if (m[(pool + POOL_SZIDX) >>> W] === size) {
      const bp = m[(pool + POOL_FREEBLOCK) >>> W];
      m[(pool + POOL_FREEBLOCK) >>> W] = m[bp >>> W];
      m[(bp + KEY) >>> W] = 0;
      return bp;
    }
    // First use for this class: the first block is handed out, the second becomes the free list, and
    // the rest is carved one block at a time as the list runs dry.
    // The class is written last: until then the pool's fields do not agree with any class, which is how
    // a shared heap's repair (lib/shared/repair.ts) knows a pool stopped halfway here held no block yet.
    const bs = blockSize(size);
    const free = pool + POOL_OVERHEAD + bs;
    m[free >>> W] = 0;
    m[(free + KEY) >>> W] = FREED_KEY;
    // The pool's memory may hold anything, a key of the pool's last life included: a stale key in a
    // live block would cost its free a walk of the free list.
    m[(pool + POOL_OVERHEAD + KEY) >>> W] = 0;
    m[(pool + POOL_NEXTOFFSET) >>> W] = POOL_OVERHEAD + 2 * bs;
    m[(pool + POOL_MAXNEXTOFFSET) >>> W] = POOL_SIZE - bs;
    m[(pool + POOL_FREEBLOCK) >>> W] = free;
    m[(pool + POOL_SZIDX) >>> W] = size;
    return pool + POOL_OVERHEAD;
  }

  /**
   * new_arena: an arena object (growing the table as CPython grows its vector: 16, 32, 64, ...) with an
   * arena from the arena allocator; 0 when the allocator has none. Pools start on a POOL_SIZE boundary,
   * so an arena that does not loses one pool to alignment.
   */
  private newArena(): number {
    const m = this.m;
    if (this.onNewArena !== null) this.onNewArena();
    if (m[this.wUnused] === 0) {
      const max = m[this.wMaxarenas];
      const count = Math.min(max === 0 ? INITIAL_ARENA_OBJECTS : max * 2, ARENA_CAPACITY);
      /* c8 ignore next -- the table has a slot for every segment, more than any region gives arenas */
      if (count === max) return 0;
      for (let i = max; i < count; i++) {
        const ao = this.arenaTable + i * AO_SIZE;
        m[(ao + AO_ADDRESS) >>> W] = 0;
        m[(ao + AO_NEXTARENA) >>> W] = i + 1 < count ? this.arenaTable + (i + 1) * AO_SIZE : 0;
      }
      m[this.wUnused] = this.arenaTable + max * AO_SIZE;
      m[this.wMaxarenas] = count;
    }
    const ao = m[this.wUnused];
    const address = this.arenas.alloc(ARENA_SIZE);
    if (address === 0) return 0;
    if (typeof address !== 'number' || address >>> 0 !== address || address % 16 !== 0 || address + ARENA_SIZE > this.limit) {
      throw invalidReturnValue('arena allocator alloc()', address, `a 16-byte aligned offset of ${ARENA_SIZE} bytes inside the region (0 when it has none)`);
    }
    m[this.wUnused] = m[(ao + AO_NEXTARENA) >>> W];
    this.markArena(address, true);

    m[this.wCurrent]++;
    m[this.wTimes]++;
    if (m[this.wCurrent] > m[this.wHighwater]) m[this.wHighwater] = m[this.wCurrent];

    const first = firstPool(address);
    const pools = first === address ? MAX_POOLS_IN_ARENA : MAX_POOLS_IN_ARENA - 1;
    m[(ao + AO_ADDRESS) >>> W] = address;
    m[(ao + AO_FREEPOOLS) >>> W] = 0;
    m[(ao + AO_POOL_ADDRESS) >>> W] = first;
    m[(ao + AO_NFREEPOOLS) >>> W] = pools;
    m[(ao + AO_NTOTALPOOLS) >>> W] = pools;
    return ao;
  }

  /**
   * arena_map_mark_used: records (or forgets) the arena at `base` in the coverage map, none of its pools
   * carved yet (or any longer).
   */
  private markArena(base: number, used: boolean): void {
    const e = (OBM_ARENA_MAP + (base >>> ARENA_BITS) * ARENA_MAP_ENTRY) >>> W;
    const tail = base & ARENA_SIZE_MASK;
    this.m[e + (ARENA_MAP_CARVED_HI >>> W)] = 0;
    if (tail === 0) {
      this.i32[e + (ARENA_MAP_TAIL_HI >>> W)] = used ? -1 : 0;
    } else {
      this.i32[e + (ARENA_MAP_TAIL_HI >>> W)] = used ? tail : 0;
      this.i32[e + ((ARENA_MAP_ENTRY + ARENA_MAP_TAIL_LO) >>> W)] = used ? tail : 0;
      this.m[e + ((ARENA_MAP_ENTRY + ARENA_MAP_CARVED_LO) >>> W)] = 0;
    }
  }

  /**
   * Records that `pool` is carved in its segment's map entry: pools are carved in address order, so its
   * segment's count of carved pools becomes its index there plus one. It belongs to the arena starting
   * in its segment when it lies at or past tail_hi, else to the one from the previous segment.
   */
  private markCarved(pool: number): void {
    const e = (OBM_ARENA_MAP + (pool >>> ARENA_BITS) * ARENA_MAP_ENTRY) >>> W;
    const tail = pool & ARENA_SIZE_MASK;
    const hi = this.i32[e + (ARENA_MAP_TAIL_HI >>> W)];
    const field = hi !== 0 && tail >= hi ? ARENA_MAP_CARVED_HI : ARENA_MAP_CARVED_LO;
    this.m[e + (field >>> W)] = (tail >>> POOL_BITS) + 1;
  }

  /** pymalloc_free of a validated block. */
  protected poolFree(p: number): void {
    const m = this.m;
    const pool = (p & ~POOL_SIZE_MASK) >>> 0;
    const lastfree = m[(pool + POOL_FREEBLOCK) >>> W];
    m[p >>> W] = lastfree;
    m[(p + KEY) >>> W] = FREED_KEY;
    m[(pool + POOL_FREEBLOCK) >>> W] = p;
    const count = --m[(pool + POOL_COUNT) >>> W];
    if (lastfree === 0) {
      // The pool was full, so in no list: back to the front of its class's list, where it is reused first.
      const head = this.usedpoolsOrigin() + (m[(pool + POOL_SZIDX) >>> W] << 3);
      const next = m[(head + POOL_NEXTPOOL) >>> W];
      m[(pool + POOL_NEXTPOOL) >>> W] = next;
      m[(pool + POOL_PREVPOOL) >>> W] = head;
      m[(next + POOL_PREVPOOL) >>> W] = pool;
      m[(head + POOL_NEXTPOOL) >>> W] = pool;
      return;
    }
    if (count !== 0) return;
    this.insertToFreepool(pool);
  }

  /**
   * insert_to_freepool: the pool became empty. It leaves usedpools for its arena's freepools, and the
   * arena moves to keep usable_arenas sorted by free pools (so that the most used arenas fill first and
   * the least used can drain), or, wholly empty and not the last usable arena, is given back.
   */
  private insertToFreepool(pool: number): void {
    const m = this.m;
    const next = m[(pool + POOL_NEXTPOOL) >>> W];
    const prev = m[(pool + POOL_PREVPOOL) >>> W];
    m[(next + POOL_PREVPOOL) >>> W] = prev;
    m[(prev + POOL_NEXTPOOL) >>> W] = next;

    const ao = this.arenaTable + m[(pool + POOL_ARENAINDEX) >>> W] * AO_SIZE;
    m[(pool + POOL_NEXTPOOL) >>> W] = m[(ao + AO_FREEPOOLS) >>> W];
    m[(ao + AO_FREEPOOLS) >>> W] = pool;
    let nf = m[(ao + AO_NFREEPOOLS) >>> W];
    const lastnf = m[this.wNfp2lasta + nf];
    this.leaveCountGroup(ao, nf);
    m[(ao + AO_NFREEPOOLS) >>> W] = ++nf;

    const right = m[(ao + AO_NEXTARENA) >>> W];
    if (nf === m[(ao + AO_NTOTALPOOLS) >>> W] && right !== 0) {
      // Wholly empty and not the last usable arena: give it back (the last is kept against thrashing, bpo-37257).
      this.freeArena(ao);
      return;
    }
    if (nf === 1) {
      // The arena was full, so in no list: it has the fewest free pools and goes to the head.
      const head = m[this.wUsable];
      m[(ao + AO_NEXTARENA) >>> W] = head;
      m[(ao + AO_PREVARENA) >>> W] = 0;
      if (head !== 0) m[(head + AO_PREVARENA) >>> W] = ao;
      m[this.wUsable] = ao;
      if (m[this.wNfp2lasta + 1] === 0) m[this.wNfp2lasta + 1] = ao;
      return;
    }
    if (m[this.wNfp2lasta + nf] === 0) m[this.wNfp2lasta + nf] = ao;
    // The rightmost arena with the old count stays sorted where it is; any other moves to just after it.
    if (ao === lastnf) return;
    this.unlinkUsable(ao);
    const after = m[(lastnf + AO_NEXTARENA) >>> W];
    m[(ao + AO_PREVARENA) >>> W] = lastnf;
    m[(ao + AO_NEXTARENA) >>> W] = after;
    if (after !== 0) m[(after + AO_PREVARENA) >>> W] = ao;
    m[(lastnf + AO_NEXTARENA) >>> W] = ao;
  }

  /**
   * Gives back every wholly empty arena, the one insert_to_freepool keeps against thrashing included:
   * after a full collection, or under memory pressure, the memory is worth more than the speed.
   * Returns how many arenas went back. (CPython has no counterpart: it keeps that arena until a pool
   * of it is used again.)
   */
  releaseEmptyArenas(): number {
    const m = this.m;
    let released = 0;
    for (let ao = m[this.wUsable]; ao !== 0; ) {
      const next = m[(ao + AO_NEXTARENA) >>> W];
      const nf = m[(ao + AO_NFREEPOOLS) >>> W];
      if (nf === m[(ao + AO_NTOTALPOOLS) >>> W]) {
        this.leaveCountGroup(ao, nf);
        this.freeArena(ao);
        released++;
      }
      ao = next;
    }
    return released;
  }

  /**
   * The usable arena ao, with nf free pools, is about to change its count or leave: when it is the
   * rightmost arena with nf (nfp2lasta[nf]), its left neighbour takes that place if it has nf too,
   * else no arena has nf.
   */
  private leaveCountGroup(ao: number, nf: number): void {
    const m = this.m;
    if (m[this.wNfp2lasta + nf] !== ao) return;
    const left = m[(ao + AO_PREVARENA) >>> W];
    m[this.wNfp2lasta + nf] = left !== 0 && m[(left + AO_NFREEPOOLS) >>> W] === nf ? left : 0;
  }

  /** An arena leaves usable_arenas for the unused arena objects, and its memory goes back. */
  private freeArena(ao: number): void {
    const m = this.m;
    this.unlinkUsable(ao);
    m[(ao + AO_NEXTARENA) >>> W] = m[this.wUnused];
    m[this.wUnused] = ao;
    const address = m[(ao + AO_ADDRESS) >>> W];
    this.markArena(address, false);
    m[(ao + AO_ADDRESS) >>> W] = 0;
    m[this.wCurrent]--;
    this.arenas.free(address, ARENA_SIZE);
  }

  private unlinkUsable(ao: number): void {
    const m = this.m;
    const prev = m[(ao + AO_PREVARENA) >>> W];
    const next = m[(ao + AO_NEXTARENA) >>> W];
    if (prev === 0) m[this.wUsable] = next;
    else m[(prev + AO_NEXTARENA) >>> W] = next;
    if (next !== 0) m[(next + AO_PREVARENA) >>> W] = prev;
  }
}
