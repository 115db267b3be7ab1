/**
 * `pymem bench --image`: records saved and opened again. Each record { id, name, tags, score } is a
 * heap dict (a list of them the root) or a 48-byte compact block (a table of them the root), on each
 * backend, against the same records written by JSON.stringify and v8.serialize. Per form and round,
 * one process builds the records and saves them (the save timed), and a fresh process opens the file
 * and reads the first record as a JS object (timed: what a program waits for before it can start),
 * then every record. The file is written just before it is opened, so the OS has it in its page
 * cache: these are the times of a warm start, the cost of the bytes read from disk aside.
 */
import * as path from 'node:path';
import { rmSync } from 'node:fs';
import type { ImageMeasurement } from './bench-image-child';
import { runChild } from './child';
import { medians } from './median';
import { count, mib } from '../map/numbers';

export const IMAGE_LABELS: Record<string, string> = {
  'objects-native': 'heap image of dicts, native',
  'objects-fallback': 'heap image of dicts, fallback',
  'blocks-native': 'heap image of compact blocks, native',
  'blocks-fallback': 'heap image of compact blocks, fallback',
  json: 'JSON file, JSON.parse',
  v8: 'v8.serialize file, v8.deserialize',
};

export interface ImageResults {
  count: number;
  rounds: number;
  /** Per form, the median of each figure over the rounds. */
  forms: Record<string, ImageMeasurement>;
}

/** The forms for the backends that run here: both heap forms per backend, then JSON and v8. */
export function imageForms(backends: readonly string[]): string[] {
  return [...['objects', 'blocks'].flatMap((kind) => backends.map((b) => `${kind}-${b}`)), 'json', 'v8'];
}

/** Measures each form `rounds` times, rounds interleaved, its files in `work`; `step` is told before each. */
export function runImage(forms: string[], records: number, rounds: number, work: string, step: (label: string) => void): ImageResults {
  const samples: Record<string, ImageMeasurement[]> = Object.fromEntries(forms.map((form) => [form, []]));
  for (let r = 0; r < rounds; r++) {
    for (const form of forms) {
      step(`image: ${IMAGE_LABELS[form]}, round ${r + 1} of ${rounds}`);
      const file = path.join(work, `${form}.img`);
      const saved = runChild<ImageMeasurement>('bench-image-main', [form, String(records), file, 'save'], `image, ${form}, save,`);
      const opened = runChild<ImageMeasurement>('bench-image-main', [form, String(records), file, 'open'], `image, ${form}, open,`);
      rmSync(file, { force: true });
      samples[form].push({ ...opened, saveMs: saved.saveMs });
    }
  }
  const checksums = new Set(forms.flatMap((form) => samples[form].map((m) => m.checksum)));
  if (checksums.size !== 1) throw new Error(`image: the forms read different records back (checksums ${[...checksums].join(', ')})`);
  return { count: records, rounds, forms: Object.fromEntries(forms.map((form) => [form, medians(samples[form])])) };
}

/** The image table: one row per form. */
export function imageTable(r: ImageResults): string[][] {
  const head = ['form', 'file', 'save ms', 'MB/s saved', 'open + first record ms', 'RSS at first record', 'read all ms'];
  return [head].concat(
    Object.entries(r.forms).map(([form, m]) => [
      IMAGE_LABELS[form],
      mib(m.fileBytes),
      m.saveMs.toFixed(0),
      (m.fileBytes / 1e6 / (m.saveMs / 1000)).toFixed(0),
      m.openMs.toFixed(1),
      mib(Math.max(0, m.openRss)),
      m.readMs.toFixed(0),
    ]),
  );
}

/** The sentence under the table: how much sooner the first record is there than with JSON.parse. */
export function imageSummary(r: ImageResults): string {
  const heap = r.forms['objects-native'] ?? r.forms['objects-fallback'];
  const json = r.forms.json;
  return (
    `${count(r.count)} records, medians of ${r.rounds} rounds, the file in the page cache: a heap image opens with its first record ` +
    `in ${heap.openMs.toFixed(1)} ms where JSON.parse of the same records takes ${json.openMs.toFixed(0)} ms (${(json.openMs / heap.openMs).toFixed(0)}x sooner).`
  );
}
