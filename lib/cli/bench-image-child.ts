/**
 * One measurement of `pymem bench --image`, in a process of its own:
 *
 *   node dist/cli/bench-image-main.js FORM COUNT FILE save|open
 *
 * FORM: objects-native, objects-fallback (COUNT records { id, name, tags: [3 strings], score } as
 * heap dicts in a list, the list the heap's root), blocks-native, blocks-fallback (each record packed
 * into a 48-byte block, a table of their pointers the root), json (JSON.stringify of the records, to
 * a file) or v8 (v8.serialize). `save` builds the records and writes FILE, timing the write alone;
 * `open`, in a fresh process, times opening FILE and reading the first record back as a JS object,
 * then reading every record. Prints one JSON line (ImageMeasurement).
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import * as v8 from 'node:v8';
import { createHeap } from '../create';
import type { PyJS } from '../objects/slots';

export interface ImageMeasurement {
  /** save: milliseconds to write the file (the records already built). */
  saveMs: number;
  /** open: milliseconds from nothing to the first record as a JS object. */
  openMs: number;
  /** open: milliseconds to read every record as a JS object, after the first. */
  readMs: number;
  fileBytes: number;
  /** The growth of the process's RSS from before opening to after the first record. */
  openRss: number;
  /** The sum of what was read: the same for every form, or one of them read wrong. */
  checksum: number;
}

interface Rec {
  id: number;
  name: string;
  tags: string[];
  score: number;
}

/** Record i, the same in every form and in lib/cli/bench-objects-child.ts. */
function record(i: number): Rec {
  return { id: i, name: `user-${i}`, tags: [`t${i % 10}`, `g${i % 7}`, 'member'], score: i / 4 };
}

function sum(r: Rec): number {
  return r.id + r.name.length + r.tags[0].length + r.tags[1].length + r.tags[2].length + r.score;
}

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function rss(): number {
  return process.memoryUsage.rss();
}

/*
 * A compact record, 48 bytes:
 *   0 id (u32)   4 tag0 (u8: t0..t9)   5 tag1 (u8: g0..g6)   6 name length (u8)   8 score (f64)
 *   16 name (up to 32 bytes of latin-1)
 */
const BLOCK = 48;
const B_ID = 0;
const B_TAG0 = 4;
const B_TAG1 = 5;
const B_NAME_LEN = 6;
const B_SCORE = 8;
const B_NAME = 16;

function readBlock(u8: Uint8Array, u32: Uint32Array, f64: Float64Array, p: number): Rec {
  const n = u8[p + B_NAME_LEN];
  let name = '';
  for (let k = 0; k < n; k++) name += String.fromCharCode(u8[p + B_NAME + k]);
  return { id: u32[(p + B_ID) >>> 2], name, tags: [`t${u8[p + B_TAG0]}`, `g${u8[p + B_TAG1]}`, 'member'], score: f64[(p + B_SCORE) >>> 3] };
}

const HEAP_BYTES = 2 ** 31;

function save(form: string, count: number, file: string): ImageMeasurement {
  const [kind, backend] = form.split('-') as [string, 'native' | 'fallback'];
  let t0: bigint;
  if (kind === 'json' || kind === 'v8') {
    const records = Array.from({ length: count }, (_, i) => record(i));
    t0 = process.hrtime.bigint();
    writeFileSync(file, kind === 'json' ? JSON.stringify(records) : v8.serialize(records));
  } else {
    const heap = createHeap({ backend, maxBytes: HEAP_BYTES });
    if (kind === 'objects') {
      const o = heap.objects;
      const list = o.list();
      for (let i = 0; i < count; i++) {
        const d = o.fromJS(record(i));
        o.listAppend(list, d);
        o.decref(d);
      }
      heap.setRoot(list);
      o.decref(list);
    } else {
      const table = heap.raw.malloc(4 * count);
      const { u8, u32, f64 } = heap;
      for (let i = 0; i < count; i++) {
        const r = record(i);
        const p = heap.obj.malloc(BLOCK);
        u32[(p + B_ID) >>> 2] = r.id;
        u8[p + B_TAG0] = i % 10;
        u8[p + B_TAG1] = i % 7;
        u8[p + B_NAME_LEN] = r.name.length;
        f64[(p + B_SCORE) >>> 3] = r.score;
        for (let k = 0; k < r.name.length; k++) u8[p + B_NAME + k] = r.name.charCodeAt(k);
        u32[(table >>> 2) + i] = p;
      }
      heap.setRoot(table);
    }
    t0 = process.hrtime.bigint();
    heap.save(file);
    heap.close();
  }
  return { saveMs: ms(t0), openMs: 0, readMs: 0, fileBytes: statSync(file).size, openRss: 0, checksum: 0 };
}

function open(form: string, count: number, file: string): ImageMeasurement {
  const [kind, backend] = form.split('-') as [string, 'native' | 'fallback'];
  const before = rss();
  const t0 = process.hrtime.bigint();
  let first: Rec;
  let rest: (i: number) => Rec;
  let done = (): void => {};
  if (kind === 'json' || kind === 'v8') {
    const bytes = readFileSync(file);
    const records = (kind === 'json' ? JSON.parse(bytes.toString('utf8')) : v8.deserialize(bytes)) as Rec[];
    first = records[0];
    rest = (i) => records[i];
  } else {
    const heap = createHeap({ image: file, backend });
    const root = heap.getRoot();
    if (kind === 'objects') {
      const o = heap.objects;
      rest = (i) => o.toJS(o.listGet(root, i)) as PyJS as unknown as Rec;
    } else {
      const { u8, u32, f64 } = heap;
      rest = (i) => readBlock(u8, u32, f64, u32[(root >>> 2) + i]);
    }
    first = rest(0);
    done = () => heap.close();
  }
  const openMs = ms(t0);
  const openRss = rss() - before;
  let checksum = sum(first);
  const t1 = process.hrtime.bigint();
  for (let i = 1; i < count; i++) checksum += sum(rest(i));
  const readMs = ms(t1);
  done();
  return { saveMs: 0, openMs, readMs, fileBytes: statSync(file).size, openRss, checksum };
}

export function measureImage(form: string, count: number, file: string, phase: string): ImageMeasurement {
  if (!/^(objects-(native|fallback)|blocks-(native|fallback)|json|v8)$/.test(form)) throw new Error(`no image form '${form}'`);
  if (phase === 'save') return save(form, count, file);
  if (phase === 'open') return open(form, count, file);
  throw new Error(`no phase '${phase}' (save or open)`);
}
