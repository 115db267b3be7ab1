/**
 * Memory pressure: what the heap does before it answers NULL (a domain's 0, the objects layer's
 * MemoryError). CPython's memory manager documentation says that, knowing the heap's footprint, it
 * "may trigger appropriate actions, like garbage collection, memory compaction or other preventive
 * procedures"; CPython itself only ever runs its collector by allocation counts. Here, when a request
 * that could fit the region finds no memory, the heap tries, in order:
 *
 *   1. a full collection (heap.gc.collect(2)): unreachable cycles are freed, and with them the
 *      freelists, the empty arenas and the empty segments kept against thrashing;
 *   2. clearing the freelists (again, or for the first time when a collection was already running);
 *   3. giving back empty arenas and segments;
 *   4. the callbacks registered with heap.onMemoryPressure(), which may free what their owners can;
 *
 * then retries the request once. Memory cannot be compacted: blocks never move (a pointer is an
 * offset the caller keeps), so these are the procedures that can make room.
 *
 * The response sits under every hook (debug, tracemalloc, set_nomemory's), in the allocators the
 * domains start with: a request failed by fault injection fails as asked. Allocations made during a
 * response (by a callback) fail without a response of their own. And a soft mark, gcAtBytes, runs a
 * full collection at the first allocation after the heap's committed bytes rise above it.
 *
 * Cost: nothing on an allocation that succeeds; the soft mark, when asked for, one load and compare
 * per allocation.
 */
import { invalidArgType } from '../errors';
import type { OwnRequestMark } from '../pymalloc/obmalloc';

/** What a memory pressure callback is told: the size of the request that found the heap full. */
export interface MemoryPressureInfo {
  requested: number;
}
export type MemoryPressureCallback = (info: MemoryPressureInfo) => void;

/** heap.stats().memoryPressure: each action counted since the heap was created. */
export interface MemoryPressureStats {
  /** Requests that found the heap full and started a response. */
  responses: number;
  /** Full collections a response ran. */
  collections: number;
  /** Times a response cleared the freelists. */
  freeListClears: number;
  /** Empty arenas and free segments given back during responses, by their collections or afterwards. */
  arenasReleased: number;
  segmentsReleased: number;
  /** onMemoryPressure callbacks called. */
  callbacks: number;
  /** Requests served when retried after the response, and those that still failed. */
  recovered: number;
  failed: number;
  /** Full collections run because committed bytes rose above gcAtBytes. */
  softCollections: number;
}

/** What a response can do; the heap supplies it. */
export interface PressureActions {
  /** A full collection, when the objects layer is in use and no collection runs; whether it ran. */
  collect(): boolean;
  /** Clears the freelists, when the objects layer is in use; whether it did. */
  clearFreeLists(): boolean;
  /** Gives back empty arenas, then free segments kept against thrashing. */
  release(): void;
  /** How many arenas and segments the heap has given back so far (by full collections and by release()). */
  released(): [arenas: number, segments: number];
  /** A full collection for the soft mark: only when automatic collection is enabled; whether it ran. */
  softCollect(): boolean;
}

export class MemoryPressure implements OwnRequestMark {
  readonly stats: MemoryPressureStats = {
    responses: 0,
    collections: 0,
    freeListClears: 0,
    arenasReleased: 0,
    segmentsReleased: 0,
    callbacks: 0,
    recovered: 0,
    failed: 0,
    softCollections: 0,
  };
  /**
   * OwnRequestMark: set by pymalloc while it calls the RAW domain for a request of its own. A failure
   * there gets no response, since the request that made it responds (and retries as a whole) when it
   * fails in turn; the soft mark is not tested either, since that request's own test has run.
   */
  nested = false;
  /** Set when such a request of pymalloc's found the raw allocator itself out of memory (not a hook's NULL). */
  private nestedExhausted = false;
  private readonly callbacks: MemoryPressureCallback[] = [];
  private responding = false;
  /** Whether committed bytes were above the soft mark at the last allocation. */
  private above = false;

  constructor(
    private readonly actions: PressureActions,
    /** The region's length: a request larger than it can never be served, and gets no response. */
    private readonly limit: number,
  ) {}

  /** heap.onMemoryPressure(cb): returns the function that removes cb again. */
  on(cb: MemoryPressureCallback): () => void {
    if (typeof cb !== 'function') throw invalidArgType('callback', 'function', cb);
    this.callbacks.push(cb);
    return () => {
      const i = this.callbacks.indexOf(cb);
      if (i >= 0) this.callbacks.splice(i, 1);
    };
  }

  /**
   * A request of n bytes failed: respond, then `again()` retries it once. Returns the retry's answer,
   * or 0 at once when the request cannot fit the region or a response is already running.
   */
  private retry(n: number, again: () => number): number {
    if (this.responding || n > this.limit) return 0;
    this.responding = true;
    try {
      this.respond(n);
    } finally {
      this.responding = false;
    }
    const p = again();
    if (p !== 0) this.stats.recovered++;
    else this.stats.failed++;
    return p;
  }

  /**
   * The raw allocator found no memory for a request of n bytes: respond and retry, unless pymalloc
   * made the request for one of its own (the flag `nested`), which then responds as a whole.
   */
  rawFailed(n: number, again: () => number): number {
    if (!this.nested) return this.retry(n, again);
    this.nestedExhausted = true;
    return 0;
  }

  /**
   * A pymalloc request failed: it responds (retrying the whole request) only when the raw allocator
   * found no memory for it, not when a hook on the RAW domain answered NULL (fault injection).
   */
  retryNested(n: number, again: () => number): number {
    if (!this.nestedExhausted) return 0;
    this.nestedExhausted = false;
    const p = this.retry(n, again);
    this.nestedExhausted = false;
    return p;
  }

  /** The soft mark's test, before an allocation: committed bytes now above the mark, and not at the last test. */
  softMark(committed: number, mark: number): void {
    if (this.nested) return;
    const above = committed > mark;
    if (above === this.above) return;
    this.above = above;
    if (above && !this.responding && this.actions.softCollect()) this.stats.softCollections++;
  }

  private respond(n: number): void {
    const stats = this.stats;
    const actions = this.actions;
    stats.responses++;
    const [arenas, segments] = actions.released();
    if (actions.collect()) stats.collections++;
    if (actions.clearFreeLists()) stats.freeListClears++;
    actions.release();
    const [arenasAfter, segmentsAfter] = actions.released();
    stats.arenasReleased += arenasAfter - arenas;
    stats.segmentsReleased += segmentsAfter - segments;
    const callbacks = this.callbacks;
    for (let i = 0; i < callbacks.length; i++) {
      stats.callbacks++;
      try {
        callbacks[i]({ requested: n });
      } catch (error) {
        // The request is answered either way; a callback's failure is reported, as an unraisable one.
        process.stderr.write(`Exception ignored in a memory pressure callback:\n${error instanceof Error ? error.stack : String(error)}\n`);
      }
    }
  }
}
