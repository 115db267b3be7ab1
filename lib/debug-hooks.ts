/**
 * Debug hooks: CPython 3.12's PyMem_SetupDebugHooks() (Objects/obmalloc.c, _PyMem_DebugRaw*). Each
 * wraps a domain's allocator, frames every block with the layout of lib/debug-layout.ts, and checks the
 * frame when the block is freed or resized, in CPython's order: the API id (a block freed through
 * another domain), the leading pad (an underflow), the trailing pad (an overflow). A failed check is
 * a MemoryCorruptionError with CPython's report, thrown before anything is written (or CPython's abort,
 * with createHeap's debugAbort). A block already freed is told by its 0xDD header and reported as a
 * double free rather than read blindly, as CPython's dump does (and crashes).
 *
 * Like CPython's, the hooks believe what a block's frame says: a pointer that is not a framed block is
 * reported as a bad ID (its id byte is whatever lies there), which is what CPython reports too.
 *
 * Cost per operation: malloc writes the 16-byte header and the 8-byte trailer byte by byte and fills
 * the data (a typed-array fill); free reads 16 bytes and fills the block; neither allocates a JS object.
 * A heap without hooks runs none of this: the hooks are functions installed in the domains.
 */
import { pointerError, UNSERVABLE, type Allocator, type DomainName } from './domains';
import { PTR_MISALIGNED, PTR_OUTSIDE } from './raw/layout';
import type { MemoryCorruptionCode, MemoryCorruptionError } from './errors';
import {
  SST, DEBUG_SIZE, DEBUG_API, DEBUG_LEADING_PAD, DEBUG_HEADER, DEBUG_EXTRA, CLEANBYTE, DEADBYTE, FORBIDDENBYTE, API_IDS,
  requestedSize, sizeFieldIsSmall,
} from './debug-layout';
import { apiChar, corruptionError } from './debug-report';

/** _PyMem_DebugRawRealloc saves (and erases) at most this many bytes at each end of a block it resizes. */
const ERASED_SIZE = 64;

/** What the hooks of one heap share. */
export interface DebugContext {
  readonly u8: Uint8Array;
  /** Takes each failed check: throws the error, or reports and aborts (createHeap's debugAbort). */
  fault(error: MemoryCorruptionError): never;
  /** The allocation traceback part of a report for block p (NO_TRACEBACK until tracemalloc traces it). */
  traceback(p: number): string;
}

/**
 * _PyMem_DebugCheckAddress: returns the block's requested size, or raises the first fault found.
 * `op` is 'free' or 'realloc', for the error's wording and CPython's function name.
 */
function checkAddress(ctx: DebugContext, domain: DomainName, op: 'free' | 'realloc', p: number): number {
  const u8 = ctx.u8;
  // Reads below stay in the region: p is 16-byte aligned and inside it, so its header is too.
  if ((p & 15) !== 0 || p >= u8.length) throw pointerError(`heap.${domain}.${op}`, p, p & 15 ? PTR_MISALIGNED : PTR_OUTSIDE);
  const base = p - DEBUG_HEADER;
  const api = API_IDS[domain];
  const id = u8[base + DEBUG_API];
  if (id !== api) {
    const freed = id === DEADBYTE && allBytes(u8, base + DEBUG_LEADING_PAD, SST - 1, DEADBYTE);
    fail(ctx, freed ? 'ERR_PYMEM_DOUBLE_FREE' : 'ERR_PYMEM_BAD_ID', domain, op, p, `bad ID: Allocated using API '${apiChar(id)}', verified using API '${apiChar(api)}'`);
  }
  if (!allBytes(u8, base + DEBUG_LEADING_PAD, SST - 1, FORBIDDENBYTE)) fail(ctx, 'ERR_PYMEM_BAD_LEADING_PAD', domain, op, p, 'bad leading pad byte');
  const n = requestedSize(u8, base);
  // A size that puts the tail outside the region is a damaged size field: the tail cannot be intact.
  if (!sizeFieldIsSmall(u8, base) || p + n + SST > u8.length || !allBytes(u8, p + n, SST, FORBIDDENBYTE)) {
    fail(ctx, 'ERR_PYMEM_BAD_TRAILING_PAD', domain, op, p, 'bad trailing pad byte');
  }
  return n;
}

function fail(ctx: DebugContext, code: MemoryCorruptionCode, domain: DomainName, op: 'free' | 'realloc', p: number, fault: string): never {
  const cpython = op === 'free' ? '_PyMem_DebugRawFree' : '_PyMem_DebugRawRealloc';
  ctx.fault(corruptionError(code, `heap.${domain}.${op}`, cpython, fault, ctx.u8, p, ctx.traceback(p)));
}

function allBytes(u8: Uint8Array, from: number, count: number, value: number): boolean {
  for (let i = 0; i < count; i++) if (u8[from + i] !== value) return false;
  return true;
}

/** Writes the header and trailer of a block of n bytes at base; returns p. */
function frame(u8: Uint8Array, base: number, n: number, api: number): number {
  // The size field, big-endian; its high 32 bits are 0 (no region holds 4 GiB of data).
  for (let i = 0; i < 4; i++) u8[base + DEBUG_SIZE + i] = 0;
  u8[base + 4] = n >>> 24;
  u8[base + 5] = n >>> 16;
  u8[base + 6] = n >>> 8;
  u8[base + 7] = n;
  u8[base + DEBUG_API] = api;
  for (let i = 0; i < SST - 1; i++) u8[base + DEBUG_LEADING_PAD + i] = FORBIDDENBYTE;
  const p = base + DEBUG_HEADER;
  for (let i = 0; i < SST; i++) u8[p + n + i] = FORBIDDENBYTE;
  return p;
}

/** The debug hooks for one domain, around `inner` (the allocator installed there before). */
export function debugAllocator(inner: Allocator, domain: DomainName, ctx: DebugContext): Allocator {
  const u8 = ctx.u8;
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
    const p = frame(u8, base, n, api);
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
      return frame(u8, base, n, api);
    },

    realloc(p: number, n: number): number {
      if (p === 0) return malloc(n);
      const original = checkAddress(ctx, domain, 'realloc', p);
      if (n > UNSERVABLE - DEBUG_EXTRA) return 0;
      const head = p - DEBUG_HEADER;
      const tail = p + original;
      // As CPython: the header, the trailer and up to 64 bytes at each end of the data are marked dead
      // while the block is resized (so that a wrapped realloc that moves it leaves dead bytes behind),
      // and put back after.
      if (original <= 2 * ERASED_SIZE) {
        save.set(u8.subarray(p, tail));
        u8.fill(DEADBYTE, head, tail + SST);
      } else {
        save.set(u8.subarray(p, p + ERASED_SIZE));
        u8.fill(DEADBYTE, head, p + ERASED_SIZE);
        save.set(u8.subarray(tail - ERASED_SIZE, tail), ERASED_SIZE);
        u8.fill(DEADBYTE, tail - ERASED_SIZE, tail + SST);
      }
      const r = innerRealloc(head, n + DEBUG_EXTRA);
      // On failure the old block is framed again with its old size, its bytes restored.
      const size = r === 0 ? original : n;
      const q = frame(u8, r === 0 ? head : r, size, api);
      if (original <= 2 * ERASED_SIZE) {
        u8.set(save.subarray(0, Math.min(size, original)), q);
      } else {
        u8.set(save.subarray(0, Math.min(size, ERASED_SIZE)), q);
        const i = original - ERASED_SIZE;
        if (size > i) u8.set(save.subarray(ERASED_SIZE, ERASED_SIZE + Math.min(size - i, ERASED_SIZE)), q + i);
      }
      if (r === 0) return 0;
      if (size > original) u8.fill(CLEANBYTE, q + original, q + size);
      return q;
    },

    free(p: number): void {
      if (p === 0) return;
      const n = checkAddress(ctx, domain, 'free', p);
      const base = p - DEBUG_HEADER;
      u8.fill(DEADBYTE, base, p + n + SST);
      innerFree(base);
    },
  };
}
