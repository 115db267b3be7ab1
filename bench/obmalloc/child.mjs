// One measurement in a process of its own (so no contender's JIT feedback colours another's):
//   node child.mjs CONTENDER SEQUENCE_FILE
// CONTENDER: pymem-native, pymem-fallback (heap.obj), thing (@thi.ng/malloc), arraybuffer (new
// ArrayBuffer per block). Prints {"nsPerPair": ...} for the timed free+malloc pairs.
import { readSequence } from './sequence.mjs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [contender, file] = process.argv.slice(2);
const { live, ops, initial, slots, sizes } = readSequence(file);

function time(loop) {
  const t0 = process.hrtime.bigint();
  loop();
  return Number(process.hrtime.bigint() - t0) / ops;
}

let nsPerPair;
if (contender.startsWith('pymem-')) {
  const { createHeap } = require('../../dist/index.js');
  const heap = createHeap({ backend: contender.slice(6), maxBytes: 256 << 20 });
  const obj = heap.obj;
  const blocks = new Uint32Array(live);
  for (let k = 0; k < live; k++) blocks[k] = obj.malloc(initial[k]);
  nsPerPair = time(() => {
    for (let i = 0; i < ops; i++) {
      const k = slots[i];
      obj.free(blocks[k]);
      blocks[k] = obj.malloc(sizes[i]);
    }
  });
  heap.check();
} else if (contender === 'thing') {
  const { MemPool } = require('@thi.ng/malloc');
  const pool = new MemPool({ size: 256 << 20 });
  const blocks = new Uint32Array(live);
  for (let k = 0; k < live; k++) blocks[k] = pool.malloc(initial[k]);
  nsPerPair = time(() => {
    for (let i = 0; i < ops; i++) {
      const k = slots[i];
      pool.free(blocks[k]);
      blocks[k] = pool.malloc(sizes[i]);
    }
  });
  if (blocks.includes(0)) throw new Error('@thi.ng/malloc ran out of memory');
} else if (contender === 'arraybuffer') {
  // "free" drops the last reference; V8's collector does the rest, and its time is in the figure.
  const blocks = new Array(live);
  for (let k = 0; k < live; k++) blocks[k] = new ArrayBuffer(initial[k]);
  nsPerPair = time(() => {
    for (let i = 0; i < ops; i++) blocks[slots[i]] = new ArrayBuffer(sizes[i]);
  });
} else {
  throw new Error(`unknown contender ${contender}`);
}
console.log(JSON.stringify({ nsPerPair }));
