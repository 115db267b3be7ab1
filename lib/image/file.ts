/**
 * Heap images on disk: written atomically, opened for a backend. A save writes a temporary file in
 * the image's own directory, fsyncs it, renames it over the image and fsyncs the directory, so a
 * crash at any point leaves the old image or the new one, never a torn one; and a process that has
 * the old image open (mapped, on native) keeps reading the old file's bytes, which the rename leaves
 * alone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SEGMENT_SIZE } from '../config';
import { BadImageError } from '../errors';
import { decodeHeader, encodeHeader, dataOffsetFor, segmentsInUse, type ImageHeader, type ImageAllocator } from './format';
import type { ImageSegments } from '../raw/backend';

/** What a save reads from a heap. */
export interface ImageSource {
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly maxBytes: number;
  readonly allocator: ImageAllocator;
  readonly root: number;
  readonly rootKind: number;
}

/** Writes the heap's region to `file`, atomically (see above); returns the bytes written. */
export function writeImage(file: string, src: ImageSource): number {
  const segments = segmentsInUse(src.u32, src.maxBytes / SEGMENT_SIZE);
  const header: ImageHeader = {
    maxBytes: src.maxBytes,
    segments,
    dataOffset: dataOffsetFor(segments.length),
    allocator: src.allocator,
    root: src.root,
    rootKind: src.rootKind,
  };
  const head = encodeHeader(header, src.u8.subarray(0, SEGMENT_SIZE));
  const dir = path.dirname(path.resolve(file));
  const temporary = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  const fd = fs.openSync(temporary, 'wx', 0o644);
  let open = true;
  try {
    writeAll(fd, head, 0);
    for (let k = 0; k < segments.length; k++) {
      writeAll(fd, src.u8.subarray(segments[k] * SEGMENT_SIZE, (segments[k] + 1) * SEGMENT_SIZE), header.dataOffset + k * SEGMENT_SIZE);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    open = false;
    fs.renameSync(temporary, file);
  } catch (error) {
    if (open) fs.closeSync(fd);
    fs.rmSync(temporary, { force: true });
    throw error;
  }
  syncDirectory(dir);
  return header.dataOffset + segments.length * SEGMENT_SIZE;
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done, bytes.length - done, position + done);
}

/** The rename is durable once the directory's entry is: fsync the directory (where the OS allows it). */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse to fsync a directory; the rename itself has happened.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** An image opened and checked: what a backend maps or reads, and the header's figures. */
export interface OpenedImage extends ImageSegments {
  readonly header: ImageHeader;
  /** Closes the file. A native region keeps its mapping, which outlives the descriptor. */
  close(): void;
}

/** Reads into `into` from `position` of fd until it is full or the file ends; returns the bytes read. */
function readInto(fd: number, into: Uint8Array, position: number): number {
  let done = 0;
  while (done < into.length) {
    const read = fs.readSync(fd, into, done, into.length - done, position + done);
    if (read === 0) break;
    done += read;
  }
  return done;
}

/** Opens `file` and checks its header, table and metadata segment (format.ts); throws BadImageError. */
export function openImage(file: string): OpenedImage {
  let fd: number;
  let size: number;
  try {
    fd = fs.openSync(file, 'r');
    size = fs.fstatSync(fd).size;
  } catch (error) {
    throw new BadImageError(file, 'unreadable', (error as Error).message);
  }
  try {
    const header = decodeHeader(file, size, (length, position) => {
      const buf = Buffer.alloc(length);
      return buf.subarray(0, readInto(fd, buf, position));
    });
    const readSegment = (k: number, into: Uint8Array): void => {
      const position = header.dataOffset + k * SEGMENT_SIZE;
      const read = readInto(fd, into, position);
      // The header said the file holds it: the file was cut short since it was opened.
      if (read < into.length) throw new BadImageError(file, 'truncated', `segment ${header.segments[k]} ends at byte ${position + read} of the file, before its ${into.length} bytes`);
    };
    return { file, fd, segments: header.segments, dataOffset: header.dataOffset, header, readSegment, close: () => fs.closeSync(fd) };
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
}
