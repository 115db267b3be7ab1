/**
 * A private heap: one region of memory outside V8's garbage-collected heap, the raw allocator over it
 * and the domains on top. Pointers are byte offsets into the region (0 is NULL), every block is 16-byte
 * aligned, and the caller reads and writes blocks through the heap's views: `heap.u8[p]`,
 * `heap.i32[p >>> 2]`, `heap.f64[p >>> 3]`, `heap.dv`, or `heap.view(p, n)`. (Use `>>>`, not `>>`:
 * offsets of a 4 GiB region reach 2^32 - 16.)
 */
import { writeSync } from 'node:fs';
import { DEFAULT_MAX_BYTES, MAX_MAX_BYTES, MIN_MAX_BYTES, SEGMENT_SIZE } from './config';
import { HeapCorruptionError, checkCInt, closeMethods, heapClosed, invalidArgType, invalidArgValue, invalidState, outOfRange } from './errors';
import { DOMAIN_NAMES, checkPointer, isU32, pointerError, type Allocator, type Domain, type DomainName } from './domains/domain';
import { resolveAllocatorName, currentAllocatorName, type AllocatorName, type AllocatorSets, type AllocatorChoice, type CurrentAllocatorName } from './domains/allocators';
import { allocatorChain } from './domains/chain';
import { InstalledDebugHooks } from './hooks/debug/installed';
import { isPtrFreed } from './hooks/debug/layout';
import { NoMemoryHooks } from './hooks/no-memory';
import { Tracemalloc, MAX_NFRAME } from './hooks/tracemalloc/tracer';
import type { Pymalloc, ArenaAllocator } from './pymalloc/obmalloc';
import { PTR_ARENA_IN_USE, OBM_STATE } from './pymalloc/layout';
import type { Objects } from './objects/objects';
import type { GarbageCollector } from './objects/gc';
import { MemoryPressure, type MemoryPressureCallback, type PressureActions } from './domains/pressure';
import { ObjectLayer } from './objects/layer';
import { checkObjectLayer } from './objects/check';
import { objectBlock, typeFieldFreed, holdsObjects } from './objects/header';
import { writeImage, openImage } from './image/file';
import { ROOT_BLOCK, ROOT_OBJECT } from './image/format';
import { freeListStats } from './objects/stats';
import { readPymallocStats, formatDebugMallocStats } from './pymalloc/stats';
import { checkPymalloc } from './pymalloc/check';
import { SystemAllocator } from './domains/system';
import { ownerMark } from './thread';
import { openBackend, warnFallback, type BackendChoice, type OpenedBackend } from './raw/open';
import { PTR_MISALIGNED, PTR_OUTSIDE } from './raw/layout';
import { checkRegion } from './raw/check';
import { readStats, type HeapStats } from './stats';
import { committedBytes } from './raw/stats';
import type { BackendName, ImageSegments, RawBackend } from './raw/backend';

export interface HeapOptions {
  /** 'auto' (default): the native addon when it can run, else the fallback; PYMEM_BACKEND overrides 'auto'. */
  backend?: BackendChoice;
  /** The region's length and the heap's hard limit: a multiple of 1 MiB from 2 MiB to 4 GiB; default 1 GiB. */
  maxBytes?: number;
  /**
   * CPython's allocator names (PYTHONMALLOC): 'default' and 'pymalloc' (RAW the raw allocator, MEM and
   * OBJ pymalloc), 'malloc' (the raw allocator serves all three), and each with debug hooks installed:
   * 'debug' and 'pymalloc_debug', 'malloc_debug'. Without it, PYMEM_ALLOCATOR chooses.
   */
  allocator?: AllocatorName;
  /**
   * When a debug hook's check fails, do as CPython does: print the report and a fatal error to stderr,
   * then abort the process. Otherwise (the default) throw MemoryCorruptionError. Without it,
   * PYMEM_DEBUG_ABORT=1 turns it on.
   */
  debugAbort?: boolean;
  /**
   * A soft mark, in bytes below maxBytes: when the heap's committed bytes rise above it, the next
   * allocation first runs a full collection of the objects (heap.gc.collect(), if automatic collection
   * is enabled), which gives back what it frees. It runs again after committed bytes have been back
   * below the mark. heap.stats().memoryPressure.softCollections counts these collections.
   */
  gcAtBytes?: number;
  /**
   * A heap image's path (heap.save()): the heap opens with the image's region, its allocator and its
   * root. Native maps the file copy-on-write, so opening reads only its metadata and each data page
   * is read when first touched; the fallback reads the file into its region. Writes to the heap never
   * reach the file. maxBytes and allocator, when given, must be the image's.
   */
  image?: string;
  /** With `image`: run heap.check() before returning the heap (every invariant, every page read). */
  verify?: boolean;
  /**
   * A heap that every worker thread can use at once (lib/shared-heap.ts): heap.share() gives what
   * postMessage() carries to another thread, attachHeap() there gives that thread its Heap over the
   * same region. Default false.
   */
  shared?: boolean;
}

const OPTION_NAMES = new Set(['backend', 'maxBytes', 'allocator', 'debugAbort', 'gcAtBytes', 'image', 'verify', 'shared']);
const ALLOCATOR_FUNCTIONS = ['malloc', 'calloc', 'realloc', 'free'] as const;
const PRIVATE_STATES: readonly number[] = [OBM_STATE];
const VIEW_NAMES = ['u8', 'i32', 'u32', 'f64', 'dv'] as const;
const TRACEMALLOC_METHODS = [
  'start', 'stop', 'isTracing', 'clearTraces', 'getTracebackLimit', 'getTracedMemory', 'resetPeak', 'getTracemallocMemory',
  'getObjectTraceback', 'getTraces', 'takeSnapshot', 'track', 'untrack',
] as const;


export class Heap {
  /** The thread that owns the heap; it keeps the heap out of postMessage() (see lib/thread.ts). */
  readonly owner: symbol = ownerMark('a Heap');
  /** The backend running this heap. */
  readonly backend: BackendName;
  /** Why that backend was chosen, in words (the option, PYMEM_BACKEND, or what 'auto' found). */
  readonly backendReason: string;
  readonly maxBytes: number;
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  readonly dv: DataView;
  /** The RAW domain: PyMem_RawMalloc, PyMem_RawCalloc, PyMem_RawRealloc, PyMem_RawFree. */
  readonly raw: Domain;
  /** The MEM domain: PyMem_Malloc, PyMem_Calloc, PyMem_Realloc, PyMem_Free. */
  readonly mem: Domain;
  /** The OBJ domain: PyObject_Malloc, PyObject_Calloc, PyObject_Realloc, PyObject_Free. */
  readonly obj: Domain;
  /** The C library's allocator, outside the heap and its figures (see lib/domains/system.ts). */
  readonly system: SystemAllocator;
  /** tracemalloc: where each block was allocated (see lib/hooks/tracemalloc/tracer.ts). */
  readonly tracemalloc: Tracemalloc;
  protected readonly impl: RawBackend;
  protected readonly pymalloc: Pymalloc;
  private readonly sets: AllocatorSets;
  private readonly defaultArenas: ArenaAllocator;
  private readonly debugHooks: InstalledDebugHooks;
  private readonly noMemory: NoMemoryHooks;
  private readonly pressure: MemoryPressure;
  private isClosed = false;
  /** Layer +3, made on first use of heap.objects or heap.gc (see lib/objects/layer.ts). */
  private objectLayer: ObjectLayer | undefined;
  /** Arenas and segments releaseMemory() gave back since the heap was created. */
  private arenasReleased = 0;
  private segmentsReleased = 0;
  /** heap.getRoot(), and whether the heap holds a reference to it (an object's). */
  private root = 0;
  private rootKind = ROOT_BLOCK;

  /** @internal use createHeap() */
  constructor(
    impl: RawBackend,
    reason: string,
    allocator: AllocatorChoice = { base: 'pymalloc', debug: false },
    debugAbort = false,
    gcAtBytes = 0,
    /** The image's root when the region is an image's, whose state the layers run over as it is. */
    image?: { root: number; rootKind: number },
    /** A shared heap's thread: its slot and pymalloc state (lib/shared-heap.ts). */
    shared?: { slot: number; state: number; adopt: boolean },
  ) {
    this.impl = impl;
    this.backend = impl.name;
    this.backendReason = reason;
    this.maxBytes = impl.buffer.byteLength;
    this.u8 = new Uint8Array(impl.buffer);
    this.i32 = new Int32Array(impl.buffer);
    this.u32 = new Uint32Array(impl.buffer);
    this.f64 = new Float64Array(impl.buffer);
    this.dv = new DataView(impl.buffer);
    this.pressure = new MemoryPressure(this.pressureActions(), this.maxBytes);
    // The domains and what they call: drawn in lib/domains/chain.ts. PYTHONMALLOCSTATS's counterpart,
    // PYMEM_MALLOCSTATS, prints the statistics on stderr at every new arena (and at close).
    const chain = allocatorChain(impl, this.pressure, {
      base: allocator.base,
      gcAtBytes,
      onNewArena: process.env.PYMEM_MALLOCSTATS ? () => this.printMallocStats() : null,
      adopt: image !== undefined,
      shared,
    });
    if (image !== undefined) {
      this.root = image.root;
      this.rootKind = image.rootKind;
    }
    this.raw = chain.raw;
    this.mem = chain.mem;
    this.obj = chain.obj;
    this.pymalloc = chain.pymalloc;
    this.sets = chain.sets;
    this.defaultArenas = chain.defaultArenas;
    const domains = { raw: this.raw, mem: this.mem, obj: this.obj };
    this.system = new SystemAllocator(impl.system);
    this.noMemory = new NoMemoryHooks(domains);
    this.tracemalloc = new Tracemalloc(domains, (p) => objectBlock(this.u32, this.maxBytes, p));
    this.debugHooks = new InstalledDebugHooks(domains, this.u8, this.dv, debugAbort, (p) => this.tracemalloc.debugTraceback(p));
    if (allocator.debug) this.debugHooks.setup();
  }

  /**
   * Layer +3: CPython's objects in the heap (see lib/objects/objects.ts). Created on first use, when it
   * writes the static objects (None, the small ints, ...) into the region: a heap that never uses
   * objects pays nothing for them.
   */
  get objects(): Objects {
    this.assertOpen('heap.objects');
    return this.objectsAttached().objects;
  }

  /**
   * The cyclic garbage collector of the heap's objects, CPython 3.12's gc module (see lib/objects/gc.ts).
   * Using it sets up the objects layer, as heap.objects does.
   */
  get gc(): GarbageCollector {
    this.assertOpen('heap.gc');
    return this.objectsAttached().gc;
  }

  private objectsAttached(): ObjectLayer {
    this.objectLayer ??= new ObjectLayer(this.impl.buffer, this.maxBytes, this.obj, this.mem, this.tracemalloc, () => this.releaseMemory());
    return this.objectLayer;
  }

  /**
   * Registers a function called when a request finds the heap full, after the heap's own attempts to
   * make room (a full collection, the freelists, empty arenas and segments) and before the request is
   * retried once (see lib/domains/pressure.ts). It is told the size requested; it may free what it can. It
   * runs inside the failing allocation: it may drop references and free blocks, but must not change
   * containers a caller may be in the middle of changing. Returns the function that unregisters it.
   */
  onMemoryPressure(callback: MemoryPressureCallback): () => void {
    this.assertOpen('heap.onMemoryPressure');
    return this.pressure.on(callback);
  }

  /** What memory pressure and the soft mark can do, over this heap's layers. */
  private pressureActions(): PressureActions {
    return {
      collect: () => this.objectLayer !== undefined && this.objectLayer.collect(),
      clearFreeLists: () => {
        if (this.objectLayer === undefined) return false;
        this.objectLayer.clearFreeLists();
        return true;
      },
      release: () => this.releaseMemory(),
      released: () => [this.arenasReleased, this.segmentsReleased],
      softCollect: () => this.objectLayer !== undefined && this.objectLayer.softCollect(),
    };
  }

  /**
   * Gives back what is kept free against thrashing: pymalloc's empty arenas (the one it keeps
   * included), then TLSF's empty pool and the cached segments, whose pages go back to the OS (native:
   * madvise; RSS falls at once). Counts them for memory pressure's figures.
   */
  private releaseMemory(): void {
    this.arenasReleased += this.pymalloc.releaseEmptyArenas();
    this.segmentsReleased += this.impl.trim();
  }

  /**
   * Gives back everything kept free against thrashing (what a full collection and memory pressure give
   * back too): pymalloc's empty arenas, the raw allocator's quick bins and kept empty pool, and every
   * cached segment, whose pages go to the OS (native: madvise, so RSS falls at once; fallback: zeroed).
   * Returns the committed bytes released.
   */
  trim(): number {
    this.assertOpen('heap.trim');
    const segments = this.maxBytes / SEGMENT_SIZE;
    const before = committedBytes(this.u32, segments);
    this.releaseMemory();
    return before - committedBytes(this.u32, segments);
  }

  /**
   * Writes the heap to a heap image at `file`, atomically: a temporary file beside it, fsync'ed and
   * renamed over it, so a crash leaves the old image or the new one. Only the segments in use are
   * written (lib/image/format.ts draws the format). The image holds every block, the objects, the
   * collector's state and the root, and the allocator name: an image saved under debug hooks keeps
   * their frames in its blocks and opens with them. tracemalloc's traces and handles are not saved.
   * Returns the bytes written.
   */
  save(file: string): number {
    this.assertOpen('heap.save');
    if (typeof file !== 'string') throw invalidArgType('file', 'string', file);
    const allocator = this.imageAllocatorName();
    if (allocator === null) {
      throw invalidState("heap.save(): the domains hold allocators of the program's own (setAllocator), which an image cannot record; it records pymalloc, malloc and their debug hooks");
    }
    return writeImage(file, { u8: this.u8, u32: this.u32, maxBytes: this.maxBytes, allocator, root: this.root, rootKind: this.rootKind });
  }

  /**
   * The allocator name an image records: allocatorName() as the domains would answer without
   * tracemalloc's and setNoMemory's hooks, which live in JavaScript and are not saved.
   */
  private imageAllocatorName(): CurrentAllocatorName | null {
    const under = (name: DomainName): Allocator => {
      let a = this[name].allocator;
      for (let inner = this.hookedInner(name, a); inner !== undefined; inner = this.hookedInner(name, a)) a = inner;
      return a;
    };
    return currentAllocatorName({ raw: under('raw'), mem: under('mem'), obj: under('obj') }, this.sets, (a) => this.debugHooks.wrapped(a));
  }

  private hookedInner(name: DomainName, a: Allocator): Allocator | undefined {
    return this.tracemalloc.hooks.innerOf(name, a) ?? this.noMemory.hooks.innerOf(name, a);
  }

  /**
   * The heap's root: one pointer a saved image keeps in its header, so that a program opening it finds
   * its data (as persistent-memory pools keep a root object). A live object of heap.objects is held
   * by a reference, given back when the root changes; any other offset in the region (a block's) is
   * kept as it is. 0 clears it.
   */
  setRoot(p: number): void {
    this.assertOpen('heap.setRoot');
    if (!isU32(p)) checkPointer(p, 'heap.setRoot');
    if (p !== 0 && (p >= this.maxBytes || p % 16 !== 0)) throw pointerError('heap.setRoot', p, p % 16 !== 0 ? PTR_MISALIGNED : PTR_OUTSIDE);
    const object = p !== 0 && holdsObjects(this.u32) && this.objects.isObject(p);
    if (object) this.objects.incref(p);
    const [old, oldKind] = [this.root, this.rootKind];
    this.root = p;
    this.rootKind = object ? ROOT_OBJECT : ROOT_BLOCK;
    if (oldKind === ROOT_OBJECT) this.objects.decref(old);
  }

  /** The root setRoot() set, or the opened image's; 0 when there is none. */
  getRoot(): number {
    this.assertOpen('heap.getRoot');
    return this.root;
  }

  /** Whether close() has been called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** A Uint8Array over [ptr, ptr + length) of the region, sharing its memory. */
  view(ptr: number, length: number): Uint8Array {
    this.assertOpen('heap.view');
    checkOffset(ptr, 'ptr');
    checkOffset(length, 'length');
    if (ptr + length > this.maxBytes) throw outOfRange('ptr + length', `<= the heap's maxBytes (${this.maxBytes})`, ptr + length);
    return new Uint8Array(this.impl.buffer, ptr, length);
  }

  /**
   * The raw allocator's arena primitive: one free 1 MiB segment, 1 MiB-aligned; 0 when none is free.
   * Its bytes are not cleared. The object allocator takes its arenas through getArenaAllocator().
   */
  arenaAlloc(): number {
    this.assertOpen('heap.arenaAlloc');
    return this.impl.arenaAlloc();
  }

  /** Gives back a segment from arenaAlloc(); arenaFree(0) does nothing. */
  arenaFree(ptr: number): void {
    this.assertOpen('heap.arenaFree');
    if (!isU32(ptr)) checkPointer(ptr, 'heap.arenaFree');
    // pymalloc's arenas are segments from the same primitive; giving one back under it would let the
    // raw allocator hand out its pages over live blocks.
    if (ptr !== 0 && this.pymalloc.addressInRange(ptr)) throw pointerError('heap.arenaFree', ptr, PTR_ARENA_IN_USE);
    const status = this.impl.arenaFree(ptr);
    if (status !== 0) throw pointerError('heap.arenaFree', ptr, status);
  }

  /** PyMem_GetAllocator: a copy of the functions installed in a domain ('raw', 'mem' or 'obj'). */
  getAllocator(domain: DomainName): Allocator {
    this.assertOpen('heap.getAllocator');
    return this.domain(domain).allocator;
  }

  /**
   * PyMem_SetAllocator: installs four functions in a domain. They are called with validated arguments
   * (see Allocator); a hook wraps the functions getAllocator() returned. The object is copied, not kept.
   */
  setAllocator(domain: DomainName, allocator: Allocator): void {
    this.assertOpen('heap.setAllocator');
    const target = this.domain(domain);
    if (typeof allocator !== 'object' || allocator === null) throw invalidArgType('allocator', 'object', allocator);
    for (const name of ALLOCATOR_FUNCTIONS) {
      if (typeof allocator[name] !== 'function') throw invalidArgType(`allocator.${name}`, 'function', allocator[name]);
    }
    target.allocator = allocator;
  }

  /** PyObject_GetArenaAllocator: a copy of the arena allocator pymalloc takes its 1 MiB arenas from. */
  getArenaAllocator(): ArenaAllocator {
    this.assertOpen('heap.getArenaAllocator');
    const { alloc, free } = this.pymalloc.arenas;
    return { alloc, free };
  }

  /**
   * PyObject_SetArenaAllocator: alloc(size) must return a 16-byte aligned offset with `size` bytes of
   * the region behind it, or 0; free(ptr, size) takes it back. A bad return is ERR_INVALID_RETURN_VALUE.
   */
  setArenaAllocator(allocator: ArenaAllocator): void {
    this.assertOpen('heap.setArenaAllocator');
    if (typeof allocator !== 'object' || allocator === null) throw invalidArgType('allocator', 'object', allocator);
    for (const name of ['alloc', 'free'] as const) {
      if (typeof allocator[name] !== 'function') throw invalidArgType(`allocator.${name}`, 'function', allocator[name]);
    }
    this.pymalloc.arenas = { alloc: allocator.alloc, free: allocator.free };
  }

  /**
   * _PyMem_GetCurrentAllocatorName: 'pymalloc' or 'malloc', 'pymalloc_debug' or 'malloc_debug' when
   * debug hooks wrap one of those in every domain, or null when a domain holds other functions.
   */
  allocatorName(): CurrentAllocatorName | null {
    this.assertOpen('heap.allocatorName');
    return currentAllocatorName({ raw: this.raw.allocator, mem: this.mem.allocator, obj: this.obj.allocator }, this.sets, (a) => this.debugHooks.wrapped(a));
  }

  /**
   * PyMem_SetupDebugHooks: wraps the allocator installed in each domain with the debug hooks (see
   * lib/hooks/debug/hooks.ts), which frame every block with guard bytes and check them on free and realloc.
   * A domain that already holds this heap's debug hooks is left alone, so calling it twice is harmless.
   * Blocks allocated before the hooks are installed must not be freed through them.
   */
  setupDebugHooks(): void {
    this.assertOpen('heap.setupDebugHooks');
    this.debugHooks.setup();
  }

  /**
   * _PyObject_IsFreed: whether ptr is NULL or a debug-hook pattern (0xCDCDCDCD, 0xDDDDDDDD,
   * 0xFDFDFDFD), or the 8-byte type pointer an object keeps at ptr + 8 (after its refcount, as
   * PyObject's ob_type) is. Under debug hooks that is so for memory freed (0xDD), never written (0xCD)
   * or past the end of a block (0xFD); without them, for an object deallocated (the deallocators'
   * mark, OB_TYPE_DEAD). ptr must be 16-byte aligned with 16 bytes of the region behind it.
   */
  isFreed(ptr: number): boolean {
    this.assertOpen('heap.isFreed');
    if (typeof ptr !== 'number') throw invalidArgType('ptr', 'number', ptr);
    if (!Number.isInteger(ptr)) throw outOfRange('ptr', 'an integer', ptr);
    if (isPtrFreed(ptr)) return true;
    if (ptr < 0 || ptr + 16 > this.maxBytes) throw pointerError('heap.isFreed', ptr, PTR_OUTSIDE);
    if (ptr % 16 !== 0) throw pointerError('heap.isFreed', ptr, PTR_MISALIGNED);
    return typeFieldFreed(this.u32, ptr, isPtrFreed);
  }

  /**
   * _testcapi.set_nomemory(start, stop): from now on every allocation call of every domain is counted,
   * and calls number start + 1 to stop (inclusive; stop 0 or less: no end) return 0 as if memory had
   * run out. See lib/hooks/no-memory.ts. Calling it again resets the count.
   */
  setNoMemory(start: number, stop = 0): void {
    this.assertOpen('heap.setNoMemory');
    checkCInt(start, 'start');
    checkCInt(stop, 'stop');
    this.noMemory.set(start, stop);
  }

  /** _testcapi.remove_mem_hooks(): undoes setNoMemory; harmless when it is not in force. */
  removeMemHooks(): void {
    this.assertOpen('heap.removeMemHooks');
    this.noMemory.remove();
  }

  /** sys.getallocatedblocks(): blocks of the object allocator in use, in pools and in the raw allocator. */
  allocatedBlocks(): number {
    this.assertOpen('heap.allocatedBlocks');
    return readPymallocStats(this.u32, this.pymallocStates(), this.deferredBlocks()).allocatedBlocks;
  }

  /**
   * sys._debugmallocstats(), as text in CPython's layout: pymalloc's section when the OBJ domain is
   * served by pymalloc (debug hooks around it too; CPython prints none otherwise), then the free-list
   * lines of the object types (_PyObject_DebugTypeStats).
   */
  debugMallocStats(): string {
    this.assertOpen('heap.debugMallocStats');
    const pymalloc = this.pymallocStats();
    const freeLists = freeListStats(this.u32);
    return pymalloc === '' ? freeLists : `${pymalloc}\n${freeLists}`;
  }

  /** _PyObject_DebugMallocStats: pymalloc's section, or '' when the OBJ domain is not pymalloc. */
  private pymallocStats(): string {
    // _PyMem_PymallocEnabled: OBJ is pymalloc, or debug hooks around pymalloc.
    const obj = this.obj.allocator;
    if (obj.malloc !== this.sets.pymalloc.obj.malloc && this.debugHooks.wrapped(obj)?.malloc !== this.sets.pymalloc.obj.malloc) return '';
    const stats = this.stats();
    return formatDebugMallocStats(stats.pymalloc, stats);
  }

  /** The heap's figures: region, segments, raw blocks, pymalloc, and memory as the OS sees it. */
  stats(): HeapStats {
    this.assertOpen('heap.stats');
    return readStats(this.u32, this.impl, this.pressure.stats, this.pymallocStates(), this.deferredBlocks());
  }

  /** Walks every allocator invariant, raw and pymalloc; throws HeapCorruptionError naming the first one broken. */
  check(): void {
    this.assertOpen('heap.check');
    // Only the fallback's region can be detached: Node copies the native one instead (see README).
    if (this.impl.buffer.byteLength === 0) {
      throw new HeapCorruptionError(
        'region.attached',
        "the region's ArrayBuffer was detached: it was in the transfer list of postMessage() or structuredClone(), which took the heap's memory away; send a copy of a block instead (heap.view(p, n).slice())",
      );
    }
    checkRegion(this.u32, this.maxBytes / SEGMENT_SIZE);
    // Under an arena allocator of the user's, where arenas lie is the user's to say.
    checkPymalloc(this.u32, this.maxBytes, this.pymalloc.arenas.alloc === this.defaultArenas.alloc, this.pymallocStates());
    checkObjectLayer(this.u32, this.maxBytes);
  }

  /**
   * Gives the region back to the OS. Views taken from the heap become empty (length 0) rather than
   * dangling, and every later call on the heap, its domains, or allocator functions taken from it is an
   * ERR_PYMEM_HEAP_CLOSED error. Closing twice is harmless.
   */
  close(): void {
    if (this.isClosed) return;
    if (process.env.PYMEM_MALLOCSTATS) this.printMallocStats();
    this.isClosed = true;
    for (const name of DOMAIN_NAMES) closeMethods(this[name], ALLOCATOR_FUNCTIONS, `heap.${name}`);
    closeMethods(this.pymalloc, ALLOCATOR_FUNCTIONS, 'pymalloc');
    closeMethods(this.system, ['malloc', 'free'], 'heap.system');
    closeMethods(this.tracemalloc, TRACEMALLOC_METHODS, 'heap.tracemalloc');
    this.objectLayer?.close();
    closeMethods(this.impl, [...ALLOCATOR_FUNCTIONS, 'arenaAlloc', 'arenaFree'], 'raw allocator');
    for (const name of VIEW_NAMES) {
      Object.defineProperty(this, name, {
        get() {
          throw heapClosed(`heap.${name}`);
        },
      });
    }
    this.impl.close();
  }

  /**
   * @internal Where the heap's pymalloc states lie: a private heap's one (a shared heap has one per
   * thread). Its figures and checks add them up, and the map (lib/map/model.ts) draws their arenas.
   */
  pymallocStates(): readonly number[] {
    return PRIVATE_STATES;
  }

  /** Blocks freed and not yet back in their pools: a shared heap's deferred frees; none in a private heap. */
  protected deferredBlocks(): number {
    return 0;
  }

  private printMallocStats(): void {
    const text = this.pymallocStats();
    if (text !== '') writeSync(2, text);
  }

  private domain(name: unknown): Domain {
    if (name !== 'raw' && name !== 'mem' && name !== 'obj') throw invalidArgValue('argument "domain"', name, "must be 'raw', 'mem' or 'obj'");
    return this[name];
  }

  protected assertOpen(what: string): void {
    if (this.isClosed) throw heapClosed(what);
  }
}

function checkOffset(value: unknown, name: string): void {
  if (typeof value !== 'number') throw invalidArgType(name, 'number', value);
  if (!Number.isSafeInteger(value) || value < 0) throw outOfRange(name, 'an integer >= 0', value);
}

/** PYMEM_TRACEMALLOC (PYTHONTRACEMALLOC's counterpart): frames to trace from the heap's creation; 0 when unset. */
function tracemallocFrames(): number {
  const value = process.env.PYMEM_TRACEMALLOC ?? '';
  if (value === '' || value === '0') return 0;
  if (!/^\d+$/.test(value)) throw invalidArgValue('environment variable PYMEM_TRACEMALLOC', value, 'must be a number of frames from 1 to 65535 (invalid number of frames)');
  const nframe = Number(value);
  if (nframe > MAX_NFRAME) throw outOfRange('environment variable PYMEM_TRACEMALLOC', `a number of frames from 1 to ${MAX_NFRAME}`, value);
  return nframe;
}

function checkMaxBytes(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_BYTES;
  if (typeof value !== 'number') throw invalidArgType('maxBytes', 'number', value);
  if (!Number.isInteger(value) || value < MIN_MAX_BYTES || value > MAX_MAX_BYTES || value % SEGMENT_SIZE !== 0) {
    throw outOfRange('maxBytes', `a multiple of ${SEGMENT_SIZE} (1 MiB) from ${MIN_MAX_BYTES} (2 MiB) to ${MAX_MAX_BYTES} (4 GiB)`, value);
  }
  return value;
}

/** The options every heap has, checked, with their defaults (PYMEM_ALLOCATOR, PYMEM_DEBUG_ABORT). */
export interface CommonOptions {
  backend: BackendChoice;
  maxBytes: number;
  allocator: AllocatorChoice;
  debugAbort: boolean;
}

/** createHeap's checks of the options object and of the options every heap has, private or shared. */
export function checkOptions(options: HeapOptions): CommonOptions {
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'object', options);
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.has(key)) throw invalidArgValue(`option "${key}"`, key, `is not an option of createHeap (${[...OPTION_NAMES].join(', ')})`);
  }
  const backend = options.backend ?? 'auto';
  if (backend !== 'auto' && backend !== 'native' && backend !== 'fallback') {
    throw invalidArgValue('option "backend"', backend, "must be 'auto', 'native' or 'fallback'");
  }
  const maxBytes = checkMaxBytes(options.maxBytes);
  const allocator = resolveAllocatorName(options.allocator);
  const debugAbort = options.debugAbort ?? process.env.PYMEM_DEBUG_ABORT === '1';
  if (typeof debugAbort !== 'boolean') throw invalidArgType('debugAbort', 'boolean', debugAbort);
  return { backend, maxBytes, allocator, debugAbort };
}

/** createHeap() without `shared` (lib/create.ts): a heap of this thread's own, fresh or an image's. */
export function createPrivateHeap(options: HeapOptions = {}): Heap {
  const { backend, maxBytes, allocator, debugAbort } = checkOptions(options);
  const gcAtBytes = options.gcAtBytes ?? 0;
  if (typeof gcAtBytes !== 'number') throw invalidArgType('gcAtBytes', 'number', gcAtBytes);
  // An image's length is its own: gcAtBytes is checked against it once the image is open.
  const limit = options.image !== undefined && options.maxBytes === undefined ? MAX_MAX_BYTES : maxBytes;
  if (options.gcAtBytes !== undefined && (!Number.isSafeInteger(gcAtBytes) || gcAtBytes <= 0 || gcAtBytes >= limit)) {
    throw outOfRange('gcAtBytes', `an integer of bytes above 0 and below maxBytes (${limit})`, gcAtBytes);
  }
  const nframe = tracemallocFrames();
  const heap = options.image === undefined ? freshHeap(backend, maxBytes, allocator, debugAbort, gcAtBytes) : imageHeap(options, backend, debugAbort, gcAtBytes);
  if (nframe > 0) heap.tracemalloc.start(nframe);
  return heap;
}

/** The backend for a region, fresh or an image's, with the warning 'auto' owes when it fell back. */
function backendFor(backend: BackendChoice, maxBytes: number, image?: ImageSegments): OpenedBackend {
  const opened = openBackend(backend, maxBytes, image);
  if (opened.fellBack) warnFallback(opened.reason);
  return opened;
}

function freshHeap(backend: BackendChoice, maxBytes: number, allocator: AllocatorChoice, debugAbort: boolean, gcAtBytes: number): Heap {
  const opened = backendFor(backend, maxBytes);
  return new Heap(opened.backend, opened.reason, allocator, debugAbort, gcAtBytes);
}

/** createHeap({ image }): the image checked (lib/image/), then mapped or read by the backend. */
function imageHeap(options: HeapOptions, backend: BackendChoice, debugAbort: boolean, gcAtBytes: number): Heap {
  const { image, verify = false } = options;
  if (typeof image !== 'string') throw invalidArgType('image', 'string', image);
  if (typeof verify !== 'boolean') throw invalidArgType('verify', 'boolean', verify);
  const file = openImage(image);
  let heap: Heap;
  try {
    const { header } = file;
    if (options.maxBytes !== undefined && options.maxBytes !== header.maxBytes) {
      throw invalidArgValue('option "maxBytes"', options.maxBytes, `must be the image's (${header.maxBytes}) or left out`);
    }
    const allocator = resolveAllocatorName(header.allocator);
    if (options.allocator !== undefined) {
      const asked = resolveAllocatorName(options.allocator);
      if (asked.base !== allocator.base || asked.debug !== allocator.debug) {
        throw invalidArgValue('option "allocator"', options.allocator, `must be the image's ('${header.allocator}') or left out: its blocks are laid out for that allocator`);
      }
    }
    if (gcAtBytes >= header.maxBytes) throw outOfRange('gcAtBytes', `an integer of bytes above 0 and below the image's maxBytes (${header.maxBytes})`, gcAtBytes);
    const opened = backendFor(backend, header.maxBytes, file);
    heap = new Heap(opened.backend, opened.reason, allocator, debugAbort, gcAtBytes, header);
  } finally {
    file.close();
  }
  if (verify) {
    try {
      heap.check();
    } catch (error) {
      heap.close();
      throw error;
    }
  }
  return heap;
}
