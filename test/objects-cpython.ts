// heap.objects against CPython 3.12 itself (test/fixtures/objects-cpython.json, made by
// scripts/fixtures/objects.py): for None, the bools, ints of 0 to 200 digits of each sign, floats, strs of
// every kind and bytes, sys.getsizeof(), hash() with PYTHONHASHSEED=0, and the object's bytes after its
// header, on both backends and under the debug allocator.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BACKENDS, heapOn } from './helpers/backends';
import type { Heap } from '../lib/index';
import { storeHash } from '../lib/objects/hash';

interface Row {
  type: string;
  value: string;
  size: number;
  hash?: string;
  body: string | null;
}
const FIXTURE = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'objects-cpython.json'), 'utf8')) as {
  python: string;
  objects: Row[];
  floatFreeListLine: string;
};

function hexToBigInt(s: string): bigint {
  return s.startsWith('-') ? -BigInt(s.slice(1)) : BigInt(s);
}

/** The object the fixture row describes, made through the constructor of its type. */
function make(heap: Heap, row: Row): number {
  const o = heap.objects;
  switch (row.type) {
    case 'NoneType':
      return o.None;
    case 'bool':
      return row.value === 'True' ? o.True : o.False;
    case 'int':
      return o.int(hexToBigInt(row.value));
    case 'float':
      return o.float(Number(row.value.replace('inf', 'Infinity').replace('nan', 'NaN')));
    case 'str':
      return o.str(row.value);
    default:
      return o.bytes(Buffer.from(row.value, 'hex'));
  }
}

t.test('the fixture is CPython 3.12 and covers each type', async (t) => {
  t.match(FIXTURE.python, /^3\.12\./);
  const types = new Set(FIXTURE.objects.map((row) => row.type));
  t.same([...types].sort(), ['NoneType', 'bool', 'bytes', 'float', 'int', 'str']);
  const digits = FIXTURE.objects.filter((row) => row.type === 'int').map((row) => Math.max(1, Math.ceil(hexToBigInt(row.value).toString(2).replace('-', '').length / 30)));
  t.equal(Math.max(...digits), 200, 'ints up to 200 digits');
  const dumped = new Set(FIXTURE.objects.filter((row) => row.body !== null).map((row) => row.type));
  t.same([...dumped].sort(), ['bytes', 'float', 'int', 'str'], 'the bytes of objects of each allocated type');
});

for (const backend of BACKENDS) {
  for (const allocator of ['pymalloc', 'debug'] as const) {
    t.test(`${backend}, ${allocator}: sizes, hashes and bytes as CPython 3.12's`, async (t) => {
      const heap = heapOn(backend, { allocator });
      const o = heap.objects;
      const blocks = heap.allocatedBlocks();
      for (const row of FIXTURE.objects) {
        const p = make(heap, row);
        const what = `${row.type} ${row.value.length > 40 ? `${row.value.slice(0, 40)}...` : JSON.stringify(row.value)}`;
        t.equal(o.typeName(p), row.type, `${what}: type`);
        t.equal(o.sizeof(p), row.size, `${what}: sys.getsizeof`);
        if (row.body !== null) {
          t.equal(Buffer.from(heap.view(p + 16, row.size - 16)).toString('hex'), row.body, `${what}: the bytes after the header`);
        }
        if (row.hash !== undefined) t.equal(o.hash(p), BigInt(row.hash), `${what}: hash`);
        o.decref(p);
      }
      heap.check();
      o.clearFreeLists();
      t.equal(heap.allocatedBlocks(), blocks, 'every object went back to the allocator');
    });
  }
}

t.test("debugMallocStats()'s float line as CPython prints it", async (t) => {
  const heap = heapOn('fallback');
  const o = heap.objects;
  const floats = Array.from({ length: 300 }, (_, i) => o.float(i + 0.5));
  for (const p of floats) o.decref(p);
  const text = heap.debugMallocStats();
  t.ok(text.includes(`\n${FIXTURE.floatFreeListLine}`), 'among the free-list lines after the pymalloc section');
});

t.test('a hash that comes out -1 is stored as -2, as C reserves -1 for errors', async (t) => {
  const u32 = new Uint32Array(4);
  storeHash(u32, 0, 0xffffffff, 0xffffffff);
  storeHash(u32, 8, 0xffffffff, 0x7fffffff);
  t.same([...u32], [0xfffffffe, 0xffffffff, 0xffffffff, 0x7fffffff]);
});
