/**
 * What the layers above see of a backend: the region's buffer and the raw allocator's operations, with
 * numbers in and numbers out. The fallback (lib/raw/fallback.ts) and the addon wrapper
 * (lib/raw/native.ts) implement it; nothing above lib/raw/ knows which one runs.
 */

export type BackendName = 'native' | 'fallback';

/** Where heap.system's memory comes from (lib/domains/system.ts): the addon's malloc/free, or JS. */
export interface SystemSource {
  /** n bytes (n <= buffer.constants.MAX_LENGTH), or null when the C library has none. */
  malloc(n: number): Buffer | null;
  /** Releases the memory and detaches the buffer (its length becomes 0). */
  free(buf: Buffer): void;
}

/**
 * An image's segments, as a backend opens them (the file format is lib/image/format.ts's): the k-th
 * index of `segments` (ascending, 0 first) is stored at byte `dataOffset + k * SEGMENT_SIZE` of the
 * open file `fd`, a multiple of the OS page. Segments not listed are free and clean (zeros). The image
 * layer has checked the list and the region's header before a backend sees it.
 */
export interface ImageSegments {
  /** The image's path, for errors. */
  readonly file: string;
  readonly fd: number;
  readonly segments: Uint32Array;
  readonly dataOffset: number;
  /** Reads the k-th stored segment's bytes into `into` (SEGMENT_SIZE long), for a backend that copies. */
  readSegment(k: number, into: Uint8Array): void;
}

export interface RawBackend {
  readonly name: BackendName;
  /** The whole region, maxBytes long. */
  readonly buffer: ArrayBuffer;
  /** n is a u32; returns the payload, 0 when the heap cannot serve n bytes. */
  malloc(n: number): number;
  /** A zeroed block of n bytes (n a u32, the product already checked). */
  calloc(n: number): number;
  /** Returns the new pointer, 0 when out of memory (p untouched), or -status when p is refused. */
  realloc(p: number, n: number): number;
  /** Returns 0, or the status saying why p was refused (nothing changed then). */
  free(p: number): number;
  arenaAlloc(): number;
  arenaFree(p: number): number;
  /** Gives the OS the free segments kept against thrashing; returns how many (see RawAllocator.trim). */
  trim(): number;
  /** Bytes of the region resident in RAM, when the OS can say; null otherwise. */
  residentBytes(): number | null;
  /** Bytes of released segments whose pages the OS still holds (the fallback cannot give pages back). */
  idleCommittedBytes(): number;
  /** The C library's allocator, outside the region (heap.system). */
  readonly system: SystemSource;
  /** Gives the region back. Views over it become detached (length 0); the backend is unusable after. */
  close(): void;
}
