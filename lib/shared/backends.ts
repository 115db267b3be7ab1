/**
 * A shared heap's backends: the raw allocator over a SharedArrayBuffer, every operation under the region's
 * raw lock, as RawBackend for the layers above. One per attached thread, each with its own views.
 *
 *   fallback  FallbackBackend over the buffer, each call between RegionLock's acquire and release
 *   native    the addon's attachRegion handle (native/binding.cc): C takes the lock inside each call
 *             (native/lock.h), so a worker.terminate() can never stop a thread holding it; the private
 *             backend's JavaScript quick-bin path is not used, since it would run outside the lock
 *
 * The fallback's lock is held across JavaScript, and V8 may stop a terminated thread between any two of
 * its function calls: its metadata stores go through the raw journal (lib/shared/journal.ts), which
 * heap.watch() rolls back when it finds the lock held by a thread that exited.
 */
import { FallbackBackend } from '../raw/fallback';
import { NativeBackend, type NativeAddon } from '../raw/native';
import type { RawBackend, SystemSource } from '../raw/backend';
import { RegionLock } from './lock';
import { journaled, commit } from './journal';
import { initRegion } from '../raw/segments';
import { SEGMENT_SIZE } from '../config';

/** What every thread's backend of one shared heap runs over. */
export interface SharedRegion {
  readonly buffer: SharedArrayBuffer;
  /** This thread's slot + 1, the lock's holder value. */
  readonly holder: number;
  /** The creating thread writes the region's metadata; the others adopt it. */
  readonly adopt: boolean;
}

/** The fallback under the lock: each operation of the wrapped allocator runs with the lock held. */
export class LockedFallback implements RawBackend {
  readonly name = 'fallback' as const;
  readonly buffer: ArrayBuffer;
  readonly system: SystemSource;
  private readonly raw: FallbackBackend;
  private readonly lock: RegionLock;
  private readonly words: Uint32Array;

  constructor(region: SharedRegion) {
    this.words = new Uint32Array(region.buffer);
    if (!region.adopt) initRegion(this.words, region.buffer.byteLength / SEGMENT_SIZE);
    this.raw = new FallbackBackend(region.buffer.byteLength, undefined, { buffer: region.buffer, words: journaled(this.words) });
    this.buffer = this.raw.buffer;
    this.system = this.raw.system;
    this.lock = new RegionLock(new Int32Array(region.buffer), region.holder);
  }

  /** The operation's stores are whole: the journal empties, then the lock goes. */
  private done(): void {
    commit(this.words);
    this.lock.release();
  }

  malloc(n: number): number {
    this.lock.acquire();
    try {
      return this.raw.malloc(n);
    } finally {
      this.done();
    }
  }

  calloc(n: number): number {
    this.lock.acquire();
    try {
      return this.raw.calloc(n);
    } finally {
      this.done();
    }
  }

  realloc(p: number, n: number): number {
    this.lock.acquire();
    try {
      return this.raw.realloc(p, n);
    } finally {
      this.done();
    }
  }

  free(p: number): number {
    this.lock.acquire();
    try {
      return this.raw.free(p);
    } finally {
      this.done();
    }
  }

  arenaAlloc(): number {
    this.lock.acquire();
    try {
      return this.raw.arenaAlloc();
    } finally {
      this.done();
    }
  }

  arenaFree(p: number): number {
    this.lock.acquire();
    try {
      return this.raw.arenaFree(p);
    } finally {
      this.done();
    }
  }

  trim(): number {
    this.lock.acquire();
    try {
      return this.raw.trim();
    } finally {
      this.done();
    }
  }

  residentBytes(): null {
    return null;
  }

  /** This thread's count: each thread knows only the pages it zero-filled itself. */
  idleCommittedBytes(): number {
    return this.raw.idleCommittedBytes();
  }

  /** The memory is V8's, freed when the last thread drops the buffer: nothing to give back here. */
  close(): void {}
}

/**
 * The addon's handle over the buffer; its functions take the lock themselves. The private backend's
 * other methods serve as they are; malloc, calloc and free go straight to C, without its quick bins in
 * JavaScript, which would run outside the lock.
 */
export class LockedNative extends NativeBackend {
  constructor(addon: NativeAddon, region: SharedRegion) {
    super(addon, addon.attachRegion(new Uint8Array(region.buffer), !region.adopt, region.holder));
  }

  override malloc(n: number): number {
    return this.region.malloc(n);
  }

  override calloc(n: number): number {
    return this.region.calloc(n);
  }

  override free(p: number): number {
    return this.region.free(p);
  }
}
