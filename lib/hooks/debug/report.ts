/**
 * What the debug hooks say about a damaged block: CPython 3.12's _PyObject_DebugDumpAddress() text,
 * line for line (test/fixtures/debug-hooks-cpython.txt holds CPython's own), the error thrown with it,
 * and the fatal error that follows it when a heap aborts as CPython does (createHeap's debugAbort).
 *
 * CPython reads the block's bytes wherever its size field points, and crashes when that is nonsense
 * (a double free makes it so). Here every read stays inside the region: where CPython would read
 * outside, the report says so instead.
 */
import { writeSync } from 'node:fs';
import { MemoryCorruptionError, hex, type MemoryCorruptionCode } from '../../errors';
import { SST, DEBUG_HEADER, FORBIDDENBYTE, API_DOMAINS, requestedSize, allBytes } from './layout';

/** _PyMem_DumpTraceback's text when tracemalloc is not tracing the block. */
export const NO_TRACEBACK = 'Enable tracemalloc to get the memory block allocation traceback\n\n';

const byte = (b: number): string => `0x${b.toString(16).padStart(2, '0')}`;

/** The API id as CPython's %c prints it, with a byte that is not printable ASCII escaped (\xdd). */
export function apiChar(id: number): string {
  return id >= 0x20 && id < 0x7f ? String.fromCharCode(id) : `\\x${id.toString(16).padStart(2, '0')}`;
}

/** The 8-byte big-endian size field at base, exactly (a damaged one can exceed 2^53). */
function storedSize(u8: Uint8Array, base: number): bigint {
  let n = 0n;
  for (let i = 0; i < SST; i++) n = (n << 8n) | BigInt(u8[base + i]);
  return n;
}

/**
 * _PyObject_DebugDumpAddress(p): the block's API id, requested size, leading and trailing pads (each
 * byte listed, "*** OUCH" where it is wrong, when one is), and its first and last data bytes; then the
 * blank line. p is 16-byte aligned and inside the region, so its 16-byte header is too.
 */
export function dumpAddress(u8: Uint8Array, p: number): string {
  const out: string[] = [];
  out.push(`Debug memory block at address p=${hex(p)}: API '${apiChar(u8[p - SST])}'`);
  const nbytes = storedSize(u8, p - DEBUG_HEADER);
  out.push(`    ${nbytes} bytes originally requested`);

  const leadingIntact = allBytes(u8, p - (SST - 1), SST - 1, FORBIDDENBYTE);
  out.push(`    The ${SST - 1} pad bytes at p-${SST - 1} are ${leadingIntact ? 'FORBIDDENBYTE, as expected.' : `not all FORBIDDENBYTE (${byte(FORBIDDENBYTE)}):`}`);
  if (!leadingIntact) {
    for (let i = SST - 1; i >= 1; i--) out.push(`        at p-${i}: ${byte(u8[p - i])}${u8[p - i] !== FORBIDDENBYTE ? ' *** OUCH' : ''}`);
    out.push('    Because memory is corrupted at the start, the count of bytes requested');
    out.push('       may be bogus, and checking the trailing pad bytes may segfault.');
  }

  // As C's pointer arithmetic: modulo 2^64.
  const tail = BigInt.asUintN(64, BigInt(p) + nbytes);
  const readable = tail + BigInt(SST) <= BigInt(u8.length);
  const at = `    The ${SST} pad bytes at tail=0x${tail.toString(16)} are`;
  if (!readable) {
    out.push(`${at} outside the heap's region, so they were not read.`);
  } else if (allBytes(u8, Number(tail), SST, FORBIDDENBYTE)) {
    out.push(`${at} FORBIDDENBYTE, as expected.`);
  } else {
    out.push(`${at} not all FORBIDDENBYTE (${byte(FORBIDDENBYTE)}):`);
    const t = Number(tail);
    for (let i = 0; i < SST; i++) out.push(`        at tail+${i}: ${byte(u8[t + i])}${u8[t + i] !== FORBIDDENBYTE ? ' *** OUCH' : ''}`);
  }

  if (nbytes > 0n) {
    // Up to 8 bytes at the start and up to 8 at the end, " ..." between when more lie in between.
    const n = readable ? Number(nbytes) : Infinity;
    const hexAt = (from: number, to: number) => Array.from(u8.subarray(from, to), (b) => ` ${b.toString(16).padStart(2, '0')}`).join('');
    let line = `    Data at p:${hexAt(p, p + Math.min(8, n))}`;
    if (n > 16) line += ` ...${readable ? hexAt(p + n - 8, p + n) : ''}`;
    else if (n > 8) line += hexAt(p + 8, p + n);
    out.push(line);
  }
  out.push('', '');
  return out.join('\n');
}

const EXPLAIN: Record<MemoryCorruptionCode, (n: number, stored: number) => string> = {
  ERR_PYMEM_BAD_ID: (_, stored) =>
    API_DOMAINS[stored] !== undefined
      ? `the block was allocated by heap.${API_DOMAINS[stored]} and must be freed or resized through it`
      : 'no domain with debug hooks allocated this block, or the byte before its leading pad was overwritten',
  ERR_PYMEM_DOUBLE_FREE: () => 'the block was already freed: its header holds the freed pattern 0xdd',
  ERR_PYMEM_BAD_LEADING_PAD: () => `the ${SST - 1} bytes just before the block were written to (a buffer underflow)`,
  ERR_PYMEM_BAD_TRAILING_PAD: (n) => `the ${SST} bytes just after the block's ${n} bytes were written to (a buffer overflow)`,
};

/**
 * The error for a failed check of p by `caller` (e.g. 'heap.mem.free'), with the report: the dump
 * and `traceback` (tracemalloc's lines for the block, or NO_TRACEBACK).
 */
export function corruptionError(
  code: MemoryCorruptionCode,
  caller: string,
  cpythonFunction: string,
  fault: string,
  u8: Uint8Array,
  p: number,
  traceback: string,
): MemoryCorruptionError {
  const message = `${caller}(${hex(p)}): ${fault}: ${EXPLAIN[code](requestedSize(u8, p - DEBUG_HEADER), u8[p - SST])}; the block was left as it was (error.report shows it)`;
  return new MemoryCorruptionError(code, p, cpythonFunction, fault, dumpAddress(u8, p) + traceback, message);
}

/** The text a heap made to abort writes to stderr: the report, then CPython's fatal error line. */
export function fatalText(error: MemoryCorruptionError): string {
  return `${error.report}Fatal Python error: ${error.cpythonFunction}: ${error.fault}\n\n`;
}

/**
 * CPython's behaviour for a failed check (createHeap({ debugAbort: true }), PYMEM_DEBUG_ABORT=1): the
 * report and the fatal line on stderr, then abort(); Node adds its stack traces, as CPython adds its
 * traceback, and the process ends with SIGABRT.
 */
/* c8 ignore start -- runs in a process that then aborts, which writes no coverage; test/debug-abort.ts checks its output */
export function abortWith(error: MemoryCorruptionError): never {
  writeSync(2, fatalText(error));
  process.abort();
}
/* c8 ignore stop */
