/** A seeded PRNG (lib/trace/workloads.ts's mulberry32), so that a failing random sequence can be replayed from its seed. */
import { random } from '../../lib/trace/workloads';

export class Random {
  /** A float in [0, 1). */
  readonly next: () => number;

  constructor(readonly seed: number) {
    this.next = random(seed);
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
}
