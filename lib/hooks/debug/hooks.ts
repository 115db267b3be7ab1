/**
 * Debug hooks: CPython 3.12's PyMem_SetupDebugHooks() (Objects/obmalloc.c, _PyMem_DebugRaw*). Each
 * wraps a domain's allocator, frames every block with the layout of lib/hooks/debug/layout.ts, and checks the
 * frame when the block is freed or resized, in CPython's order: the API id (a block freed through
 * another domain), the leading pad (an underflow), the trailing pad (an overflow). A failed check is
 * a MemoryCorruptionError with CPython's report, thrown before anything is written (or CPython's abort,
 * with createHeap's debugAbort). A block already freed is told by its 0xDD header and reported as a
 * double free rather than read blindly, as CPython's dump does (and crashes).
 *
 * Like CPython's, the hooks believe what a block's frame says: a pointer that is not a framed block is
 * reported as a bad ID (its id byte is whatever lies there), which is what CPython reports too.
 *
 * Cost per operation: malloc writes the header and the trailer as six 32-bit words and fills the data
 * (a typed-array fill); free checks them with six word loads and fills the block; neither allocates a
 * JS object. About 100 ns per malloc/free pair of small blocks here, most of it the two fills, which
 * are the point: every byte of a block is written when it is allocated and again when it is freed.
 * A heap without hooks runs none of this: the hooks are functions installed in the domains.
 */
import { pointerError, UNSERVABLE, type Allocator, type DomainName } from '../../domains/domain';
import { PTR_MISALIGNED, PTR_OUTSIDE } from '../../raw/layout';
import { heapClosed, type MemoryCorruptionCode, type MemoryCorruptionError } from '../../errors';
import {
  SST, DEBUG_SIZE, DEBUG_API, DEBUG_LEADING_PAD, DEBUG_HEADER, DEBUG_EXTRA, CLEANBYTE, DEADBYTE, FORBIDDENBYTE, API_IDS,
  allBytes,
} from './layout';
import { apiChar, corruptionError } from './report';

/** _PyMem_DebugRawRealloc saves (and erases) at most this many bytes at each end of a block it resizes. */
const ERASED_SIZE = 64;

/** What the hooks of one heap share. */
export interface DebugContext {
  readonly u8: Uint8Array;
  /** The same bytes, for the header's and pads' 32-bit big-endian words (V8 inlines DataView access). */
  readonly dv: DataView;
  /** Takes each failed check: throws the error, or reports and aborts (createHeap's debugAbort). */
  fault(error: MemoryCorruptionError): never;
  /** The allocation traceback part of a report for block p (NO_TRACEBACK until tracemalloc traces it). */
  traceback(p: number): string;
}

/**
 * _PyMem_DebugCheckAddress: returns the block's requested size, or raises the first fault found.
 * `op` is 'free' or 'realloc', for the error's wording and CPython's function name. The intact case
 * is six word loads and compares; what is wrong is worked out byte by byte only when something is.
 */
function checkAddress(u8: Uint8Array, dv: DataView, api: number, p: number, ctx: DebugContext, domain: DomainName, op: 'free' | 'realloc'): number {
  // Reads below stay in the region: p is 16-byte aligned and inside it, so its header is too.
  if ((p & 15) !== 0 || p >= u8.length) {
    // A closed heap's region is detached (length 0): hooks kept from getAllocator() end here.
    if (u8.length === 0) throw heapClosed(`heap.${domain}.${op}`);
    throw pointerError(`heap.${domain}.${op}`, p, p & 15 ? PTR_MISALIGNED : PTR_OUTSIDE);
  }
  const base = p - DEBUG_HEADER;
  if (dv.getUint32(base + DEBUG_API) !== idWord(api) || dv.getUint32(base + DEBUG_API + 4) !== FORBIDDEN_WORD) {
    const id = u8[base + DEBUG_API];
    if (id !== api) {
      const freed = id === DEADBYTE && allBytes(u8, base + DEBUG_LEADING_PAD, SST - 1, DEADBYTE);
      fail(ctx, freed ? 'ERR_PYMEM_DOUBLE_FREE' : 'ERR_PYMEM_BAD_ID', domain, op, p, `bad ID: Allocated using API '${apiChar(id)}', verified using API '${apiChar(api)}'`);
    }
    fail(ctx, 'ERR_PYMEM_BAD_LEADING_PAD', domain, op, p, 'bad leading pad byte');
  }
  const n = dv.getUint32(base + DEBUG_SIZE + 4);
  // A size that puts the tail outside the region is a damaged size field: the tail cannot be intact.
  if (dv.getUint32(base + DEBUG_SIZE) !== 0 || p + n + SST > u8.length || dv.getUint32(p + n) !== FORBIDDEN_WORD || dv.getUint32(p + n + 4) !== FORBIDDEN_WORD) {
    fail(ctx, 'ERR_PYMEM_BAD_TRAILING_PAD', domain, op, p, 'bad trailing pad byte');
  }
  return n;
}

/** Four forbidden bytes, read as one big-endian word. */
const FORBIDDEN_WORD = FORBIDDENBYTE * 0x01010101;

/** The id byte and the first three bytes of the leading pad, read as one big-endian word. */
function idWord(api: number): number {
  return api * 0x1000000 + FORBIDDENBYTE * 0x10101;
}

function fail(ctx: DebugContext, code: MemoryCorruptionCode, domain: DomainName, op: 'free' | 'realloc', p: number, fault: string): never {
  const cpython = op === 'free' ? '_PyMem_DebugRawFree' : '_PyMem_DebugRawRealloc';
  ctx.fault(corruptionError(code, `heap.${domain}.${op}`, cpython, fault, ctx.u8, p, ctx.traceback(p)));
}

/** Copies n bytes (at most 128 here) without making a view: realloc's save and restore. */
function copy(to: Uint8Array, at: number, from: Uint8Array, start: number, n: number): void {
  for (let i = 0; i < n; i++) to[at + i] = from[start + i];
}

/** Writes the header and trailer of a block of n bytes at base; returns p. Six word stores. */
function frame(dv: DataView, base: number, n: number, api: number): number {
  // The size field, big-endian; its high 32 bits are 0 (no region holds 4 GiB of data).
  dv.setUint32(base + DEBUG_SIZE, 0);
  dv.setUint32(base + DEBUG_SIZE + 4, n);
  dv.setUint32(base + DEBUG_API, idWord(api));
  dv.setUint32(base + DEBUG_API + 4, FORBIDDEN_WORD);
  const p = base + DEBUG_HEADER;
  dv.setUint32(p + n, FORBIDDEN_WORD);
  dv.setUint32(p + n + 4, FORBIDDEN_WORD);
  return p;
}

/** The debug hooks for one domain, around `inner` (the allocator installed there before). */
export function debugAllocator(inner: Allocator, domain: DomainName, ctx: DebugContext): Allocator {
  const { u8, dv } = ctx;
  const api = API_IDS[domain];
  // realloc's copy of the bytes it erases, made once: the hot path allocates nothing.
  const save = new Uint8Array(2 * ERASED_SIZE);
  const innerMalloc = inner.malloc;
  const innerCalloc = inner.calloc;
  const innerRealloc = inner.realloc;
  const innerFree = inner.free;

  const malloc = (n: number): number => {
    // n + 24 must still be a size; a request this large cannot be served anyway.
    if (n > UNSERVABLE - DEBUG_EXTRA) return 0;
    const base = innerMalloc(n + DEBUG_EXTRA);
    if (base === 0) return 0;
    const p = frame(dv, base, n, api);
    if (n > 0) u8.fill(CLEANBYTE, p, p + n);
    return p;
  };

  return {
    malloc,

    calloc(nelem: number, elsize: number): number {
      const n = nelem * elsize;
      if (n > Number.MAX_SAFE_INTEGER - DEBUG_EXTRA) return 0;
      // As CPython: calloc(1, n + 24) of the wrapped allocator, whose bytes are zero; the data stays so.
      const base = innerCalloc(1, n + DEBUG_EXTRA);
      if (base === 0) return 0;
      return frame(dv, base, n, api);
    },

    realloc(p: number, n: number): number {
      if (p === 0) return malloc(n);
      const original = checkAddress(u8, dv, api, p, ctx, domain, 'realloc');
      if (n > UNSERVABLE - DEBUG_EXTRA) return 0;
      const head = p - DEBUG_HEADER;
      const tail = p + original;
      // As CPython: the header, the trailer and up to 64 bytes at each end of the data are marked dead
      // while the block is resized (so that a wrapped realloc that moves it leaves dead bytes behind),
      // and put back after.
      if (original <= 2 * ERASED_SIZE) {
        copy(save, 0, u8, p, original);
        u8.fill(DEADBYTE, head, tail + SST);
      } else {
        copy(save, 0, u8, p, ERASED_SIZE);
        u8.fill(DEADBYTE, head, p + ERASED_SIZE);
        copy(save, ERASED_SIZE, u8, tail - ERASED_SIZE, ERASED_SIZE);
        u8.fill(DEADBYTE, tail - ERASED_SIZE, tail + SST);
      }
      const r = innerRealloc(head, n + DEBUG_EXTRA);
      // On failure the old block is framed again with its old size, its bytes restored.
      const size = r === 0 ? original : n;
      const q = frame(dv, r === 0 ? head : r, size, api);
      if (original <= 2 * ERASED_SIZE) {
        copy(u8, q, save, 0, Math.min(size, original));
      } else {
        copy(u8, q, save, 0, Math.min(size, ERASED_SIZE));
        const i = original - ERASED_SIZE;
        if (size > i) copy(u8, q + i, save, ERASED_SIZE, Math.min(size - i, ERASED_SIZE));
      }
      if (r === 0) return 0;
      if (size > original) u8.fill(CLEANBYTE, q + original, q + size);
      return q;
    },

    free(p: number): void {
      if (p === 0) return;
      const n = checkAddress(u8, dv, api, p, ctx, domain, 'free');
      const base = p - DEBUG_HEADER;
      u8.fill(DEADBYTE, base, p + n + SST);
      innerFree(base);
    },
  };
}
