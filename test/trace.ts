// Allocation traces: the format's parser (every fault named by line or byte), and replay on both
// backends, including the traces recorded from CPython that ship in bench/traces/.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { OP_CALLOC, OP_FREE, OP_MALLOC, OP_REALLOC, formatTrace, parseTrace, TraceFormatError } from '../lib/trace/format';
import { freeLive, replay } from '../lib/trace/replay';
import { loadWorkload, workloadNames } from '../lib/trace/workloads';
import { BACKENDS, firstDifference, heapOn } from './helpers/backends';

const TRACES = path.join(__dirname, '..', 'bench', 'traces');
const bytes = (text: string) => Buffer.from(text, 'latin1');
const SMALL = 'pymem-trace 1\n# a comment\n\nm 7 100\nc 9 4 25\nr 7 300\nf 9\nm 9 16\nf 7\n';

t.test('a trace parses into typed arrays, with IDs as dense slots', async (t) => {
  const p = parseTrace(bytes(SMALL));
  t.equal(p.length, 6);
  t.same([...p.op], [OP_MALLOC, OP_CALLOC, OP_REALLOC, OP_FREE, OP_MALLOC, OP_FREE]);
  t.same([...p.slot], [0, 1, 0, 1, 1, 0], 'ID 7 is slot 0, ID 9 slot 1, and keeps it when used again');
  t.same([...p.a], [100, 4, 300, 0, 16, 0]);
  t.same([...p.b], [0, 25, 0, 0, 0, 0]);
  t.equal(p.slots, 2);
  t.equal(p.peakBlocks, 2);
  t.equal(p.peakBytes, 400, '300 + 100 after the realloc');
  t.equal(p.liveBlocks, 1);
  t.same(parseTrace(gzipSync(SMALL)), p, 'gzip is recognised by its magic bytes');
  t.same(parseTrace(bytes(SMALL.replace(/\n/g, '\r\n'))), p, 'CRLF line ends');
  const again = parseTrace(bytes(formatTrace(p)));
  t.same(again, p, 'formatTrace writes what parseTrace reads');
  t.equal(formatTrace(p).split('\n')[2], 'c 1 4 25');
});

t.test('a bad trace is a TraceFormatError naming the line, or the byte, and what is wrong', async (t) => {
  const fault = (text: string | Uint8Array) => {
    try {
      parseTrace(typeof text === 'string' ? bytes(text) : text, 'x.trace');
    } catch (e) {
      t.ok(e instanceof TraceFormatError);
      t.equal((e as TraceFormatError).code, 'ERR_PYMEM_TRACE_FORMAT');
      return (e as Error).message;
    }
    throw new Error('parsed');
  };
  const h = 'pymem-trace 1\n';
  t.equal(fault(''), "x.trace:1: not a pymem trace: the first line must be 'pymem-trace 1'");
  t.equal(fault('pymem-trace 2\nm 1 1\n'), "x.trace:1: not a pymem trace: the first line must be 'pymem-trace 1'");
  t.equal(fault(`${h}m 1 1\nx 2 2\n`), "x.trace:3: unknown event 'x' (expected m, c, r or f)");
  t.equal(fault(`${h}m 1\n`), "x.trace:2: 'm' takes 2 numbers, this line has 1");
  t.equal(fault(`${h}c 1 2\n`), "x.trace:2: 'c' takes 3 numbers, this line has 2");
  t.equal(fault(`${h}m 1  2\n`), "x.trace:2: 'm' takes 2 numbers, this line has 3", 'one space between fields');
  for (const bad of ['-1', '1.5', '01', '1e3', '0x10', '', '9007199254740992']) {
    t.equal(fault(`${h}m 1 ${bad}\n`), `x.trace:2: '${bad}' is not an integer from 0 to 2^53 - 1`, JSON.stringify(bad));
  }
  t.equal(fault(`${h}m 1 8\n# c\nm 1 8\n`), 'x.trace:4: block 1 is already live (allocated on line 2)');
  t.equal(fault(`${h}m 1 8\nc 1 2 2\n`), 'x.trace:3: block 1 is already live (allocated on line 2)');
  t.equal(fault(`${h}f 3\n`), 'x.trace:2: block 3 is not live');
  t.equal(fault(`${h}m 3 1\nf 3\nr 3 5\n`), 'x.trace:4: block 3 is not live', 'a freed block');
  t.equal(fault(`${h}m 1 8\nm 2 8\u00e9\n`), 'x.trace:byte 25: byte 0xe9 is not trace text');
  t.equal(fault(Buffer.concat([bytes(h), Buffer.from([0])])), 'x.trace:byte 14: byte 0x00 is not trace text');
  t.match(fault(gzipSync(SMALL).subarray(0, 20)), /^x\.trace:byte 0: corrupt gzip data \(.+\)$/);
  // A trace of more than 1024 blocks grows its tables.
  const many = Array.from({ length: 3000 }, (_, i) => `m ${i} ${i}`).join('\n');
  t.equal(parseTrace(bytes(`${h}${many}\n`)).slots, 3000);
});

for (const backend of BACKENDS) {
  t.test(`replay on ${backend}`, async (t) => {
    t.test('each event reaches the domain; a failed allocation is counted and the trace goes on', async (t) => {
      const heap = heapOn(backend, { maxBytes: 4 << 20 });
      const program = parseTrace(bytes('pymem-trace 1\nm 1 100\nc 2 10 10\nr 1 5000\nm 3 8000000\nr 1 9000000\nf 3\nm 4 0\nc 5 1000000 10\n'));
      const pointers = new Uint32Array(program.slots);
      t.same(replay(heap.mem, program, pointers), { events: 8, failed: 3 }, 'the 8 MB malloc, the 9 MB realloc and the 10 MB calloc fail in a 4 MiB heap');
      t.equal(pointers[2], 0, 'the failed malloc left NULL, which f frees as free(NULL)');
      t.equal(pointers[4], 0, 'so did the failed calloc');
      t.ok(pointers[0] > 0 && pointers[1] > 0 && pointers[3] > 0);
      t.ok(heap.view(pointers[1], 100).every((x) => x === 0), 'calloc zeroed');
      t.equal(heap.allocatedBlocks(), 3, 'blocks 1, 2 and 4 (the failed realloc kept block 1)');
      t.equal(heap.stats().rawBlocks, 2, 'blocks 1 (5000 bytes) and 4 (malloc(0)), which pymalloc passes to the raw allocator');
      heap.check();
      freeLive(heap.mem, pointers);
      t.same([...pointers], [0, 0, 0, 0, 0]);
      t.equal(heap.allocatedBlocks(), 0);
      heap.check();
      heap.close();
    });

    t.test('the traces recorded from CPython replay whole, and leave the heap sound', async (t) => {
      const files = readdirSync(TRACES).filter((f) => f.endsWith('.trace.gz'));
      t.ok(files.length >= 3, files.join(', '));
      for (const file of files) {
        const program = parseTrace(readFileSync(path.join(TRACES, file)), file);
        const heap = heapOn(backend, { maxBytes: 64 << 20 });
        const pointers = new Uint32Array(program.slots);
        t.same(replay(heap.mem, program, pointers), { events: program.length, failed: 0 }, `${file}: ${program.length} events`);
        heap.check();
        freeLive(heap.mem, pointers);
        t.equal(heap.allocatedBlocks(), 0);
        heap.check();
        heap.close();
      }
    });
  });
}

t.test('a recorded trace leaves the same bytes on both backends', async (t) => {
  const program = parseTrace(readFileSync(path.join(TRACES, 'ast_compile.trace.gz')));
  const [a, b] = BACKENDS.map((backend) => {
    const heap = heapOn(backend, { maxBytes: 32 << 20 });
    replay(heap.obj, program);
    return heap;
  });
  t.equal(firstDifference(a.u8, b.u8), -1);
  a.close();
  b.close();
});

t.test('the built-in workloads: synthetic ones generated alike on every run, recorded ones from bench/traces', async (t) => {
  t.same(workloadNames(), ['small', 'sweep', 'realloc', 'large', 'ast_compile', 'json_roundtrip', 'text_words', 'unittest_suite']);
  t.equal(loadWorkload('nothing'), undefined);
  t.equal(loadWorkload('json_roundtrip')!.length, 81_571);
  t.same(loadWorkload(path.join(TRACES, 'ast_compile.trace.gz')), loadWorkload('ast_compile'), 'by path or by name');
  t.throws(() => loadWorkload('missing.trace'), { code: 'ENOENT' });
  const expected: Record<string, [events: number, peakBlocks: number, liveBlocks: number]> = {
    small: [50_000, 10_000, 10_000], // 10,000 mallocs, then 20,000 frees each followed by a malloc
    sweep: [171, 60, 57], // 19 sizes x 6 blocks, 3 of each freed
    realloc: [11_375, 500, 125], // 500 mallocs, 21 growth steps each, 375 freed
    large: [64, 17, 16], // 40 mallocs, a window of 16 kept
  };
  for (const [name, [events, peak, live]] of Object.entries(expected)) {
    const program = loadWorkload(name, 0.1)!;
    t.same([program.length, program.peakBlocks, program.liveBlocks], [events, peak, live], name);
    t.same(loadWorkload(name, 0.1), program, `${name}: the same events on every run`);
    t.same(parseTrace(bytes(formatTrace(program))), program, `${name}: a valid trace`);
    for (const backend of BACKENDS) {
      const heap = heapOn(backend, { maxBytes: 256 << 20 });
      t.same(replay(heap.obj, program), { events, failed: 0 }, `${name} on ${backend}`);
      heap.check();
      heap.close();
    }
  }
  const full = loadWorkload('small')!;
  t.same([full.length, full.slots, full.peakBlocks], [410_000, 210_000, 10_000]);
});
