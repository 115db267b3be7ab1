/**
 * Scans over region bytes and bitmaps, for the readers that walk them (the checker, the fallback's
 * accounting). allZero is one memcmp against a buffer that is never written: reading it maps no memory,
 * and a range of untouched region pages compares without being committed either.
 */
import { SEGMENT_SIZE } from '../config';

let zeros = new Uint8Array(0);

export function allZero(bytes: Uint8Array): boolean {
  if (zeros.length < bytes.length) zeros = new Uint8Array(Math.max(bytes.length, SEGMENT_SIZE));
  return Buffer.compare(bytes, zeros.subarray(0, bytes.length)) === 0;
}

/** The set bits of words[from, to): the live blocks of a pool's live map, the retained pages of a segment. */
export function countBits(words: Uint32Array, from: number, to: number): number {
  let bits = 0;
  for (let w = from; w < to; w++) for (let x = words[w]; x !== 0; x &= x - 1) bits++;
  return bits;
}
