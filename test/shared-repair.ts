// lib/shared/repair.ts, journal.ts, check.ts and open.ts, deterministically: a second attachment in this thread stands for a worker, its
// state is left as a thread stopped at a chosen point would leave it, and repairState() must give back a
// state that heap.check() passes, with every block in use still counted. (test/shared.ts terminates real
// workers at whatever point the scheduler picks.)
import t from 'tap';
import { BACKENDS } from './helpers/backends';
import { attachHeap, createHeap, type SharedHeap } from '../lib/index';
import { repairState } from '../lib/shared/repair';
import { abandonSlot } from '../lib/shared/slots';
import { slotState, SH_JOURNAL, JOURNAL_CAPACITY, deferredHead } from '../lib/shared/layout';
import { deferredCount } from '../lib/shared/pymalloc';
import { journaled, rollback, commit } from '../lib/shared/journal';
import { openSharedBackend } from '../lib/shared/open';
import {
  POOL_SIZE, POOL_NEXTOFFSET, POOL_MAXNEXTOFFSET, POOL_FREEBLOCK, POOL_COUNT, POOL_SZIDX, AO_POOL_ADDRESS, AO_SIZE, OBM_ARENAS,
  DUMMY_SIZE_IDX, ARENA_SIZE, POOL_OWNER, stateField, blockSize,
} from '../lib/pymalloc/layout';

/** A shared heap and a second attachment ("the worker") with blocks of every class, some freed by the first. */
function setUp(backend: 'native' | 'fallback'): { main: SharedHeap; worker: SharedHeap; live: number[] } {
  const main = createHeap({ shared: true, backend, maxBytes: 32 << 20 }) as SharedHeap;
  const worker = attachHeap(main.share());
  const live: number[] = [];
  for (let i = 0; i < 3000; i++) live.push(worker.obj.malloc(1 + ((i * 37) % 512)));
  // Every third block freed by the main thread (deferred to the worker), every fifth by the worker itself.
  for (let i = 0; i < live.length; i++) {
    if (i % 3 === 0) main.obj.free(live[i]);
    else if (i % 5 === 0) worker.obj.free(live[i]);
  }
  return { main, worker, live: live.filter((_, i) => i % 3 !== 0 && i % 5 !== 0) };
}

/** The worker's pymalloc state block. */
function stateOf(heap: SharedHeap, slot: number): number {
  return slotState(heap.u32, slot);
}

/** What the thread's exit leaves: its state rebuilt, its slot abandoned (heap.watch's reclaim). */
function exitWorker(main: SharedHeap, slot: number): number {
  const taken = repairState(main.u32, main.i32, stateOf(main, slot), slot);
  abandonSlot(main.i32, slot);
  return taken;
}

/** The pools of the worker's first arena that hold blocks. */
function usedPools(main: SharedHeap, slot: number): number[] {
  const ao = stateField(stateOf(main, slot), OBM_ARENAS);
  const pools: number[] = [];
  for (let i = 0; i < 8; i++) {
    const address = main.u32[ao + i * AO_SIZE >>> 2];
    if (address === 0) continue;
    for (let pool = address; pool < main.u32[(ao + i * AO_SIZE + AO_POOL_ADDRESS) >>> 2]; pool += POOL_SIZE) {
      if (main.u32[(pool + POOL_COUNT) >>> 2] > 0) pools.push(pool);
    }
  }
  return pools;
}

for (const backend of BACKENDS) {
  t.test(backend, async (t) => {
    t.test('a thread stopped between operations: its deferred blocks come back, its blocks in use stay counted', async (t) => {
      const { main, worker, live } = setUp(backend);
      t.equal(deferredCount(main.u32, main.i32, stateOf(main, worker.slot)), 1000, 'blocks wait on deferred lists');
      t.equal(exitWorker(main, worker.slot), 1000, 'the 1000 blocks the main thread freed are taken back');
      main.check();
      t.equal(main.allocatedBlocks(), live.length);
      // The next thread adopts the slot and frees the rest: nothing is left, nothing is freed twice.
      const next = attachHeap(main.share());
      t.equal(next.slot, worker.slot);
      for (const p of live) next.obj.free(p);
      main.check();
      t.equal(main.allocatedBlocks(), 0);
      next.close();
      main.close();
    });

    t.test('stopped inside poolExtend (a block carved, not yet listed), and partway into a pool it had just carved', async (t) => {
      const { main, worker, live } = setUp(backend);
      const [pool] = usedPools(main, worker.slot).filter((p) => main.u32[(p + POOL_NEXTOFFSET) >>> 2] + blockSize(main.u32[(p + POOL_SZIDX) >>> 2]) <= POOL_SIZE);
      const bs = blockSize(main.u32[(pool + POOL_SZIDX) >>> 2]);
      main.u32[(pool + POOL_NEXTOFFSET) >>> 2] += bs; // carved, on no list: a block no thread holds
      // A pool carved (pool_address moved on) whose header was only stamped DUMMY_SIZE_IDX, in the
      // arena still carving.
      const table = stateField(stateOf(main, worker.slot), OBM_ARENAS);
      let ao = table;
      while (main.u32[(ao + AO_POOL_ADDRESS) >>> 2] === main.u32[ao >>> 2] + ARENA_SIZE) ao += AO_SIZE;
      const fresh = main.u32[(ao + AO_POOL_ADDRESS) >>> 2];
      main.u32[(fresh + POOL_SZIDX) >>> 2] = DUMMY_SIZE_IDX;
      main.u32[(ao + AO_POOL_ADDRESS) >>> 2] = fresh + POOL_SIZE;
      exitWorker(main, worker.slot);
      main.check();
      t.equal(main.allocatedBlocks(), live.length + 1, 'the carved block counts as in use');
      main.close();
    });

    t.test('a pool stopped halfway into its first use for a class is made fresh; a free list leaving its pool is cut', async (t) => {
      const { main, worker, live } = setUp(backend);
      // An empty pool whose fields no longer agree with a class, as a first use stopped before its szidx:
      // 62 blocks of 512 bytes fill two pools of 31, and freeing them all empties at least one.
      const before = new Set(usedPools(main, worker.slot));
      const big = Array.from({ length: 62 }, () => worker.obj.malloc(512));
      const emptied = [...new Set(big.map((p) => (p & ~(POOL_SIZE - 1)) >>> 0))].filter((p) => !before.has(p));
      for (const p of big) worker.obj.free(p);
      const pool = emptied.find((p) => main.u32[(p + POOL_COUNT) >>> 2] === 0);
      if (pool === undefined) throw new Error('no pool was emptied');
      main.u32[(pool + POOL_MAXNEXTOFFSET) >>> 2] = 12345;
      // A free list that leaves its pool (no stopped thread leaves one: this is damage) is cut there.
      const hasTwo = (p: number): boolean => {
        const first = main.u32[(p + POOL_FREEBLOCK) >>> 2];
        return first !== 0 && main.u32[first >>> 2] !== 0;
      };
      const damaged = usedPools(main, worker.slot).find(hasTwo);
      if (damaged === undefined) throw new Error('no pool with two free blocks');
      main.u32[main.u32[(damaged + POOL_FREEBLOCK) >>> 2] >>> 2] = 0x7ffff0;
      exitWorker(main, worker.slot);
      main.check();
      t.equal(main.u32[(pool + POOL_SZIDX) >>> 2], DUMMY_SIZE_IDX, 'the pool waits for a first use');
      t.ok(main.allocatedBlocks() > live.length, 'blocks past the cut count as in use');
      main.close();
    });
  });
}

t.test('heap.check() names what is wrong between the threads', async (t) => {
  for (const backend of BACKENDS) {
    const damage: [string, (main: SharedHeap, worker: SharedHeap, pool: number, block: number) => void][] = [
      ['shared.pool.owner', (main, _worker, pool) => void (main.u32[(pool + POOL_OWNER) >>> 2] = 7)],
      ['shared.deferred.block', (main, _worker, _pool, block) => void (main.u32[block >>> 2] = 0x7ffff0)],
      ['shared.deferred.twice', (main, _worker, pool, block) => void (main.u32[block >>> 2] = main.u32[(pool + POOL_FREEBLOCK) >>> 2])],
      ['shared.deferred.twice', (main, _worker, _pool, block) => void (main.u32[block >>> 2] = block)],
    ];
    for (const [invariant, damageIt] of damage) {
      const main = createHeap({ shared: true, backend, maxBytes: 8 << 20 }) as SharedHeap;
      const worker = attachHeap(main.share());
      const blocks = Array.from({ length: 10 }, () => worker.obj.malloc(64));
      main.obj.free(blocks[3]); // deferred: the list holds this one block
      main.check();
      damageIt(main, worker, (blocks[3] & ~(POOL_SIZE - 1)) >>> 0, blocks[3]);
      t.throws(() => main.check(), { code: 'ERR_PYMEM_HEAP_CORRUPTION', invariant }, `${backend}: ${invariant}`);
      main.close();
    }
    // A deferred list that reaches a block of an empty pool: a block freed into a pool that holds none.
    const main = createHeap({ shared: true, backend, maxBytes: 8 << 20 }) as SharedHeap;
    const worker = attachHeap(main.share());
    const p = worker.obj.malloc(64);
    worker.obj.free(p);
    main.u32[deferredHead(stateOf(main, worker.slot), 3) >>> 2] = p;
    t.throws(() => main.check(), { code: 'ERR_PYMEM_HEAP_CORRUPTION', invariant: 'shared.deferred.block' });
    main.close();
  }
});

t.test('the raw journal: stores are undone newest first, and an operation past its capacity says it cannot be', async (t) => {
  const m = new Uint32Array((32 << 20) / 4);
  m[100] = 1;
  const logged = journaled(m);
  logged[100] = 2;
  logged[100] = 3;
  logged[200] = 9;
  t.equal(rollback(m), 3);
  t.same([m[100], m[200]], [1, 0]);
  for (let i = 0; i <= JOURNAL_CAPACITY; i++) logged[300] = i;
  t.equal(m[300], JOURNAL_CAPACITY, 'stores past the capacity still happen');
  t.equal(rollback(m), -1);
  commit(m);
  t.equal(Buffer.from(m.buffer, SH_JOURNAL, 64 << 10).every((b) => b === 0), true, 'an emptied journal is zeros');
});

t.test("a thread's attachment that finds no room gives its slot back; an 'auto' heap runs where the addon cannot", async (t) => {
  for (const backend of BACKENDS) {
    const main = createHeap({ shared: true, backend, maxBytes: 2 << 20 }) as SharedHeap;
    const attached: SharedHeap[] = [];
    let error: unknown;
    try {
      for (;;) attached.push(attachHeap(main.share()));
    } catch (e) {
      error = e;
    }
    t.match(error, { code: 'ERR_PYMEM_NO_MEMORY', message: /no room for this thread's allocator state/ });
    attached.pop()?.close();
    t.equal(attachHeap(main.share()).slot, attached.length + 1, 'the failed slot and the closed one are taken again');
    main.check();
    t.ok(main.trim() >= 0);
    main.close();
  }
  const buffer = new SharedArrayBuffer(2 << 20);
  const failed = { error: 'no addon here' };
  t.throws(() => openSharedBackend('native', { buffer, holder: 1, adopt: false }, failed), { code: 'ERR_PYMEM_NATIVE_UNAVAILABLE', message: /no addon here/ });
  const opened = openSharedBackend('auto', { buffer, holder: 1, adopt: false }, failed);
  t.same([opened.backend.name, opened.fellBack, opened.reason], ['fallback', true, 'auto: the native addon is not available: no addon here']);
  t.equal(createHeap({ shared: true, maxBytes: 2 << 20 }).backendReason.startsWith('auto: native addon'), true);
});
