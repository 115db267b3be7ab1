/**
 * The debug hooks' block layout: CPython 3.12's (Objects/obmalloc.c, PYMEM_DEBUG_SERIALNO off), with
 * S = sizeof(size_t) = 8. The wrapped allocator is asked for N + 3S bytes and returns `base`; the
 * caller gets p = base + 2S, 16-byte aligned because base is.
 *
 *   base     [size: 8, big-endian]   N, the bytes requested
 *   base+8   [api id: 1]              'r', 'm' or 'o': the domain that allocated the block
 *   base+9   [0xFD x 7]               leading pad: catches writes before the block
 *   p        [data: N]                0xCD when new (not after calloc, whose bytes are zero)
 *   p+N      [0xFD x 8]               trailing pad: catches writes past the end
 *
 * A freed block is filled with 0xDD from base to the end of its trailing pad.
 */
import type { DomainName } from '../../domains/domain';

/** sizeof(size_t) on 64-bit: the width of the size field and of the trailing pad. */
export const SST = 8;
export const DEBUG_SIZE = 0;
export const DEBUG_API = SST;
export const DEBUG_LEADING_PAD = SST + 1;
/** From base to p: the size field, the id and the leading pad. */
export const DEBUG_HEADER = 2 * SST;
/** PYMEM_DEBUG_EXTRA_BYTES: what a block costs beyond its N bytes. */
export const DEBUG_EXTRA = 3 * SST;

/** PYMEM_CLEANBYTE: new memory, so that reading it before writing shows. */
export const CLEANBYTE = 0xcd;
/** PYMEM_DEADBYTE: freed memory, so that using it after free shows. */
export const DEADBYTE = 0xdd;
/** PYMEM_FORBIDDENBYTE: the pads on either side. */
export const FORBIDDENBYTE = 0xfd;

/** The API ids CPython's debug hooks write: PyMem_Raw* 'r', PyMem_* 'm', PyObject_* 'o'. */
export const API_IDS: Record<DomainName, number> = { raw: 0x72, mem: 0x6d, obj: 0x6f };
export const API_DOMAINS: Record<number, DomainName> = { 0x72: 'raw', 0x6d: 'mem', 0x6f: 'obj' };

/** The low 32 bits of the size field at base (a block the hooks framed has 0 above them). */
export function requestedSize(u8: Uint8Array, base: number): number {
  return u8[base + 4] * 2 ** 24 + ((u8[base + 5] << 16) | (u8[base + 6] << 8) | u8[base + 7]);
}

/** Whether the `count` bytes from `from` all hold `value`. */
export function allBytes(u8: Uint8Array, from: number, count: number, value: number): boolean {
  for (let i = 0; i < count; i++) if (u8[from + i] !== value) return false;
  return true;
}

/**
 * _PyMem_IsPtrFreed for a pointer of pymem's (32 bits): NULL, or the pattern a debug hook fills with
 * (clean, dead or forbidden bytes), read as a pointer.
 */
export function isPtrFreed(value: number): boolean {
  return value === 0 || value === 0xcdcdcdcd || value === 0xdddddddd || value === 0xfdfdfdfd;
}
