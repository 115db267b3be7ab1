/**
 * The fallback's undo log, which makes its raw operations whole even when V8 stops the thread halfway.
 * The fallback's raw allocator is JavaScript running under the raw lock, and worker.terminate() stops a
 * thread at its next function call or loop turn, wherever that falls. So every metadata store of a
 * shared fallback's raw allocator goes through a Proxy that first appends the word's index and old value
 * to the journal in segment 0 (SH_JOURNAL); the operation's end empties it. heap.watch(), finding the
 * lock held by a thread that exited, writes the old values back, newest first: the region is as it was
 * before that operation began, and the lock can be given on.
 *
 *   SH_JOURNAL        count of entries
 *   SH_JOURNAL + 8    entry 0: [word index, old value], then entry 1, ...
 *
 * An entry is written, then counted, then the store made: stopped between any two of these, the
 * rollback restores the word or finds it untouched. Stores of block payloads (calloc's zeroing,
 * realloc's copy, a released segment's zero-fill) are not logged: undone, the operation leaves those
 * blocks as they were in use or being freed, and no thread reads them for what they held.
 *
 * Cost: a Proxy trap per store and the Proxy's indirection per load, about 30 times a plain typed array
 * access; only the fallback's shared raw path (requests over 512 bytes, arenas) pays it, and the native
 * backend needs none of it (a C call cannot be stopped halfway).
 */
import { SH_JOURNAL, JOURNAL_CAPACITY } from './layout';

const COUNT = SH_JOURNAL >>> 2;
const FIRST = (SH_JOURNAL + 8) >>> 2;
/** The count once an operation has stored more words than the journal holds. */
const OVERFLOWED = 0xffffffff;

/** The region's words, every store logged first. */
export function journaled(m: Uint32Array): Uint32Array {
  return new Proxy(m, {
    set(target, key, value) {
      const index = Number(key);
      const n = target[COUNT];
      if (n >= JOURNAL_CAPACITY) {
        // Past the journal (a huge block of thousands of segments): the rest goes unlogged, and the
        // operation, if stopped, cannot be undone (rollback says so).
        target[COUNT] = OVERFLOWED;
        target[index] = value;
        return true;
      }
      target[FIRST + 2 * n] = index;
      target[FIRST + 2 * n + 1] = target[index];
      target[COUNT] = n + 1;
      target[index] = value;
      return true;
    },
  });
}

/**
 * The operation is whole: its entries are dropped, and zeroed, so that the region holds the bytes the
 * native backend's does (which keeps no journal), as test/differential.ts checks.
 */
export function commit(m: Uint32Array): void {
  m.fill(0, FIRST, FIRST + 2 * Math.min(m[COUNT], JOURNAL_CAPACITY));
  m[COUNT] = 0;
}

/**
 * Writes back the old value of every word the unfinished operation stored, newest first; returns how
 * many, or -1 when the operation outgrew the journal and cannot be undone.
 */
export function rollback(m: Uint32Array): number {
  const n = m[COUNT];
  if (n === OVERFLOWED) {
    commit(m);
    return -1;
  }
  for (let i = n - 1; i >= 0; i--) m[m[FIRST + 2 * i]] = m[FIRST + 2 * i + 1];
  commit(m);
  return n;
}
