// A million records kept off V8's heap, one fixed-size block each, against the same records as plain
// JS objects, measured in one run: the memory each takes, the time to build them and to read every
// field back, and how long a full V8 garbage collection takes while they are alive.
//
//   node examples/records.mjs [--count N] [--dicts] [--heap MiB]   (default 1,000,000 records, 1024 MiB)
//
// --dicts adds a third form: the records as CPython dicts, heap.objects.fromJS(records), to show what
// CPython's object layouts cost where a fixed layout would do.
//
// Each record { id, name, score } is a 32-byte block of heap.obj (pymalloc's 32-byte class), its
// fields written through the heap's views; the records' pointers are a Uint32Array, outside V8's heap
// too. A name longer than NAME_MAX bytes would go in a block of its own, its pointer in the record.
//
//   +0  id      u32
//   +4  length  u8 (the name's bytes)      +5..+7 unused
//   +8  score   f64
//   +16 name    NAME_MAX bytes, latin-1
import { createHeap } from 'pymem';
import { equal } from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const option = (name, fallback) => Number(process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback);
const COUNT = option('--count', 1_000_000);
const HEAP_MIB = option('--heap', 1024);
const RECORD = 32;
const ID = 0;
const LENGTH = 4;
const SCORE = 8;
const NAME = 16;
const NAME_MAX = 16;

// A full collection on demand, without starting node with --expose-gc.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

const name = (i) => `user${i}`;
const score = (i) => (i % 1000) / 8;
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

function timedGc() {
  const t0 = process.hrtime.bigint();
  gc();
  return ms(t0);
}

function inHeap() {
  const heap = createHeap({ maxBytes: HEAP_MIB * 2 ** 20 });
  const { u8, u32, f64 } = heap;
  gc();
  const v8Before = process.memoryUsage().heapUsed;
  const committedBefore = heap.stats().committedBytes;
  let t0 = process.hrtime.bigint();
  const records = new Uint32Array(COUNT);
  for (let i = 0; i < COUNT; i++) {
    const p = heap.obj.malloc(RECORD);
    if (p === 0) throw new Error(`the heap is full after ${i.toLocaleString('en-US')} records`);
    const text = name(i);
    u32[(p + ID) >>> 2] = i;
    f64[(p + SCORE) >>> 3] = score(i);
    u8[p + LENGTH] = text.length;
    for (let c = 0; c < text.length; c++) u8[p + NAME + c] = text.charCodeAt(c);
    records[i] = p;
  }
  const buildMs = ms(t0);
  t0 = process.hrtime.bigint();
  let checksum = 0;
  for (let i = 0; i < COUNT; i++) {
    const p = records[i];
    let text = '';
    for (let c = 0, n = u8[p + LENGTH]; c < n; c++) text += String.fromCharCode(u8[p + NAME + c]);
    checksum += u32[(p + ID) >>> 2] + f64[(p + SCORE) >>> 3] + text.length;
  }
  const readMs = ms(t0);
  const gcMs = timedGc();
  const bytes = heap.stats().committedBytes - committedBefore + records.byteLength + Math.max(0, process.memoryUsage().heapUsed - v8Before);
  for (const p of records) heap.obj.free(p);
  heap.close();
  return { form: 'compact blocks in a pymem heap', bytes, buildMs, readMs, gcMs, checksum };
}

function asDicts() {
  const heap = createHeap({ maxBytes: 2 ** 31 });
  const o = heap.objects;
  const input = Array.from({ length: COUNT }, (_, i) => ({ id: i, name: name(i), score: score(i) }));
  gc();
  const v8Before = process.memoryUsage().heapUsed;
  const committedBefore = heap.stats().committedBytes;
  let t0 = process.hrtime.bigint();
  const list = o.fromJS(input);
  const buildMs = ms(t0);
  input.length = 0;
  t0 = process.hrtime.bigint();
  let checksum = 0;
  for (const r of o.toJS(list)) checksum += r.id + r.score + r.name.length;
  const readMs = ms(t0);
  const gcMs = timedGc();
  const bytes = heap.stats().committedBytes - committedBefore + Math.max(0, process.memoryUsage().heapUsed - v8Before);
  o.decref(list);
  heap.close();
  return { form: 'CPython dicts (objects.fromJS)', bytes, buildMs, readMs, gcMs, checksum };
}

function inV8() {
  gc();
  const before = process.memoryUsage().heapUsed;
  let t0 = process.hrtime.bigint();
  const records = new Array(COUNT);
  for (let i = 0; i < COUNT; i++) records[i] = { id: i, name: name(i), score: score(i) };
  const buildMs = ms(t0);
  t0 = process.hrtime.bigint();
  let checksum = 0;
  for (let i = 0; i < COUNT; i++) {
    const r = records[i];
    checksum += r.id + r.score + r.name.length;
  }
  const readMs = ms(t0);
  const gcMs = timedGc();
  const bytes = process.memoryUsage().heapUsed - before;
  records.length = 0;
  return { form: 'plain JS objects', bytes, buildMs, readMs, gcMs, checksum };
}

if (NAME_MAX < name(COUNT - 1).length) throw new Error(`names of ${name(COUNT - 1).length} bytes do not fit ${NAME_MAX}`);
const rows = [inHeap(), inV8(), ...(process.argv.includes('--dicts') ? [asDicts()] : [])];
equal(new Set(rows.map((r) => r.checksum)).size, 1, 'every form reads back the same fields');

const MiB = 2 ** 20;
console.log(`${COUNT.toLocaleString('en-US')} records { id, name, score }:`);
const head = ['form', 'memory', 'build', 'read all', 'full V8 GC'];
const table = [head, ...rows.map((r) => [r.form, `${(r.bytes / MiB).toFixed(1)} MiB`, `${r.buildMs.toFixed(0)} ms`, `${r.readMs.toFixed(0)} ms`, `${r.gcMs.toFixed(1)} ms`])];
const widths = head.map((_, i) => Math.max(...table.map((r) => r[i].length)));
for (const r of table) console.log('  ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
const [heapRow, jsRow] = rows;
console.log(`In the heap they take ${(heapRow.bytes / jsRow.bytes).toFixed(2)}x the memory of JS objects, and a full V8 GC with them alive takes ${(heapRow.gcMs / jsRow.gcMs).toFixed(2)}x as long.`);
