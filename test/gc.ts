// heap.gc, the cyclic garbage collector, on both backends: cycles through lists, dicts and tuples found
// and freed while what is reachable survives; the counts, thresholds and the long-lived rule against a
// model of CPython's collect_generations; freeze; callbacks; DEBUG_STATS; a full collection clearing
// the freelists and giving memory back; the arguments it refuses. test/gc-cpython.ts compares the same
// behaviour with CPython 3.12's own answers.
import t, { type Test } from 'tap';
import { BACKENDS, heapOn } from './helpers/backends';
import { EMPTY_FREE_LISTS } from './helpers/free-lists';
import { captureStderr } from './helpers/stderr';
import { cycles, ring } from './helpers/cycles';
import type { Heap, GCInfo } from '../lib/index';

/** A heap with its objects layer set up and nothing tracked: the baseline of allocatedBlocks(). */
function fresh(backend: (typeof BACKENDS)[number], maxBytes = 16 << 20): { heap: Heap; start: number } {
  const heap = heapOn(backend, { maxBytes });
  heap.objects;
  return { heap, start: heap.allocatedBlocks() };
}

/** The generations collected while fn runs, from the callbacks' 'start' phase. */
function collectionsDuring(heap: Heap, fn: () => void): number[] {
  const seen: number[] = [];
  const cb = (phase: string, info: GCInfo): void => {
    if (phase === 'start') seen.push(info.generation);
  };
  heap.gc.callbacks.push(cb);
  try {
    fn();
  } finally {
    heap.gc.callbacks.splice(heap.gc.callbacks.indexOf(cb), 1);
  }
  return seen;
}

/**
 * CPython's collect_generations over containers that all survive: each allocation counts, and when
 * count 0 passes threshold 0 the oldest generation over its threshold is collected (the oldest only
 * when pending >= total / 4). Returns the generations collected, in order.
 */
function modelCollections(allocations: number, thresholds: [number, number, number]): number[] {
  const count = [0, 0, 0];
  const size = [0, 0, 0];
  let pending = 0;
  let total = 0;
  const seen: number[] = [];
  const collect = (g: number): void => {
    seen.push(g);
    if (g + 1 < 3) count[g + 1]++;
    let merged = 0;
    for (let i = 0; i <= g; i++) {
      count[i] = 0;
      merged += size[i];
      size[i] = 0;
    }
    if (g < 2) {
      size[g + 1] += merged;
      if (g === 1) pending += merged;
    } else {
      size[2] = merged;
      pending = 0;
      total = merged;
    }
  };
  for (let i = 0; i < allocations; i++) {
    count[0]++;
    if (count[0] > thresholds[0]) {
      for (let g = 2; g >= 0; g--) {
        if (count[g] <= thresholds[g]) continue;
        if (g === 2 && pending < Math.floor(total / 4)) continue;
        collect(g);
        break;
      }
    }
    size[0]++;
  }
  return seen;
}

function checkFreed(t: Test, heap: Heap, start: number, what: string): void {
  heap.check();
  t.equal(heap.allocatedBlocks(), start, `${what}: every block back`);
}

for (const backend of BACKENDS) {
  t.test(backend, async (t) => {
    t.test('cycles through lists, dicts and tuples are freed; what is reachable survives', async (t) => {
      const { heap, start } = fresh(backend, 64 << 20);
      const o = heap.objects;
      const gc = heap.gc;

      // The structures test/gc-cpython.ts compares with CPython, each freed to the last block (the two
      // that hang off a live list are built below, with their own assertions).
      const build = cycles(heap, 0);
      const sizes = [['self list', 1], ['self dict', 1], ['ring of 100 lists', 100], ['tuple in a list', 2], ['dict, tuple, list', 3]] as const;
      for (const [name, size] of sizes) {
        build[name]();
        t.equal(gc.collect(), size, name);
        checkFreed(t, heap, start, name);
      }

      // A tuple tracked before its dict (an empty dict is not tracked until it holds a container):
      // the tuple is set aside first, survives its turn (it has no tp_clear) and waits in the older
      // generation until clearing the dict frees both.
      const early = o.dict();
      const tupleFirst = o.tuple([early]);
      const ek = o.str('t');
      o.dictSet(early, ek, tupleFirst);
      for (const p of [ek, tupleFirst, early]) o.decref(p);
      t.same(gc.getObjects(0), [tupleFirst, early]);
      t.equal(gc.collect(), 2, 'a tuple holding a dict holding the tuple, the tuple first');
      checkFreed(t, heap, start, 'tuple first');

      // A cycle that references a live object: the cycle goes, the object stays, its count intact.
      const live = o.list();
      const payload = o.str('payload');
      o.listAppend(live, payload);
      const r = ring(heap, 3);
      o.listAppend(r, live);
      o.decref(r);
      t.equal(o.refcount(live), 2);
      t.equal(gc.collect(), 3, 'a ring of three hanging off a live list');
      t.equal(o.refcount(live), 1, 'the live list lost only the ring’s reference');
      t.same(o.toJS(live), ['payload']);
      o.decref(payload);

      // A live object referencing a cycle keeps it; once dropped, the cycle goes with it.
      const r2 = ring(heap, 2);
      o.listAppend(live, r2);
      o.decref(r2);
      t.equal(gc.collect(), 0, 'a ring held by a live list stays');
      t.equal(o.listLen(live), 2);
      o.decref(live);
      t.equal(gc.collect(), 2, 'once the list is dropped (it is freed by its count), the ring goes');
      checkFreed(t, heap, start, 'cycles off live objects');

      // A long ring: clearing one list frees the rest through a chain of deallocations (trashcan).
      o.decref(ring(heap, 200_000));
      t.equal(gc.collect(), 200_000, 'a ring of 200,000 lists');
      checkFreed(t, heap, start, 'long ring');

      // Survivors move to the older generation; a later young collection does not see them.
      const kept = o.list();
      t.equal(gc.collect(0), 0);
      t.same(gc.getObjects(1), [kept], 'a survivor of generation 0 is in generation 1');
      t.equal(gc.collect(1), 0);
      t.same(gc.getObjects(2), [kept], 'and then in generation 2');
      o.listAppend(kept, kept);
      o.decref(kept);
      t.equal(gc.collect(1), 0, 'a cycle in generation 2 is not found by collecting generation 1');
      t.equal(gc.collect(2), 1, 'a full collection finds it');
      checkFreed(t, heap, start, 'generations');
      t.same(gc.getStats().map((s) => s.collected), [0, 0, 200_000 + 100 + 1 + 1 + 2 + 2 + 3 + 3 + 2 + 1]);
    });

    t.test('counts rise with new containers only, and fall with those that reach the allocator', async (t) => {
      const { heap } = fresh(backend);
      const o = heap.objects;
      const gc = heap.gc;
      gc.disable();
      t.same(gc.getCount(), [0, 0, 0]);
      const lists = Array.from({ length: 100 }, () => o.list());
      t.same(gc.getCount(), [100, 0, 0], '100 new lists');
      for (const l of lists) o.decref(l);
      t.same(gc.getCount(), [80, 0, 0], '80 parked on the freelist do not count; 20 freed do');
      const again = Array.from({ length: 50 }, () => o.list());
      t.same(gc.getCount(), [80, 0, 0], 'lists taken from the freelist do not count');
      for (const l of again) o.decref(l);
      o.decref(o.tuple([o.int(1)]));
      t.same(gc.getCount(), [81, 0, 0], 'a new tuple counts; parking it does not');
      o.decref(o.tuple([o.int(2)]));
      t.same(gc.getCount(), [81, 0, 0], 'reusing it does not');
      for (const p of [o.int(10 ** 12), o.float(1.5), o.str('not a container'), o.bytes(Buffer.from('x'))]) o.decref(p);
      t.same(gc.getCount(), [81, 0, 0], 'ints, floats, strs and bytes never count');
      o.clearFreeLists();
      t.same(gc.getCount(), [0, 0, 0], 'clearing the freelists frees their containers: the count falls, never below 0');
    });

    t.test('thresholds trigger collections inside the allocation, as collect_generations chooses', async (t) => {
      const { heap } = fresh(backend);
      const o = heap.objects;
      const gc = heap.gc;
      t.same(gc.getThreshold(), [700, 10, 10]);
      t.ok(gc.isEnabled());
      const keep: number[] = [];
      t.same(
        collectionsDuring(heap, () => {
          for (let i = 0; i < 700; i++) keep.push(o.list());
        }),
        [],
        'threshold 0 is 700: 700 containers run nothing',
      );
      t.same(collectionsDuring(heap, () => keep.push(o.list())), [0], 'the 701st runs a collection of generation 0');
      t.same(gc.getCount(), [0, 1, 0], 'inside its allocation: the new list is counted before and not after');
      t.equal(gc.getObjects(0).length, 1, 'the new list is tracked after the collection, in generation 0');
      t.equal(gc.getObjects(1).length, 700);

      // Small thresholds on a new heap, every container kept: the sequence of generations collected
      // is collect_generations', the long-lived rule included (the model above).
      const { heap: small } = fresh(backend);
      small.gc.setThreshold(3, 2, 2);
      t.same(small.gc.getThreshold(), [3, 2, 2]);
      const kept: number[] = [];
      const seen = collectionsDuring(small, () => {
        for (let i = 0; i < 400; i++) kept.push(small.objects.list());
      });
      const expected = modelCollections(400, [3, 2, 2]);
      t.same(seen, expected, `${seen.length} collections, in the model's order`);
      const full = expected.filter((g) => g === 2).length;
      t.ok(full > 1 && full < expected.filter((g) => g === 1).length, 'generation 2 waits for its quarter: fewer full collections than of generation 1');
      for (const p of kept) small.objects.decref(p);
      small.check();

      gc.setThreshold(0);
      t.same(gc.getThreshold(), [0, 10, 10], 'threshold 0 alone changes');
      t.same(collectionsDuring(heap, () => keep.push(...Array.from({ length: 1000 }, () => o.list()))), [], 'threshold 0 = 0 disables');
      gc.setThreshold(5);
      gc.disable();
      t.notOk(gc.isEnabled());
      t.same(collectionsDuring(heap, () => keep.push(...Array.from({ length: 100 }, () => o.list()))), [], 'disable() stops them');
      t.equal(gc.collect(0), 0, 'collect() still runs when disabled');
      gc.enable();
      t.same(
        collectionsDuring(heap, () => keep.push(...Array.from({ length: 6 }, () => o.list()))),
        [0],
        'enable(): the sixth allocation after collect() passes threshold 5 and collects',
      );
      for (const p of keep) o.decref(p);
      heap.check();
    });

    t.test('freeze and unfreeze', async (t) => {
      const { heap, start } = fresh(backend);
      const o = heap.objects;
      const gc = heap.gc;
      const r = ring(heap, 10);
      const other = o.list();
      gc.collect(0);
      t.same(gc.getCount(), [0, 1, 0]);
      gc.freeze();
      t.same(gc.getCount(), [0, 0, 0], 'freeze resets every count');
      t.equal(gc.getFreezeCount(), 11);
      t.same(gc.getObjects(), [], 'no generation holds them');
      t.ok(gc.isTracked(r), 'frozen objects stay tracked');
      o.decref(r);
      t.equal(gc.collect(), 0, 'a frozen cycle is not collected');
      gc.unfreeze();
      t.equal(gc.getFreezeCount(), 0);
      t.equal(gc.getObjects(2).length, 11, 'unfreeze moves them into the oldest generation');
      o.decref(other);
      t.equal(gc.collect(), 10);
      checkFreed(t, heap, start, 'after unfreeze');
    });

    t.test('callbacks: phases, info, removal, a throwing callback, no nested collection', async (t) => {
      const { heap } = fresh(backend);
      const o = heap.objects;
      const gc = heap.gc;
      const calls: [string, GCInfo][] = [];
      const nested: number[] = [];
      const cb = (phase: 'start' | 'stop', info: GCInfo): void => {
        calls.push([phase, { ...info }]);
        nested.push(gc.collect());
      };
      gc.callbacks.push(cb);
      o.decref(ring(heap, 4));
      t.equal(gc.collect(1), 4);
      t.same(calls, [
        ['start', { generation: 1, collected: 0, uncollectable: 0 }],
        ['stop', { generation: 1, collected: 4, uncollectable: 0 }],
      ]);
      t.same(nested, [0, 0], 'collect() from a callback returns 0 without collecting');
      const thrower = function failing(): void {
        throw new Error('callback failure');
      };
      gc.callbacks.unshift(thrower);
      const err = captureStderr(() => t.equal(gc.collect(0), 0, 'the collection goes on'));
      t.match(err, /^Exception ignored in: failing\nError: callback failure\n/);
      t.equal(calls.length, 4, 'the callbacks after it still run');
      gc.callbacks.shift();
      // An anonymous callback throwing what is not an Error.
      gc.callbacks.unshift(
        (() => () => {
          throw 'plain';
        })(),
      );
      t.equal(captureStderr(() => gc.collect(0)), 'Exception ignored in: a garbage collection callback\nplain\n'.repeat(2), "at 'start' and at 'stop'");
      gc.callbacks.length = 0;
      gc.collect();
      t.equal(calls.length, 6, 'removed callbacks are not called');
      heap.check();
    });

    t.test('DEBUG_STATS and DEBUG_COLLECTABLE print CPython’s lines to stderr', async (t) => {
      const { heap } = fresh(backend);
      const o = heap.objects;
      const gc = heap.gc;
      const keep = o.list();
      gc.collect(0);
      const l = o.list();
      o.listAppend(l, l);
      o.decref(l);
      t.equal(gc.getDebug(), 0);
      gc.setDebug(gc.DEBUG_STATS | gc.DEBUG_COLLECTABLE);
      t.equal(gc.getDebug(), 3);
      const text = captureStderr(() => gc.collect(1));
      t.match(
        text,
        new RegExp(
          `^gc: collecting generation 1\\.\\.\\.\\ngc: objects in each generation: 1 1 0\\ngc: objects in permanent generation: 0\\n` +
            `gc: collectable <list 0x${l.toString(16)}>\\ngc: done, 1 unreachable, 0 uncollectable, \\d+\\.\\d{4}s elapsed\\n$`,
        ),
      );
      gc.setDebug(0);
      t.equal(captureStderr(() => gc.collect()), '', 'nothing printed without flags');
      o.decref(keep);
    });

    t.test('a full collection clears every freelist and gives memory back to the raw allocator and the OS', async (t) => {
      const { heap, start } = fresh(backend, 256 << 20);
      const o = heap.objects;
      const gc = heap.gc;
      const committed = heap.stats().committedBytes;
      // Freelists: floats, tuples of every length, lists, dicts.
      const made = [
        ...Array.from({ length: 100 }, (_, i) => o.float(i + 0.5)),
        ...Array.from({ length: 20 }, (_, n) => o.tuple(Array.from({ length: n + 1 }, () => o.None))),
        ...Array.from({ length: 80 }, () => o.list()),
        ...Array.from({ length: 80 }, () => o.fromJS({ k: 1 })),
      ];
      for (const p of made) o.decref(p);
      t.notOk(heap.debugMallocStats().endsWith(EMPTY_FREE_LISTS), 'the freelists hold objects');
      // A large cyclic structure: 50,000 rings of 4 lists, each holding a dict with a list of ints.
      gc.disable();
      for (let i = 0; i < 50_000; i++) {
        const r = ring(heap, 4);
        const d = o.fromJS({ id: i, tags: [i, i + 1, i + 2] });
        o.listAppend(r, d);
        o.decref(d);
        o.decref(r);
      }
      const full = heap.stats();
      t.ok(full.committedBytes > committed + (32 << 20), `committed grew to ${full.committedBytes}`);
      t.equal(gc.collect(), 50_000 * 6);
      t.ok(heap.debugMallocStats().endsWith(EMPTY_FREE_LISTS), 'every freelist is empty');
      checkFreed(t, heap, start, 'after the full collection');
      const after = heap.stats();
      t.equal(after.committedBytes, committed, 'committed bytes are back where they started');
      t.equal(after.segments.cached, 0, 'no segment kept against thrashing');
      t.equal(after.pymalloc.arenasCurrent, 0, 'no arena kept: not even the one pymalloc keeps empty');
      if (backend === 'native') {
        t.ok((after.residentBytes as number) < (full.residentBytes as number) - (32 << 20), `the region's resident pages fell from ${full.residentBytes} to ${after.residentBytes}`);
      } else {
        t.equal(after.residentBytes, null);
      }
      gc.enable();
    });

    t.test('getObjects, isTracked, and what the collector refuses', async (t) => {
      const { heap } = fresh(backend);
      const o = heap.objects;
      const gc = heap.gc;
      const l = o.list();
      const d = o.dict();
      const s = o.str('atom');
      t.same(gc.getObjects(), [l]);
      t.same(gc.getObjects(0), [l]);
      t.same(gc.getObjects(1), []);
      t.ok(gc.isTracked(l));
      t.notOk(gc.isTracked(d), 'an empty dict is not tracked');
      t.notOk(gc.isTracked(s), 'atoms never are');
      t.notOk(gc.isTracked(o.None));
      for (const bad of [3, -1]) t.throws(() => gc.collect(bad), { code: 'ERR_OUT_OF_RANGE', message: /\(invalid generation\)/ });
      t.throws(() => gc.getObjects(3), { code: 'ERR_OUT_OF_RANGE', message: /\(generation parameter must be less than the number of available generations \(3\)\)/ });
      t.throws(() => gc.getObjects(-1), { code: 'ERR_OUT_OF_RANGE', message: /\(generation parameter cannot be negative\)/ });
      t.throws(() => gc.collect(1.5), { code: 'ERR_OUT_OF_RANGE', message: /an integer/ });
      t.throws(() => gc.collect('2' as unknown as number), { code: 'ERR_INVALID_ARG_TYPE' });
      t.throws(() => gc.isTracked(8), { code: 'ERR_PYMEM_NOT_AN_OBJECT', message: /^heap\.gc\.isTracked\(0x8\): it is not 16-byte aligned/ });
      o.decref(d);
      t.throws(() => gc.isTracked(d), { code: 'ERR_PYMEM_OBJECT_FREED' });
      t.throws(() => gc.setThreshold(2 ** 31), { code: 'ERR_OUT_OF_RANGE' });
      t.throws(() => gc.setThreshold(1, 'x' as unknown as number), { code: 'ERR_INVALID_ARG_TYPE' });
      t.same(gc.getThreshold(), [700, 10, 10], 'a refused call changes no threshold');
      t.throws(() => gc.setDebug(32), { code: 'ERR_OUT_OF_RANGE', message: /DEBUG_SAVEALL \(32\) is not supported/ });
      t.throws(() => gc.setDebug(1.5), { code: 'ERR_OUT_OF_RANGE' });
      t.equal(gc.getDebug(), 0);
      o.decref(l);
      o.decref(s);
      heap.check();
      heap.close();
      t.throws(() => heap.gc, { code: 'ERR_PYMEM_HEAP_CLOSED' });
      t.throws(() => gc.collect(), { code: 'ERR_PYMEM_HEAP_CLOSED', message: /^heap\.gc\.collect/ });
      t.throws(() => gc.getCount(), { code: 'ERR_PYMEM_HEAP_CLOSED' });
    });
  });
}
