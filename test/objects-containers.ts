// tuple, list and dict on both backends: sizes, list capacities and dict index tables against CPython 3.12
// (test/fixtures/objects-cpython.json), the freelists and their limits, list and dict operations and
// their errors, reference ownership with a leak check, deep nesting, and conversions with JS values.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { BACKENDS, heapOn, snapshot } from './helpers/backends';
import { refuses } from './helpers/refuses';
import { RecursionError, Tuple, type Heap } from '../lib/index';
import { DICT_KEYS, DK_LOG2_INDEX_BYTES, DK_INDICES } from '../lib/objects/layout';
import { tupleHashValue } from '../lib/objects/tuple';

const FIXTURE = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'objects-cpython.json'), 'utf8')) as {
  containers: {
    tuple: number[];
    listAppend: number[];
    listOf: number[];
    listPop: number[];
    dictStr: number[];
    dictInt: number[];
    dictStrIndices: Record<string, string>;
    dictIntIndices: Record<string, string>;
    dictDeleted: { order: string[]; indices: string; size: number };
    dictBig: { keys: number; size: number; indicesSha256: string };
    tupleHash: Record<string, string>;
  };
  typeStatsLines: string[];
};
const C = FIXTURE.containers;
/** CPython 3.12's depths (scripts/fixtures/recursion.py). */
const R = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'recursion-cpython.json'), 'utf8')) as {
  deepestCompare: Record<string, number>;
  compareMessage: string;
  nestedTupleHash: Record<string, string>;
};

/** A dict's index table, as the fixture holds CPython's: hex of the keys object's dk_indices. */
function indexTable(heap: Heap, d: number): string {
  const keys = heap.u32[(d + DICT_KEYS) >>> 2];
  return Buffer.from(heap.view(keys + DK_INDICES, 2 ** heap.u8[keys + DK_LOG2_INDEX_BYTES])).toString('hex');
}

/**
 * Asserts that `fn` throws an error with `code` after allocating: what it made is released again, so
 * that with the freelists cleared (a container released is parked there, as in CPython) the heap has
 * the blocks it had (though freed blocks do not read as they did), and check() passes.
 */
function releases(t: Test, heap: Heap, fn: () => unknown, code: string, message?: RegExp, { keepParked = false } = {}): void {
  // keepParked: fn is to take a parked container, fail, and park it again; the freelists stay.
  if (!keepParked) heap.objects.clearFreeLists();
  const blocks = heap.allocatedBlocks();
  t.throws(fn, message === undefined ? { code } : { code, message });
  if (!keepParked) heap.objects.clearFreeLists();
  t.equal(heap.allocatedBlocks(), blocks, `${code}: what was made before the error is released`);
  heap.check();
}

for (const backend of BACKENDS) {
  t.test(backend, async (t) => {
    t.test('sizes, capacities and index tables as CPython 3.12', async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      const ints = Array.from({ length: 201 }, (_, i) => o.int(i));
      t.same(C.tuple.map((_, n) => o.sizeof(o.tuple(ints.slice(0, n)))), C.tuple, 'tuples of 0..30 items');
      const l = o.list();
      t.same(C.listAppend.map((_, i) => (o.listAppend(l, ints[i]), o.sizeof(l))), C.listAppend, 'a list grown by 200 appends');
      t.same(C.listOf.map((_, n) => o.sizeof(o.list(ints.slice(0, n)))), C.listOf, 'list(items) of 0..200 items');
      for (const [name, key] of [['dictStr', (i: number) => o.str(`k${i}`)], ['dictInt', (i: number) => o.int(i * 7)]] as const) {
        const d = o.dict();
        const sizes: number[] = [];
        for (let i = 0; i < 200; i++) {
          o.dictSet(d, key(i), ints[i]);
          sizes.push(o.sizeof(d));
          const expected = C[`${name}Indices`][String(i + 1)];
          if (expected !== undefined) t.equal(indexTable(heap, d), expected, `${name}, ${i + 1} keys: every key in CPython's slot`);
        }
        t.same(sizes, C[name], `${name}: sys.getsizeof after each of 200 insertions`);
      }
      const big = o.dict();
      for (let i = 0; i < C.dictBig.keys; i++) {
        const key = o.int(i * 7);
        o.dictSet(big, key, ints[i % 200]);
        o.decref(key);
      }
      const table = createHash('sha256').update(Buffer.from(indexTable(heap, big), 'hex')).digest('hex');
      t.same([o.sizeof(big), table], [C.dictBig.size, C.dictBig.indicesSha256], `${C.dictBig.keys} keys: 4-byte index slots, each key in CPython's slot`);
      const d = o.fromJS(Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, i])));
      o.dictDel(d, o.str('k1'));
      o.dictDel(d, o.str('k3'));
      o.dictSet(d, o.str('k1'), o.int(10));
      t.same(o.dictKeys(d).map((k) => o.toJS(k)), C.dictDeleted.order, 'deleted keys leave, a re-inserted one goes last');
      t.same([indexTable(heap, d), o.sizeof(d)], [C.dictDeleted.indices, C.dictDeleted.size], 'the insertion that found the table full resized it, dropping the dummies');
      t.equal(tupleHashValue(2n ** 64n - 1n), 1546275796n, "an accumulator of -1 (C's error value) hashes as 1546275796");
      for (const [repr, hash] of Object.entries(C.tupleHash)) {
        const value = { '()': [], '(1,)': [1], '(1, 2)': [1, 2], "('a', 1.5, None)": ['a', 1.5, null], '((1, 2), (3,))': [new Tuple([1, 2]), new Tuple([3])], '(True, -1, 1180591620717411303424)': [true, -1, 2n ** 70n] }[repr]!;
        t.equal(o.hash(o.fromJS(new Tuple(value))), BigInt(hash), `hash(${repr})`);
      }
      heap.check();
    });

    t.test('freelists: tuples per length, lists, dicts and their keys; clearFreeLists', async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      const start = heap.allocatedBlocks();
      const a = o.tuple([o.int(1), o.int(2)]);
      const b = o.tuple([o.int(3), o.int(4)]);
      o.decref(a);
      o.decref(b);
      t.equal(o.tuple([o.int(5), o.int(6)]), b, 'a 2-tuple reuses the last 2-tuple freed');
      t.not(o.tuple([o.int(5)]), a, 'not a tuple of another length');
      t.equal(o.tuple([]), o.tuple([]), '() is a singleton');
      const tuples = Array.from({ length: 2005 }, () => o.tuple([o.None]));
      const before = heap.allocatedBlocks();
      for (const p of tuples) o.decref(p);
      t.equal(heap.allocatedBlocks(), before - 5, 'at most 2000 tuples of a length are parked');
      const lists = Array.from({ length: 85 }, () => o.list([o.int(1)]));
      const dicts = Array.from({ length: 85 }, (_, i) => o.fromJS({ k: i }));
      for (const p of [...lists, ...dicts]) o.decref(p);
      const stats = heap.debugMallocStats();
      t.match(stats, /\n {11}80 free PyDictObjects \* 48 bytes each = {16}3,840\n/);
      t.match(stats, /\n {11}80 free PyListObjects \* 40 bytes each = {16}3,200\n/);
      t.match(stats, /\n2000 free 1-sized PyTupleObjects \* 32 bytes each = {15}64,000\n/);
      t.equal(o.list([o.None]), lists[79], 'a list reuses the last list parked (the 80th freed)');
      t.equal(o.dict(), dicts[79], 'a dict the last dict parked');
      heap.check();
      o.clearFreeLists();
      t.match(heap.debugMallocStats(), /\n {12}0 free PyDictObjects \* 48 bytes each = {20}0\n/);
      t.ok(heap.allocatedBlocks() < start + 10, 'parked containers and keys are back in pymalloc');
      heap.check();
    });

    t.test("debugMallocStats' free-list lines in CPython's format and order", async (t) => {
      const heap = heapOn(backend);
      const text = heap.debugMallocStats();
      const lines = text.slice(text.lastIndexOf('\n\n') + 2).split(/(?<=\n)/);
      t.equal(lines.length, FIXTURE.typeStatsLines.length, 'dict, float, list, then tuples of each length 1..20');
      // CPython's counts are its own process's; the text around them must be the same.
      const shape = (line: string) => line.replace(/\d[\d,]*/g, 'N').replace(/ +/g, ' ');
      t.same(lines.map(shape), FIXTURE.typeStatsLines.map(shape));
    });

    t.test('list operations and their errors', async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      const [x, y, z] = [o.str('x'), o.str('y'), o.str('z')];
      const l = o.list([x, y]);
      t.same([o.listLen(l), o.listCapacity(l)], [2, 2]);
      o.listInsert(l, 0, z);
      o.listInsert(l, -1, x);
      o.listInsert(l, 100, y);
      t.same(o.toJS(l), ['z', 'x', 'x', 'y', 'y'], 'insert: at 0, before the last, clamped to the end');
      t.equal(o.listGet(l, -1), y);
      o.listSet(l, 1, z);
      t.equal(o.toJS(o.listPop(l, 0)), 'z');
      t.equal(o.toJS(o.listPop(l)), 'y');
      t.same(o.toJS(l), ['z', 'x', 'y']);
      const big = o.list();
      for (let i = 0; i < 100; i++) o.listAppend(big, o.int(i));
      const caps: number[] = [];
      while (o.listLen(big) > 0) {
        o.listPop(big);
        caps.push(o.listCapacity(big));
      }
      t.same(caps, C.listPop, 'the array shrinks as CPython shrinks it when less than half is used, and goes with the last item');
      const item = o.str('item');
      const cleared = o.list([item, y, item]);
      o.listAppend(cleared, cleared);
      o.listClear(cleared);
      t.same([o.listLen(cleared), o.listCapacity(cleared), o.refcount(item), o.refcount(cleared)], [0, 0, 1, 1], 'listClear: items dropped (itself too), the array freed');
      o.listClear(cleared);
      t.equal(o.listLen(cleared), 0, 'clearing an empty list does nothing');
      refuses(t, heap, () => o.listClear(x), 'ERR_PYMEM_WRONG_TYPE', /listClear\(\) argument must be list, not str$/);
      refuses(t, heap, () => o.listPop(big), 'ERR_PYMEM_INDEX_ERROR', /^pop from empty list$/);
      refuses(t, heap, () => o.listPop(l, 3), 'ERR_PYMEM_INDEX_ERROR', /^pop index out of range$/);
      refuses(t, heap, () => o.listGet(l, -4), 'ERR_PYMEM_INDEX_ERROR', /^list index out of range$/);
      refuses(t, heap, () => o.listSet(l, 3, x), 'ERR_PYMEM_INDEX_ERROR', /^list assignment index out of range$/);
      const one = o.tuple([x]);
      refuses(t, heap, () => o.tupleGet(one, 1), 'ERR_PYMEM_INDEX_ERROR', /^tuple index out of range$/);
      refuses(t, heap, () => o.listGet(l, 1.5), 'ERR_OUT_OF_RANGE');
      refuses(t, heap, () => o.listInsert(l, '0' as unknown as number, x), 'ERR_INVALID_ARG_TYPE');
      refuses(t, heap, () => o.listAppend(x, y), 'ERR_PYMEM_WRONG_TYPE', /^heap\.objects\.listAppend\(0x[0-9a-f]+\): listAppend\(\) argument must be list, not str$/);
      refuses(t, heap, () => o.listAppend(l, 12345), 'ERR_PYMEM_NOT_AN_OBJECT');
      refuses(t, heap, () => o.list([x, 0]), 'ERR_PYMEM_NOT_AN_OBJECT');
      refuses(t, heap, () => o.list(5 as unknown as number[]), 'ERR_INVALID_ARG_TYPE');
      t.equal(o.tupleLen(o.tuple([x, y])), 2);
      t.equal(o.tupleGet(o.tuple([x, y]), -1), y);
      const full = o.list([x, y]);
      heap.setNoMemory(0);
      refuses(t, heap, () => o.listAppend(full, z), 'ERR_PYMEM_NO_MEMORY', /for a list's items/);
      refuses(t, heap, () => o.list([x, y, z]), 'ERR_PYMEM_NO_MEMORY');
      heap.removeMemHooks();
      o.decref(o.list()); // a list parked: the next list needs no memory, its items array does
      heap.setNoMemory(0);
      releases(t, heap, () => o.list([x, y, z]), 'ERR_PYMEM_NO_MEMORY', /for a list's items/, { keepParked: true });
      heap.removeMemHooks();
    });

    t.test('dict operations: any hashable key, one key for 1, 1.0 and True, errors', async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      const d = o.dict();
      o.dictSet(d, o.int(1), o.str('int'));
      o.dictSet(d, o.float(1), o.str('float'));
      o.dictSet(d, o.True, o.str('bool'));
      t.same([o.dictLen(d), o.toJS(o.dictKeys(d)[0]), o.toJS(o.dictGet(d, o.float(1)))], [1, 1, 'bool'], 'the first key stays, the value is the last');
      const named = o.fromJS({ a: 1 });
      const one = o.dictGet(named, o.str('a'));
      o.dictSet(named, o.str('a'), one);
      t.equal(o.refcount(one), 4294967295, 'setting the value a key already has changes nothing');
      const v = o.str('a value');
      o.dictSet(named, o.str('a'), v);
      t.same([o.refcount(v), o.toJS(named)], [2, { a: 'a value' }], 'a str-key table replaces a value in place');
      t.equal(o.sizeof(o.dict()), 64, 'an empty dict shares Py_EMPTY_KEYS: sys.getsizeof({}) == 64');
      const keys = [o.None, o.str('s'), o.bytes(Buffer.from('b')), o.float(2.5), o.fromJS(new Tuple([1, 'a'])), o.int(2n ** 80n)];
      keys.forEach((k, i) => o.dictSet(d, k, o.int(i)));
      t.same(o.dictItems(d).map(([k, v]) => [o.typeName(k), o.toJS(v)]), [['int', 'bool'], ['NoneType', 0], ['str', 1], ['bytes', 2], ['float', 3], ['tuple', 4], ['int', 5]], 'insertion order');
      t.equal(o.toJS(o.dictGet(d, o.fromJS(new Tuple([1, 'a'])))), 4, 'an equal tuple finds the entry');
      t.equal(o.dictGet(d, o.str('absent')), 0, 'absent: NULL');
      for (const bad of [o.list(), o.dict(), o.fromJS(new Tuple([[1]]))]) {
        refuses(t, heap, () => o.dictSet(d, bad, o.None), 'ERR_PYMEM_WRONG_TYPE', /^unhashable type: '(list|dict)'$/);
        refuses(t, heap, () => o.dictGet(d, bad), 'ERR_PYMEM_WRONG_TYPE');
        refuses(t, heap, () => o.dict([[bad, o.None]]), 'ERR_PYMEM_WRONG_TYPE');
      }
      const absent = o.str('absent');
      o.hash(absent); // its hash is cached on first use: a write, made here, before the snapshot
      refuses(t, heap, () => o.dictDel(d, absent), 'ERR_PYMEM_KEY_ERROR', /^KeyError: 'absent'$/);
      refuses(t, heap, () => o.dictDel(d, o.int(99)), 'ERR_PYMEM_KEY_ERROR', /^KeyError: 99$/);
      refuses(t, heap, () => o.dict([[o.None]] as unknown as [number, number][]), 'ERR_INVALID_ARG_TYPE');
      const notDict = o.list();
      refuses(t, heap, () => o.dictLen(notDict), 'ERR_PYMEM_WRONG_TYPE');
      o.dictDel(d, o.True);
      t.equal(o.dictLen(d), 6);
      const cleared = o.fromJS({ a: [1], b: 'two' });
      o.dictSet(cleared, o.str('self'), cleared);
      o.dictClear(cleared);
      t.same([o.dictLen(cleared), o.sizeof(cleared), o.refcount(cleared)], [0, 64, 1], 'dictClear: entries dropped (itself too), Py_EMPTY_KEYS shared again');
      o.dictClear(cleared);
      t.equal(o.dictLen(cleared), 0, 'clearing an empty dict does nothing');
      refuses(t, heap, () => o.dictClear(notDict), 'ERR_PYMEM_WRONG_TYPE');
      t.ok(o.equals(o.fromJS({ a: 1, b: [1, 2] }), o.fromJS(new Map<unknown, unknown>([['b', [1, 2]], ['a', 1]]))), 'dicts equal whatever their order');
      t.notOk(o.equals(o.fromJS({ a: 1 }), o.fromJS({ a: 2 })));
      t.notOk(o.equals(o.fromJS({ a: 1 }), o.fromJS({ b: 1 })));
      t.notOk(o.equals(o.fromJS({ a: 1 }), o.fromJS({ a: 1, b: 2 })));
      t.ok(o.equals(o.fromJS([1, [2]]), o.fromJS([1, [2]])) && !o.equals(o.fromJS([1]), o.fromJS([2])) && !o.equals(o.fromJS([1]), o.fromJS([1, 2])));
      t.ok(o.equals(o.fromJS(new Tuple([1])), o.fromJS(new Tuple([1.0]))) && !o.equals(o.fromJS(new Tuple([1])), o.fromJS(new Tuple([1, 2]))));
      t.notOk(o.equals(o.fromJS(new Tuple([1])), o.fromJS(new Tuple([2]))));
      t.notOk(o.equals(o.fromJS([1]), o.fromJS(new Tuple([1]))), 'a list never equals a tuple');
      const fullDict = o.fromJS({ a: 1, b: 2, c: 3, d: 4, e: 5 });
      o.hash(o.str('f'));
      heap.setNoMemory(0);
      refuses(t, heap, () => o.dictSet(fullDict, o.str('f'), o.None), 'ERR_PYMEM_NO_MEMORY', /for a dict's keys/);
      heap.removeMemHooks();
      // A dict parked and no keys parked: the dict needs no memory, its first key's table does.
      o.clearFreeLists();
      o.decref(o.dict());
      heap.setNoMemory(0);
      releases(t, heap, () => o.dict([[o.str('a'), o.None]]), 'ERR_PYMEM_NO_MEMORY', /for a dict's keys/, { keepParked: true });
      heap.removeMemHooks();
      o.decref(o.dict());
      heap.setNoMemory(0);
      releases(t, heap, () => o.fromJS({ a: null }), 'ERR_PYMEM_NO_MEMORY', /for a dict's keys/, { keepParked: true });
      heap.removeMemHooks();
    });

    t.test('references: containers own their items; a large nested structure leaves nothing behind', async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      const start = heap.allocatedBlocks();
      const s = o.str('shared item');
      const l = o.list([s, s]);
      const d = o.dict([[o.str('k'), s]]);
      t.equal(o.refcount(s), 4, "the caller's, two in the list, one in the dict");
      o.listSet(l, 0, o.None);
      o.dictDel(d, o.str('k'));
      t.equal(o.refcount(s), 2);
      o.decref(l);
      t.equal(o.refcount(s), 1, 'a list freed drops its items');
      o.decref(d);
      o.decref(s);
      const records = Array.from({ length: 3000 }, (_, i) => ({ id: i, name: `user ${i}`, tags: ['a', `t${i % 7}`, 'c'], score: i / 3, pos: new Tuple([i, -i]) }));
      const p = o.fromJS({ records, index: new Map(records.map((r) => [r.id, r.name])) });
      t.ok(heap.allocatedBlocks() > start + 15_000);
      const key = o.str('records');
      t.same(o.toJS(o.listGet(o.dictGet(p, key), 2999)), { ...records[2999], pos: new Tuple([2999, -2999]) });
      o.decref(key);
      o.decref(p);
      o.clearFreeLists();
      t.equal(heap.allocatedBlocks(), start, 'allocatedBlocks() back to its start');
      heap.check();
    });

    t.test('a million-deep nesting is freed without overflowing the stack', async (t) => {
      const heap = heapOn(backend, { maxBytes: 256 << 20 });
      const o = heap.objects;
      const start = heap.allocatedBlocks();
      let p = o.list();
      for (let i = 0; i < 1_000_000; i++) {
        const q = i % 3 === 0 ? o.dict() : o.list();
        if (i % 3 === 0) {
          const key = o.int(i);
          o.dictSet(q, key, p);
          o.decref(key);
        } else {
          o.listAppend(q, p);
        }
        o.decref(p);
        p = q;
      }
      const top = o.tuple([p]);
      o.decref(p);
      o.decref(top);
      o.clearFreeLists();
      t.equal(heap.allocatedBlocks(), start);
      heap.check();
    });

    t.test('fromJS and toJS: arrays, objects, Maps, Tuple; shared parts; cycles', async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      const value = { a: [1, 2.5, 'three', null, true], b: new Map<unknown, unknown>([[1, 'one'], [new Tuple([1, 2]), 'pair']]), c: new Tuple(['x', [Buffer.from('y')]]), d: {} };
      const p = o.fromJS(value);
      const back = o.toJS(p) as Record<string, unknown>;
      t.same(back.a, value.a);
      t.ok(back.b instanceof Map && (back.b as Map<unknown, unknown>).size === 2, 'a dict with non-str keys comes back as a Map');
      t.same([...(back.b as Map<unknown, unknown>).values()], ['one', 'pair']);
      t.ok(back.c instanceof Tuple && (back.c as Tuple).items[0] === 'x');
      t.same(back.d, {});
      t.ok(o.toJS(p, { maps: true }) instanceof Map, '{ maps: true }: every dict a Map');
      const shared = [1, 2];
      const twice = o.fromJS([shared, shared]);
      t.equal(o.listGet(twice, 0), o.listGet(twice, 1), 'an array met twice is one list, referenced twice');
      const js = o.toJS(twice) as unknown[];
      t.equal(js[0], js[1], 'and comes back as one array');
      const cyclic: unknown[] = [1];
      cyclic.push({ back: cyclic });
      releases(t, heap, () => o.fromJS(cyclic), 'ERR_INVALID_ARG_VALUE', /contains a cycle/);
      releases(t, heap, () => o.fromJS([1, 'two', [3, new Date(0)]]), 'ERR_INVALID_ARG_TYPE');
      releases(t, heap, () => o.fromJS({ k: 'v', w: Symbol('not convertible') }), 'ERR_INVALID_ARG_TYPE');
      releases(t, heap, () => o.fromJS(new Map([[[1], 'list key']])), 'ERR_PYMEM_WRONG_TYPE', /^unhashable type: 'list'$/);
      const self = o.list();
      o.listAppend(self, self);
      const loop = o.toJS(self) as unknown[];
      t.equal(loop[0], loop, 'a list holding itself comes back as an array holding itself');
      const ring = o.list();
      const pair = o.tuple([ring, o.None]);
      o.listAppend(ring, pair);
      const back2 = o.toJS(ring) as Tuple[];
      t.ok(back2[0] instanceof Tuple && back2[0].items[0] === back2, 'a cycle through a tuple closes at the list');
      heap.check();
    });

    t.test('fromJS shares the key strings of one conversion, as the json decoder memoizes keys', async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      const records = o.fromJS(Array.from({ length: 100 }, (_, i) => ({ id: i, name: `user${i}`, score: i / 2 })));
      const keysOf = (d: number) => o.dictKeys(d);
      const first = keysOf(o.listGet(records, 0));
      for (let i = 1; i < 100; i++) t.same(keysOf(o.listGet(records, i)), first, `record ${i}: the same three str objects`);
      for (const key of first) t.equal(o.refcount(key), 100, 'one reference per record, none kept by the conversion');
      const other = o.fromJS({ id: 1 });
      t.not(o.dictKeys(other)[0], first[0], 'another conversion makes its own');
      t.equal(o.refcount(first[0]), 100);
      const map = o.fromJS([new Map([['key', 1]]), { key: 'key' }]);
      const [inMap, inObject] = [o.listGet(map, 0), o.listGet(map, 1)];
      t.equal(o.dictKeys(inMap)[0], o.dictKeys(inObject)[0], "a Map's string keys and an object's share too");
      t.not(o.dictGet(inObject, o.dictKeys(inObject)[0]), o.dictKeys(inObject)[0], 'values are not memoized, as in the decoder');
      heap.check();
      for (const p of [records, other, map]) o.decref(p);
      releases(t, heap, () => o.fromJS([{ a: 1 }, { a: 2, b: Symbol('bad') }]), 'ERR_INVALID_ARG_TYPE');
    });

    t.test('any depth: fromJS, toJS, hash and dict keys without the JS stack', async (t) => {
      const heap = heapOn(backend, { maxBytes: 256 << 20 });
      const o = heap.objects;
      const DEEP = 100_000;
      let js: unknown = 7;
      for (let i = 0; i < DEEP; i++) js = i % 3 === 0 ? [js] : i % 3 === 1 ? { k: js } : new Tuple([js]);
      const p = o.fromJS(js);
      let back: unknown = o.toJS(p);
      for (let i = DEEP - 1; i >= 0; i--) back = i % 3 === 0 ? (back as unknown[])[0] : i % 3 === 1 ? (back as { k: unknown }).k : (back as Tuple).items[0];
      t.equal(back, 7, `${DEEP} levels there and back`);
      t.ok(o.toJS(p, { maps: true }) instanceof Array, 'with maps too');
      o.decref(p);
      // Tuples nested 100,000 deep hash as CPython hashes them (test/fixtures/recursion-cpython.json).
      let tuple = o.tuple([]);
      const hashes: Record<string, string> = {};
      for (let depth = 1; depth <= DEEP; depth++) {
        const outer = o.tuple([tuple]);
        o.decref(tuple);
        tuple = outer;
        if (String(depth) in R.nestedTupleHash) hashes[depth] = String(o.hash(tuple));
      }
      t.same(hashes, R.nestedTupleHash);
      const d = o.dict();
      o.dictSet(d, tuple, o.None);
      t.equal(o.dictGet(d, tuple), o.None, 'a 100,000-deep key, looked up by itself');
      o.decref(d);
      o.decref(tuple);
      const unhashable = o.fromJS(new Tuple([new Tuple([[1]])]));
      t.throws(() => o.hash(unhashable), { code: 'ERR_PYMEM_WRONG_TYPE', message: "unhashable type: 'list'" });
      const one = o.fromJS(new Tuple([new Tuple([])]));
      t.equal(String(o.hash(one)), R.nestedTupleHash['1'], 'and the next hash starts afresh');
      o.decref(one);
      o.decref(unhashable);
      heap.check();
      heap.close();
    });

    t.test("== as deep as CPython 3.12 compares, and one level more: RecursionError, nothing changed", async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      const nested = (kind: string, depth: number) => {
        let x: unknown = kind === 'list-around-int' ? 2 ** 40 : null;
        for (let i = 0; i < depth; i++) x = kind === 'tuple' ? new Tuple([x]) : kind === 'dict' ? { k: x } : [x];
        return o.fromJS(x);
      };
      for (const [kind, deepest] of Object.entries(R.deepestCompare)) {
        const [a, b] = [nested(kind, deepest), nested(kind, deepest)];
        t.equal(o.equals(a, b), true, `${kind}: ${deepest} deep compares`);
        const [c, e] = [nested(kind, deepest + 1), nested(kind, deepest + 1)];
        const before = snapshot(heap);
        const error = t.throws(() => o.equals(c, e), { name: 'RecursionError', code: 'ERR_PYMEM_RECURSION', message: R.compareMessage }, `${kind}: ${deepest + 1} deep is RecursionError`);
        t.ok(error instanceof RecursionError);
        t.ok(snapshot(heap).equals(before), 'nothing changed');
        t.equal(o.equals(a, b), true, 'and the next comparison starts from the top');
        for (const q of [a, b, c, e]) o.decref(q);
      }
      heap.check();
      heap.close();
    });

    t.test('tracemalloc: a container is traced at its GC head, and re-dated when reused', async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      heap.tracemalloc.start(1);
      o.clearFreeLists();
      const l = o.list();
      const made = new Error().stack!.split('\n')[1];
      t.ok(heap.tracemalloc.getObjectTraceback(l) !== null, 'found through the pre-header');
      t.match(made, /objects-containers\.ts/);
      t.equal(heap.tracemalloc.getObjectTraceback(l)!.at(0).filename, __filename);
      o.decref(l);
      t.equal(o.list(), l, 'reused from the freelist');
      // fromJS recursing 12 levels down puts some 40 of pymem's frames between the caller and the allocation.
      let nested: unknown[] = [];
      for (let i = 0; i < 12; i++) nested = [nested];
      const deep = o.fromJS(nested);
      let inner = deep;
      while (o.listLen(inner) > 0) inner = o.listGet(inner, 0);
      t.equal(heap.tracemalloc.getObjectTraceback(inner)!.at(0).filename, __filename, "the innermost list's traceback still names the caller");
      heap.tracemalloc.stop();
    });

    t.test('under the debug allocator, with check() after each step', async (t) => {
      const heap = heapOn(backend, { allocator: 'debug' });
      const o = heap.objects;
      const p = o.fromJS({ a: [1, 2, { b: new Tuple(['c']) }] });
      heap.check();
      o.decref(p);
      o.clearFreeLists();
      heap.check();
      refuses(t, heap, () => o.decref(p), 'ERR_PYMEM_OBJECT_FREED', /dead bytes \(0xDD\)/);
      const q = o.list([o.None]);
      o.decref(q);
      refuses(t, heap, () => o.listLen(q), 'ERR_PYMEM_OBJECT_FREED', /its reference count is 0: it was deallocated/);
      refuses(t, heap, () => o.decref(q), 'ERR_PYMEM_NEGATIVE_REFCOUNT');
    });
  });
}
