/**
 * One measurement of `pymem bench --objects`, in a process of its own started with --expose-gc, so
 * that V8's heap holds nothing but what the form builds:
 *
 *   node --expose-gc dist/cli/bench-objects-main.js FORM COUNT
 *
 * FORM: native or fallback (COUNT ints, floats and short strings as objects of heap.objects on that
 * backend, their pointers in a Uint32Array), or js (the same values as JS values in an array);
 * records-native, records-fallback (COUNT records { id, name, tags: [3 strings], score } as heap
 * dicts) or records-js (as JS objects). A warm-up
 * of WARM_VALUES of each runs first, then the timed build, a full V8 GC (timed, the values alive), a
 * full heap.gc.collect() (timed; heap forms), the timed read of every value back into JS, and the figures. Prints one JSON line (ObjectsMeasurement).
 */
import { createHeap } from '../create';

export interface ObjectsMeasurement {
  /** Milliseconds to build the values. */
  buildMs: number;
  /** Milliseconds to read every value back as a JS value (toJS for the heap forms). */
  readMs: number;
  /** Milliseconds of a full V8 garbage collection with the values alive. */
  gcMs: number;
  /** Milliseconds of a full collection of the heap's own cyclic collector (heap.gc.collect()) with the values alive; 0 for js. */
  collectMs: number;
  /** V8's heap after a full GC with the values alive, less before the build. */
  v8HeapGrowth: number;
  /** Bytes of the pointers held in JS (a Uint32Array, outside V8's heap); 0 for js. */
  handleBytes: number;
  /** Bytes of the heap's blocks in use (pymalloc's allocated blocks, whole blocks); 0 for js. */
  heapBytes: number;
  /** The heap's committed bytes after the build, less before; 0 for js. */
  committedGrowth: number;
  /** The sum of what was read: the same for every form, or one of them read wrong. */
  checksum: number;
}

const WARM_VALUES = 20_000;

/** The values: ints spread over +-10^6 (one digit, outside the small-int cache), floats, 5-11 character strings. */
function intValue(i: number): number {
  return ((i * 7919) % 2_000_003) - 1_000_001;
}
function floatValue(i: number): number {
  return i + 0.25;
}
function strValue(i: number): string {
  return `name-${i}`;
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('bench-objects-child needs node --expose-gc');
  collect();
}

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

type Form = (count: number) => {
  build: () => void;
  read: () => number;
  /** heap.gc.collect() for the heap forms. */
  collect?: () => void;
  handleBytes: number;
  heapBytes: () => number;
  committed: () => number;
};


const js: Form = (count) => {
  let values: (number | string)[] = [];
  return {
    build() {
      values = [];
      for (let i = 0; i < count; i++) values.push(intValue(i), floatValue(i), strValue(i));
    },
    read() {
      let sum = 0;
      for (let k = 0; k < values.length; k += 3) sum += (values[k] as number) + (values[k + 1] as number) + (values[k + 2] as string).length;
      return sum;
    },
    handleBytes: 0,
    heapBytes: () => 0,
    committed: () => 0,
  };
};

function heapForm(backend: 'native' | 'fallback'): Form {
  return (count) => {
    const heap = createHeap({ backend });
    const o = heap.objects;
    const handles = new Uint32Array(3 * count);
    return {
      build() {
        for (let i = 0, k = 0; i < count; i++, k += 3) {
          handles[k] = o.int(intValue(i));
          handles[k + 1] = o.float(floatValue(i));
          handles[k + 2] = o.str(strValue(i));
        }
      },
      read() {
        let sum = 0;
        for (let k = 0; k < handles.length; k += 3) sum += (o.toJS(handles[k]) as number) + (o.toJS(handles[k + 1]) as number) + (o.toJS(handles[k + 2]) as string).length;
        return sum;
      },
      collect: () => heap.gc.collect(),
      handleBytes: handles.byteLength,
      heapBytes: () => heap.stats().pymalloc.allocatedBytes,
      committed: () => heap.stats().committedBytes,
    };
  };
}

/** Record i: { id, name, tags: [3 strings], score }, the same values in every form. */
function record(i: number): { id: number; name: string; tags: string[]; score: number } {
  return { id: i, name: `user-${i}`, tags: [`t${i % 10}`, `g${i % 7}`, 'member'], score: i / 4 };
}

const recordsJs: Form = (count) => {
  let records: ReturnType<typeof record>[] = [];
  return {
    build() {
      records = [];
      for (let i = 0; i < count; i++) records.push(record(i));
    },
    read() {
      let sum = 0;
      for (const r of records) sum += r.id + r.name.length + r.tags[0].length + r.tags[1].length + r.tags[2].length + r.score;
      return sum;
    },
    handleBytes: 0,
    heapBytes: () => 0,
    committed: () => 0,
  };
};

/** Records as heap dicts, their keys interned once (as CPython interns a literal's keys), pointers in a Uint32Array. */
function recordsHeap(backend: 'native' | 'fallback'): Form {
  return (count) => {
    const heap = createHeap({ backend });
    const o = heap.objects;
    const [kId, kName, kTags, kScore] = ['id', 'name', 'tags', 'score'].map((k) => o.intern(o.str(k)));
    const handles = new Uint32Array(count);
    const item = new Uint32Array(3);
    const put = (d: number, key: number, value: number): void => {
      o.dictSet(d, key, value);
      o.decref(value);
    };
    return {
      build() {
        for (let i = 0; i < count; i++) {
          const r = record(i);
          const d = o.dict();
          put(d, kId, o.int(r.id));
          put(d, kName, o.str(r.name));
          for (let t = 0; t < 3; t++) item[t] = o.str(r.tags[t]);
          put(d, kTags, o.list(item));
          for (let t = 0; t < 3; t++) o.decref(item[t]);
          put(d, kScore, o.float(r.score));
          handles[i] = d;
        }
      },
      read() {
        let sum = 0;
        for (let i = 0; i < count; i++) {
          const d = handles[i];
          const tags = o.dictGet(d, kTags);
          sum += (o.toJS(o.dictGet(d, kId)) as number) + (o.toJS(o.dictGet(d, kName)) as string).length;
          for (let t = 0; t < 3; t++) sum += (o.toJS(o.listGet(tags, t)) as string).length;
          sum += o.toJS(o.dictGet(d, kScore)) as number;
        }
        return sum;
      },
      collect: () => heap.gc.collect(),
      handleBytes: handles.byteLength,
      heapBytes: () => heap.stats().pymalloc.allocatedBytes,
      committed: () => heap.stats().committedBytes,
    };
  };
}

const FORMS: Record<string, Form> = {
  js,
  native: heapForm('native'),
  fallback: heapForm('fallback'),
  'records-js': recordsJs,
  'records-native': recordsHeap('native'),
  'records-fallback': recordsHeap('fallback'),
};

export function measureObjects(form: string, count: number): ObjectsMeasurement {
  const make = FORMS[form];
  if (make === undefined) throw new Error(`no form '${form}' (forms: ${Object.keys(FORMS).join(', ')})`);
  const warm = make(Math.min(WARM_VALUES, count));
  warm.build();
  warm.read();
  const run = make(count);
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const committedBefore = run.committed();
  let t0 = process.hrtime.bigint();
  run.build();
  const buildMs = ms(t0);
  t0 = process.hrtime.bigint();
  gc();
  const gcMs = ms(t0);
  const v8HeapGrowth = process.memoryUsage().heapUsed - heapBefore;
  let collectMs = 0;
  if (run.collect !== undefined) {
    t0 = process.hrtime.bigint();
    run.collect();
    collectMs = ms(t0);
  }
  t0 = process.hrtime.bigint();
  const checksum = run.read();
  const readMs = ms(t0);
  return { buildMs, readMs, gcMs, collectMs, v8HeapGrowth, handleBytes: run.handleBytes, heapBytes: run.heapBytes(), committedGrowth: run.committed() - committedBefore, checksum };
}

