// Memory as the OS sees it: native gives freed segments back (RSS falls), the fallback cannot and says so.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { createHeap, SEGMENT_SIZE } from '../lib/index';

const MiB = 1 << 20;
const BLOCK = 256 * MiB;

/** VmRSS from /proc/self/status, in bytes. */
function rss(): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
}

t.test('native: a freed 256 MiB block stays committed, cached, until heap.trim(); then RSS falls back', async (t) => {
  const heap = createHeap({ backend: 'native' });
  const before = rss();
  const p = heap.raw.malloc(BLOCK);
  heap.u8.fill(0x5a, p, p + BLOCK);
  const written = rss();
  const resident = heap.stats().residentBytes!;
  t.ok(written - before >= BLOCK - 8 * MiB, `RSS grew by ${(written - before) / MiB} MiB while the block was written`);
  t.ok(resident >= BLOCK, `the region's resident bytes (${resident / MiB} MiB) include the block`);
  heap.raw.free(p);
  const cached = heap.stats();
  t.equal(cached.segments.cached, BLOCK / SEGMENT_SIZE, "all 256 segments cached: a quarter of the 1 GiB region's 1,024");
  t.equal(cached.committedBytes, SEGMENT_SIZE + BLOCK, 'metadata and the cached segments, committed');
  t.ok(cached.residentBytes! >= BLOCK, 'and resident');
  t.equal(heap.raw.malloc(BLOCK), p, 'the same block again, from the cache');
  heap.raw.free(p);
  t.equal(heap.trim(), BLOCK, 'trim() gives the cached segments back');
  const after = rss();
  const stats = heap.stats();
  t.ok(after - before <= 16 * MiB, `RSS is back within 16 MiB of where it was (${(after - before) / MiB} MiB above)`);
  t.ok(stats.residentBytes! <= 64 * 1024, `nothing of the block stays resident (${stats.residentBytes! / MiB} MiB)`);
  t.equal(stats.committedBytes, SEGMENT_SIZE, 'the metadata segment only');
  t.equal(stats.segments.cached, 0);
  t.equal(stats.idleCommittedBytes, 0);
  t.equal(heap.trim(), 0, 'a second trim() finds nothing');
  heap.close();
});

t.test('fallback: released segments read as zeros, and the pages it had to zero are reported', async (t) => {
  const heap = createHeap({ backend: 'fallback' });
  const p = heap.raw.malloc(BLOCK);
  heap.u8.fill(0x5a, p, p + BLOCK);
  const half = heap.raw.malloc(BLOCK); // touched in its first half only
  heap.u8.fill(0x5a, half, half + BLOCK / 2);
  heap.raw.free(p);
  heap.raw.free(half); // the cache is full with p's 256 segments: half's go back, zeroed
  const stats = heap.stats();
  t.equal(stats.committedBytes, SEGMENT_SIZE + BLOCK, 'metadata and the 256 cached segments');
  t.equal(stats.idleCommittedBytes, BLOCK / 2, 'every dirty page of a released segment, no clean one');
  t.equal(stats.residentBytes, null, 'the fallback cannot ask the OS');
  const again = heap.raw.calloc(2 * BLOCK, 1);
  t.equal(Buffer.compare(heap.view(again, 2 * BLOCK), Buffer.alloc(2 * BLOCK)), 0, 'cached and released segments read as zeros');
  t.equal(heap.stats().idleCommittedBytes, 0, 'pages in use again are no longer idle');
  heap.close();
});
