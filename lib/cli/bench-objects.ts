/**
 * `pymem bench --objects`: ints, floats and short strings as objects in the heap (each backend) against
 * the same values as JS values in an array. Each round runs each form in a process of its own
 * (lib/cli/bench-objects-child.ts); the report gives the medians of build time, read time, the
 * duration of a full V8 GC with the values alive, the bytes the values take in the heap, and V8's
 * heap growth.
 */
import type { ObjectsMeasurement } from './bench-objects-child';
import { runChild } from './child';
import { medians } from './median';
import { count, mib } from '../map/numbers';

export const FORM_LABELS: Record<string, string> = {
  native: 'heap objects, native',
  fallback: 'heap objects, fallback',
  js: 'JS values in an array',
  'records-native': 'heap dicts, native',
  'records-fallback': 'heap dicts, fallback',
  'records-js': 'JS objects',
};

export interface ObjectsResults {
  /** Values of each type (ints, floats, strings): 3 x count values in all. */
  count: number;
  rounds: number;
  /** Per form, the median of each figure over the rounds. */
  forms: Record<string, ObjectsMeasurement>;
}

/** Measures each form `rounds` times, rounds interleaved; `step` is told before each measurement. */
export function runObjects(forms: string[], valueCount: number, rounds: number, step: (label: string) => void): ObjectsResults {
  const samples: Record<string, ObjectsMeasurement[]> = Object.fromEntries(forms.map((form) => [form, []]));
  for (let r = 0; r < rounds; r++) {
    for (const form of forms) {
      step(`objects: ${FORM_LABELS[form]}, round ${r + 1} of ${rounds}`);
      samples[form].push(runChild<ObjectsMeasurement>('bench-objects-main', [form, String(valueCount)], `objects, ${form},`, ['--expose-gc']));
    }
  }
  const checksums = new Set(forms.flatMap((form) => samples[form].map((m) => m.checksum)));
  if (checksums.size !== 1) throw new Error(`objects: the forms read different values back (checksums ${[...checksums].join(', ')})`);
  return { count: valueCount, rounds, forms: Object.fromEntries(forms.map((form) => [form, medians(samples[form])])) };
}

/** The objects table: one row per form; the bytes each takes, where they are, and the times. */
export function objectsTable(r: ObjectsResults): string[][] {
  const js = r.forms.js;
  const values = 3 * r.count;
  const head = ['form', 'build ms', 'read ms', 'full V8 GC ms', 'bytes/value in the heap', 'V8 heap growth', 'x JS memory'];
  return [head].concat(
    Object.entries(r.forms).map(([form, m]) => {
      const held = m.heapBytes + m.handleBytes + Math.max(0, m.v8HeapGrowth);
      return [
        FORM_LABELS[form],
        m.buildMs.toFixed(0),
        m.readMs.toFixed(0),
        m.gcMs.toFixed(1),
        form === 'js' ? '-' : `${(m.heapBytes / values).toFixed(1)} (+${(m.handleBytes / values).toFixed(0)} pointer)`,
        // A heap form's growth is noise around 0 (the GC may free a little of what was there before): not shown as -0.0.
        mib(Math.max(0, m.v8HeapGrowth)),
        `${(held / Math.max(1, js.v8HeapGrowth)).toFixed(2)}x`,
      ];
    }),
  );
}

/** The sentence under the table: what the heap form saves in memory and GC time, from the figures. */
export function objectsSummary(r: ObjectsResults): string {
  const js = r.forms.js;
  const heap = r.forms.native ?? r.forms.fallback;
  const held = heap.heapBytes + heap.handleBytes + Math.max(0, heap.v8HeapGrowth);
  return (
    `${count(3 * r.count)} values (${count(r.count)} each of ints, floats and strings), medians of ${r.rounds} rounds: ` +
    `in the heap they take ${mib(held)} (blocks and pointers) where JS values grow V8's heap by ${mib(js.v8HeapGrowth)}, ` +
    `and a full V8 GC with them alive takes ${heap.gcMs.toFixed(1)} ms instead of ${js.gcMs.toFixed(1)} ms.`
  );
}

/**
 * The records table: per form the times (a full heap.gc.collect() among them: every record is a dict
 * holding a list, two containers tracked a record), the heap's bytes per record and committed growth,
 * V8's growth.
 */
export function recordsTable(r: ObjectsResults): string[][] {
  const js = r.forms['records-js'];
  const head = ['form', 'build ms', 'read ms', 'full V8 GC ms', 'heap.gc.collect() ms', 'heap bytes/record', 'heap committed', 'V8 heap growth', 'x JS memory'];
  return [head].concat(
    Object.entries(r.forms).map(([form, m]) => {
      const held = m.committedGrowth + m.handleBytes + Math.max(0, m.v8HeapGrowth);
      return [
        FORM_LABELS[form],
        m.buildMs.toFixed(0),
        m.readMs.toFixed(0),
        m.gcMs.toFixed(1),
        form === 'records-js' ? '-' : m.collectMs.toFixed(1),
        form === 'records-js' ? '-' : `${(m.heapBytes / r.count).toFixed(0)} (+${(m.handleBytes / r.count).toFixed(0)} pointer)`,
        form === 'records-js' ? '-' : mib(m.committedGrowth),
        mib(Math.max(0, m.v8HeapGrowth)),
        `${(held / Math.max(1, js.v8HeapGrowth)).toFixed(2)}x`,
      ];
    }),
  );
}

/** The sentence under it: memory, and how much shorter a full V8 GC is with the records in the heap. */
export function recordsSummary(r: ObjectsResults): string {
  const js = r.forms['records-js'];
  const heap = r.forms['records-native'] ?? r.forms['records-fallback'];
  return (
    `${count(r.count)} records, medians of ${r.rounds} rounds: as heap dicts they take ${mib(heap.committedGrowth + heap.handleBytes)} (committed, and pointers) where JS objects grow V8's heap by ${mib(js.v8HeapGrowth)}; ` +
    `a full V8 GC with them alive takes ${heap.gcMs.toFixed(1)} ms instead of ${js.gcMs.toFixed(1)} ms (${(js.gcMs / heap.gcMs).toFixed(0)}x shorter).`
  );
}
