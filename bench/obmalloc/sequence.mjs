// The object-allocator workloads as files every contender replays: the same blocks, the same order.
//
//   u32 magic "pmsq", u32 live, u32 ops,
//   u32 initial[live]   sizes of the blocks allocated before timing starts (slot k holds block k)
//   u32 slot[ops]       then, for each pair: free the block in slot[i] ...
//   u32 size[ops]       ... and malloc size[i] bytes into that slot
//
// Workloads: 'uniform', sizes uniform in 8..512, which spreads blocks over all 32 size classes
// (pymalloc's worst case); 'cpython', sizes drawn from the live blocks of CPython 3.12 running a real
// program (bench/fixtures/cpython-size-mix.json, recorded by cpython-size-mix.py).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MAGIC = 0x7173_6d70; // "pmsq"
const HERE = path.dirname(fileURLToPath(import.meta.url));

/** mulberry32, as test/helpers/random.ts: seeded, so every run replays the same sequence. */
function random(seed) {
  let state = seed >>> 0;
  return () => {
    let t = (state = (state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sampler(workload, rng) {
  if (workload === 'uniform') return () => 8 + Math.floor(rng() * 505);
  const { histogram } = JSON.parse(fs.readFileSync(path.join(HERE, '..', 'fixtures', 'cpython-size-mix.json'), 'utf8'));
  const sizes = Uint32Array.from(histogram, ([size]) => size);
  const cumulative = new Float64Array(histogram.length);
  let total = 0;
  histogram.forEach(([, count], i) => (cumulative[i] = total += count));
  return () => {
    const x = rng() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid] <= x) lo = mid + 1;
      else hi = mid;
    }
    return sizes[lo];
  };
}

/** Writes the workload's sequence to `file`. */
export function writeSequence(file, workload, live, ops, seed = 20261124) {
  const rng = random(seed);
  const size = sampler(workload, rng);
  const words = new Uint32Array(3 + live + 2 * ops);
  words.set([MAGIC, live, ops]);
  for (let k = 0; k < live; k++) words[3 + k] = size();
  const slots = words.subarray(3 + live, 3 + live + ops);
  const sizes = words.subarray(3 + live + ops);
  for (let i = 0; i < ops; i++) {
    slots[i] = Math.floor(rng() * live);
    sizes[i] = size();
  }
  fs.writeFileSync(file, words);
}

/** Reads a sequence file back. */
export function readSequence(file) {
  const bytes = fs.readFileSync(file);
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  if (words[0] !== MAGIC) throw new Error(`${file} is not a sequence file`);
  const live = words[1];
  const ops = words[2];
  return { live, ops, initial: words.subarray(3, 3 + live), slots: words.subarray(3 + live, 3 + live + ops), sizes: words.subarray(3 + live + ops) };
}
