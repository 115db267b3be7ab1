// heap.tracemalloc on both backends: test_tracemalloc.py's enabled cases (traced memory and peak,
// clear, object tracebacks naming this file's lines, interned tracebacks, limits, stop), the C API's
// track/untrack, the debug hooks' report with a traceback, and where frames come from.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BACKENDS, heapOn } from './helpers/backends';
import { Snapshot } from '../lib/hooks/tracemalloc/index';
import type { MemoryCorruptionError } from '../lib/index';

/** This file's line where here() is called (from the source-mapped stack, as users see lines). */
function here(): number {
  return Number(/tracemalloc\.ts:(\d+):\d+\)?$/m.exec(new Error().stack!.split('\n')[2])![1]);
}
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pymem-tracemalloc-'));
t.teardown(() => fs.rmSync(scratch, { recursive: true, force: true }));

for (const backend of BACKENDS) {
  t.test(backend, async (t) => {
    t.test('start, limits, stop: as tracemalloc.start/stop/is_tracing/get_traceback_limit', async (t) => {
      const heap = heapOn(backend);
      const tm = heap.tracemalloc;
      t.same([tm.isTracing(), tm.getTracebackLimit(), tm.getTracedMemory()], [false, 1, [0, 0]]);
      for (const bad of [0, 65536, 1.5, -1]) t.throws(() => tm.start(bad), { code: 'ERR_OUT_OF_RANGE', message: 'the number of frames must be in range [1; 65535]' });
      t.throws(() => tm.start('3' as unknown as number), { code: 'ERR_INVALID_ARG_TYPE' });
      tm.start(10);
      tm.start(3);
      t.same([tm.isTracing(), tm.getTracebackLimit()], [true, 10], 'start() while tracing changes nothing');
      t.equal(heap.allocatorName(), null, 'the domains hold the hooks');
      const p = heap.mem.malloc(100);
      t.equal(tm.getObjectTraceback(p)!.length, 10, 'ten frames of a deeper stack');
      tm.stop();
      t.same([tm.isTracing(), tm.getTracebackLimit(), tm.getTracedMemory(), tm.getTraces()], [false, 10, [0, 0], []], 'the limit stays after stop');
      t.equal(heap.allocatorName(), 'pymalloc', 'the allocators are back');
      t.equal(tm.getObjectTraceback(p), null);
      t.throws(() => tm.takeSnapshot(), { code: 'ERR_PYMEM_NOT_TRACING', message: 'the tracemalloc module must be tracing memory allocations to take a snapshot' });
      tm.stop();
      tm.start(1);
      t.equal(tm.getObjectTraceback(heap.mem.malloc(8))!.length, 1);
      heap.mem.free(p);
      heap.close();
      t.throws(() => tm.start(), { code: 'ERR_PYMEM_HEAP_CLOSED' });
    });

    t.test('traced memory, peak, reset_peak and clear_traces', async (t) => {
      const heap = heapOn(backend);
      const tm = heap.tracemalloc;
      tm.start();
      const [before] = tm.getTracedMemory();
      const big = heap.obj.malloc(1 << 20);
      const [current, peak] = tm.getTracedMemory();
      t.equal(current - before, 1 << 20, 'exactly the bytes requested (test_get_traced_memory allows 2 KiB)');
      t.equal(peak, current);
      heap.obj.free(big);
      t.same(tm.getTracedMemory(), [before, peak], 'freeing lowers current, not peak');
      tm.resetPeak();
      const small = heap.obj.malloc(100);
      t.same(tm.getTracedMemory(), [before + 100, before + 100], 'reset_peak: the peak starts again from current');
      const memory = tm.getTracemallocMemory();
      t.ok(memory > 0);
      tm.clearTraces();
      t.same(tm.getTracedMemory(), [0, 0]);
      t.equal(tm.getObjectTraceback(small), null, 'test_clear_traces: the traceback is gone');
      t.ok(tm.getTracemallocMemory() <= memory, 'not larger after clear_traces');
      heap.obj.free(small);
      t.same(tm.getTracedMemory(), [0, 0], 'freeing an untraced block changes nothing');
      tm.resetPeak();
      tm.stop();
      tm.resetPeak();
      t.same(tm.getTracedMemory(), [0, 0]);
    });

    t.test('object tracebacks name the line that allocated; equal tracebacks are interned', async (t) => {
      const heap = heapOn(backend);
      const tm = heap.tracemalloc;
      tm.start(2);
      const [p, line] = [heap.obj.malloc(64), here()];
      const tb = tm.getObjectTraceback(p)!;
      t.equal(String(tb.at(-1)), `${__filename}:${line}`, 'the most recent frame is this line');
      t.equal(tb.totalNframe! >= 2, true);
      const blocks = [0, 1, 2].map(() => heap.mem.malloc(32));
      const traces = tm.getTraces().filter(([, size]) => size === 32);
      t.equal(traces.length, 3);
      t.equal(traces[0][2], traces[1][2], 'one frames array for equal tracebacks (test_get_traces_intern_traceback)');
      t.equal(traces[0][2][0][0], traces[1][2][0][0]);
      t.ok(tm.getTraces().every(([, , frames]) => frames.every(([file]) => !file.includes(`${path.sep}lib${path.sep}`))), "pymem's own frames are left out");
      blocks.forEach((b) => heap.mem.free(b));
      heap.obj.free(p);
      tm.stop();
    });

    t.test('a block is traced once, at the outermost domain; realloc moves its trace', async (t) => {
      const heap = heapOn(backend, { allocator: 'pymalloc' });
      const tm = heap.tracemalloc;
      tm.start();
      const big = heap.obj.malloc(1000); // pymalloc hands it to RAW: one trace, not two
      t.same(tm.getTraces().map(([d, s]) => [d, s]), [[0, 1000]]);
      const q = heap.obj.realloc(big, 5000);
      t.equal(tm.getObjectTraceback(big) === null, q !== big, 'the old address is no longer traced when the block moved');
      t.same(tm.getTraces().map(([d, s]) => [d, s]), [[0, 5000]]);
      const small = heap.obj.realloc(0, 10);
      const grown = heap.obj.realloc(small, 2000); // a pymalloc block moved into the raw allocator
      t.same(tm.getTraces().map(([, s]) => s).sort((a, b) => a - b), [2000, 5000]);
      const zeroed = heap.raw.calloc(3, 7);
      t.not(tm.getObjectTraceback(zeroed), null, 'calloc is traced');
      t.same(tm.getTracedMemory()[0], 7021, 'calloc traces nelem * elsize');
      t.equal(heap.obj.realloc(q, 2 ** 40), 0, 'a failed realloc keeps the block and its trace');
      t.equal(tm.getTracedMemory()[0], 7021);
      t.throws(() => heap.obj.free(q + 16), { code: 'ERR_PYMEM_INVALID_POINTER' });
      t.equal(tm.getTracedMemory()[0], 7021, 'a refused free keeps the trace');
      heap.obj.free(q);
      heap.obj.free(grown);
      heap.raw.free(zeroed);
      heap.obj.free(0);
      t.same(tm.getTracedMemory()[0], 0);
      // pymalloc resizing a raw block for itself: the reentrant realloc drops the old address.
      const raw = heap.obj.malloc(600);
      const moved = heap.obj.realloc(raw, 900_000);
      t.same(tm.getTraces().map(([, s]) => s), [900_000]);
      heap.obj.free(moved);
      tm.stop();
      heap.check();
    });

    t.test('snapshots: statistics name this file; dump and load', async (t) => {
      const heap = heapOn(backend);
      const tm = heap.tracemalloc;
      tm.start(5);
      const blocks = Array.from({ length: 10 }, () => heap.obj.malloc(48));
      const line = here() - 1;
      const snapshot = tm.takeSnapshot();
      t.equal(snapshot.tracebackLimit, 5);
      const top = snapshot.statistics('lineno')[0];
      t.equal(String(top), `${__filename}:${line}: size=480 B, count=10, average=48 B`);
      const file = path.join(scratch, `${backend}.json`);
      snapshot.dump(file);
      t.same(Snapshot.load(file).traces.raw, snapshot.traces.raw);
      blocks.forEach((b) => heap.obj.free(b));
      t.same(tm.takeSnapshot().compareTo(snapshot, 'lineno').map(String)[0], `${__filename}:${line}: size=0 B (-480 B), count=0 (-10)`);
      tm.stop();
    });

    t.test('PyTraceMalloc_Track and _Untrack', async (t) => {
      const heap = heapOn(backend);
      const tm = heap.tracemalloc;
      t.equal(tm.track(5, 0x7f00_0000_1000, 123), -2, 'not tracing: -2');
      t.equal(tm.untrack(5, 0x7f00_0000_1000), -2);
      tm.start();
      t.equal(tm.track(5, 0x7f00_0000_1000, 123), 0);
      const [line] = [here()];
      t.same(tm.takeSnapshot().traces.raw.map(([d, s, f]) => [d, s, f[0][1]]), [[5, 123, line - 1]]);
      t.equal(tm.track(5, 0x7f00_0000_1000, 456), 0, 'already tracked: updated');
      t.same(tm.getTracedMemory(), [456, 456]);
      t.equal(tm.getObjectTraceback(0x7f00_0000_1000), null, 'another domain than the heap blocks');
      t.equal(tm.untrack(5, 0x7f00_0000_1000), 0);
      t.equal(tm.untrack(5, 0x7f00_0000_1000), 0, 'untracking twice is harmless');
      t.same(tm.getTracedMemory()[0], 0);
      t.throws(() => tm.track(-1, 0, 1), { code: 'ERR_OUT_OF_RANGE' });
      t.throws(() => tm.track(0, 1.5, 1), { code: 'ERR_OUT_OF_RANGE' });
      t.throws(() => tm.untrack(0, '1' as unknown as number), { code: 'ERR_INVALID_ARG_TYPE' });
      tm.stop();
    });

    t.test("the debug hooks' report shows where a traced block was allocated", async (t) => {
      const heap = heapOn(backend, { allocator: 'debug' });
      const untraced = heap.mem.malloc(16);
      heap.tracemalloc.start(3);
      const [p, line] = [heap.mem.malloc(16), here()];
      heap.u8[p + 16] = 0x78;
      const error = t.throws(() => heap.mem.free(p)) as MemoryCorruptionError;
      const lines = error.report.split('\n');
      const at = lines.indexOf('Memory block allocated at (most recent call first):');
      t.ok(at > 0, "_PyMem_DumpTraceback's heading");
      t.equal(lines[at + 1], `  File "${__filename}", line ${line}`);
      t.notMatch(error.report, /Enable tracemalloc/);
      t.ok(error.report.endsWith('\n\n'));
      heap.u8[untraced + 16] = 0x78;
      const quiet = t.throws(() => heap.mem.free(untraced)) as MemoryCorruptionError;
      t.match(quiet.report, /Data at p: cd cd cd cd cd cd cd cd cd cd cd cd cd cd cd cd\n\n$/, 'tracing, but not this block: no traceback lines at all');
    });
  });
}

t.test('frames: file: URLs become paths, source maps apply when Node has them, and an empty stack is <unknown>', async (t) => {
  const heap = heapOn('fallback');
  heap.tracemalloc.start(1);
  const esm = path.join(scratch, 'caller.mjs');
  fs.writeFileSync(esm, 'export default (heap) => heap.obj.malloc(24);\n');
  const p = (await import(pathToFileURL(esm).href)).default(heap) as number;
  t.equal(String(heap.tracemalloc.getObjectTraceback(p)), `${esm}:1`, 'an ES module is named by its path');
  // A file with a source map that maps nothing: its own positions stand.
  const unmapped = path.join(scratch, 'unmapped.js');
  const map = Buffer.from(JSON.stringify({ version: 3, sources: ['x.ts'], names: [], mappings: '' })).toString('base64');
  fs.writeFileSync(unmapped, `module.exports = (heap) => heap.obj.malloc(40);\n//# sourceMappingURL=data:application/json;base64,${map}\n`);
  const q = (require(unmapped) as (h: typeof heap) => number)(heap);
  t.equal(String(heap.tracemalloc.getObjectTraceback(q)), `${unmapped}:1`);
  process.setSourceMapsEnabled(false);
  // A builtin's frame between two of the caller's has no file and no line: CPython's ("<unknown>", 0).
  heap.tracemalloc.stop();
  heap.tracemalloc.start(3);
  const [viaMap, mapLine] = [[0].map(() => heap.obj.malloc(16))[0], here()];
  const viaFrames = heap.tracemalloc.getObjectTraceback(viaMap)!;
  t.same([viaFrames.at(0).filename, viaFrames.at(0).lineno, viaFrames.at(1).filename, viaFrames.at(1).lineno], [__filename, mapLine, '<unknown>', 0]);
  heap.obj.free(viaMap);
  heap.tracemalloc.stop();
  heap.tracemalloc.start(1);
  const r = heap.obj.malloc(8);
  process.setSourceMapsEnabled(true);
  const frame = heap.tracemalloc.getObjectTraceback(r)!.at(0);
  t.ok(frame.filename === __filename && frame.lineno > 0, 'without source maps: the file and the line V8 runs (the loader\'s output, here)');
  // The hooks called directly (taken with getAllocator()): no domain method on the stack.
  const [direct, directLine] = [heap.getAllocator('obj').malloc(56), here()];
  t.equal(String(heap.tracemalloc.getObjectTraceback(direct)), `${__filename}:${directLine}`);
  heap.obj.free(direct);
  // No frame outside pymem: CPython's ("<unknown>", 0).
  const { Tracemalloc } = t.mockRequire('../lib/hooks/tracemalloc/tracer', {
    '../lib/hooks/tracemalloc/stack': { ...require('../lib/hooks/tracemalloc/stack'), captureSites: () => [] },
  }) as typeof import('../lib/hooks/tracemalloc/tracer');
  const lone = new Tracemalloc({ raw: heap.raw, mem: heap.mem, obj: heap.obj }, (p) => p);
  heap.tracemalloc.stop();
  lone.start();
  const s = heap.obj.malloc(8);
  t.same(lone.getTraces(), [[0, 8, [['<unknown>', 0]], 1]]);
  heap.obj.free(s);
  lone.stop();
  for (const block of [p, q, r]) heap.obj.free(block);
  heap.check();
});

t.test('PYMEM_TRACEMALLOC starts tracing for new heaps', async (t) => {
  const saved = process.env.PYMEM_TRACEMALLOC;
  t.teardown(() => {
    if (saved === undefined) delete process.env.PYMEM_TRACEMALLOC;
    else process.env.PYMEM_TRACEMALLOC = saved;
  });
  process.env.PYMEM_TRACEMALLOC = '3';
  const heap = heapOn('fallback');
  t.same([heap.tracemalloc.isTracing(), heap.tracemalloc.getTracebackLimit()], [true, 3]);
  process.env.PYMEM_TRACEMALLOC = '0';
  t.equal(heapOn('fallback').tracemalloc.isTracing(), false, "'0' is off, as PYTHONTRACEMALLOC=0");
  process.env.PYMEM_TRACEMALLOC = 'many';
  t.throws(() => heapOn('fallback'), { code: 'ERR_INVALID_ARG_VALUE', message: /PYMEM_TRACEMALLOC.*invalid number of frames/ });
  process.env.PYMEM_TRACEMALLOC = '70000';
  t.throws(() => heapOn('fallback'), { code: 'ERR_OUT_OF_RANGE' });
});
