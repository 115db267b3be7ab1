// heap.objects on both backends: the singletons and caches, the float freelist and its limit, interning,
// reference counts down to deallocation with the memory back in pymalloc, equality and hashing across
// types, fromJS/toJS round trips, and every error path leaving the heap unchanged and consistent.
import t from 'tap';
import { BACKENDS, heapOn } from './helpers/backends';
import { refuses } from './helpers/refuses';
import { MemoryError } from '../lib/index';
import { OBJ_MAGIC, OBJ_MAGIC_VALUE } from '../lib/objects/layout';

/** This file's line where here() is called (from the source-mapped stack, as tracemalloc sees lines). */
function here(): number {
  return Number(/objects\.ts:(\d+):\d+\)?$/m.exec(new Error().stack!.split('\n')[2])![1]);
}

for (const backend of BACKENDS) {
  t.test(backend, async (t) => {
    t.test('the objects layer is written on first use only', async (t) => {
      const heap = heapOn(backend);
      t.equal(heap.u32[OBJ_MAGIC >>> 2], 0, 'a heap that never used objects has no statics');
      heap.check();
      const o = heap.objects;
      t.equal(heap.objects, o, 'one objects layer per heap');
      t.equal(heap.u32[OBJ_MAGIC >>> 2], OBJ_MAGIC_VALUE);
      t.equal(heap.allocatedBlocks(), 0, 'the statics live outside pymalloc, as CPython 3.12 keeps them in _PyRuntime');
      heap.check();
    });

    t.test('singletons and caches: small ints, one-character strings and bytes, None, True, False', async (t) => {
      const o = heapOn(backend).objects;
      t.equal(o.int(7), o.int(7), 'int(7) is int(7)');
      t.equal(o.int(-5), o.int(-5n), 'the cache starts at -5');
      t.equal(o.int(256), o.fromJS(256), 'and ends at 256');
      t.not(o.int(257), o.int(257), 'int(257) is not int(257)');
      t.not(o.int(-6), o.int(-6));
      t.equal(o.str('\xff'), o.str('\xff'), "chr(255) is chr(255)");
      t.not(o.str('\u0100'), o.str('\u0100'), 'chr(256) is not chr(256)');
      t.equal(o.str(''), o.fromJS(''), "'' is a singleton");
      t.equal(o.bytes(new Uint8Array([65])), o.bytes(Buffer.from('A')), 'bytes([65]) is bytes([65])');
      t.equal(o.bytes(new Uint8Array(0)), o.fromJS(Buffer.alloc(0)));
      t.not(o.bytes(Buffer.from('AB')), o.bytes(Buffer.from('AB')));
      t.same([o.fromJS(null), o.fromJS(undefined), o.fromJS(true), o.fromJS(false)], [o.None, o.None, o.True, o.False]);
      for (const p of [o.None, o.True, o.False, o.int(0), o.int(256), o.str('a'), o.str(''), o.bytes(Buffer.from('x'))]) {
        t.ok(o.isImmortal(p), `${o.typeName(p)} ${String(o.toJS(p))} is immortal`);
        t.equal(o.refcount(p), 4294967295, 'sys.getrefcount shows 4294967295');
        o.incref(p);
        o.decref(p);
        o.decref(p);
        t.equal(o.refcount(p), 4294967295, 'incref and decref leave it alone');
      }
      t.equal(o.isImmortal(o.int(257)), false);
    });

    t.test('float: the freelist of 100, last freed first reused', async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      const start = heap.allocatedBlocks();
      const a = o.float(1.5);
      const b = o.float(2.5);
      o.decref(a);
      o.decref(b);
      t.equal(heap.allocatedBlocks(), start + 2, 'freed floats stay allocated, parked in the freelist');
      t.equal(o.float(3.5), b, 'the next float reuses the last freed one');
      t.equal(o.float(4.5), a, 'then the one freed before');
      t.equal(o.toJS(a), 4.5);
      o.decref(a);
      o.decref(b);
      const many = Array.from({ length: 150 }, (_, i) => o.float(i + 0.25));
      const blocks = heap.allocatedBlocks();
      for (const p of many) o.decref(p);
      t.equal(heap.allocatedBlocks(), blocks - 50, 'beyond 100, freed floats go back to pymalloc');
      t.match(heap.debugMallocStats(), /\n {9}100 free PyFloatObjects \* 24 bytes each = {16}2,400\n/);
      heap.check();
      o.clearFreeLists();
      t.equal(heap.allocatedBlocks(), start, 'clearFreeLists() gives every parked float back');
      t.match(heap.debugMallocStats(), /\n {11}0 free PyFloatObjects \* 24 bytes each = {20}0\n/);
      heap.check();
    });

    t.test('str: intern', async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      const start = heap.allocatedBlocks();
      const s = o.str('hello world');
      t.equal(o.isInterned(s), false);
      t.equal(o.intern(s), s, 'the first one interned is the interned one');
      t.ok(o.isInterned(s) && o.isImmortal(s), 'interned strings are immortal in 3.12');
      t.equal(o.intern(s), s, 'interning it again changes nothing');
      const blocks = heap.allocatedBlocks();
      const copy = o.str('hello world');
      t.not(copy, s);
      t.equal(o.intern(copy), s, 'an equal string interns to the first');
      t.equal(heap.allocatedBlocks(), blocks, "and the caller's reference to the copy was given back: it is freed");
      t.equal(o.isInterned(o.int(5)), false, 'only strs are interned');
      const single = o.str('\xe9');
      t.equal(o.intern(single), single, 'a static one-character string interns as itself');
      t.ok(o.isInterned(single));
      // The table grows from 64 slots while staying two-thirds full at most.
      const words = Array.from({ length: 300 }, (_, i) => o.intern(o.str(`word ${i} \u20ac\u{1F600}`.slice(0, 6 + (i % 9)))));
      for (let i = 0; i < words.length; i++) t.equal(o.intern(o.str(`word ${i} \u20ac\u{1F600}`.slice(0, 6 + (i % 9)))), words[i]);
      heap.check();
      t.ok(heap.allocatedBlocks() > start, 'interned strings are never freed, as in 3.12');
      const n = o.int(1000);
      refuses(t, heap, () => o.intern(n), 'ERR_PYMEM_WRONG_TYPE', /^heap\.objects\.intern\(0x[0-9a-f]+\): intern\(\) argument must be str, not int$/);
    });

    t.test('reference counts: create, incref, decref, free; the memory back in pymalloc', async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      const start = heap.allocatedBlocks();
      const made = [o.int(1000), o.int(2n ** 200n), o.str('abc'), o.str('x'.repeat(2000)), o.str('\u{1F600}'.repeat(300)), o.bytes(Buffer.alloc(600, 1)), o.bytes(Buffer.from('ab'))];
      t.equal(heap.allocatedBlocks(), start + made.length, 'one block per object, large ones in the raw allocator too');
      for (const p of made) {
        t.equal(o.refcount(p), 1, `a new ${o.typeName(p)} has one reference: the caller's`);
        o.incref(p);
        t.equal(o.refcount(p), 2);
        o.decref(p);
        t.equal(o.refcount(p), 1);
      }
      for (const p of made) o.decref(p);
      t.equal(heap.allocatedBlocks(), start, 'at zero each is deallocated');
      heap.check();
      for (const p of made) refuses(t, heap, () => o.decref(p), 'ERR_PYMEM_OBJECT_FREED', /: its type field holds the deallocators' mark \(0xDEADBEEF\): the object was deallocated$/);
      t.ok(made.every((p) => heap.isFreed(p)), 'heap.isFreed() knows the mark too');
      const f = o.float(0.5);
      o.decref(f);
      refuses(t, heap, () => o.incref(f), 'ERR_PYMEM_OBJECT_FREED', /: it is a deallocated float, parked in the float freelist$/);
      o.float(1); // the parked float is reused: its link to NULL is now its type again
      const g = o.float(0.5);
      const h = o.float(0.75);
      o.decref(g);
      o.decref(h);
      refuses(t, heap, () => o.decref(g), 'ERR_PYMEM_OBJECT_FREED', /parked in the float freelist/);
      const p = o.int(123456);
      heap.u32[p >>> 2] = 0; // as a C extension's stray write would
      refuses(t, heap, () => o.decref(p), 'ERR_PYMEM_NEGATIVE_REFCOUNT', /^heap\.objects\.decref\(0x[0-9a-f]+\): its reference count is already 0: one decref too many$/);
    });

    t.test('equals and hash: numbers across types, strings, bytes', async (t) => {
      const o = heapOn(backend).objects;
      const one = [o.int(1), o.float(1), o.True, o.int(1n)];
      for (const a of one) {
        for (const b of one) t.ok(o.equals(a, b), `${o.typeName(a)} == ${o.typeName(b)}`);
        t.equal(o.hash(a), 1n, 'equal numbers hash equal');
      }
      t.ok(o.equals(o.int(0), o.float(-0)) && o.equals(o.False, o.int(0)));
      t.notOk(o.equals(o.int(2n ** 53n + 1n), o.float(2 ** 53)), '2**53 + 1 != float(2**53): compared exactly');
      t.ok(o.equals(o.int(2n ** 70n), o.float(2 ** 70)) && o.equals(o.float(2 ** 70), o.int(2n ** 70n)));
      t.notOk(o.equals(o.int(2n ** 70n), o.float(1.5)));
      t.notOk(o.equals(o.int(3), o.float(3.5)));
      t.ok(o.equals(o.float(2.5), o.float(2.5)), 'two float objects of one value are equal');
      t.notOk(o.equals(o.float(2.5), o.float(3.5)), 'two floats of different values are not');
      t.notOk(o.equals(o.int(2n ** 70n), o.int(2n ** 70n + 1n)));
      t.notOk(o.equals(o.int(2n ** 70n), o.int(-(2n ** 70n))));
      t.equal(o.hash(o.float(2 ** 70)), o.hash(o.int(2n ** 70n)));
      const nan = o.float(NaN);
      t.ok(o.equals(nan, nan), 'the same NaN object is equal to itself (PyObject_RichCompareBool)');
      t.notOk(o.equals(nan, o.float(NaN)), 'but not to another NaN');
      t.equal(o.hash(nan), BigInt(nan >>> 4), 'a NaN hashes by its address (_Py_HashPointer)');
      t.equal(o.hash(o.float(Infinity)), 314159n);
      t.equal(o.hash(o.float(-Infinity)), -314159n);
      t.equal(o.hash(o.int(-1)), -2n, 'hash(-1) is -2');
      t.equal(o.hash(o.float(-1)), -2n);
      t.ok(o.equals(o.str('caf\xe9'), o.str('caf\xe9')) && o.equals(o.bytes(Buffer.from('ab')), o.bytes(Buffer.from('ab'))));
      t.notOk(o.equals(o.str('abc'), o.str('abd')));
      t.notOk(o.equals(o.str('abc'), o.str('abcd')));
      t.notOk(o.equals(o.str('a\u20ac'), o.str('a\u{1F600}')), 'different kinds');
      t.notOk(o.equals(o.bytes(Buffer.from('ab')), o.bytes(Buffer.from('ac'))));
      t.notOk(o.equals(o.bytes(Buffer.from('ab')), o.bytes(Buffer.from('abc'))));
      t.notOk(o.equals(o.str('ab'), o.bytes(Buffer.from('ab'))), "'ab' != b'ab'");
      t.equal(o.hash(o.str('ab')), o.hash(o.bytes(Buffer.from('ab'))), "but hash('ab') == hash(b'ab')");
      t.notOk(o.equals(o.None, o.False));
      t.notOk(o.equals(o.int(1), o.str('1')));
      t.ok(o.equals(o.None, o.None));
      const s = o.str('cached');
      t.equal(o.hash(s), o.hash(s), 'the cached hash is the computed one');
    });

    t.test('fromJS and toJS round trips', async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      const numbers = [0, 1, -1, 255, 256, 257, -5, -6, 2 ** 30 - 1, 2 ** 30, -(2 ** 30), 2 ** 31, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0.5, -0, 1e-300, NaN, Infinity, -Infinity, Math.PI];
      for (const v of numbers) {
        const p = o.fromJS(v);
        t.ok(Object.is(o.toJS(p), v), `${Object.is(v, -0) ? '-0' : v} comes back (${o.typeName(p)})`);
        t.equal(o.typeName(p), Number.isInteger(v) && !Object.is(v, -0) ? 'int' : 'float');
      }
      t.equal(o.toJS(o.fromJS(2 ** 60)), 2n ** 60n, 'an integral number beyond 2^53 is an int, and comes back as a bigint');
      t.equal(o.toJS(o.fromJS(1e300)), BigInt(1e300));
      t.equal(o.toJS(o.int(-(2 ** 60))), -(2n ** 60n));
      const edges = [0n, 1n, -1n, 2n ** 53n, 2n ** 53n - 1n, -(2n ** 53n), 2n ** 60n - 1n, 2n ** 60n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, 2n ** 64n, -(2n ** 64n), 10n ** 100n, -(3n ** 500n)];
      for (const v of edges) {
        t.equal(o.toJS(o.fromJS(v), { bigint: true }), v, `${v}n comes back with { bigint: true }`);
        const back = o.toJS(o.int(v));
        t.equal(typeof back === 'bigint' ? back : BigInt(back as number), v, 'and by default as a number when it is a safe integer');
        t.equal(typeof back, v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? 'number' : 'bigint');
      }
      const strings = ['', 'a', 'hello', '\xe9t\xe9', '\u20ac', 'mixed \u20ac and \u{1F600}', '\u{1F600}', '\u{10FFFF}', '\ud800', 'lone \udc00 low', 'end \ud83d', '\ude00\ud83d reversed', '\0nul\0', 'x'.repeat(100_000), '\u20ac'.repeat(20_000), '\u{1F600}'.repeat(20_000)];
      for (const s of strings) {
        const p = o.fromJS(s);
        t.equal(o.toJS(p), s, `${JSON.stringify(s.slice(0, 20))} (${s.length} units) comes back`);
      }
      t.equal(o.sizeof(o.str('\u{1F600}')), 64, 'a surrogate pair is one UCS-4 character');
      t.equal(o.sizeof(o.str('\ud800x')), 56 + 3 * 2, 'a lone surrogate is a UCS-2 character');
      for (const bytes of [Buffer.alloc(0), Buffer.from([0]), Buffer.from('abc'), new Uint8Array(100_000).fill(7)]) {
        const back = o.toJS(o.fromJS(bytes)) as Uint8Array;
        t.ok(back instanceof Uint8Array && Buffer.from(back).equals(Buffer.from(bytes)), `${bytes.length} bytes come back, as a copy`);
      }
      const p = o.bytes(Buffer.from('shared?'));
      (o.toJS(p) as Uint8Array)[0] = 0;
      t.equal(Buffer.from(o.toJS(p) as Uint8Array).toString(), 'shared?', "writing the copy does not change the object");
      t.same([o.toJS(o.None), o.toJS(o.True), o.toJS(o.False)], [null, true, false]);
      heap.check();
    });

    t.test('bad arguments and bad pointers: an error with a code, nothing changed', async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      const blocks = heap.allocatedBlocks();
      for (const value of [Symbol('s'), () => 1, new Uint16Array(2), new Date(0), new Set([1]), Object.create({ inherited: 1 })]) {
        refuses(t, heap, () => o.fromJS(value), 'ERR_INVALID_ARG_TYPE', /must be of type null, undefined, boolean, number, bigint, string, Uint8Array, array, Map, Tuple or plain object/);
      }
      refuses(t, heap, () => o.int(1.5), 'ERR_OUT_OF_RANGE', /must be an integer/);
      refuses(t, heap, () => o.int(NaN), 'ERR_OUT_OF_RANGE');
      refuses(t, heap, () => o.int('1' as unknown as number), 'ERR_INVALID_ARG_TYPE');
      refuses(t, heap, () => o.float(1n as unknown as number), 'ERR_INVALID_ARG_TYPE');
      refuses(t, heap, () => o.str(5 as unknown as string), 'ERR_INVALID_ARG_TYPE');
      refuses(t, heap, () => o.bytes('x' as unknown as Uint8Array), 'ERR_INVALID_ARG_TYPE');
      refuses(t, heap, () => o.toJS(o.int(5), null as unknown as object), 'ERR_INVALID_ARG_TYPE');
      t.equal(heap.allocatedBlocks(), blocks, 'nothing allocated');
      const ops: [string, (p: number) => unknown][] = [
        ['toJS', (p) => o.toJS(p)], ['incref', (p) => o.incref(p)], ['decref', (p) => o.decref(p)], ['refcount', (p) => o.refcount(p)],
        ['typeName', (p) => o.typeName(p)], ['sizeof', (p) => o.sizeof(p)], ['hash', (p) => o.hash(p)], ['intern', (p) => o.intern(p)],
        ['equals', (p) => o.equals(p, o.None)], ['equals', (p) => o.equals(o.None, p)], ['isInterned', (p) => o.isInterned(p)], ['isImmortal', (p) => o.isImmortal(p)],
      ];
      for (const [name, op] of ops) {
        refuses(t, heap, () => op(0), 'ERR_PYMEM_NOT_AN_OBJECT', new RegExp(`^heap\\.objects\\.${name}\\(0x0\\): it is NULL$`));
        refuses(t, heap, () => op(24), 'ERR_PYMEM_NOT_AN_OBJECT', /: it is not 16-byte aligned$/);
        refuses(t, heap, () => op(heap.maxBytes), 'ERR_PYMEM_NOT_AN_OBJECT', /: it is not an offset inside the heap's region$/);
        refuses(t, heap, () => op(-16), 'ERR_PYMEM_NOT_AN_OBJECT', /\(-16\): it is not an offset inside/);
        refuses(t, heap, () => op(1.5), 'ERR_PYMEM_NOT_AN_OBJECT', /\(1\.5\)/);
        refuses(t, heap, () => op('16' as unknown as number), 'ERR_INVALID_ARG_TYPE');
      }
      t.equal(o.isObject(0), false);
      t.equal(o.isObject(o.None) && o.isObject(o.str('zz')), true);
      t.equal(o.isObject('x' as unknown as number), false);
      const block = heap.obj.calloc(1, 32);
      refuses(t, heap, () => o.decref(block), 'ERR_PYMEM_NOT_AN_OBJECT', /: its type field is NULL: the block was never made an object \(or was zeroed since\)$/);
      const plain = heap.obj.malloc(32);
      heap.u32.fill(0, plain >>> 2, (plain + 32) >>> 2);
      refuses(t, heap, () => o.decref(plain), 'ERR_PYMEM_NOT_AN_OBJECT', /never made an object/); // a plain malloc block is not said to be deallocated
      heap.obj.free(plain);
      heap.u32[(block + 8) >>> 2] = 0x12345;
      refuses(t, heap, () => o.decref(block), 'ERR_PYMEM_NOT_AN_OBJECT', /its type field \(0x12345\) is no type of this heap/);
      heap.obj.free(block);
    });

    t.test('out of memory: MemoryError, nothing allocated, the heap usable', async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      const parked = o.float(0);
      o.decref(parked);
      heap.setNoMemory(0);
      t.equal(o.float(1.25), parked, 'a float from the freelist needs no memory');
      const makers = [['an int', () => o.int(1000)], ['an int', () => o.int(2n ** 100n)], ['a str', () => o.str('abc')], ['a bytes object', () => o.bytes(Buffer.from('abc'))], ['a float', () => o.float(2)]] as const;
      for (const [what, make] of makers) {
        refuses(t, heap, make, 'ERR_PYMEM_NO_MEMORY', new RegExp(`^cannot allocate \\d+ bytes for ${what}: the heap is out of memory`));
        const error = (() => {
          try {
            return make();
          } catch (e) {
            return e;
          }
        })();
        t.ok(error instanceof MemoryError && error.name === 'MemoryError' && error.requested > 0, 'a MemoryError, with the bytes it asked for');
      }
      heap.removeMemHooks();
      const s = o.str('not interned');
      heap.setNoMemory(0);
      refuses(t, heap, () => o.intern(s), 'ERR_PYMEM_NO_MEMORY', /for the interned strings table/);
      heap.removeMemHooks();
      t.equal(o.isInterned(s), false, 'the string is still the caller\'s, not interned');
      t.equal(o.intern(s), s, 'and interns once memory is there');
      t.equal(o.toJS(o.int(1000)), 1000);
      heap.check();
    });

    t.test('tracemalloc: a float reused from the freelist takes the traceback of its new allocation', async (t) => {
      // test_tracemalloc.py's test_new_reference, with the float freelist in the list freelist's place.
      const heap = heapOn(backend);
      const o = heap.objects;
      const tm = heap.tracemalloc;
      tm.start(1);
      o.clearFreeLists();
      const first = o.float(1.5);
      const line = here() - 1;
      t.match(tm.getObjectTraceback(first)!.at(0), { filename: __filename, lineno: line });
      o.decref(first);
      const reused = o.float(2.5);
      const reusedLine = here() - 1;
      t.equal(reused, first, 'the same block');
      t.match(tm.getObjectTraceback(reused)!.at(0), { filename: __filename, lineno: reusedLine }, 'its trace names the line that reused it');
      tm.stop();
      o.decref(reused);
      t.equal(o.float(3), reused, 'not tracing, reuse is not traced');
      t.equal(tm.getObjectTraceback(reused), null);
    });

    t.test('under the debug allocator: a freed object reads as freed memory', async (t) => {
      const heap = heapOn(backend, { allocator: 'debug' });
      const o = heap.objects;
      const p = o.int(99999);
      o.decref(p);
      refuses(t, heap, () => o.decref(p), 'ERR_PYMEM_OBJECT_FREED', /its type field holds the debug hooks' dead bytes \(0xDD\): the object was freed$/);
      t.ok(heap.isFreed(p), '_PyObject_IsFreed agrees');
      const raw = heap.obj.malloc(32);
      refuses(t, heap, () => o.toJS(raw), 'ERR_PYMEM_NOT_AN_OBJECT', /clean bytes \(0xCD\): a block allocated but never made an object$/);
      heap.obj.free(raw);
      heap.check();
    });

    t.test('a closed heap: every method of its objects throws ERR_PYMEM_HEAP_CLOSED', async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      const p = o.int(5000);
      heap.close();
      t.throws(() => heap.objects, { code: 'ERR_PYMEM_HEAP_CLOSED' });
      for (const fn of [() => o.int(1), () => o.decref(p), () => o.toJS(p), () => o.fromJS('x'), () => o.clearFreeLists()]) t.throws(fn, { code: 'ERR_PYMEM_HEAP_CLOSED', message: /^heap\.objects\.\w+: the heap is closed/ });
    });
  });
}
