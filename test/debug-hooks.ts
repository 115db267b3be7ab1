// Debug hooks on both backends and under each debug allocator: CPython 3.12's reports and byte layouts
// (test/fixtures/debug-hooks-cpython.txt, made by scripts/fixtures/debughooks.py) reproduced scenario
// by scenario, double frees, bad pointers, isFreed, and random operations with heap.check().
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EMPTY_FREE_LISTS } from './helpers/free-lists';
import { BACKENDS, heapOn, snapshot } from './helpers/backends';
import { Random } from './helpers/random';
import { MemoryCorruptionError, type Heap, type AllocatorName, type DomainName } from '../lib/index';
import { hex } from '../lib/errors';

const DEBUG_ALLOCATORS: readonly AllocatorName[] = ['debug', 'pymalloc_debug', 'malloc_debug'];
/** Sizes for random operations: each side of pymalloc's threshold, pool-sized and huge raw blocks. */
const SIZES = [0, 1, 8, 16, 24, 100, 496, 512, 513, 4000, 300_000];

/** The fixture's sections: name -> lines (the comment line with CPython's code dropped). */
const FIXTURE = new Map<string, string[]>();
{
  const text = fs.readFileSync(path.join(__dirname, 'fixtures', 'debug-hooks-cpython.txt'), 'utf8');
  for (const section of text.split(/^## /m).slice(1)) {
    const [name, ...lines] = section.replace(/\n+$/, '').split('\n');
    FIXTURE.set(name, lines.filter((l) => !l.startsWith('# ')));
  }
}

type Scenario = { code: string; run: (heap: Heap, seen: (p: number) => void) => void };

/**
 * A block of `size` bytes from `domain`, `writes` made at offsets from p (a string is written as its
 * bytes), then given to `freeWith`'s free (or, with `realloc`, resized to 100 bytes).
 */
function scenario(code: string, domain: DomainName, size: number, writes: [number, number | string][], freeWith = domain, op: 'free' | 'realloc' = 'free'): Scenario {
  return {
    code,
    run: (h, seen) => {
      const p = h[domain].malloc(size);
      seen(p);
      for (const [at, value] of writes) {
        if (typeof value === 'string') h.u8.set(Buffer.from(value, 'latin1'), p + at);
        else h.u8[p + at] = value;
      }
      if (op === 'free') h[freeWith].free(p);
      else h[freeWith].realloc(p, 100);
    },
  };
}

/** The scenarios of scripts/fixtures/debughooks.py, in pymem's terms, each with the error it must raise. */
const FAULTS: Record<string, Scenario> = {
  buffer_overflow: scenario('ERR_PYMEM_BAD_TRAILING_PAD', 'mem', 16, [[16, 0x78]]),
  api_misuse: scenario('ERR_PYMEM_BAD_ID', 'mem', 16, [], 'raw'),
  api_misuse_obj_mem: scenario('ERR_PYMEM_BAD_ID', 'obj', 8, [], 'mem'),
  buffer_underflow: scenario('ERR_PYMEM_BAD_LEADING_PAD', 'mem', 16, [[-1, 0x41]]),
  underflow_far: scenario('ERR_PYMEM_BAD_LEADING_PAD', 'mem', 16, [[-7, 0], [-3, 0x10]]),
  overflow_17_bytes: scenario('ERR_PYMEM_BAD_TRAILING_PAD', 'obj', 17, [[0, 'hello, world'], [17, 0], [18, 0]]),
  overflow_0_bytes: scenario('ERR_PYMEM_BAD_TRAILING_PAD', 'raw', 0, [[0, 0]]),
  overflow_40_bytes: scenario('ERR_PYMEM_BAD_TRAILING_PAD', 'mem', 40, [[40, '********']]),
  realloc_overflow: scenario('ERR_PYMEM_BAD_TRAILING_PAD', 'mem', 10, [[10, 0x78]], 'mem', 'realloc'),
  write_after_free: {
    code: 'ERR_PYMEM_BAD_TRAILING_PAD',
    run: (h, seen) => {
      const p = h.mem.malloc(24);
      h.mem.free(p);
      const q = h.mem.malloc(16);
      if (q !== p) throw new Error(`the freed block was not reused (${p} then ${q})`);
      seen(q);
      h.u8[p + 20] = 0x21; // through the stale pointer, into the new block's trailing pad
      h.mem.free(q);
    },
  },
};

/** The report of CPython's section `name` for a block at p. */
function expected(name: string, p: number): string[] {
  const lines = FIXTURE.get(name)!;
  const requested = Number(/(\d+) bytes originally requested/.exec(lines.join('\n'))![1]);
  return lines.map((l) => l.replace('{p}', hex(p)).replace('{tail}', hex(p + requested)));
}

for (const backend of BACKENDS) {
  for (const allocator of DEBUG_ALLOCATORS) {
    t.test(`${backend}, ${allocator}`, async (t) => {
      t.test("each scenario's report is CPython's, line by line, and the heap stays usable", async (t) => {
        t.equal(Object.keys(FAULTS).length, [...FIXTURE.keys()].filter((k) => k !== 'layouts').length, 'every fixture scenario is replayed');
        for (const [name, scenario] of Object.entries(FAULTS)) {
          const heap = heapOn(backend, { allocator });
          let p = 0;
          let before: Buffer | undefined;
          const error = (() => {
            try {
              scenario.run(heap, (q) => (p = q));
            } catch (e) {
              before = snapshot(heap);
              return e as MemoryCorruptionError;
            }
            return undefined;
          })();
          t.ok(error instanceof MemoryCorruptionError, `${name}: MemoryCorruptionError`);
          t.equal(error!.code, scenario.code, `${name}: ${scenario.code}`);
          t.equal(error!.pointer, p);
          const ours = `${error!.report}Fatal Python error: ${error!.cpythonFunction}: ${error!.fault}`.split('\n');
          t.same(ours, expected(name, p), `${name}: the report`);
          t.match(error!.message, new RegExp(`^heap\\.(mem|raw|obj)\\.(free|realloc)\\(${hex(p)}\\): ${error!.fault.replace(/[()']/g, '.')}: .+; the block was left as it was`));
          heap.check();
          t.equal(Buffer.compare(before!, snapshot(heap)), 0, `${name}: the failed check wrote nothing`);
          const q = heap.mem.malloc(100);
          heap.mem.free(q);
          heap.check();
          heap.close();
        }
      });

      t.test("blocks have CPython's bytes after malloc, calloc, realloc and free", async (t) => {
        const heap = heapOn(backend, { allocator });
        const lines = FIXTURE.get('layouts')!;
        const dump = (label: string, p: number, n: number, from = p - 16) => `${label} ${Buffer.from(heap.u8.subarray(from, p + n + 8)).toString('hex').replace(/(..)(?!$)/g, '$1 ')}`;
        const ours: string[] = [];
        let p = heap.mem.malloc(5);
        ours.push(dump('malloc(5)', p, 5));
        heap.mem.free(p);
        p = heap.raw.malloc(0);
        ours.push(dump('raw malloc(0)', p, 0));
        heap.raw.free(p);
        p = heap.obj.calloc(3, 4);
        ours.push(dump('obj calloc(3, 4)', p, 12));
        heap.obj.free(p);
        p = heap.mem.malloc(200);
        heap.u8.set(Array.from({ length: 200 }, (_, i) => i & 255), p);
        for (const [from, to] of [[200, 300], [300, 100], [100, 20], [20, 21]]) {
          p = heap.mem.realloc(p, to);
          ours.push(dump(`realloc(${from} -> ${to})`, p, to));
        }
        heap.mem.free(p);
        p = heap.mem.malloc(100);
        heap.u8.set(Array.from({ length: 100 }, (_, i) => i), p);
        for (const [from, to] of [[100, 130], [130, 129]]) {
          p = heap.mem.realloc(p, to);
          ours.push(dump(`realloc(${from} -> ${to})`, p, to));
        }
        heap.mem.free(p);
        p = heap.obj.malloc(24);
        heap.u8.fill(0x78, p, p + 24);
        heap.obj.free(p);
        ours.push(dump('freed(24)', p, 24, p - 8));
        t.same(ours, lines);
        heap.check();
      });

      t.test('a double free is reported as one, from the freed pattern, and changes nothing', async (t) => {
        const heap = heapOn(backend, { allocator });
        for (const [domain, size] of [['mem', 16], ['obj', 2000], ['raw', 100]] as const) {
          const keep = heap[domain].malloc(size); // a neighbour, so that the freed block's segment stays
          const p = heap[domain].malloc(size);
          heap[domain].free(p);
          const before = snapshot(heap);
          const error = t.throws(() => heap[domain].free(p), { code: 'ERR_PYMEM_DOUBLE_FREE', pointer: p }) as MemoryCorruptionError;
          t.match(error.message, `heap.${domain}.free(${hex(p)}): bad ID: Allocated using API '\\xdd', verified using API '`);
          t.match(error.message, /the block was already freed: its header holds the freed pattern 0xdd/);
          const report = error.report.split('\n');
          t.equal(report[0], `Debug memory block at address p=${hex(p)}: API '\\xdd'`);
          t.same(report.slice(3, 10), [7, 6, 5, 4, 3, 2, 1].map((i) => `        at p-${i}: 0xdd *** OUCH`), 'every leading pad byte is dead');
          t.ok(report.some((l) => /^ {4}The 8 pad bytes at tail=0x[0-9a-f]+ are outside the heap's region, so they were not read\.$/.test(l)), 'the bogus tail is not read');
          t.ok(report.includes('    Data at p: dd dd dd dd dd dd dd dd ...'));
          t.throws(() => heap[domain].realloc(p, 8), { code: 'ERR_PYMEM_DOUBLE_FREE' }, 'realloc of a freed block too');
          t.equal(Buffer.compare(before, snapshot(heap)), 0);
          heap[domain].free(keep);
          heap.check();
        }
      });

      t.test('pointers that cannot be blocks: refused before anything is read or written', async (t) => {
        const heap = heapOn(backend, { allocator });
        const p = heap.mem.malloc(32);
        const before = snapshot(heap);
        t.throws(() => heap.mem.free(p + 8), { code: 'ERR_PYMEM_INVALID_POINTER', reason: 'misaligned' });
        t.throws(() => heap.mem.realloc(heap.maxBytes, 8), { code: 'ERR_PYMEM_INVALID_POINTER', reason: 'outside' });
        // A 16-byte aligned pointer into the block's data: its "id" is data, as CPython reports it.
        t.throws(() => heap.mem.free(p + 16), { code: 'ERR_PYMEM_BAD_ID', message: /Allocated using API '\\xcd', verified using API 'm'.*no domain with debug hooks allocated this block/ });
        t.equal(Buffer.compare(before, snapshot(heap)), 0);
        heap.u8[p - 8] = 0xdd;
        t.throws(() => heap.mem.free(p), { code: 'ERR_PYMEM_BAD_ID' }, 'a dead id byte alone, with its pads intact, is not a freed block');
        heap.u8[p - 8] = 0x6d;
        heap.mem.free(p);
        heap.check();
      });

      t.test('a damaged size field is a bad trailing pad, and a tail outside the region is not read', async (t) => {
        const heap = heapOn(backend, { allocator });
        const p = heap.obj.malloc(16);
        for (const [at, value] of [[0, 1], [4, 0xff]]) {
          heap.u8[p - 16 + at] = value; // the size's high word, then a low word past the region
          const error = t.throws(() => heap.obj.free(p), { code: 'ERR_PYMEM_BAD_TRAILING_PAD' }) as MemoryCorruptionError;
          t.match(error.report, /The 8 pad bytes at tail=0x[0-9a-f]+ are outside the heap's region, so they were not read\.\n {4}Data at p: cd cd cd cd cd cd cd cd \.\.\.\n/);
          heap.u8[p - 16 + at] = 0;
        }
        heap.obj.free(p);
        heap.check();
      });

      t.test('realloc keeps data and guards growing and shrinking, and a failed one keeps the block', async (t) => {
        const heap = heapOn(backend, { allocator });
        let p = heap.obj.realloc(0, 10);
        t.same([...heap.u8.subarray(p, p + 10)], Array(10).fill(0xcd), 'realloc(0, n) is malloc(n)');
        const fill = (q: number, n: number) => heap.u8.set(Array.from({ length: n }, (_, i) => (i * 7) & 255), q);
        const holds = (q: number, n: number) => heap.u8.subarray(q, q + n).every((b, i) => b === ((i * 7) & 255));
        fill(p, 10);
        let size = 10;
        for (const n of [40, 600, 70_000, 300_000, 129, 128, 3, 0, 50]) {
          p = heap.obj.realloc(p, n);
          t.ok(holds(p, Math.min(size, n)), `${size} -> ${n}: the data`);
          if (n > size) t.ok(heap.u8.subarray(p + size, p + n).every((b) => b === 0xcd), 'new bytes are clean');
          t.ok(heap.u8.subarray(p + n, p + n + 8).every((b) => b === 0xfd), 'the trailing pad');
          fill(p, n);
          size = n;
        }
        const block = Buffer.from(heap.u8.subarray(p - 16, p + size + 8));
        t.equal(heap.obj.realloc(p, heap.maxBytes), 0, 'more than the region: NULL');
        t.equal(heap.obj.realloc(p, 2 ** 32 - 1), 0, 'a size no frame can hold: NULL');
        t.equal(Buffer.compare(block, heap.u8.subarray(p - 16, p + size + 8)), 0, 'the old block is whole, frame and data');
        heap.obj.free(p);
        heap.obj.free(0);
        const big = heap.mem.malloc(1000);
        heap.u8.fill(0x5a, big, big + 1000);
        const bigBlock = Buffer.from(heap.u8.subarray(big - 16, big + 1008));
        t.equal(heap.mem.realloc(big, heap.maxBytes), 0);
        t.equal(Buffer.compare(bigBlock, heap.u8.subarray(big - 16, big + 1008)), 0, 'a failed realloc of more than 128 bytes keeps them all');
        heap.mem.free(big);
        t.equal(heap.mem.malloc(2 ** 53 - 1), 0);
        t.equal(heap.mem.calloc(2 ** 26, 2 ** 26), 0);
        t.equal(heap.mem.calloc(1, 2 ** 53 - 10), 0, 'calloc whose frame would pass 2^53 - 1: NULL');
        heap.check();
      });

      t.test('random operations keep every block intact and the heap checkable', async (t) => {
        const heap = heapOn(backend, { allocator });
        const rand = new Random(0xdeb6 + allocator.length);
        const domains = ['raw', 'mem', 'obj'] as const;
        const live: { p: number; n: number; d: (typeof domains)[number]; tag: number }[] = [];
        const stamp = (b: { p: number; n: number; tag: number }) => heap.u8.fill(b.tag, b.p, b.p + b.n);
        const intact = (b: { p: number; n: number; tag: number }) => heap.u8.subarray(b.p, b.p + b.n).every((x) => x === b.tag);
        let broken = 0;
        for (let i = 0; i < 4000; i++) {
          const r = rand.next();
          const size = () => SIZES[rand.int(0, SIZES.length - 1)];
          if (live.length < 10 || r < 0.45) {
            const d = domains[rand.int(0, 2)];
            const n = size();
            const p = rand.next() < 0.2 ? heap[d].calloc(1, n) : heap[d].malloc(n);
            if (p === 0) continue;
            const b = { p, n, d, tag: 1 + (i % 250) };
            stamp(b);
            live.push(b);
          } else {
            const b = live.splice(rand.int(0, live.length - 1), 1)[0];
            if (!intact(b)) broken++;
            if (r < 0.7) {
              const n = size();
              const q = heap[b.d].realloc(b.p, n);
              if (q === 0) {
                live.push(b);
                continue;
              }
              if (!heap.u8.subarray(q, q + Math.min(n, b.n)).every((x) => x === b.tag)) broken++;
              const c = { ...b, p: q, n };
              stamp(c);
              live.push(c);
            } else {
              heap[b.d].free(b.p);
            }
          }
          if (i % 500 === 0) heap.check();
        }
        t.equal(broken, 0, 'no block lost data');
        for (const b of live) heap[b.d].free(b.p);
        heap.check();
        t.equal(heap.allocatedBlocks(), 0, 'everything given back');
      });
    });
  }
}

for (const backend of BACKENDS) {
  t.test(`${backend}: installing the hooks, their names, and what they report`, async (t) => {
    t.test('setupDebugHooks wraps each domain once; allocatorName follows', async (t) => {
      const heap = heapOn(backend);
      t.equal(heap.allocatorName(), 'pymalloc');
      const before = heap.mem.malloc(16);
      heap.setupDebugHooks();
      heap.setupDebugHooks();
      t.equal(heap.allocatorName(), 'pymalloc_debug');
      const p = heap.mem.malloc(16);
      t.same([...heap.u8.subarray(p - 16, p)], [0, 0, 0, 0, 0, 0, 0, 16, 0x6d, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd], 'one frame, not two');
      t.throws(() => heap.mem.free(before), { code: 'ERR_PYMEM_BAD_ID' }, 'a block from before the hooks is not framed');
      heap.mem.free(p);
      t.match(heap.debugMallocStats(), /^Small block threshold = 512/, 'pymalloc under debug hooks still prints its statistics');
      // A hook over the debug hooks: no name, and setupDebugHooks wraps it again (a second frame).
      const mem = heap.getAllocator('mem');
      heap.setAllocator('mem', { ...mem, malloc: (n) => mem.malloc(n) });
      t.equal(heap.allocatorName(), null);
      heap.setupDebugHooks();
      t.equal(heap.allocatorName(), null, 'debug hooks around a foreign allocator have no name');
      const q = heap.mem.malloc(8);
      t.equal(heap.u8[q - 8], 0x6d, 'outer frame');
      t.equal(heap.u8[q - 32 + 8], 0x6d, 'inner frame');
      heap.mem.free(q);
      heap.check();
    });

    t.test("'malloc' with hooks is malloc_debug, and prints no pymalloc statistics", async (t) => {
      const heap = heapOn(backend, { allocator: 'malloc' });
      heap.setupDebugHooks();
      t.equal(heap.allocatorName(), 'malloc_debug');
      t.equal(heap.debugMallocStats(), EMPTY_FREE_LISTS, 'only the free lists');
      const raw = heap.getAllocator('raw');
      heap.setAllocator('raw', { ...raw, free: (p) => raw.free(p) });
      t.equal(heap.allocatorName(), null, 'one domain not exactly the hooks: no name');
      heap.setAllocator('raw', raw);
      t.equal(heap.allocatorName(), 'malloc_debug');
    });

    for (const allocator of DEBUG_ALLOCATORS) {
      t.test(`${allocator}: isFreed: NULL, freed, never written and past-the-end memory, as _PyObject_IsFreed`, async (t) => {
        const heap = heapOn(backend, { allocator });
        const hooks = heap.getAllocator('mem');
        t.ok(heap.isFreed(0), 'NULL');
        for (const pattern of [0xcdcdcdcd, 0xdddddddd, 0xfdfdfdfd]) t.ok(heap.isFreed(pattern), hex(pattern));
        const uninitialised = heap.obj.malloc(16);
        t.ok(heap.isFreed(uninitialised), 'ob_type never written: 0xCD');
        const truncated = heap.obj.malloc(8);
        t.ok(heap.isFreed(truncated), 'ob_type past the end of an 8-byte block: forbidden bytes');
        const live = heap.obj.malloc(16);
        heap.dv.setUint32(live + 8, 0x1234, true);
        heap.dv.setUint32(live + 12, 0, true);
        t.notOk(heap.isFreed(live), 'a type pointer written: not freed');
        heap.obj.free(live);
        t.ok(heap.isFreed(live), 'freed: 0xDD');
        const half = heap.obj.malloc(16);
        heap.dv.setUint32(half + 8, 0xcdcdcdcd, true);
        heap.dv.setUint32(half + 12, 0, true);
        t.notOk(heap.isFreed(half), 'a pattern must fill the whole 8-byte pointer');
        t.throws(() => heap.isFreed(uninitialised + 4), { code: 'ERR_PYMEM_INVALID_POINTER', reason: 'misaligned' });
        t.throws(() => heap.isFreed(heap.maxBytes - 8), { code: 'ERR_PYMEM_INVALID_POINTER', reason: 'outside' });
        t.throws(() => heap.isFreed(-16), { code: 'ERR_PYMEM_INVALID_POINTER', reason: 'outside' });
        t.throws(() => heap.isFreed('16' as unknown as number), { code: 'ERR_INVALID_ARG_TYPE' });
        t.throws(() => heap.isFreed(1.5), { code: 'ERR_OUT_OF_RANGE' });
        heap.close();
        t.throws(() => heap.isFreed(0), { code: 'ERR_PYMEM_HEAP_CLOSED' });
        t.throws(() => heap.setupDebugHooks(), { code: 'ERR_PYMEM_HEAP_CLOSED' });
        for (const call of [() => hooks.free(16), () => hooks.realloc(16, 8), () => hooks.malloc(8), () => hooks.calloc(1, 8)]) {
          t.throws(call, { code: 'ERR_PYMEM_HEAP_CLOSED' }, 'debug hooks taken before close()');
        }
      });
    }
  });
}

t.test('PYMEM_ALLOCATOR and the allocator option name the debug allocators; debugAbort is checked', async (t) => {
  const saved = process.env.PYMEM_ALLOCATOR;
  t.teardown(() => {
    if (saved === undefined) delete process.env.PYMEM_ALLOCATOR;
    else process.env.PYMEM_ALLOCATOR = saved;
  });
  const names = ['debug', 'pymalloc_debug', 'malloc_debug'].map((value) => {
    process.env.PYMEM_ALLOCATOR = value;
    return heapOn('fallback').allocatorName();
  });
  t.same(names, ['pymalloc_debug', 'pymalloc_debug', 'malloc_debug'], "as CPython's pymem_getallocatorsname() answers under PYTHONMALLOC");
  delete process.env.PYMEM_ALLOCATOR;
  t.equal(heapOn('fallback', { allocator: 'malloc_debug' }).allocatorName(), 'malloc_debug');
  t.throws(() => heapOn('fallback', { debugAbort: 'yes' as unknown as boolean }), { code: 'ERR_INVALID_ARG_TYPE', message: /"debugAbort"/ });
  const aborting = heapOn('fallback', { allocator: 'debug', debugAbort: true });
  aborting.obj.free(aborting.obj.malloc(10));
  aborting.check(); // nothing wrong, nothing aborted: test/debug-abort.ts shows the other case
});
