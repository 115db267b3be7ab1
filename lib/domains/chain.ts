/**
 * The allocator chain: what the three domains call, built in one place. Every arrow below is a call
 * made by the function on its left, each a constructor argument or a closure made here:
 *
 *   heap.obj.malloc(n)            Domain 'obj' (domain.ts): the installed allocator's own function
 *    |                            hooks, when installed, wrap what is installed here: debug hooks,
 *    |                            tracemalloc, setNoMemory (lib/hooks/), a user's setAllocator
 *    '-> [soft mark]              softMarkAllocator, only with createHeap's gcAtBytes
 *         '-> pymallocAllocator   validates n, answers memory pressure with one retry (allocators.ts)
 *              '-> Pymalloc.malloc           _PyObject_Malloc (lib/pymalloc/obmalloc.ts)
 *                   |-> n in 1..512: a pool's free list; a new pool; a new arena from
 *                   |    '-> arenas.alloc    segmentArenaAllocator -> backend.arenaAlloc()
 *                   |                        -> pm_arena_alloc (native/raw.c) or RawAllocator.arenaAlloc
 *                   '-> else: heap.raw.malloc(n), the RAW domain's public function (hooks on RAW
 *                        see pymalloc's blocks, as in CPython), with pressure's mark set (OwnRequestMark)
 *                         '-> [soft mark] -> rawAllocator('raw') -> backend.malloc(n)
 *                                            -> pm_malloc (native/raw.c) or RawAllocator.malloc
 *
 * heap.mem is the same chain with pymallocAllocator('mem'); under the 'malloc' allocators MEM and OBJ
 * get rawAllocator('mem') and rawAllocator('obj') instead, straight to the backend.
 *
 * Cost of the default chain, untraced: heap.obj.malloc is pymallocAllocator's closure itself (one call,
 * one isU32 test), which calls Pymalloc.malloc; no wrapper is in between unless a feature asks for one.
 */
import { SEGMENT_SIZE } from '../config';
import { Domain, type Allocator } from './domain';
import { rawAllocator, pymallocAllocator, segmentArenaAllocator, softMarkAllocator, type AllocatorSets } from './allocators';
import type { MemoryPressure } from './pressure';
import { Pymalloc, type ArenaAllocator } from '../pymalloc/obmalloc';
import type { RawBackend } from '../raw/backend';
import { SharedPymalloc } from '../shared/pymalloc';

/** What createHeap's options decide about the chain. */
export interface ChainOptions {
  /** The allocators MEM and OBJ start with: CPython's pymalloc, or the raw allocator ('malloc'). */
  base: 'pymalloc' | 'malloc';
  /** The soft mark in committed bytes (createHeap's gcAtBytes); 0 for none, and then no wrapper. */
  gcAtBytes: number;
  /** Called at every new arena (PYMEM_MALLOCSTATS, PYTHONMALLOCSTATS's counterpart); null without it. */
  onNewArena: (() => void) | null;
  /** The region already holds pymalloc's state (an image's): run over it instead of writing it. */
  adopt: boolean;
  /**
   * A shared heap's thread (lib/shared/): pymalloc runs over the slot's own state block, with its frees
   * of other threads' blocks deferred to them (SharedPymalloc). Absent for a private heap.
   */
  shared?: { slot: number; state: number; adopt: boolean };
}

/** The chain's parts the heap keeps: its domains, pymalloc, both allocator sets and the default arenas. */
export interface AllocatorChain {
  readonly raw: Domain;
  readonly mem: Domain;
  readonly obj: Domain;
  readonly pymalloc: Pymalloc;
  /** Every allocator the domains can start with, for allocatorName()'s comparison. */
  readonly sets: AllocatorSets;
  /** The arena allocator pymalloc starts with (heap.setArenaAllocator may replace it). */
  readonly defaultArenas: ArenaAllocator;
}

/** Builds the chain drawn above over a backend; `pressure` answers every domain's failed request. */
export function allocatorChain(backend: RawBackend, pressure: MemoryPressure, options: ChainOptions): AllocatorChain {
  const { gcAtBytes } = options;
  const segments = backend.buffer.byteLength / SEGMENT_SIZE;
  const u32 = new Uint32Array(backend.buffer);
  const marked = gcAtBytes > 0 ? (a: Allocator) => softMarkAllocator(a, u32, segments, gcAtBytes, pressure) : (a: Allocator) => a;
  const rawSet = marked(rawAllocator(backend, 'raw', pressure));
  const raw = new Domain('raw', rawSet);
  const defaultArenas = segmentArenaAllocator(backend);
  // pymalloc sends what it does not serve to the RAW domain's public functions, as _PyObject_Malloc
  // calls PyMem_RawMalloc, and marks those calls as its own on `pressure`.
  const { shared } = options;
  const pymalloc = shared === undefined
    ? new Pymalloc(backend.buffer, raw, defaultArenas, pressure, options.onNewArena, options.adopt)
    : new SharedPymalloc(backend.buffer, raw, defaultArenas, pressure, shared.slot, shared.state, shared.adopt);
  const sets: AllocatorSets = {
    raw: rawSet,
    pymalloc: { mem: marked(pymallocAllocator(pymalloc, 'mem', pressure)), obj: marked(pymallocAllocator(pymalloc, 'obj', pressure)) },
    malloc: { mem: marked(rawAllocator(backend, 'mem', pressure)), obj: marked(rawAllocator(backend, 'obj', pressure)) },
  };
  const mem = new Domain('mem', sets[options.base].mem);
  const obj = new Domain('obj', sets[options.base].obj);
  return { raw, mem, obj, pymalloc, sets, defaultArenas };
}
