// Random operations on objects of every type (create, incref, decref, intern, hash, equals, toJS),
// against a model of their reference counts: heap.check() along the way, the two backends' regions
// identical at the end, and every block back in the allocator once all references are given back.
import t, { type Test } from 'tap';
import { BACKENDS, heapOn, firstDifference } from './helpers/backends';
import { Random } from './helpers/random';
import { SEGMENT_SIZE, type Heap } from '../lib/index';

const OPERATIONS = 20_000;
const CHECK_EVERY = 2_000;

/** A JS value of a random type and size, as fromJS takes them. */
function value(rng: Random): unknown {
  switch (rng.int(0, 8)) {
    case 0:
      return rng.int(-300, 300);
    case 1:
      return rng.int(-(2 ** 40), 2 ** 40);
    case 2:
      return BigInt(rng.int(0, 2 ** 30)) ** BigInt(rng.int(1, 12)) * (rng.next() < 0.5 ? -1n : 1n);
    case 3:
      return rng.int(-1000, 1000) / 8 + 0.0625;
    case 4:
      return 'k'.repeat(rng.int(0, 3)) + String(rng.int(0, 50));
    case 5:
      return String.fromCodePoint(...Array.from({ length: rng.int(0, 40) }, () => [0x41, 0xe9, 0x20ac, 0x1f600][rng.int(0, 3)] + rng.int(0, 5)));
    case 6:
      return Buffer.alloc(rng.int(0, 700), rng.int(0, 255));
    case 7:
      return [null, true, false][rng.int(0, 2)];
    default:
      return 'x'.repeat(rng.int(100, 3000));
  }
}

/** Runs the sequence of `seed` on a heap; returns the heap, its references given back. */
function run(t: Test, heap: Heap, seed: number): void {
  const rng = new Random(seed);
  const o = heap.objects;
  const start = heap.allocatedBlocks();
  // The references this test owns: one entry per reference.
  const owned: number[] = [];
  const interned = new Set<number>();
  for (let i = 1; i <= OPERATIONS; i++) {
    const op = rng.int(0, 9);
    if (op <= 3 || owned.length === 0) {
      const v = value(rng);
      const p = o.fromJS(v);
      owned.push(p);
      const back = o.toJS(p);
      if (!(v instanceof Uint8Array) && !(typeof v === 'bigint' && typeof back === 'number')) t.equal(back, v === undefined ? null : v);
    } else {
      const k = rng.int(0, owned.length - 1);
      const p = owned[k];
      if (op === 4) {
        o.incref(p);
        owned.push(p);
      } else if (op <= 6) {
        owned[k] = owned[owned.length - 1];
        owned.pop();
        o.decref(p);
      } else if (op === 7 && o.typeName(p) === 'str') {
        const q = o.intern(p);
        if (!o.isImmortal(q) || !o.isInterned(q)) t.fail('an interned string is immortal');
        interned.add(q);
        owned[k] = q;
      } else {
        const other = owned[rng.int(0, owned.length - 1)];
        const equal = o.equals(p, other);
        if (equal && o.hash(p) !== o.hash(other)) t.fail('equal objects hash equal');
      }
    }
    if (i % CHECK_EVERY === 0) heap.check();
  }
  for (const p of owned) o.decref(p);
  o.clearFreeLists();
  heap.check();
  // Interned strings are immortal, as in 3.12: those not static (outside segment 0) stay allocated, and so does the table.
  const kept = [...interned].filter((p) => p >= SEGMENT_SIZE).length;
  t.equal(heap.allocatedBlocks(), start + kept + (interned.size > 0 ? 1 : 0), 'every other block back in the allocator');
}

for (const seed of [1, 2]) {
  t.test(`seed ${seed}: both backends, the same bytes`, async (t) => {
    const heaps = BACKENDS.map((backend) => heapOn(backend));
    for (const heap of heaps) run(t, heap, seed);
    t.equal(firstDifference(heaps[0].u8, heaps[1].u8), -1, 'native and fallback regions identical');
  });
}

t.test('under the debug allocator', async (t) => {
  run(t, heapOn('fallback', { allocator: 'debug' }), 3);
});
