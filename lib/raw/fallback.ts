/**
 * Layer 0 in TypeScript, and the backend that runs the TypeScript raw allocator: a plain ArrayBuffer
 * of the region's full length stands in for the OS reserve. Large ArrayBuffers are committed lazily
 * by the OS, so untouched segments cost nothing, as with the native mmap. (Not a resizable ArrayBuffer:
 * on Node 20 a typed-array access over one measured ~1.7x slower than over a fixed one.)
 *
 * The fallback cannot give pages back to the OS. To stay byte-identical with native, where released
 * pages read as zeros, it zeroes what it releases, but only the pages that are not zero already:
 * writing zeros to a page never touched would commit it. The pages it had to zero stay committed;
 * idleCommittedBytes() reports them.
 */
import { PAGE_SIZE, SEGMENT_SIZE } from '../config';
import { SEG_FREE_CLEAN } from './layout';
import { RawAllocator } from './allocator';
import { segmentKind, type RegionOS } from './segments';
import { allZero, countBits } from './scan';
import type { ImageSegments, RawBackend, SystemSource } from './backend';

const PAGES_PER_SEGMENT = SEGMENT_SIZE / PAGE_SIZE;

class ZeroFillOS implements RegionOS {
  /** Bit per page: the page was found dirty when released, so the OS holds it for good. */
  readonly retained: Uint32Array;

  constructor(private readonly u8: Uint8Array) {
    this.retained = new Uint32Array(u8.length / PAGE_SIZE / 32);
  }

  release(offset: number, length: number): void {
    const u8 = this.u8;
    // One memcmp over the range settles the common case (nothing written); a page-by-page pass then
    // zeroes only the dirty pages.
    if (allZero(u8.subarray(offset, offset + length))) return;
    for (let page = offset; page < offset + length; page += PAGE_SIZE) {
      if (allZero(u8.subarray(page, page + PAGE_SIZE))) continue;
      u8.fill(0, page, page + PAGE_SIZE);
      const i = page / PAGE_SIZE;
      this.retained[i >>> 5] |= 1 << (i & 31);
    }
  }
}

/** Reads each of an image's segments into its place in the region (the rest stays zeros). */
function readSegments(image: ImageSegments, u8: Uint8Array): void {
  for (let k = 0; k < image.segments.length; k++) {
    const at = image.segments[k] * SEGMENT_SIZE;
    image.readSegment(k, u8.subarray(at, at + SEGMENT_SIZE));
  }
}

/** heap.system's memory on the fallback, which has no C: a Buffer with an ArrayBuffer of its own, detached on free. */
const JS_SYSTEM: SystemSource = {
  malloc: (n) => Buffer.allocUnsafeSlow(n),
  free: (buf) => {
    structuredClone(buf.buffer, { transfer: [buf.buffer as ArrayBuffer] });
  },
};

export class FallbackBackend extends RawAllocator implements RawBackend {
  readonly name = 'fallback' as const;
  readonly buffer: ArrayBuffer;
  readonly system = JS_SYSTEM;
  private readonly os: ZeroFillOS;

  /**
   * A fresh region, or one holding an image's segments, read from its file (the rest stays zeros); or,
   * with `shared`, the region of a shared heap's SharedArrayBuffer, set up already (lib/shared/backends.ts),
   * its metadata written through `words`.
   */
  constructor(maxBytes: number, image?: ImageSegments, shared?: { buffer: SharedArrayBuffer; words: Uint32Array }) {
    // A SharedArrayBuffer serves as an ArrayBuffer for every view and read here; only close() differs.
    const buffer = shared === undefined ? new ArrayBuffer(maxBytes) : (shared.buffer as unknown as ArrayBuffer);
    if (image !== undefined) readSegments(image, new Uint8Array(buffer));
    const os = new ZeroFillOS(new Uint8Array(buffer));
    super(buffer, os, maxBytes / SEGMENT_SIZE, image !== undefined || shared !== undefined, shared?.words);
    this.buffer = buffer;
    this.os = os;
  }

  residentBytes(): null {
    return null;
  }

  idleCommittedBytes(): number {
    const retained = this.os.retained;
    const count = this.buffer.byteLength / SEGMENT_SIZE;
    let pages = 0;
    for (let s = 1; s < count; s++) {
      if (segmentKind(this.m, s) !== SEG_FREE_CLEAN) continue;
      const first = (s * PAGES_PER_SEGMENT) >>> 5;
      pages += countBits(retained, first, first + PAGES_PER_SEGMENT / 32);
    }
    return pages * PAGE_SIZE;
  }

  close(): void {
    // Detaching moves the memory out of every view at once; V8 frees it with the moved-to buffer.
    structuredClone(this.buffer, { transfer: [this.buffer] });
  }
}
