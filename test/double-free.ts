// Double frees on the default allocator: a second free, or a realloc, of a freed pymalloc block is
// refused with reason 'double-free' and nothing changed; raw blocks keep their exact 'not-live'
// refusal; a block handed out again is live again. Both backends.
import t, { type Test } from 'tap';
import { BACKENDS, heapOn, snapshot, firstDifference } from './helpers/backends';
import { InvalidPointerError, type Heap } from '../lib/index';
import { FREED_KEY, POOL_SIZE } from '../lib/pymalloc/layout';
import { Random } from './helpers/random';

function refused(t: Test, heap: Heap, call: () => unknown, reason: string, what: string): void {
  const before = snapshot(heap);
  const error = t.throws(call, { name: 'InvalidPointerError', code: 'ERR_PYMEM_INVALID_POINTER', reason }, what);
  t.ok(error instanceof InvalidPointerError);
  t.equal(firstDifference(before, heap.u8), -1, `${what}: no byte changed`);
}

for (const backend of BACKENDS) {
  t.test(backend, async (t) => {
    t.test('a pymalloc block freed twice, or realloc-ed after its free, in either domain', async (t) => {
      const heap = heapOn(backend);
      for (const name of ['mem', 'obj'] as const) {
        const d = heap[name];
        for (const size of [1, 16, 100, 512]) {
          const keep = d.malloc(size); // the pool stays in use after p's free
          const p = d.malloc(size);
          d.free(p);
          refused(t, heap, () => d.free(p), 'double-free', `heap.${name}.free twice, ${size} bytes`);
          refused(t, heap, () => d.realloc(p, size + 8), 'double-free', `heap.${name}.realloc after free, ${size} bytes`);
          t.match((t.throws(() => d.free(p)) as Error).message, new RegExp(`^heap\\.${name}\\.free\\(0x[0-9a-f]+\\): .* is a free block of the object allocator`));
          const q = d.malloc(size);
          t.equal(q, p, 'the freed block is the next one handed out (LIFO)');
          d.free(q);
          d.free(keep);
        }
      }
      heap.check();
    });

    t.test('the refusal holds whichever free-list position the block has', async (t) => {
      const heap = heapOn(backend);
      const blocks = Array.from({ length: 50 }, () => heap.obj.malloc(32));
      for (const p of blocks.slice(0, 49)) heap.obj.free(p);
      for (const p of [blocks[0], blocks[24], blocks[48]]) refused(t, heap, () => heap.obj.free(p), 'double-free', 'deep in the free list');
      heap.obj.free(blocks[49]);
      heap.check();
    });

    t.test('a carved block never handed out is free too', async (t) => {
      const heap = heapOn(backend);
      const p = heap.obj.malloc(48);
      refused(t, heap, () => heap.obj.free(p + 48), 'double-free', 'the pool free list head, carved but never allocated');
      heap.obj.free(p);
      heap.check();
    });

    t.test('a live block whose data holds the key is freed normally', async (t) => {
      const heap = heapOn(backend);
      const keep = heap.obj.malloc(64);
      const p = heap.obj.malloc(64);
      heap.u32[(p + 4) >>> 2] = FREED_KEY;
      heap.obj.free(p);
      refused(t, heap, () => heap.obj.free(p), 'double-free', 'then a second free is caught');
      heap.obj.free(keep);
      heap.check();
    });

    t.test("raw blocks, and pymalloc's blocks over 512 bytes, keep the raw allocator's exact refusal", async (t) => {
      const heap = heapOn(backend);
      for (const name of ['raw', 'mem', 'obj'] as const) {
        for (const size of [0, 600, 5000, 300_000]) {
          const p = heap[name].malloc(size);
          heap[name].free(p);
          const reason = size > 256 * 1024 ? 'free-segment' : 'not-live';
          refused(t, heap, () => heap[name].free(p), reason, `heap.${name}.free twice, ${size} bytes`);
        }
      }
      heap.check();
    });

    t.test('a write after free that overwrites the key is what heap.check() reports', async (t) => {
      const heap = heapOn(backend);
      const keep = heap.obj.malloc(24);
      const p = heap.obj.malloc(24);
      heap.obj.free(p);
      heap.u32[(p + 4) >>> 2] = 0;
      t.throws(() => heap.check(), { name: 'HeapCorruptionError', invariant: 'pymalloc.pool.freekey' });
      heap.u32[(p + 4) >>> 2] = FREED_KEY;
      heap.check();
      heap.obj.free(keep);
    });

    t.test('random frees, blocks freed twice now and then: every second free refused, the heap intact', async (t) => {
      const heap = heapOn(backend);
      const rand = new Random(19).next;
      const live: number[] = [];
      const freed: number[] = [];
      let caught = 0;
      for (let i = 0; i < 6000; i++) {
        const r = rand();
        if (r < 0.5 || live.length === 0) {
          const p = heap.obj.malloc(1 + Math.floor(rand() * 512));
          live.push(p);
          const again = freed.indexOf(p);
          if (again >= 0) freed.splice(again, 1); // handed out again: live once more
        } else if (r < 0.9 || freed.length === 0) {
          const p = live.splice(Math.floor(rand() * live.length), 1)[0];
          heap.obj.free(p);
          freed.push(p);
        } else {
          // A freed block whose pool emptied since is refused as 'free-pool', or as 'not-block' once
          // the pool serves another class; while its pool is in use, as 'double-free'.
          const p = freed[Math.floor(rand() * freed.length)];
          const error = t.throws(() => heap.obj.free(p), { code: 'ERR_PYMEM_INVALID_POINTER' }) as InvalidPointerError;
          t.ok(['double-free', 'free-pool', 'not-block', 'uncarved'].includes(error.reason), error.reason);
          if (error.reason === 'double-free') caught++;
        }
        if (i % 1000 === 0) heap.check();
      }
      t.ok(caught > 100, `${caught} second frees refused as double frees`);
      for (const p of live) heap.obj.free(p);
      heap.check();
      t.equal(heap.stats().pymalloc.allocatedBlocks, 0);
    });

    t.test('pointers into an unaligned arena: its partial pool is uncarved, its next segment part guarded too', async (t) => {
      const heap = heapOn(backend);
      const bases = new Map<number, number>();
      // 20 KiB into a large block: the arena's last pool lies in the block's second segment.
      heap.setArenaAllocator({
        alloc: (size) => {
          const block = heap.raw.malloc(size + 2 * POOL_SIZE);
          bases.set(block + POOL_SIZE + 4096, block);
          return block + POOL_SIZE + 4096;
        },
        free: (p) => {
          heap.raw.free(bases.get(p)!);
          bases.delete(p);
        },
      });
      const blocks = Array.from({ length: 63 * 1021 }, () => heap.obj.malloc(16));
      const [arena] = bases.keys();
      refused(t, heap, () => heap.obj.free(arena + 48), 'uncarved', 'memory of the arena before its first whole pool');
      const later = blocks.find((p) => p >>> 20 === (arena >>> 20) + 1 && p % POOL_SIZE !== 48)!;
      t.ok(later !== undefined, 'a block in the next segment');
      heap.obj.free(later);
      refused(t, heap, () => heap.obj.free(later), 'double-free', "a block in the arena's part of the next segment");
      heap.check();
    });
  });
}
