// Native vs fallback: one seeded random sequence of malloc/calloc/realloc/free (and arena) operations
// on the three domains (RAW, and MEM and OBJ through pymalloc), sizes from 0 to 4 MiB, driven on both
// backends in lockstep. Every returned pointer, every refusal and
// the region's bytes must be identical; heap.check() passes throughout; every block keeps its bytes.
// Halfway, each heap is saved as an image and the other backend opens it: the run goes on, in
// lockstep still, on native over the fallback's image and the fallback over native's.
import t from 'tap';
import { Random } from './helpers/random';
import { heapOn, firstDifference } from './helpers/backends';
import { RAW_HUGE_THRESHOLD, attachHeap, createHeap, type Heap, type SharedHeap } from '../lib/index';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const SEED = Number(process.env.PYMEM_DIFF_SEED ?? 20261124);
const OPERATIONS = 100_000;
const MAX_BYTES = 48 << 20;
/** Frees grow likelier as live bytes near this, so the heap runs near, and sometimes into, its limit. */
const TARGET_LIVE = MAX_BYTES;
const CHECK_EVERY = 2_000;
const COMPARE_EVERY = 10_000;

interface Block {
  p: number;
  n: number;
  /** The pattern's seed: byte i of the block is (tag + i * 31) & 255 where the block was stamped. */
  tag: number;
  /** The domain that allocated it, and must free it. */
  d: Domain;
}

type Domain = 'raw' | 'mem' | 'obj';
const DOMAINS: readonly Domain[] = ['raw', 'mem', 'obj'];

function size(rng: Random): number {
  const r = rng.next();
  if (r < 0.55) return rng.int(0, 256);
  if (r < 0.8) return rng.int(257, 4096);
  if (r < 0.95) return rng.int(4097, RAW_HUGE_THRESHOLD);
  if (r < 0.96) return RAW_HUGE_THRESHOLD + rng.int(-1, 1);
  return rng.int(RAW_HUGE_THRESHOLD + 1, 4 << 20);
}

/** Offsets of a block that are stamped and verified: all of a small block, a sample of a large one. */
function* probes(n: number): Generator<number> {
  if (n <= 4096) {
    for (let i = 0; i < n; i++) yield i;
    return;
  }
  for (let i = 0; i < n; i += 4093) for (let j = i; j < Math.min(i + 16, n); j++) yield j;
  for (let j = n - 16; j < n; j++) yield j;
}

function stamp(heap: Heap, b: Block, from = 0): void {
  for (const i of probes(b.n)) if (i >= from) heap.u8[b.p + i] = (b.tag + i * 31) & 255;
}

function intact(heap: Heap, b: Block, n = b.n): boolean {
  for (const i of probes(b.n)) if (i < n && heap.u8[b.p + i] !== ((b.tag + i * 31) & 255)) return false;
  return true;
}

function zeroed(heap: Heap, b: Block): boolean {
  for (const i of probes(b.n)) if (heap.u8[b.p + i] !== 0) return false;
  return true;
}

t.test(`native and fallback agree on ${OPERATIONS} random operations (seed ${SEED})`, async (t) => {
  const heaps = [heapOn('native', { maxBytes: MAX_BYTES }), heapOn('fallback', { maxBytes: MAX_BYTES })];
  let [native, fallback] = heaps;
  const images = mkdtempSync(path.join(tmpdir(), 'pymem-diff-'));
  t.teardown(() => rmSync(images, { recursive: true, force: true }));
  const rng = new Random(SEED);
  const live: Block[] = [];
  const arenas: number[] = [];
  let liveBytes = 0;
  let peak = 0;
  let tag = 0;
  const tally = { malloc: 0, calloc: 0, realloc: 0, free: 0, outOfMemory: 0, refused: 0, arena: 0, huge: 0, pymalloc: 0, images: 0 };
  let failures = 0;

  /** Runs `op` on both heaps; the results must be equal. */
  const both = (what: string, op: (heap: Heap) => number): number => {
    const a = op(native);
    const b = op(fallback);
    if (a !== b && failures++ < 5) t.fail(`${what}: native returned ${a}, fallback ${b}`);
    return a;
  };
  const verify = (what: string, ok: boolean): void => {
    if (!ok && failures++ < 5) t.fail(what);
  };

  for (let i = 1; i <= OPERATIONS && failures === 0; i++) {
    const r = rng.next();
    const pressure = liveBytes / TARGET_LIVE;
    const freeShare = 0.15 + 0.5 * Math.min(pressure, 1);
    if (live.length > 0 && r < freeShare) {
      // free
      const k = rng.int(0, live.length - 1);
      const b = live[k];
      for (const heap of heaps) verify(`op ${i}: block ${b.p} (${b.n} B) kept its bytes until free`, intact(heap, b));
      both(`op ${i}: ${b.d}.free(${b.p})`, (heap) => (heap[b.d].free(b.p), 0));
      live[k] = live[live.length - 1];
      live.pop();
      liveBytes -= b.n;
      tally.free++;
    } else if (live.length > 0 && r < freeShare + 0.25) {
      // realloc: mostly growth and shrinkage near the current size, sometimes anywhere
      const k = rng.int(0, live.length - 1);
      const b = live[k];
      const n = rng.next() < 0.6 ? Math.max(0, Math.round(b.n * (0.25 + rng.next() * 1.5))) : size(rng);
      const q = both(`op ${i}: ${b.d}.realloc(${b.p}, ${n})`, (heap) => heap[b.d].realloc(b.p, n));
      tally.realloc++;
      if (q === 0) {
        tally.outOfMemory++;
        for (const heap of heaps) verify(`op ${i}: a failed realloc kept block ${b.p}`, intact(heap, b));
        continue;
      }
      const moved: Block = { ...b, p: q };
      for (const heap of heaps) verify(`op ${i}: realloc(${b.p} -> ${q}, ${n}) kept the first ${Math.min(n, b.n)} bytes`, intact(heap, moved, Math.min(n, b.n)));
      const nb: Block = { ...b, p: q, n };
      for (const heap of heaps) stamp(heap, nb);
      live[k] = nb;
      liveBytes += n - b.n;
    } else if (r < 0.99 || arenas.length === 0) {
      if (r > 0.98) {
        const a = both(`op ${i}: arenaAlloc()`, (heap) => heap.arenaAlloc());
        if (a !== 0) arenas.push(a);
        tally.arena++;
        continue;
      }
      // malloc or calloc
      const n = size(rng);
      const zero = rng.next() < 0.2;
      const d = DOMAINS[rng.int(0, 2)];
      const p = both(`op ${i}: ${d}.${zero ? 'calloc' : 'malloc'}(${n})`, (heap) => (zero ? heap[d].calloc(n, 1) : heap[d].malloc(n)));
      tally[zero ? 'calloc' : 'malloc']++;
      if (p === 0) {
        tally.outOfMemory++;
        continue;
      }
      if (n > RAW_HUGE_THRESHOLD) tally.huge++;
      if (d !== 'raw' && n > 0 && n <= 512) tally.pymalloc++;
      const b: Block = { p, n, tag: tag++ & 255, d };
      if (zero) for (const heap of heaps) verify(`op ${i}: calloc(${n}) at ${p} is zeroed`, zeroed(heap, b));
      for (const heap of heaps) stamp(heap, b);
      live.push(b);
      liveBytes += n;
      peak = Math.max(peak, liveBytes);
    } else {
      const a = arenas.splice(rng.int(0, arenas.length - 1), 1)[0];
      both(`op ${i}: arenaFree(${a})`, (heap) => (heap.arenaFree(a), 0));
      tally.arena++;
    }

    // Now and then, a pointer that must be refused the same way on both, changing nothing.
    if (i % 97 === 0 && live.length > 0) {
      const b = live[rng.int(0, live.length - 1)];
      // pymalloc cannot tell a free block from a live one in O(1) (CPython cannot either), so its
      // blocks are probed only where no block can start.
      const bad = b.d === 'raw' ? [b.p + 16, b.p + 8, b.p + b.n + 48][i % 3] : b.p + 8;
      const reasons = heaps.map((heap) => {
        try {
          heap[b.d].free(bad);
          return 'freed';
        } catch (e) {
          return (e as { reason: string }).reason;
        }
      });
      // A pointer past the block's end may be the start of another live block: then it must not be tried.
      if (reasons[0] !== reasons[1]) verify(`op ${i}: free(${bad}) refused as ${reasons[0]} on native, ${reasons[1]} on fallback`, false);
      if (reasons[0] === 'freed') {
        const k = live.findIndex((x) => x.p === bad);
        verify(`op ${i}: free(${bad}) succeeded but no live block starts there`, k >= 0);
        liveBytes -= live[k].n;
        live.splice(k, 1);
      } else {
        tally.refused++;
      }
    }

    if (i === OPERATIONS / 2) {
      // Each backend's heap saved, and opened by the other: the same bytes, and the run goes on.
      const [fromNative, fromFallback] = [path.join(images, 'native.img'), path.join(images, 'fallback.img')];
      native.save(fromNative);
      fallback.save(fromFallback);
      const swapped = [createHeap({ image: fromFallback, backend: 'native' }), createHeap({ image: fromNative, backend: 'fallback' })];
      for (const [k, heap] of swapped.entries()) {
        const at = firstDifference(heap.u8, heaps[1 - k].u8);
        verify(`the image of ${heaps[1 - k].backend}'s heap, opened on ${heap.backend}, differs first at byte ${at}`, at === -1);
        heaps[1 - k].close();
      }
      [native, fallback] = swapped;
      heaps[0] = native;
      heaps[1] = fallback;
      tally.images++;
    }
    if (i % CHECK_EVERY === 0) for (const heap of heaps) heap.check();
    if (i % COMPARE_EVERY === 0) {
      const at = firstDifference(native.u8, fallback.u8);
      verify(`after op ${i} the regions differ first at byte ${at} (0x${at.toString(16)})`, at === -1);
    }
  }

  t.equal(failures, 0, 'no divergence');
  t.same(native.stats().segments, fallback.stats().segments, 'same segments by kind');
  t.same(native.stats().pymalloc, fallback.stats().pymalloc, 'same pymalloc figures');
  t.equal(native.allocatedBlocks(), live.filter((b) => b.d !== 'raw').length, 'every MEM and OBJ block counted');

  t.ok(tally.outOfMemory > 0, `the heap ran into its limit (${tally.outOfMemory} times; live bytes peaked at ${peak})`);
  t.ok(tally.huge > 100 && tally.refused > 100 && tally.arena > 100 && tally.pymalloc > 10_000 && tally.images === 1, `every path taken: ${JSON.stringify(tally)}`);
  for (const b of live) both(`${b.d}.free(${b.p})`, (heap) => (heap[b.d].free(b.p), 0));
  for (const a of arenas) both(`arenaFree(${a})`, (heap) => (heap.arenaFree(a), 0));
  for (const heap of heaps) heap.check();
  t.equal(firstDifference(native.u8, fallback.u8), -1, 'identical regions once everything is freed');
  t.equal(native.stats().rawBlocks + fallback.stats().rawBlocks, 0);
});

// A shared heap on each backend, its threads taking turns: three attachments in this thread stand for
// three threads, so the schedule is the seed's. Blocks are freed by whichever attachment the seed picks,
// most by one that did not allocate them (deferred to their owner), and one attachment is closed and its
// slot adopted by a new one now and then. Both regions must stay byte for byte the same.
t.test('shared heaps on native and fallback agree under a deterministic schedule of threads', async (t) => {
  const SHARED_OPERATIONS = 30_000;
  const make = (backend: 'native' | 'fallback'): Heap[] => {
    const first = createHeap({ shared: true, backend, maxBytes: MAX_BYTES }) as SharedHeap;
    return [first, attachHeap(first.share()), attachHeap(first.share())];
  };
  const sides = [make('native'), make('fallback')];
  const rng = new Random(SEED + 1);
  const live: Block[] = [];
  let failures = 0;
  let adoptions = 0;
  const both = (what: string, op: (threads: Heap[]) => number): number => {
    const [a, b] = sides.map(op);
    if (a !== b && failures++ < 5) t.fail(`${what}: native returned ${a}, fallback ${b}`);
    return a;
  };
  for (let i = 1; i <= SHARED_OPERATIONS && failures === 0; i++) {
    const who = rng.int(0, 2);
    if (live.length > 0 && rng.next() < 0.48) {
      const k = rng.int(0, live.length - 1);
      const b = live[k];
      for (const threads of sides) if (!intact(threads[0], b) && failures++ < 5) t.fail(`op ${i}: block ${b.p} changed`);
      both(`op ${i}: thread ${who} frees ${b.p}`, (threads) => (threads[who][b.d].free(b.p), 0));
      live[k] = live[live.length - 1];
      live.pop();
    } else {
      const n = rng.next() < 0.85 ? rng.int(1, 512) : rng.int(513, 64 << 10);
      const d = DOMAINS[rng.int(0, 2)];
      const p = both(`op ${i}: thread ${who} ${d}.malloc(${n})`, (threads) => threads[who][d].malloc(n));
      if (p === 0) continue;
      const b: Block = { p, n, tag: i & 255, d };
      for (const threads of sides) stamp(threads[0], b);
      live.push(b);
    }
    if (i % 5000 === 0) {
      // Thread 2 ends; a new thread attaches and takes its slot, pools and deferred blocks included.
      for (const threads of sides) {
        threads[2].close();
        threads[2] = attachHeap((threads[0] as SharedHeap).share());
      }
      adoptions++;
    }
    if (i % 3000 === 0) {
      for (const threads of sides) threads[0].check();
      const at = firstDifference(sides[0][0].u8, sides[1][0].u8);
      if (at !== -1 && failures++ < 5) t.fail(`after op ${i} the shared regions differ first at byte ${at}`);
    }
  }
  t.equal(failures, 0, 'no divergence');
  t.equal(sides[0][0].allocatedBlocks(), live.filter((b) => b.d !== 'raw').length, 'every MEM and OBJ block counted, over the threads');
  t.equal(adoptions, 6, 'a slot closed and adopted every 5000 operations');
  for (const b of live) both(`free(${b.p})`, (threads) => (threads[1][b.d].free(b.p), 0));
  for (const threads of sides) threads[0].check();
  t.equal(firstDifference(sides[0][0].u8, sides[1][0].u8), -1, 'identical regions once everything is freed');
  for (const threads of sides) for (const h of threads) h.close();
});
