/**
 * "Is this range all zeros?" as one memcmp against a buffer that is never written: reading it maps no
 * memory, and a range of untouched region pages compares without being committed either.
 */
import { SEGMENT_SIZE } from '../config';

let zeros = new Uint8Array(0);

export function allZero(bytes: Uint8Array): boolean {
  if (zeros.length < bytes.length) zeros = new Uint8Array(Math.max(bytes.length, SEGMENT_SIZE));
  return Buffer.compare(bytes, zeros.subarray(0, bytes.length)) === 0;
}
