/**
 * The heap image format: a heap's region written to a file, the segments in use only, laid out so
 * that the native backend maps each one straight from the file (every data offset is a multiple of
 * the OS page) and the fallback reads it into its ArrayBuffer. Little-endian u32 fields:
 *
 *   0x0000 header, one 4 KiB page
 *            0x00 magic       "pymemimg" (8 bytes)
 *            0x08 version     IMAGE_VERSION, this format's
 *            0x0c layout      the region's LAYOUT_VERSION (lib/raw/layout.ts)
 *            0x10 segments    the region's length in segments (maxBytes / 1 MiB)
 *            0x14 stored      how many segments the file holds (n)
 *            0x18 dataOffset  where the first stored segment starts: 0x1000 + the table, page-aligned
 *            0x1c allocator   the allocator name the heap had (ALLOCATOR_CODES)
 *            0x20 root        heap.getRoot(): a block or an object; 0 for none
 *            0x24 rootKind    ROOT_BLOCK, or ROOT_OBJECT when the image holds a reference to it
 *            0x28 tableCrc    CRC-32 of the table's pages, 0x1000 to dataOffset (its padding too)
 *            0x2c regionCrc   CRC-32 of segment 0, the metadata segment, whole
 *            0x30 headerCrc   CRC-32 of the header's page with this field read as 0 (its padding too)
 *   0x1000 segment table      n u32 segment indices, ascending, 0 first; zeros to the next page
 *   dataOffset               the n segments, 1 MiB each, in the table's order
 *
 * A segment the table leaves out was free and clean (its pages read as zeros), so the file holds
 * every byte of the region that is not zero by construction: the allocators' state, pymalloc's
 * arenas, the objects and the collector's lists all live in those segments. What lives in JS is not
 * saved: tracemalloc's traces, handles, callbacks, memory pressure's figures.
 *
 * The checksums cover what opening trusts before it maps anything: the header, the table and segment
 * 0. The other segments' bytes are not summed (that would read a 1 GiB image to open it); a crafted
 * one can still not lead the native allocator outside its region (native/region.h's pm_bytes), and
 * createHeap({ image, verify: true }) walks every invariant before returning.
 */
import { BadImageError, type BadImageReason } from '../errors';
import { MAX_SEGMENTS, MIN_MAX_BYTES, PAGE_SIZE, SEGMENT_SIZE, SEGMENT_SHIFT } from '../config';
import {
  HDR_MAGIC, HDR_VERSION, HDR_SEGMENT_SHIFT, HDR_SEGMENT_COUNT, LAYOUT_VERSION, MAGIC, SEG_TABLE, SEG_ENTRY_SIZE, SEG_KIND,
  SEG_FREE_CLEAN, SEG_META, SEG_KIND_COUNT,
} from '../raw/layout';
import { crc32 } from './checksum';

/** 1: the first format. */
export const IMAGE_VERSION = 1;
/** "pymemimg" as bytes. */
export const IMAGE_MAGIC = Buffer.from('pymemimg', 'latin1');
/** The header's page; the segment table follows it. */
export const HEADER_BYTES = PAGE_SIZE;

// Header fields.
export const IMG_VERSION = 0x08;
export const IMG_LAYOUT = 0x0c;
export const IMG_SEGMENTS = 0x10;
export const IMG_STORED = 0x14;
export const IMG_DATA_OFFSET = 0x18;
export const IMG_ALLOCATOR = 0x1c;
export const IMG_ROOT = 0x20;
export const IMG_ROOT_KIND = 0x24;
export const IMG_TABLE_CRC = 0x28;
export const IMG_REGION_CRC = 0x2c;
export const IMG_HEADER_CRC = 0x30;

/** rootKind: the root is a block's pointer, or an object the image holds a reference to. */
export const ROOT_BLOCK = 0;
export const ROOT_OBJECT = 1;

/** The allocator names an image records, by code: the heap's allocatorName() when it was saved. */
export const ALLOCATOR_CODES = ['pymalloc', 'malloc', 'pymalloc_debug', 'malloc_debug'] as const;
export type ImageAllocator = (typeof ALLOCATOR_CODES)[number];

/** What an image's header says, once checked. */
export interface ImageHeader {
  /** The region's length in bytes. */
  maxBytes: number;
  /** The stored segments' indices, ascending, 0 first. */
  segments: Uint32Array;
  dataOffset: number;
  allocator: ImageAllocator;
  root: number;
  rootKind: number;
}

/** Where the data of an image storing n segments starts: after the header and the table, on a page. */
export function dataOffsetFor(stored: number): number {
  return HEADER_BYTES + Math.ceil((4 * stored) / PAGE_SIZE) * PAGE_SIZE;
}

/** The header page and the table for a region whose segment 0 is `meta`, storing `segments`. */
export function encodeHeader(h: ImageHeader, meta: Uint8Array): Buffer {
  const stored = h.segments.length;
  const out = Buffer.alloc(dataOffsetFor(stored));
  IMAGE_MAGIC.copy(out, 0);
  out.writeUInt32LE(IMAGE_VERSION, IMG_VERSION);
  out.writeUInt32LE(LAYOUT_VERSION, IMG_LAYOUT);
  out.writeUInt32LE(h.maxBytes / SEGMENT_SIZE, IMG_SEGMENTS);
  out.writeUInt32LE(stored, IMG_STORED);
  out.writeUInt32LE(h.dataOffset, IMG_DATA_OFFSET);
  out.writeUInt32LE(ALLOCATOR_CODES.indexOf(h.allocator), IMG_ALLOCATOR);
  out.writeUInt32LE(h.root, IMG_ROOT);
  out.writeUInt32LE(h.rootKind, IMG_ROOT_KIND);
  for (let k = 0; k < stored; k++) out.writeUInt32LE(h.segments[k], HEADER_BYTES + 4 * k);
  out.writeUInt32LE(crc32(out.subarray(HEADER_BYTES)), IMG_TABLE_CRC);
  out.writeUInt32LE(crc32(meta), IMG_REGION_CRC);
  out.writeUInt32LE(headerCrc(out), IMG_HEADER_CRC);
  return out;
}

/** The header page's CRC-32, its own field read as 0. */
export function headerCrc(page: Uint8Array): number {
  const copy = Buffer.from(page.subarray(0, HEADER_BYTES));
  copy.writeUInt32LE(0, IMG_HEADER_CRC);
  return crc32(copy);
}

/** Reads `length` bytes at `position` of the image; fewer when the file ends first. */
export type ReadAt = (length: number, position: number) => Buffer;

/**
 * Checks an image's header, table and segment 0, in the order BadImageReason lists, and returns what
 * they say. `size` is the file's length; `read` reads it. Throws BadImageError naming `file`.
 */
export function decodeHeader(file: string, size: number, read: ReadAt): ImageHeader {
  const bad = (reason: BadImageReason, detail: string): BadImageError => new BadImageError(file, reason, detail);
  const head = read(HEADER_BYTES, 0);
  if (head.length < IMAGE_MAGIC.length || !head.subarray(0, IMAGE_MAGIC.length).equals(IMAGE_MAGIC)) {
    throw bad('not-an-image', `its first bytes are not "pymemimg"`);
  }
  if (head.length < HEADER_BYTES) throw bad('truncated', `it ends at byte ${head.length}, inside the ${HEADER_BYTES}-byte header`);
  const version = head.readUInt32LE(IMG_VERSION);
  const layout = head.readUInt32LE(IMG_LAYOUT);
  if (version !== IMAGE_VERSION || layout !== LAYOUT_VERSION) {
    throw bad('version', `it is image format ${version} of region layout ${layout}; this pymem reads format ${IMAGE_VERSION} of layout ${LAYOUT_VERSION}`);
  }
  if (headerCrc(head) !== head.readUInt32LE(IMG_HEADER_CRC)) throw bad('header-checksum', 'its header does not match its checksum');
  const segments = head.readUInt32LE(IMG_SEGMENTS);
  const stored = head.readUInt32LE(IMG_STORED);
  if (segments < MIN_MAX_BYTES / SEGMENT_SIZE || segments > MAX_SEGMENTS || stored < 1 || stored > segments) {
    throw bad('too-large', `its region of ${segments} segments storing ${stored} is not one a heap can have (2 to ${MAX_SEGMENTS} segments of 1 MiB)`);
  }
  const dataOffset = head.readUInt32LE(IMG_DATA_OFFSET);
  if (dataOffset !== dataOffsetFor(stored)) throw bad('table', `its data starts at ${dataOffset}, where ${stored} segments put it at ${dataOffsetFor(stored)}`);
  const end = dataOffset + stored * SEGMENT_SIZE;
  if (size < end) throw bad('truncated', `it is ${size} bytes long, where its ${stored} segments end at byte ${end}`);
  const tableBytes = read(dataOffset - HEADER_BYTES, HEADER_BYTES);
  if (crc32(tableBytes) !== head.readUInt32LE(IMG_TABLE_CRC)) throw bad('table-checksum', 'its segment table does not match its checksum');
  const table = new Uint32Array(stored);
  for (let k = 0; k < stored; k++) table[k] = tableBytes.readUInt32LE(4 * k);
  if (table[0] !== 0) throw bad('table', 'its segment table does not start with segment 0');
  for (let k = 1; k < stored; k++) {
    if (table[k] <= table[k - 1] || table[k] >= segments) throw bad('table', `its segment table's entry ${k} (${table[k]}) is not ascending inside the region`);
  }
  const allocator = ALLOCATOR_CODES[head.readUInt32LE(IMG_ALLOCATOR)];
  if (allocator === undefined) throw bad('allocator', `it records allocator code ${head.readUInt32LE(IMG_ALLOCATOR)}, which names none`);
  const meta = read(SEGMENT_SIZE, dataOffset);
  if (crc32(meta) !== head.readUInt32LE(IMG_REGION_CRC)) throw bad('region-checksum', "its metadata segment does not match its checksum");
  checkRegionHeader(meta, segments, table, bad);
  return { maxBytes: segments * SEGMENT_SIZE, segments: table, dataOffset, allocator, root: head.readUInt32LE(IMG_ROOT), rootKind: head.readUInt32LE(IMG_ROOT_KIND) };
}

/**
 * The region's own header and segment table against the image's: the same layout and length, and a
 * segment stored exactly when its kind is not free-and-clean (the one kind whose bytes are zeros).
 */
function checkRegionHeader(meta: Buffer, segments: number, table: Uint32Array, bad: (reason: BadImageReason, detail: string) => BadImageError): void {
  const word = (offset: number): number => meta.readUInt32LE(offset);
  if (word(HDR_MAGIC) !== MAGIC || word(HDR_VERSION) !== LAYOUT_VERSION || word(HDR_SEGMENT_SHIFT) !== SEGMENT_SHIFT || word(HDR_SEGMENT_COUNT) !== segments) {
    throw bad('region-header', `its region's header is not one of layout ${LAYOUT_VERSION} with ${segments} segments`);
  }
  for (let s = 0, k = 0; s < segments; s++) {
    const kind = word(SEG_TABLE + s * SEG_ENTRY_SIZE + SEG_KIND);
    const isStored = k < table.length && table[k] === s;
    if (isStored) k++;
    if (kind >= SEG_KIND_COUNT || (s === 0) !== (kind === SEG_META) || isStored !== (kind !== SEG_FREE_CLEAN)) {
      throw bad('region-header', `segment ${s} is of kind ${kind} and ${isStored ? '' : 'not '}stored`);
    }
  }
}

/** The segments a region's metadata says are in use: every one whose kind is not free-and-clean. */
export function segmentsInUse(u32: Uint32Array, segments: number): Uint32Array {
  const used: number[] = [];
  for (let s = 0; s < segments; s++) if (u32[(SEG_TABLE + s * SEG_ENTRY_SIZE + SEG_KIND) >>> 2] !== SEG_FREE_CLEAN) used.push(s);
  return Uint32Array.from(used);
}
