// A leak found with tracemalloc, as CPython's documentation finds one: a snapshot, more work, a
// second snapshot, and the difference by line, which names the line that keeps memory.
//
//   node examples/leak.mjs [--requests N]        (default 20,000)
//
// The server below answers requests: each one takes a buffer for its response and gives it back, and
// each also records the session in a table that nothing ever empties. That table is the leak.
import { createHeap } from 'pymem';

const at = process.argv.indexOf('--requests');
const REQUESTS = at > 0 ? Number(process.argv[at + 1]) : 20_000;

const heap = createHeap();
const sessions = new Map();

function respond(id) {
  const buffer = heap.mem.malloc(1024); // the response, built and sent
  heap.u8.fill(id & 0xff, buffer, buffer + 1024);
  heap.mem.free(buffer);
}

function remember(id) {
  const session = heap.mem.malloc(200); // the session's state: kept for good
  heap.u32[session >>> 2] = id;
  sessions.set(id, session);
}

function serve(from, to) {
  for (let id = from; id < to; id++) {
    respond(id);
    remember(id);
  }
}

heap.tracemalloc.start();
serve(0, REQUESTS / 10);
const before = heap.tracemalloc.takeSnapshot();
serve(REQUESTS / 10, REQUESTS);
const after = heap.tracemalloc.takeSnapshot();

console.log(`[ Top 3 differences after ${(REQUESTS - REQUESTS / 10).toLocaleString('en-US')} more requests ]`);
for (const stat of after.compareTo(before, 'lineno').slice(0, 3)) console.log(String(stat));
const [current, peak] = heap.tracemalloc.getTracedMemory();
console.log(`traced memory: ${(current / 1024).toFixed(0)} KiB now, ${(peak / 1024).toFixed(0)} KiB at the peak`);
heap.tracemalloc.stop();
heap.close();
