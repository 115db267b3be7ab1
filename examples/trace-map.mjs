// A trace of CPython 3.12 replayed on a pymem heap: what a real Python program asked of its allocator
// (json_roundtrip: 600 records to JSON and back, twice; bench/traces/, recorded with bench/recorder),
// replayed ROUNDS times as a long-running process repeats its work, each round's survivors kept. Then
// the heap map it leaves, and what fragmentation costs: once all but a few blocks are freed, those few
// keep whole arenas from going back.
//
//   node examples/trace-map.mjs [--rounds N] [--keep-every N] [--out FILE.png|.svg|.html]
//                                (defaults: 20 rounds, 1 block in 50 kept, heap-map.png)
//
// The trace is text (README.md, "Traces"), one event a line: m ID SIZE, c ID NELEM ELSIZE, r ID SIZE, f ID.
import { createHeap, drawHeapMap } from 'pymem';
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const option = (name, fallback) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback);
const ROUNDS = Number(option('--rounds', '20'));
const KEEP_EVERY = Number(option('--keep-every', '50'));
const OUT = option('--out', 'heap-map.png');
const TRACE = new URL('../bench/traces/json_roundtrip.trace.gz', import.meta.url);

const lines = gunzipSync(readFileSync(TRACE)).toString('latin1').split('\n');
const heap = createHeap();
const survivors = []; // the blocks each round leaves live
let events = 0;
for (let round = 0; round < ROUNDS; round++) {
  const live = new Map(); // the trace's block IDs -> pointers
  for (const line of lines) {
    const [op, id, a, b] = line.split(' ');
    if (op === 'm') live.set(id, heap.obj.malloc(Number(a)));
    else if (op === 'c') live.set(id, heap.obj.calloc(Number(a), Number(b)));
    else if (op === 'r') live.set(id, heap.obj.realloc(live.get(id), Number(a)));
    else if (op === 'f') {
      heap.obj.free(live.get(id));
      live.delete(id);
    } else continue;
    events++;
  }
  survivors.push(...live.values());
}

const KiB = 1024;
const figures = (when) => {
  const { pymalloc } = heap.stats();
  console.log(
    `${when}: ${heap.allocatedBlocks().toLocaleString('en-US')} blocks (${(pymalloc.allocatedBytes / KiB).toFixed(0)} KiB) in ${pymalloc.arenasCurrent} arenas ` +
      `(${pymalloc.arenasCurrent} MiB), ${pymalloc.unusedPools} of their ${pymalloc.arenasCurrent * 64} pools unused`,
  );
  return pymalloc;
};

console.log(`json_roundtrip x ${ROUNDS}: ${events.toLocaleString('en-US')} events replayed on heap.obj (${heap.backend})`);
const end = figures('at the end');

// All but every KEEP_EVERY-th surviving block freed, oldest first. pymalloc gives an arena back as
// soon as its last block is freed (it keeps one empty arena against thrashing).
let kept = 0;
survivors.forEach((p, i) => (i % KEEP_EVERY === 0 ? kept++ : heap.obj.free(p)));
const few = figures(`1 block in ${KEEP_EVERY} kept`);
console.log(
  `${kept.toLocaleString('en-US')} blocks keep ${few.arenasCurrent} of ${end.arenasCurrent} arenas from going back: ` +
    `${(few.allocatedBytes / KiB).toFixed(1)} KiB in use hold ${few.arenasCurrent} MiB.`,
);

const map = drawHeapMap(heap, OUT.split('.').pop(), `json_roundtrip, 1 block in ${KEEP_EVERY} kept`);
writeFileSync(OUT, map.data);
console.log(`${OUT}: the heap map, ${map.width} x ${map.height}`);
heap.close();
