/**
 * The raw allocator's lock for the fallback's shared heaps, in the region's HDR_LOCK word (native/lock.h
 * is the C allocator's, over the same word): 0 when free, else the holder's slot + 1, so that heap.watch()
 * can tell that a thread died holding it. An operation holds it for tens of nanoseconds to a segment's
 * zero-fill, so a waiter spins first (a compare-exchange per turn), then sleeps in Atomics.wait, counted
 * in SH_WAITERS so that release() notifies only when someone sleeps. Uncontended cost: one
 * compare-exchange to take it, one store and one load to give it back.
 */
import { HDR_LOCK } from '../raw/layout';
import { SH_WAITERS } from './layout';

const LOCK = HDR_LOCK >>> 2;
const WAITERS = SH_WAITERS >>> 2;
/** Compare-exchanges before sleeping: about a microsecond, longer than most operations take. */
const SPINS = 100;
/** A sleeper wakes at least this often (ms), in case the holder released between its test and its sleep. */
const NAP_MS = 1;

export class RegionLock {
  constructor(
    private readonly i32: Int32Array,
    /** This thread's slot + 1: what HDR_LOCK holds while it runs an operation. */
    private readonly holder: number,
  ) {}

  acquire(): void {
    if (Atomics.compareExchange(this.i32, LOCK, 0, this.holder) !== 0) this.contended();
  }

  /** Takes the lock if `holder` holds it (a thread that exited holding it, heap.watch() found); whether it did. */
  seizeFrom(holder: number): boolean {
    return Atomics.compareExchange(this.i32, LOCK, holder, this.holder) === holder;
  }

  release(): void {
    Atomics.store(this.i32, LOCK, 0);
    if (Atomics.load(this.i32, WAITERS) !== 0) Atomics.notify(this.i32, LOCK, 1);
  }

  private contended(): void {
    const i32 = this.i32;
    for (let i = 0; i < SPINS; i++) if (Atomics.compareExchange(i32, LOCK, 0, this.holder) === 0) return;
    Atomics.add(i32, WAITERS, 1);
    for (;;) {
      const seen = Atomics.compareExchange(i32, LOCK, 0, this.holder);
      if (seen === 0) break;
      Atomics.wait(i32, LOCK, seen, NAP_MS);
    }
    Atomics.sub(i32, WAITERS, 1);
  }
}
