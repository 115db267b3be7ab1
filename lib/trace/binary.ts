/**
 * A parsed trace as one binary file, so that the benchmark's child processes (Node, and the C program
 * that replays it on glibc, bench/glibc/replay.c) read the very same events without parsing text:
 *
 *   +0   u32 magic "pmtp"   +4  u32 version (1)   +8  u32 events   +12 u32 slots
 *   +16  u32 peakBlocks     +20 u32 liveBlocks    +24 f64 peakBytes
 *   +32  u32 slot[events]
 *        f64 a[events]      (8-byte aligned: the u32 arrays before it hold an even count of words)
 *        f64 b[events]
 *        u8  op[events]
 *
 * Little-endian, as every machine pymem's native backend runs on.
 */
import type { TraceProgram } from './format';

export const PROGRAM_MAGIC = 0x70746d70; // "pmtp"
export const PROGRAM_VERSION = 1;
const HEADER = 32;

/** Byte offsets of the arrays in a program file of `events` events. */
function offsets(events: number) {
  const slot = HEADER;
  const a = slot + 4 * (events + (events & 1)); // padded to 8 bytes
  const b = a + 8 * events;
  const op = b + 8 * events;
  return { slot, a, b, op, end: op + events };
}

export function encodeProgram(p: TraceProgram): Buffer {
  const at = offsets(p.length);
  const out = Buffer.alloc(at.end);
  out.writeUInt32LE(PROGRAM_MAGIC, 0);
  out.writeUInt32LE(PROGRAM_VERSION, 4);
  out.writeUInt32LE(p.length, 8);
  out.writeUInt32LE(p.slots, 12);
  out.writeUInt32LE(p.peakBlocks, 16);
  out.writeUInt32LE(p.liveBlocks, 20);
  out.writeDoubleLE(p.peakBytes, 24);
  out.set(new Uint8Array(p.slot.buffer, p.slot.byteOffset, p.slot.byteLength), at.slot);
  out.set(new Uint8Array(p.a.buffer, p.a.byteOffset, p.a.byteLength), at.a);
  out.set(new Uint8Array(p.b.buffer, p.b.byteOffset, p.b.byteLength), at.b);
  out.set(p.op, at.op);
  return out;
}

/** Reads a program file back; an error names what is wrong with it. */
export function decodeProgram(bytes: Uint8Array): TraceProgram {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < HEADER || view.getUint32(0, true) !== PROGRAM_MAGIC || view.getUint32(4, true) !== PROGRAM_VERSION) {
    throw new Error('not a pymem program file (version 1)');
  }
  const length = view.getUint32(8, true);
  const at = offsets(length);
  if (bytes.length !== at.end) throw new Error(`a program file of ${length} events is ${at.end} bytes, not ${bytes.length}`);
  // Copies (a plain Uint8Array's slice copies; a Buffer's would not), aligned whatever the file's offset.
  const copy = (offset: number, size: number) => new Uint8Array(bytes.buffer, bytes.byteOffset + offset, size).slice().buffer;
  return {
    length,
    slots: view.getUint32(12, true),
    peakBlocks: view.getUint32(16, true),
    liveBlocks: view.getUint32(20, true),
    peakBytes: view.getFloat64(24, true),
    slot: new Uint32Array(copy(at.slot, 4 * length)),
    a: new Float64Array(copy(at.a, 8 * length)),
    b: new Float64Array(copy(at.b, 8 * length)),
    op: new Uint8Array(copy(at.op, length)),
  };
}
