/**
 * Loads the native addon (native/*.c, built by node-gyp or shipped in prebuilds/) and wraps it as a
 * backend. No other file loads it. An addon is used only when every layout constant it was compiled
 * with equals ours: a stale build would otherwise write a different layout into the region.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as config from '../config';
import * as layout from './layout';
import { QUICK_MAX_BLOCK, SEG_RAW_POOL, BLOCK_HEADER_SIZE, BLK_REQUESTED, BLK_SIZE } from './layout';
import { SEGMENT_SHIFT } from '../config';
import { blockSizeFor, isLive, quickPut, quickTake } from './tlsf';
import { segmentKind } from './segments';
import { countRaw } from './allocator';
import type { ImageSegments, RawBackend, SystemSource } from './backend';

/**
 * A region's handle from the addon (native/binding.cc): the region's buffer and the C raw allocator's
 * operations over it, each a plain N-API function.
 */
export type NativeRegion = Omit<RawBackend, 'name' | 'idleCommittedBytes' | 'system'>;

export interface NativeAddon {
  createRegion(maxBytes: number): NativeRegion;
  /** A region over an image's segments, mapped copy-on-write from its file (native/binding.cc). */
  openRegion(maxBytes: number, fd: number, segments: Uint32Array, dataOffset: number): NativeRegion;
  /** A region over a shared heap's SharedArrayBuffer, under its raw lock (lib/shared/backends.ts). */
  attachRegion(view: Uint8Array, fresh: boolean, holder: number): NativeRegion;
  layout: Record<string, number>;
  /** The C library's malloc as a Buffer (absent from a build without external buffers). */
  systemMalloc(n: number): Buffer | null;
  systemFree(buf: Buffer): void;
}

export type NativeLoad = { addon: NativeAddon; path: string; error?: undefined } | { error: string; addon?: undefined; path?: undefined };

/** The package's root, from lib/raw (sources) and dist/raw (compiled) alike. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');

/** Every numeric constant of lib/config.ts and lib/raw/layout.ts, by name: what the addon must match. */
export function layoutTable(): Record<string, number> {
  const table: Record<string, number> = {};
  for (const source of [config, layout] as Record<string, unknown>[]) {
    for (const [name, value] of Object.entries(source)) if (typeof value === 'number') table[name] = value;
  }
  return table;
}

/** The first constant on which an addon and the TypeScript allocator disagree; undefined when none does. */
export function layoutMismatch(native: Record<string, number>): string | undefined {
  const ours = layoutTable();
  for (const name of new Set([...Object.keys(ours), ...Object.keys(native)])) {
    if (ours[name] !== native[name]) return `${name} is ${native[name]} in the addon and ${ours[name]} in the TypeScript allocator`;
  }
  return undefined;
}

/**
 * Why an ELF file cannot be a whole shared object, or undefined. dlopen maps a truncated one (a full
 * disk, an interrupted copy) and the process dies of SIGBUS when the loader touches the missing part,
 * so a file shorter than its own section table says is refused before it is loaded.
 */
export function truncatedElf(file: string): string | undefined {
  const header = Buffer.alloc(64);
  const fd = fs.openSync(file, 'r');
  try {
    const read = fs.readSync(fd, header, 0, 64, 0);
    if (read < 64 || header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2) return undefined; // not a 64-bit ELF: dlopen judges
    const end = Number(header.readBigUInt64LE(0x28)) + header.readUInt16LE(0x3a) * header.readUInt16LE(0x3c);
    const size = fs.fstatSync(fd).size;
    return size < end ? `${file} is truncated: ${size} bytes where its ELF header describes ${end}` : undefined;
  } finally {
    fs.closeSync(fd);
  }
}

let loaded: NativeLoad | undefined;

/**
 * Finds and loads the addon from `root` (build/Release, then prebuilds/<platform>-<arch>, as node-gyp-build
 * resolves them). Never throws: a failure is returned as the reason, for 'auto' to record.
 */
export function loadNative(root: string = PACKAGE_ROOT): NativeLoad {
  if (root === PACKAGE_ROOT && loaded) return loaded;
  let result: NativeLoad;
  try {
    const nodeGypBuild: { resolve(dir: string): string } = require('node-gyp-build');
    const file = nodeGypBuild.resolve(root);
    const truncated = truncatedElf(file);
    if (truncated !== undefined) throw new Error(truncated);
    const addon = require(file) as NativeAddon;
    const mismatch = layoutMismatch(addon.layout);
    result = mismatch
      ? { error: `the addon at ${file} was built for another layout (${mismatch}); rebuild it with \`npm run build:native\`` }
      : { addon, path: file };
  } catch (e) {
    // node-gyp-build's message spans lines ("No native build was found for ...\n    loaded from: ...").
    result = { error: (e as Error).message.trim().replace(/\s*\n\s*/g, '; ') };
  }
  if (root === PACKAGE_ROOT) loaded = result;
  return result;
}

/**
 * Reserves a private heap's region, fresh or over an image's segments (each mapped copy-on-write from the
 * file, so opening costs O(segments) and a page is read when first touched). The addon throws
 * ERR_PYMEM_RESERVE_FAILED when mmap fails and ERR_PYMEM_NO_EXTERNAL_BUFFERS where the runtime forbids
 * external ArrayBuffers.
 */
export function openNativeRegion(addon: NativeAddon, maxBytes: number, image?: ImageSegments): NativeRegion {
  return image === undefined ? addon.createRegion(maxBytes) : addon.openRegion(maxBytes, image.fd, image.segments, image.dataOffset);
}

/**
 * The native backend. Its methods forward to the addon's functions, and that is their purpose: the
 * call into C then happens at a call site that only ever sees the addon. A process using both
 * backends otherwise makes the domains' call sites see a JS method and an N-API function at once,
 * and V8 calls the API function through its generic path: 126 against 80 ns per malloc/free pair,
 * measured here. Each operation is one N-API call, about 23 ns of overhead, so the commonest ones do
 * without it: a quick bin's pop (malloc, calloc) and push (free) run in JS over the region, the same
 * steps as the C twin opens with (lib/raw/tlsf.ts's quickTake and quickPut), and only what they
 * cannot serve goes to C.
 */
export class NativeBackend implements RawBackend {
  readonly name = 'native' as const;
  readonly buffer: ArrayBuffer;
  readonly system: SystemSource;
  protected readonly region: NativeRegion;
  private readonly m: Uint32Array;
  private readonly u8: Uint8Array;
  /** The region's length: every valid pointer is below it. */
  private readonly limit: number;

  /** Runs over `region`, a handle of the addon's (openNativeRegion, or a shared heap's attachRegion). */
  constructor(addon: NativeAddon, region: NativeRegion) {
    this.region = region;
    this.buffer = this.region.buffer;
    this.system = { malloc: addon.systemMalloc, free: addon.systemFree };
    this.m = new Uint32Array(this.buffer);
    this.u8 = new Uint8Array(this.buffer);
    this.limit = this.buffer.byteLength;
  }

  malloc(n: number): number {
    if (n <= QUICK_MAX_BLOCK) {
      const p = quickTake(this.m, blockSizeFor(n), n);
      if (p !== 0) {
        countRaw(this.m, 1, n);
        return p;
      }
    }
    return this.region.malloc(n);
  }

  calloc(n: number): number {
    if (n <= QUICK_MAX_BLOCK) {
      const p = quickTake(this.m, blockSizeFor(n), n);
      if (p !== 0) {
        this.u8.fill(0, p, p + n);
        countRaw(this.m, 1, n);
        return p;
      }
    }
    return this.region.calloc(n);
  }

  realloc(p: number, n: number): number {
    return this.region.realloc(p, n);
  }

  /** A live raw-pool block (native/raw.c's classify, for that kind only) goes to its quick bin in JS. */
  free(p: number): number {
    const m = this.m;
    if (p !== 0 && p < this.limit && (p & 15) === 0 && segmentKind(m, p >>> SEGMENT_SHIFT) === SEG_RAW_POOL && isLive(m, p)) {
      const h = p - BLOCK_HEADER_SIZE;
      const requested = m[(h + BLK_REQUESTED) >>> 2]; // read before the push links through it
      if (quickPut(m, h, m[(h + BLK_SIZE) >>> 2])) {
        countRaw(m, -1, -requested);
        return 0;
      }
    }
    return this.region.free(p);
  }

  arenaAlloc(): number {
    return this.region.arenaAlloc();
  }

  arenaFree(p: number): number {
    return this.region.arenaFree(p);
  }

  trim(): number {
    return this.region.trim();
  }

  residentBytes(): number | null {
    return this.region.residentBytes();
  }

  idleCommittedBytes(): number {
    return 0; // released pages go back to the OS (madvise)
  }

  close(): void {
    this.region.close();
  }
}
