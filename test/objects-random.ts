// Random operations on objects of every type (create, incref, decref, intern, hash, equals, toJS),
// containers put into containers (cycles through lists and dicts among them), and collections, both
// automatic with low thresholds and random collect() calls: heap.check() along the way, the two
// backends' regions identical at the end, and every block back in the allocator once all references
// are given back and a last collection has freed the cycles.
import t, { type Test } from 'tap';
import { BACKENDS, heapOn, firstDifference } from './helpers/backends';
import { Random } from './helpers/random';
import { SEGMENT_SIZE, Tuple, type Heap } from '../lib/index';

const OPERATIONS = 20_000;
const CHECK_EVERY = 2_000;

/** A scalar or a container (list, tuple, dict) of random size, as fromJS takes them. */
function value(rng: Random): unknown {
  return rng.next() < 0.7 ? scalar(rng) : valueOf(rng, rng.int(9, 11));
}

function scalar(rng: Random): unknown {
  return valueOf(rng, rng.int(0, 8));
}

function valueOf(rng: Random, kind: number): unknown {
  switch (kind) {
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
    case 8:
      return 'x'.repeat(rng.int(100, 3000));
    case 9:
      return Array.from({ length: rng.int(0, 6) }, () => scalar(rng));
    case 10:
      return new Tuple(Array.from({ length: rng.int(0, 22) }, () => scalar(rng)));
    default:
      return Object.fromEntries(Array.from({ length: rng.int(0, 12) }, (_, i) => [`f${i}`, rng.next() < 0.2 ? [scalar(rng)] : scalar(rng)]));
  }
}

/** One of the last 16 references in `owned`. */
function recent(rng: Random, owned: number[]): number {
  return owned[rng.int(Math.max(0, owned.length - 16), owned.length - 1)];
}

/** Runs the sequence of `seed` on a heap; returns the heap, its references given back. */
function run(t: Test, heap: Heap, seed: number): void {
  const rng = new Random(seed);
  const o = heap.objects;
  const start = heap.allocatedBlocks();
  // The references this test owns: one entry per reference.
  const owned: number[] = [];
  const interned = new Set<number>();
  // Low thresholds: automatic collections of every generation run many times in 20,000 operations.
  heap.gc.setThreshold(50, 5, 5);
  for (let i = 1; i <= OPERATIONS; i++) {
    if (rng.next() < 0.002) heap.gc.collect(rng.int(0, 2));
    const op = rng.int(0, 9);
    if (op <= 3 || owned.length === 0) {
      const v = value(rng);
      const p = o.fromJS(v);
      owned.push(p);
      const back = o.toJS(p);
      if (typeof v !== 'object' && !(typeof v === 'bigint' && typeof back === 'number')) t.equal(back, v === undefined ? null : v);
    } else {
      // Containers are changed among the objects made last, half the time: they reference each other.
      const k = op === 8 && rng.next() < 0.5 ? rng.int(Math.max(0, owned.length - 16), owned.length - 1) : rng.int(0, owned.length - 1);
      const p = owned[k];
      if (op === 4) {
        o.incref(p);
        owned.push(p);
      } else if (op <= 6) {
        owned[k] = owned[owned.length - 1];
        owned.pop();
        o.decref(p);
      } else if (op === 8 && o.typeName(p) === 'list') {
        // A new scalar, or one of the objects made last (containers too, the list itself included):
        // recent containers referencing each other make cycles.
        const shared = rng.next() < 0.4;
        const item = shared ? recent(rng, owned) : o.fromJS(scalar(rng));
        o.listAppend(p, item);
        if (!shared) o.decref(item);
        if (rng.next() < 0.3 && o.listLen(p) > 0) o.decref(o.listPop(p, rng.int(-o.listLen(p), o.listLen(p) - 1)));
      } else if (op === 8 && o.typeName(p) === 'dict') {
        const key = o.fromJS(scalar(rng));
        if (rng.next() < 0.3 && o.dictGet(p, key) !== 0) o.dictDel(p, key);
        else o.dictSet(p, key, rng.next() < 0.4 ? recent(rng, owned) : key);
        o.decref(key);
      } else if (op === 7 && o.typeName(p) === 'str') {
        const q = o.intern(p);
        if (!o.isImmortal(q) || !o.isInterned(q)) t.fail('an interned string is immortal');
        interned.add(q);
        owned[k] = q;
      } else if (o.typeName(p) !== 'list' && o.typeName(p) !== 'dict') {
        // Lists and dicts may hold themselves here (comparing them would recurse without end, as
        // CPython's == would raise RecursionError), and are unhashable; the tuples hold scalars only.
        const other = owned[rng.int(0, owned.length - 1)];
        if (o.equals(p, other) && o.hash(p) !== o.hash(other)) t.fail('equal objects hash equal');
      }
    }
    if (i % CHECK_EVERY === 0) heap.check();
  }
  for (const p of owned) o.decref(p);
  const stats = heap.gc.getStats();
  t.ok(stats.every((s) => s.collections > 0), `collections by generation: ${stats.map((s) => s.collections).join(', ')}`);
  const found = heap.gc.collect();
  t.ok(found > 0 && stats.some((s) => s.collected > 0), `cycles were made: ${found} unreachable at the end, ${stats.map((s) => s.collected).join(', ')} before`);
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
