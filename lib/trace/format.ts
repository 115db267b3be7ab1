/**
 * Allocation traces: what a program asked of its allocator, event by event, so that the same requests
 * can be replayed on any allocator (pymem's domains on either backend, glibc, ...). The text format,
 * optionally gzip-compressed (recognised by its first two bytes, 1f 8b):
 *
 *   pymem-trace 1          the first line: the format and its version
 *   # any comment          comments and blank lines are skipped
 *   m ID SIZE              malloc(SIZE), the result known as block ID from now on
 *   c ID NELEM ELSIZE      calloc(NELEM, ELSIZE) as block ID
 *   r ID SIZE              realloc(block ID, SIZE): the block keeps its ID wherever it moves
 *   f ID                   free(block ID)
 *
 * IDs and sizes are decimal integers from 0 to 2^53 - 1, fields separated by one space. An ID names
 * one block from its m or c to its f, and may then be used again. A malloc that returned NULL, a
 * free(NULL) and realloc(NULL, n) (which is m) are not written: every event is about a live block.
 * Blocks still live at the end of the trace are the program's when it stopped.
 *
 * Parsing checks all of it and names the first fault by line (or, for bytes that are no text, by byte
 * offset) in a TraceFormatError. The parsed trace is a TraceProgram: the events in typed arrays, IDs
 * renumbered to dense slots, ready for a replay loop that allocates nothing.
 */
import { gunzipSync } from 'node:zlib';

export const OP_MALLOC = 0;
export const OP_CALLOC = 1;
export const OP_REALLOC = 2;
export const OP_FREE = 3;

export const TRACE_HEADER = 'pymem-trace 1';

export interface TraceProgram {
  /** Events in the trace. */
  readonly length: number;
  /** OP_MALLOC, OP_CALLOC, OP_REALLOC or OP_FREE, per event. */
  readonly op: Uint8Array;
  /** The block's slot, 0..slots-1 (IDs renumbered in order of first use). */
  readonly slot: Uint32Array;
  /** SIZE, or NELEM for calloc. */
  readonly a: Float64Array;
  /** ELSIZE for calloc, else 0. */
  readonly b: Float64Array;
  /** Distinct block IDs: the size of a replay's pointer table. */
  readonly slots: number;
  /** The most blocks live at once, and the most bytes requested by live blocks at once. */
  readonly peakBlocks: number;
  readonly peakBytes: number;
  /** Blocks live at the end. */
  readonly liveBlocks: number;
}

/** A trace that cannot be parsed; `line` (1-based) or `byte` (0-based) says where. */
export class TraceFormatError extends Error {
  readonly code = 'ERR_PYMEM_TRACE_FORMAT' as const;

  constructor(
    readonly source: string,
    readonly where: { line: number } | { byte: number },
    detail: string,
  ) {
    super(`${source}:${'line' in where ? where.line : `byte ${where.byte}`}: ${detail}`);
    this.name = 'TraceFormatError';
  }
}

const NUMBER = /^(0|[1-9]\d*)$/;
const ARITY: Record<string, [op: number, fields: number]> = { m: [OP_MALLOC, 3], c: [OP_CALLOC, 4], r: [OP_REALLOC, 3], f: [OP_FREE, 2] };

/** Decompresses when gzip'ed, and refuses bytes that are not printable ASCII text, naming the first. */
function text(bytes: Uint8Array, source: string): string {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new TraceFormatError(source, { byte: 0 }, `corrupt gzip data (${(e as Error).message})`);
    }
  }
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if ((c < 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) || c > 0x7e) {
      throw new TraceFormatError(source, { byte: i }, `byte 0x${c.toString(16).padStart(2, '0')} is not trace text`);
    }
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}

/** Parses a trace (text or gzip'ed text); `source` names it in errors. */
export function parseTrace(bytes: Uint8Array, source = 'trace'): TraceProgram {
  const lines = text(bytes, source).split(/\r?\n/);
  if (lines[0] !== TRACE_HEADER) {
    throw new TraceFormatError(source, { line: 1 }, `not a pymem trace: the first line must be '${TRACE_HEADER}'`);
  }
  const n = lines.length;
  const op = new Uint8Array(n);
  const slot = new Uint32Array(n);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const slotOf = new Map<number, number>();
  // Per slot: the line that allocated the live block (0: not live), and its requested bytes.
  let liveLine = new Uint32Array(1024);
  let liveBytes = new Float64Array(1024);
  let length = 0;
  let blocks = 0;
  let bytesLive = 0;
  let peakBlocks = 0;
  let peakBytes = 0;
  for (let i = 1; i < n; i++) {
    const line = lines[i];
    if (line === '' || line[0] === '#') continue;
    const at = { line: i + 1 };
    const fields = line.split(' ');
    const kind = ARITY[fields[0]];
    if (kind === undefined) throw new TraceFormatError(source, at, `unknown event '${fields[0]}' (expected m, c, r or f)`);
    if (fields.length !== kind[1]) throw new TraceFormatError(source, at, `'${fields[0]}' takes ${kind[1] - 1} numbers, this line has ${fields.length - 1}`);
    const values = fields.slice(1).map((field) => {
      const value = Number(field);
      if (!NUMBER.test(field) || !Number.isSafeInteger(value)) throw new TraceFormatError(source, at, `'${field}' is not an integer from 0 to 2^53 - 1`);
      return value;
    });
    const id = values[0];
    let s = slotOf.get(id);
    if (s === undefined) {
      s = slotOf.size;
      slotOf.set(id, s);
      if (s === liveLine.length) {
        liveLine = grow(liveLine, new Uint32Array(s * 2));
        liveBytes = grow(liveBytes, new Float64Array(s * 2));
      }
    }
    const [code] = kind;
    const live = liveLine[s] !== 0;
    if (code === OP_MALLOC || code === OP_CALLOC) {
      if (live) throw new TraceFormatError(source, at, `block ${id} is already live (allocated on line ${liveLine[s]})`);
      const size = code === OP_MALLOC ? values[1] : values[1] * values[2];
      liveLine[s] = i + 1;
      liveBytes[s] = size;
      blocks++;
      bytesLive += size;
    } else {
      if (!live) throw new TraceFormatError(source, at, `block ${id} is not live`);
      bytesLive -= liveBytes[s];
      if (code === OP_FREE) {
        liveLine[s] = 0;
        blocks--;
      } else {
        liveBytes[s] = values[1];
        bytesLive += values[1];
      }
    }
    if (blocks > peakBlocks) peakBlocks = blocks;
    if (bytesLive > peakBytes) peakBytes = bytesLive;
    op[length] = code;
    slot[length] = s;
    a[length] = values[1] ?? 0;
    b[length] = values[2] ?? 0;
    length++;
  }
  return {
    length,
    op: op.slice(0, length),
    slot: slot.slice(0, length),
    a: a.slice(0, length),
    b: b.slice(0, length),
    slots: slotOf.size,
    peakBlocks,
    peakBytes,
    liveBlocks: blocks,
  };
}

function grow<T extends Uint32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/**
 * Events [from, to) of a program, sharing its arrays; its slots, peaks and live count stay those of the
 * whole program (for a prefix, an upper bound). A replay of consecutive slices with one pointer table
 * is a replay of the whole.
 */
export function programSlice(p: TraceProgram, from: number, to: number): TraceProgram {
  const end = Math.min(to, p.length);
  return { ...p, length: end - from, op: p.op.subarray(from, end), slot: p.slot.subarray(from, end), a: p.a.subarray(from, end), b: p.b.subarray(from, end) };
}

/** The text of a program, in the format above (IDs are the slots): for generated workloads and tests. */
export function formatTrace(program: TraceProgram): string {
  const out = [TRACE_HEADER];
  for (let i = 0; i < program.length; i++) {
    const s = program.slot[i];
    switch (program.op[i]) {
      case OP_MALLOC:
        out.push(`m ${s} ${program.a[i]}`);
        break;
      case OP_CALLOC:
        out.push(`c ${s} ${program.a[i]} ${program.b[i]}`);
        break;
      case OP_REALLOC:
        out.push(`r ${s} ${program.a[i]}`);
        break;
      default:
        out.push(`f ${s}`);
    }
  }
  return `${out.join('\n')}\n`;
}
