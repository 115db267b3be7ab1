// A short tour of a pymem heap on each backend. It allocates a mix of blocks (small ones
// in raw pools, large ones as runs of whole segments), writes them, frees half and then the rest, and
// prints the heap's figures after each step.
//
//   node examples/demo.mjs [--heap MiB]     (--heap 256: a heap too small for the mix)
import { createHeap, nativeAddon } from 'pymem';

const MiB = 1 << 20;
const at = process.argv.indexOf('--heap');
const heapMiB = at > 0 ? Number(process.argv[at + 1]) : 1024;
const mib = (n) => (n === null ? '-' : `${(n / MiB).toFixed(1)} MiB`);

/** A fixed mix: 100,000 blocks of 16 B-4 KiB, 2,000 of 4-256 KiB, 16 of 1-8 MiB. */
function sizes() {
  let seed = 2026;
  const rand = (lo, hi) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return lo + (seed % (hi - lo + 1));
  };
  const out = [];
  for (let i = 0; i < 100_000; i++) out.push(rand(16, 4096));
  for (let i = 0; i < 2_000; i++) out.push(rand(4097, 256 * 1024));
  for (let i = 0; i < 16; i++) out.push(rand(MiB, 8 * MiB));
  return out;
}

function row(step, heap, ms) {
  const s = heap.stats();
  return [step, s.rawBlocks.toLocaleString('en-US'), mib(s.rawBytes), mib(s.committedBytes), mib(s.residentBytes), mib(s.idleCommittedBytes), `${s.segments.rawPool}/${s.segments.huge}/${s.segments.cached}`, `${ms.toFixed(1)} ms`];
}

function table(rows) {
  const head = ['step', 'raw blocks', 'requested', 'committed', 'resident', 'idle', 'pool/huge/cached segs', 'time'];
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  for (const r of all) console.log('  ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
}

const native = nativeAddon();
const backends = native.available ? ['native', 'fallback'] : ['fallback'];
if (!native.available) console.log(`The native addon is not available here (${native.reason}); showing the fallback only.\n`);
const mix = sizes();

for (const backend of backends) {
  const heap = createHeap({ backend, maxBytes: heapMiB * MiB });
  console.log(`${backend} backend: ${heap.backendReason}`);
  const rows = [row('new heap', heap, 0)];
  let t0 = performance.now();
  let refused = 0;
  const blocks = mix.map((n) => {
    const p = heap.raw.malloc(n);
    if (p === 0) refused++; // out of memory: NULL, never to be written through
    else heap.u8.fill(0x5a, p, p + Math.min(n, 4096)); // touch each block as a program would
    return p;
  });
  rows.push(row(`malloc ${blocks.length.toLocaleString('en-US')}`, heap, performance.now() - t0));
  if (refused) console.log(`  (${refused.toLocaleString('en-US')} requests found the heap full and got 0, as C's malloc returns NULL)`);
  t0 = performance.now();
  for (let i = 0; i < blocks.length; i += 2) heap.raw.free(blocks[i]); // free(0) does nothing
  rows.push(row('free every other', heap, performance.now() - t0));
  t0 = performance.now();
  for (let i = 1; i < blocks.length; i += 2) heap.raw.free(blocks[i]);
  rows.push(row('free the rest', heap, performance.now() - t0));
  table(rows);
  heap.check();
  heap.close();
  console.log('');
}
console.log('committed: segments the heap holds; resident: its pages in RAM (native only); idle: pages the fallback');
console.log('had to zero when it released them, which the OS keeps. `npm run bench:raw` measures both backends.');
