/**
 * heap.gc: CPython 3.12's cyclic garbage collector (Modules/gcmodule.c) over the heap's containers.
 * Reference counting frees everything but cycles; this finds groups of tuples, lists and dicts that
 * only reference each other and frees them.
 *
 * Containers are tracked on the lists of three generations (lib/objects/gc-list.ts): tuples and lists
 * from creation, dicts from the first key or value that may be part of a cycle. Every container
 * allocated (not taken from a freelist) raises generation 0's count; passing threshold 0 (700) runs a
 * collection inside that allocation. It collects the oldest generation whose count passed its
 * threshold, and the generations younger than it; collecting generation i counts one for generation
 * i + 1, whose threshold (10) decides when it is collected in turn. Generation 2 is collected only when
 * the objects that survived collections of generation 1 since the last full collection are at least a
 * quarter of those a full collection kept (CPython issue #4074: a full collection is linear in the
 * whole heap, so it waits until it has that much new to look at).
 *
 * A collection of generation g merges the younger generations into it, then deduces what is
 * unreachable: each container's count is copied (update_refs), references from containers of the
 * generation are subtracted (subtract_refs), and whatever is left above zero is referenced from outside
 * (from JS, or from an older generation); everything reachable from those is kept (move_unreachable).
 * The rest is unreachable: each list and dict of it is cleared (tp_clear), which drops the references
 * that held the cycle, and reference counting frees the lot. Survivors move one generation up.
 *
 * Our types have no finalizers (__del__) and no weak references, so nothing is ever uncollectable or
 * resurrected, and gc.garbage stays empty: CPython's passes for those find nothing here and are left out.
 *
 * State: every list head and counter is in the region (lib/objects/layout.ts), the lists threaded
 * through the containers' GC heads. Cost: a collection of generation g is linear in the containers of
 * generations 0..g and their items; between collections, a container allocation costs one count and
 * one comparison, and tracking one is four u32 writes.
 */
import { checkCInt, invalidArgType, outOfRange } from '../errors';
import {
  OB_REFCNT, OB_TYPE, GC_HEAD, HEAD_FLAGS, HEAD_REFS, GC_COLLECTING_FLAG, GC_UNREACHABLE_FLAG, NUM_GENERATIONS, GC_PERMANENT,
  GC_UNREACHABLE, GC_COUNTS, GC_THRESHOLDS, GC_LONG_LIVED_TOTAL, GC_LONG_LIVED_PENDING, GC_ENABLED, GC_COLLECTING, GC_DEBUG,
  GC_STATS, GC_STAT_COLLECTIONS, GC_STAT_COLLECTED, GC_STAT_UNCOLLECTABLE, GC_STAT_SIZE, TUPLE_SIZE, TUPLE_ITEMS,
  T_TUPLE, T_DICT, TYPE_INFO, typeRecord, genHead,
} from './layout';
import { next, listInit, listIsEmpty, listMove, listMerge, listSize, isGC, isTracked, mayBeTracked, untrack } from './gc-list';
import { dictMaybeUntrack } from './dict';
import { typeOf, liveType } from './header';
import { TYPE_SLOTS, traverseOf } from './types';
import type { ObjectMemory } from './memory';
import type { Engine } from './engine';
import type { Visitor } from './slots';

/** gc.DEBUG_STATS: print statistics to stderr during each collection. */
export const DEBUG_STATS = 1;
/** gc.DEBUG_COLLECTABLE: print each unreachable object found. */
export const DEBUG_COLLECTABLE = 2;
/** gc.DEBUG_UNCOLLECTABLE: print uncollectable objects (there never are any here: no finalizers). */
export const DEBUG_UNCOLLECTABLE = 4;
const DEBUG_SUPPORTED = DEBUG_STATS | DEBUG_COLLECTABLE | DEBUG_UNCOLLECTABLE;

export type GCPhase = 'start' | 'stop';
/** What a callback receives with the phase (CPython's info dict). */
export interface GCInfo {
  generation: number;
  collected: number;
  uncollectable: number;
}
export type GCCallback = (phase: GCPhase, info: GCInfo) => void;
/** One generation's entry of getStats(). */
export interface GCGenerationStats {
  collections: number;
  collected: number;
  uncollectable: number;
}

const TUPLE_TYPE = typeRecord(T_TUPLE);
const DICT_TYPE = typeRecord(T_DICT);
/** What visit() does to a referent: subtract_refs' visit_decref, or move_unreachable's visit_reachable. */
const VISIT_DECREF = 0;
const VISIT_REACHABLE = 1;

export class GarbageCollector {
  readonly DEBUG_STATS = DEBUG_STATS;
  readonly DEBUG_COLLECTABLE = DEBUG_COLLECTABLE;
  readonly DEBUG_UNCOLLECTABLE = DEBUG_UNCOLLECTABLE;
  /**
   * gc.callbacks: functions called as cb(phase, info) before ('start') and after ('stop') every
   * collection, automatic or not. Add and remove them as with any array. An exception a callback
   * throws is reported on stderr and the collection goes on, as CPython's PyErr_WriteUnraisable.
   */
  readonly callbacks: GCCallback[] = [];
  private readonly u32: Uint32Array;
  private readonly f64: Float64Array;
  /** tp_traverse's visitor for this collector's collections. */
  private readonly visitor: ReferenceVisitor;

  /**
   * @internal the heap creates it with its objects layer. `afterFull` runs at the end of every
   * collection of generation 2: it clears the freelists and gives empty arenas and segments back.
   */
  constructor(
    private readonly m: ObjectMemory,
    private readonly engine: Engine,
    private readonly afterFull: () => void,
    private readonly checkObject: (p: number, fn: string) => void,
  ) {
    this.u32 = m.u32;
    this.f64 = m.f64;
    this.visitor = new ReferenceVisitor(m.u32);
  }

  /**
   * gc.collect(generation=2): collects that generation and the younger ones; returns the number of
   * unreachable objects found (all of them freed). Runs whether or not automatic collection is
   * enabled; returns 0 without collecting when called while a collection runs (from a callback).
   */
  collect(generation = NUM_GENERATIONS - 1): number {
    checkGeneration(generation, 'invalid generation', 'invalid generation');
    if (this.u32[GC_COLLECTING >>> 2] !== 0) return 0;
    this.u32[GC_COLLECTING >>> 2] = 1;
    try {
      return this.collectWithCallback(generation);
    } finally {
      this.u32[GC_COLLECTING >>> 2] = 0;
    }
  }

  /**
   * @internal A full collection for memory pressure or the soft mark, unless one is running (the
   * pressure came from inside it): whether it ran.
   */
  collectIfIdle(): boolean {
    if (this.u32[GC_COLLECTING >>> 2] !== 0) return false;
    this.collect();
    return true;
  }

  /** gc.get_count(): the three generations' counts. */
  getCount(): [number, number, number] {
    const at = GC_COUNTS >>> 2;
    return [this.u32[at], this.u32[at + 1], this.u32[at + 2]];
  }

  /** gc.get_threshold(). */
  getThreshold(): [number, number, number] {
    const at = GC_THRESHOLDS >>> 2;
    return [this.u32[at] | 0, this.u32[at + 1] | 0, this.u32[at + 2] | 0];
  }

  /**
   * gc.set_threshold(threshold0[, threshold1[, threshold2]]): C ints, as CPython parses them. A
   * threshold0 of 0 disables automatic collection; the others stay as they are when not given.
   */
  setThreshold(threshold0: number, threshold1?: number, threshold2?: number): void {
    const given = [threshold0, threshold1, threshold2];
    given.forEach((t, g) => {
      if (g === 0 || t !== undefined) checkCInt(t, `threshold${g}`);
    });
    given.forEach((t, g) => {
      if (t !== undefined) this.u32[(GC_THRESHOLDS >>> 2) + g] = t;
    });
  }

  /** gc.enable(): automatic collection on (it starts on). */
  enable(): void {
    this.u32[GC_ENABLED >>> 2] = 1;
  }

  /** gc.disable(): no collection by threshold or gcAtBytes; collect() and the one before a MemoryError still run. */
  disable(): void {
    this.u32[GC_ENABLED >>> 2] = 0;
  }

  /** gc.isenabled(). */
  isEnabled(): boolean {
    return this.u32[GC_ENABLED >>> 2] !== 0;
  }

  /**
   * gc.freeze(): moves every tracked container to the permanent generation, which no collection
   * looks at, and resets the counts: for data that lives as long as the heap, so that collections
   * stop walking it.
   */
  freeze(): void {
    for (let g = 0; g < NUM_GENERATIONS; g++) {
      listMerge(this.u32, genHead(g), GC_PERMANENT);
      this.u32[(GC_COUNTS >>> 2) + g] = 0;
    }
  }

  /** gc.unfreeze(): the permanent generation goes back into the oldest one. */
  unfreeze(): void {
    listMerge(this.u32, GC_PERMANENT, genHead(NUM_GENERATIONS - 1));
  }

  /** gc.get_freeze_count(): containers in the permanent generation. */
  getFreezeCount(): number {
    return listSize(this.u32, GC_PERMANENT);
  }

  /**
   * gc.get_objects(generation=None): the tracked containers of one generation, or of all three (not
   * the permanent one), oldest list order first. Borrowed pointers: incref one to keep it.
   */
  getObjects(generation?: number): number[] {
    if (generation !== undefined) {
      checkGeneration(generation, 'generation parameter cannot be negative', `generation parameter must be less than the number of available generations (${NUM_GENERATIONS})`);
    }
    const out: number[] = [];
    const from = generation ?? 0;
    const to = generation ?? NUM_GENERATIONS - 1;
    for (let g = from; g <= to; g++) {
      const head = genHead(g);
      for (let h = next(this.u32, head); h !== head; h = next(this.u32, h)) out.push(h + GC_HEAD);
    }
    return out;
  }

  /** gc.is_tracked(obj): whether the collector tracks p (atoms never are; see the class comment). */
  isTracked(p: number): boolean {
    this.checkObject(p, 'isTracked');
    return isGC(this.u32, p) && isTracked(this.u32, p);
  }

  /** gc.get_stats(): per generation, collections run, objects collected, objects found uncollectable. */
  getStats(): GCGenerationStats[] {
    const out: GCGenerationStats[] = [];
    for (let g = 0; g < NUM_GENERATIONS; g++) {
      const at = (GC_STATS + g * GC_STAT_SIZE) >>> 3;
      out.push({
        collections: this.f64[at + GC_STAT_COLLECTIONS / 8],
        collected: this.f64[at + GC_STAT_COLLECTED / 8],
        uncollectable: this.f64[at + GC_STAT_UNCOLLECTABLE / 8],
      });
    }
    return out;
  }

  /**
   * gc.set_debug(flags): DEBUG_STATS prints CPython's `gc:` lines to stderr for each collection,
   * DEBUG_COLLECTABLE each unreachable object found, DEBUG_UNCOLLECTABLE each uncollectable one (none
   * here). DEBUG_SAVEALL (and DEBUG_LEAK, which includes it) would keep the unreachable in gc.garbage
   * instead of freeing them; there is no gc.garbage here, so they are refused.
   */
  setDebug(flags: number): void {
    checkCInt(flags, 'flags');
    if ((flags & ~DEBUG_SUPPORTED) !== 0) {
      throw outOfRange('flags', 'a combination of DEBUG_STATS (1), DEBUG_COLLECTABLE (2) and DEBUG_UNCOLLECTABLE (4); DEBUG_SAVEALL (32) is not supported: unreachable objects are always freed', flags);
    }
    this.u32[GC_DEBUG >>> 2] = flags;
  }

  /** gc.get_debug(). */
  getDebug(): number {
    return this.u32[GC_DEBUG >>> 2];
  }

  /**
   * @internal collect_generations, from gcLink when generation 0's count passed its threshold (the
   * caller checked that automatic collection is enabled and that no collection runs).
   */
  collectGenerations(): void {
    const u32 = this.u32;
    u32[GC_COLLECTING >>> 2] = 1;
    try {
      for (let g = NUM_GENERATIONS - 1; g >= 0; g--) {
        if (u32[(GC_COUNTS >>> 2) + g] > (u32[(GC_THRESHOLDS >>> 2) + g] | 0)) {
          // Issue #4074: the oldest generation waits for a quarter of its size in new survivors.
          if (g === NUM_GENERATIONS - 1 && u32[GC_LONG_LIVED_PENDING >>> 2] < Math.floor(u32[GC_LONG_LIVED_TOTAL >>> 2] / 4)) continue;
          this.collectWithCallback(g);
          break;
        }
      }
    } finally {
      u32[GC_COLLECTING >>> 2] = 0;
    }
  }

  /** gc_collect_with_callback. */
  private collectWithCallback(generation: number): number {
    this.invokeCallbacks('start', generation, 0);
    const collected = this.collectMain(generation);
    this.invokeCallbacks('stop', generation, collected);
    return collected;
  }

  /** gc_collect_main: one collection of `generation` and the younger ones; returns the unreachable found. */
  private collectMain(generation: number): number {
    const u32 = this.u32;
    const debug = u32[GC_DEBUG >>> 2];
    const t1 = (debug & DEBUG_STATS) !== 0 ? this.statsStart(generation) : 0;
    // One collection more for the next generation's count; this one's and the younger ones' restart.
    if (generation + 1 < NUM_GENERATIONS) u32[(GC_COUNTS >>> 2) + generation + 1]++;
    for (let g = 0; g <= generation; g++) u32[(GC_COUNTS >>> 2) + g] = 0;
    for (let g = 0; g < generation; g++) listMerge(u32, genHead(g), genHead(generation));
    const young = genHead(generation);
    const old = generation < NUM_GENERATIONS - 1 ? genHead(generation + 1) : young;
    const unreachable = GC_UNREACHABLE;
    this.deduceUnreachable(young, unreachable);
    this.untrackTuples(young);
    if (young !== old) {
      if (generation === NUM_GENERATIONS - 2) u32[GC_LONG_LIVED_PENDING >>> 2] += listSize(u32, young);
      listMerge(u32, young, old);
    } else {
      // Dicts are untracked only in full collections, to avoid quadratic build-up (issue #14775).
      this.untrackDicts(young);
      u32[GC_LONG_LIVED_PENDING >>> 2] = 0;
      u32[GC_LONG_LIVED_TOTAL >>> 2] = listSize(u32, young);
    }
    if ((debug & DEBUG_COLLECTABLE) !== 0) {
      for (let h = next(u32, unreachable); h !== unreachable; h = next(u32, h)) this.debugCycle('collectable', h + GC_HEAD);
    }
    const collected = listSize(u32, unreachable);
    this.deleteGarbage(unreachable, old);
    if ((debug & DEBUG_STATS) !== 0) {
      const elapsed = (performance.now() - t1) / 1000;
      process.stderr.write(`gc: done, ${collected} unreachable, 0 uncollectable, ${elapsed.toFixed(4)}s elapsed\n`);
    }
    // Only a collection of the highest generation clears the freelists (and here, returns memory).
    if (generation === NUM_GENERATIONS - 1) this.afterFull();
    const at = (GC_STATS + generation * GC_STAT_SIZE) >>> 3;
    this.f64[at + GC_STAT_COLLECTIONS / 8]++;
    this.f64[at + GC_STAT_COLLECTED / 8] += collected;
    return collected;
  }

  /** DEBUG_STATS' first lines (show_stats_each_generations); returns the start time. */
  private statsStart(generation: number): number {
    const sizes = [0, 1, 2].map((g) => ` ${listSize(this.u32, genHead(g))}`).join('');
    process.stderr.write(
      `gc: collecting generation ${generation}...\n` +
        `gc: objects in each generation:${sizes}\n` +
        `gc: objects in permanent generation: ${listSize(this.u32, GC_PERMANENT)}\n`,
    );
    return performance.now();
  }

  /** debug_cycle: `gc: collectable <list 0x...>`. */
  private debugCycle(msg: string, p: number): void {
    process.stderr.write(`gc: ${msg} <${TYPE_INFO[typeOf(this.u32, p)][0]} 0x${p.toString(16)}>\n`);
  }

  /**
   * deduce_unreachable: update_refs, subtract_refs, move_unreachable. Afterwards `young` holds what is
   * reachable from outside it (flags cleared), `unreachable` the rest (COLLECTING and UNREACHABLE set).
   */
  private deduceUnreachable(young: number, unreachable: number): void {
    const u32 = this.u32;
    // update_refs: gc_refs = the reference count, and the COLLECTING mark. (Our containers cannot
    // become immortal, so CPython's move of immortal ones to the permanent generation has nothing to do.)
    for (let h = next(u32, young); h !== young; h = next(u32, h)) {
      u32[(h + HEAD_REFS) >>> 2] = u32[(h + GC_HEAD + OB_REFCNT) >>> 2];
      u32[(h + HEAD_FLAGS) >>> 2] = GC_COLLECTING_FLAG;
    }
    // subtract_refs: what is left is the number of references from outside the generation.
    const m = this.m;
    const visitor = this.visitor;
    for (let h = next(u32, young); h !== young; h = next(u32, h)) traverseOf(liveType(u32, h + GC_HEAD), m, h + GC_HEAD, visitor, VISIT_DECREF);
    listInit(u32, unreachable);
    this.moveUnreachable(young, unreachable);
  }

  /**
   * move_unreachable: a container with outside references is reachable, and so is everything it
   * references (visit_reachable marks those still ahead in the list, and brings back to the end of
   * the list those already set aside); one without any is set aside as perhaps unreachable.
   */
  private moveUnreachable(young: number, unreachable: number): void {
    const u32 = this.u32;
    const m = this.m;
    const visitor = this.visitor;
    visitor.young = young;
    let h = next(u32, young);
    while (h !== young) {
      if (u32[(h + HEAD_REFS) >>> 2] !== 0) {
        // Traverse first: visit_reachable may append to the list, after h.
        traverseOf(liveType(u32, h + GC_HEAD), m, h + GC_HEAD, visitor, VISIT_REACHABLE);
        u32[(h + HEAD_FLAGS) >>> 2] = 0;
        u32[(h + HEAD_REFS) >>> 2] = 0;
        h = next(u32, h);
      } else {
        const after = next(u32, h);
        listMove(u32, h, unreachable);
        u32[(h + HEAD_FLAGS) >>> 2] = GC_COLLECTING_FLAG | GC_UNREACHABLE_FLAG;
        h = after;
      }
    }
  }

  /** untrack_tuples: a tuple none of whose items may be tracked can be part of no cycle (_PyTuple_MaybeUntrack). */
  private untrackTuples(head: number): void {
    const u32 = this.u32;
    for (let h = next(u32, head); h !== head; ) {
      const after = next(u32, h);
      const p = h + GC_HEAD;
      if (u32[(p + OB_TYPE) >>> 2] === TUPLE_TYPE && this.tupleMayUntrack(p)) untrack(u32, p);
      h = after;
    }
  }

  private tupleMayUntrack(p: number): boolean {
    const u32 = this.u32;
    for (let i = u32[(p + TUPLE_SIZE) >>> 2] - 1; i >= 0; i--) {
      const item = u32[(p + TUPLE_ITEMS + 8 * i) >>> 2];
      // A tuple with a NULL item is still being built: left tracked.
      if (item === 0 || mayBeTracked(u32, item)) return false;
    }
    return true;
  }

  /** untrack_dicts (full collections only): _PyDict_MaybeUntrack on each dict. */
  private untrackDicts(head: number): void {
    const u32 = this.u32;
    for (let h = next(u32, head); h !== head; ) {
      const after = next(u32, h);
      if (u32[(h + GC_HEAD + OB_TYPE) >>> 2] === DICT_TYPE) dictMaybeUntrack(this.m, h + GC_HEAD);
      h = after;
    }
  }

  /**
   * delete_garbage: clears each unreachable list and dict in list order (tp_clear), which lets
   * reference counting free the cycles; whatever is still alive afterwards (a tuple, whose cycle is
   * broken at one of its lists or dicts) moves to `old`, to die when that happens.
   */
  private deleteGarbage(collectable: number, old: number): void {
    const u32 = this.u32;
    while (!listIsEmpty(u32, collectable)) {
      const h = next(u32, collectable);
      const p = h + GC_HEAD;
      const clear = TYPE_SLOTS[liveType(u32, p)].clear;
      if (clear !== null) this.engine.clear(p, clear);
      if (next(u32, collectable) === h) {
        u32[(h + HEAD_FLAGS) >>> 2] = 0;
        u32[(h + HEAD_REFS) >>> 2] = 0;
        listMove(u32, h, old);
      }
    }
  }

  /** invoke_gc_callback: each callback in turn (the array may change meanwhile); a throw is reported, not raised. */
  private invokeCallbacks(phase: GCPhase, generation: number, collected: number): void {
    const callbacks = this.callbacks;
    if (callbacks.length === 0) return;
    const info: GCInfo = { generation, collected, uncollectable: 0 };
    for (let i = 0; i < callbacks.length; i++) {
      const cb = callbacks[i];
      try {
        cb(phase, info);
      } catch (error) {
        // PyErr_WriteUnraisable(cb).
        const name = typeof cb === 'function' && cb.name !== '' ? cb.name : 'a garbage collection callback';
        process.stderr.write(`Exception ignored in: ${name}\n${error instanceof Error ? error.stack : String(error)}\n`);
      }
    }
  }
}

/** A generation argument: 0, 1 or 2; out of range, the error carries CPython's ValueError text for the side it is on. */
function checkGeneration(value: number, negative: string, tooLarge: string): void {
  if (typeof value !== 'number') throw invalidArgType('generation', 'number', value);
  if (!Number.isInteger(value)) throw outOfRange('generation', 'an integer: 0, 1 or 2', value);
  if (value < 0) throw outOfRange('generation', `0, 1 or 2 (${negative})`, value);
  if (value >= NUM_GENERATIONS) throw outOfRange('generation', `0, 1 or 2 (${tooLarge})`, value);
}

/**
 * visit_decref and visit_reachable: tp_traverse's visitproc during a collection, for each referent q
 * of a container (`mode` is the arg). Only containers of this collection matter. One class for every
 * collector, so that each traverse slot's call of visit() stays monomorphic (slots.ts's Visitor).
 */
class ReferenceVisitor implements Visitor {
  /** move_unreachable's young list, where a container found reachable after all goes back. */
  young = 0;

  constructor(private readonly u32: Uint32Array) {}

  visit(q: number, mode: number): void {
    const u32 = this.u32;
    if (!isGC(u32, q)) return;
    const h = q - GC_HEAD;
    const flags = u32[(h + HEAD_FLAGS) >>> 2];
    if ((flags & GC_COLLECTING_FLAG) === 0) return;
    const refs = (h + HEAD_REFS) >>> 2;
    if (mode === VISIT_DECREF) {
      u32[refs]--;
    } else if ((flags & GC_UNREACHABLE_FLAG) !== 0) {
      // Set aside too early: it is reachable after all, and goes back to be scanned again.
      listMove(u32, h, this.young);
      u32[(h + HEAD_FLAGS) >>> 2] = GC_COLLECTING_FLAG;
      u32[refs] = 1;
    } else if (u32[refs] === 0) {
      // Still ahead in the list: it will be scanned as reachable.
      u32[refs] = 1;
    }
  }
}
