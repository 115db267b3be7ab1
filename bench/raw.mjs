// The cost of raw malloc/free pairs on the native backend and on the fallback, measured side by side in
// one run, at sizes from a small pool block to large blocks of whole segments.
//
//   node bench/raw.mjs [--quick]          (npm run bench:raw)
//
// Two patterns per size: "pair" frees each block at once (the allocator's fast path, and each backend's
// per-call overhead); "batch" allocates 1,000 blocks, then frees them in a shuffled order (splits,
// coalescing and free-list traffic). Each figure is the median of R runs, with the spread (min-max);
// each run lasts about 25 ms, its operation count calibrated per backend and row by a first, untimed run,
// so that a GC pause or a page fault elsewhere in the process cannot dominate a cheap row.
import os from 'node:os';
import { createHeap, nativeAddon } from 'pymem';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 3 : 7;
const SIZES = [16, 256, 4096, 65536, 262144, 1 << 20, 16 << 20];
const BATCH = 1000;

function label(n) {
  return n >= 1 << 20 ? `${n / (1 << 20)} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} B`;
}

const RUN_NS = 25e6;

/** The operations for a ~25 ms run, from a calibration run's ns per operation (whole batches). */
function opsFor(nsPerOp, batchSize) {
  const ops = Math.min(5e6, Math.max(batchSize, RUN_NS / nsPerOp));
  return Math.ceil(ops / batchSize) * batchSize;
}

function pair(heap, n, ops) {
  const raw = heap.raw;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) raw.free(raw.malloc(n));
  return Number(process.hrtime.bigint() - t0) / ops;
}

function batch(heap, n, ops, order) {
  const raw = heap.raw;
  const blocks = new Array(BATCH).fill(0);
  const rounds = Math.max(1, Math.floor(ops / BATCH));
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < BATCH; i++) blocks[i] = raw.malloc(n);
    for (let i = 0; i < BATCH; i++) raw.free(blocks[order[i]]);
  }
  return Number(process.hrtime.bigint() - t0) / (rounds * BATCH);
}

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[sorted.length >> 1], min: sorted[0], max: sorted[sorted.length - 1] };
}

function fmt({ median, min, max }) {
  return `${median.toFixed(1)} (${min.toFixed(1)}-${max.toFixed(1)})`;
}

const native = nativeAddon();
const backends = native.available ? ['native', 'fallback'] : ['fallback'];
console.log(`# raw malloc + free, ns per pair: median of ${RUNS} runs (min-max)`);
console.log(`# ${os.cpus()[0].model}, ${os.cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
if (!native.available) console.log(`# native backend unavailable: ${native.reason}`);
console.log('');
console.log(`| size | pattern | ${backends.join(' | ')} |${backends.length === 2 ? ' native / fallback |' : ''}`);
console.log(`| --- | --- |${backends.map(() => ' ---: |').join('')}${backends.length === 2 ? ' ---: |' : ''}`);

// One heap per backend for the whole run: 1 GiB fits a batch of 1,000 blocks up to 1 MiB (16 MiB
// blocks are measured in batches that fit: the region, not the allocator, is the limit there).
const heaps = Object.fromEntries(backends.map((b) => [b, createHeap({ backend: b, maxBytes: 2 ** 32 })]));
let seed = 12345;
const order = Array.from({ length: BATCH }, (_, i) => i);
for (let i = BATCH - 1; i > 0; i--) {
  seed = (seed * 1103515245 + 12345) >>> 0;
  const j = seed % (i + 1);
  [order[i], order[j]] = [order[j], order[i]];
}
const bigOrder = order.filter((i) => i < 200);

for (const n of SIZES) {
  for (const pattern of ['pair', 'batch']) {
    const batchSize = pattern === 'pair' ? 1 : n >= 16 << 20 ? 200 : BATCH;
    const measure = (heap, ops) => (pattern === 'pair' ? pair(heap, n, ops) : n >= 16 << 20 ? batchOf(heap, n, ops) : batch(heap, n, ops, order));
    const results = {};
    const ops = {};
    for (const b of backends) {
      results[b] = [];
      ops[b] = opsFor(measure(heaps[b], Math.max(batchSize, 1000)), batchSize); // warms up, calibrates
    }
    for (let r = 0; r < RUNS; r++) {
      // Alternate the backends within each run so that machine noise hits both alike.
      for (const b of r % 2 ? [...backends].reverse() : backends) {
        results[b].push(measure(heaps[b], ops[b]));
        if (heaps[b].stats().rawBlocks !== 0) throw new Error(`${b}: blocks left behind`);
      }
    }
    const s = Object.fromEntries(backends.map((b) => [b, stats(results[b])]));
    const ratio = backends.length === 2 ? ` ${(s.native.median / s.fallback.median).toFixed(2)} |` : '';
    console.log(`| ${label(n)} | ${pattern} | ${backends.map((b) => fmt(s[b])).join(' | ')} |${ratio}`);
  }
}

/** Batches of 200 for blocks too large for 1,000 to fit in the region. */
function batchOf(heap, n, ops) {
  const raw = heap.raw;
  const blocks = new Array(200).fill(0);
  const rounds = Math.max(1, Math.floor(ops / 200));
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < 200; i++) blocks[i] = raw.malloc(n);
    for (let i = 0; i < 200; i++) raw.free(blocks[bigOrder[i]]);
  }
  return Number(process.hrtime.bigint() - t0) / (rounds * 200);
}

for (const heap of Object.values(heaps)) {
  heap.check();
  heap.close();
}
