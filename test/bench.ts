// pymem bench: every contender measured in a child process, the table and Markdown shapes, and each
// missing piece (compiler, addon) said in one line while the rest still runs. At tiny scales (--scale,
// --warmup): these tests check what the bench does, never how fast anything is; the measurements
// themselves live in BENCHMARKS.md.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { capture, pymem } from './helpers/cli';
import { MODES, benchOptions, benchSettings, runBench, type BenchSettings } from '../lib/cli/bench';
import { formatResults, recommendation, verdict, type BenchResults } from '../lib/cli/bench-report';
import { WARM_MS, STACK_DEPTH, atDepth, measure, peakRss } from '../lib/cli/bench-child';
import { createHeap, MIN_MAX_BYTES } from '../lib/index';
import { objectsSummary, recordsSummary, runObjects } from '../lib/cli/bench-objects';
import { measureObjects } from '../lib/cli/bench-objects-child';
import { imageSummary, runImage } from '../lib/cli/bench-image';
import { measureImage } from '../lib/cli/bench-image-child';
import { runChild } from '../lib/cli/child';
import { decodeProgram, encodeProgram } from '../lib/trace/binary';
import { loadWorkload } from '../lib/trace/workloads';
import { parseTrace } from '../lib/trace/format';
import { PACKAGE_ROOT } from '../lib/raw/native';

const scratch = mkdtempSync(path.join(tmpdir(), 'pymem-bench-'));
/** A run of the bench at a hundredth of full scale, each pymem child warming up for 1 ms. */
const tiny = (settings: Omit<BenchSettings, 'mode'>): BenchSettings => ({ mode: 'quick', scale: 0.01, warmupMs: 1, ...settings });
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

t.test('program files: what the children and the C replayer read', async (t) => {
  const program = loadWorkload('realloc', 0.1)!;
  const bytes = encodeProgram(program);
  t.equal(bytes.readUInt32LE(0), 0x70746d70);
  t.same(decodeProgram(bytes), program);
  const odd = loadWorkload('sweep', 0.1)!; // 171 events: the u32 array is padded to 8 bytes
  t.same(decodeProgram(Buffer.concat([Buffer.alloc(3), encodeProgram(odd)]).subarray(3)), odd, 'at any offset');
  t.throws(() => decodeProgram(Buffer.from('pymem-trace 1\nm 1 1\n, and more')), { message: 'not a pymem program file (version 1)' });
  t.throws(() => decodeProgram(bytes.subarray(0, bytes.length - 1)), { message: `a program file of 11375 events is ${bytes.length} bytes, not ${bytes.length - 1}` });
  t.throws(() => measure('jemalloc', program), { message: "unknown contender 'jemalloc'" });
});

t.test("the children: compiled scripts run with node's defaults, each printing one JSON line", async (t) => {
  t.throws(() => runChild('no-such-child', [], 'the measurement'), { message: /^the measurement cannot run: \S+\/dist\/cli\/no-such-child\.js is missing \(npm run compile builds it\)$/ });
  // Neither NODE_OPTIONS nor NODE_V8_COVERAGE reaches a measurement (this test runs under both).
  let seen: NodeJS.ProcessEnv = {};
  const { runChild: spy } = t.mockRequire('../lib/cli/child', {
    'node:child_process': { spawnSync: (_: string, __: string[], options: { env: NodeJS.ProcessEnv }) => ((seen = options.env), { status: 0, stdout: '{"ok":1}' }) },
  }) as typeof import('../lib/cli/child');
  const saved = { NODE_OPTIONS: process.env.NODE_OPTIONS, NODE_V8_COVERAGE: process.env.NODE_V8_COVERAGE };
  Object.assign(process.env, { NODE_OPTIONS: '--max-old-space-size=100', NODE_V8_COVERAGE: path.join(scratch, 'coverage') });
  try {
    t.same(spy('bench-child', [], 'a spy'), { ok: 1 });
  } finally {
    for (const [name, value] of Object.entries(saved)) if (value === undefined) delete process.env[name]; else process.env[name] = value;
  }
  t.same([seen.NODE_OPTIONS, seen.NODE_V8_COVERAGE, seen.PATH], [undefined, undefined, process.env.PATH]);
  // The scripts themselves, as the bench runs them (here with coverage on, for their command lines).
  const file = path.join(scratch, 'child.prog');
  writeFileSync(file, encodeProgram(loadWorkload('sweep', 0.01)!));
  const dist = (name: string) => path.join(PACKAGE_ROOT, 'dist', 'cli', `${name}.js`);
  const replayed = spawnSync(process.execPath, [dist('bench-child-main'), 'fallback', file, '1'], { encoding: 'utf8' });
  t.match(JSON.parse(replayed.stdout), { failed: 0, nsPerEvent: Number, peakCommitted: Number }, replayed.stderr);
  const built = spawnSync(process.execPath, ['--expose-gc', dist('bench-objects-main'), 'js', '100'], { encoding: 'utf8' });
  t.match(JSON.parse(built.stdout), { buildMs: Number, checksum: Number }, built.stderr);
});

t.test("the replays' stack: STACK_DEPTH frames outside pymem, which tracemalloc takes as the caller's", async (t) => {
  const heap = createHeap({ backend: 'fallback', maxBytes: MIN_MAX_BYTES });
  heap.tracemalloc.start(25);
  const p = atDepth(STACK_DEPTH, () => heap.obj.malloc(8));
  const traceback = heap.tracemalloc.getObjectTraceback(p)!;
  t.equal(traceback.length, 25, 'all 25 frames taken');
  t.equal(traceback.totalNframe, 33, "and the capture's 33 are all the caller's: none is pymem's own");
  heap.close();
});

t.test("a child's peak RSS is its own, not its parent's", async (t) => {
  t.equal(peakRss(() => 'Name:\tnode\nVmHWM:\t  123456 kB\nVmRSS:\t 1000 kB\n'), 123456 * 1024);
  const where = peakRss(() => {
    throw new Error('no /proc here');
  });
  t.ok(where > 0 && where < 2 ** 32, 'without /proc, the current RSS');
  t.ok(peakRss() >= process.memoryUsage.rss() - 2 ** 20, 'at least the current RSS');
});

t.test('each contender replays every kind of event, and counts what fails', async (t) => {
  // Requests larger than each contender's memory: the 2 GiB heap, the pool of at most 1 GiB. (Not
  // 2^32 bytes or more for @thi.ng/malloc: it truncates sizes to 32 bits and serves a few bytes.)
  const trace = (big: number) => parseTrace(Buffer.from(`pymem-trace 1\nm 1 100\nc 2 10 10\nr 1 5000\nr 2 ${big}\nm 3 ${big}\nc 4 3 ${big / 3}\nf 1\nf 2\n`));
  for (const [contender, big] of [['native', 3e9], ['fallback-mem', 3e9], ['thing', 1.5e9], ['assemblyscript', 1.5e9]] as const) {
    const m = measure(contender, trace(big), 1);
    t.equal(m.failed, 3, `${contender}: a realloc, malloc and calloc of ${big} bytes fail`);
    t.ok(m.nsPerEvent > 0);
    t.equal(m.peakCommitted === undefined, contender === 'thing' || contender === 'assemblyscript');
  }
  const as = parseTrace(Buffer.from('pymem-trace 1\nc 1 100 100\nm 2 3000000\nr 2 3\nf 1\nf 2\n'));
  t.equal(measure('assemblyscript', as, 1).failed, 0, 'AssemblyScript: calloc, and a memory that grows (the view made again)');
  const gib = 2 ** 30 - 16;
  const past4GiB = parseTrace(Buffer.from(`pymem-trace 1\nm 1 ${gib}\nm 2 ${gib}\nm 3 ${gib}\nm 4 ${gib}\n`));
  t.throws(() => measure('assemblyscript', past4GiB, 0), { name: 'RuntimeError', message: 'unreachable' }, 'where its memory cannot grow, AssemblyScript traps and the measurement fails');
  const growPast4GiB = parseTrace(Buffer.from(`pymem-trace 1\nm 1 16\nm 2 ${gib}\nm 3 ${gib}\nm 4 ${gib - 2 ** 20}\nr 1 ${gib}\n`));
  t.throws(() => measure('assemblyscript', growPast4GiB, 0), { name: 'RuntimeError', message: 'unreachable' }, 'and so does a realloc');
  const fits = parseTrace(Buffer.from('pymem-trace 1\nm 1 100\nc 2 10 10\nr 1 5000\nr 1 50\nf 1\n'));
  t.equal(measure('arraybuffer', fits).failed, 0, 'an ArrayBuffer grows and shrinks by copying');
});

t.test('a run: every contender, the median and range of each, ratios, memory', async (t) => {
  const io = capture();
  const r = runBench(tiny({ workloads: ['sweep'], rounds: 2 }), io);
  t.same(r.contenders, ['native', 'fallback', 'native-mem', 'fallback-mem', 'glibc', 'assemblyscript', 'thing', 'arraybuffer']);
  t.same(r.missing, []);
  t.match(r.compiler, /^cc|gcc|clang/);
  t.equal(r.workloads.length, 1);
  const w = r.workloads[0];
  t.same([w.name, w.events], ['sweep', 57]);
  for (const [contender, cell] of Object.entries(w.cells)) {
    t.ok(cell.min > 0 && cell.min <= cell.median && cell.median <= cell.max, `${contender}: ${cell.min} <= ${cell.median} <= ${cell.max}`);
    t.equal(cell.failed, 0);
    t.equal(cell.events, 57, 'sweep is shorter than the slow contenders\' cap');
    t.equal(cell.peakCommitted !== undefined, contender.startsWith('native') || contender.startsWith('fallback'));
  }
  t.ok(w.cells.native.peakCommitted! >= 12 << 20, 'the sweep holds 12 MiB at its peak');
  t.equal(io.err, 'sweep: measured (57 events)\n', 'one line per workload when stderr is not a terminal');
  t.same(r.auto, { backend: 'native', reason: r.auto.reason });
  t.match(r.auto.reason, /^auto: native addon \/.*pymem\.node$/);
  const text = formatResults(r, 'text');
  t.match(text, /^pymem bench --quick --workload sweep --rounds 2 --scale 0\.01 --warmup 1: synthetic workloads at scale 0\.01, 2 rounds; @thi\.ng\/malloc and ArrayBuffer timed on the first 3,000 events\.\n\nsweep: 57 events, 12\.0 MiB requested at the peak\n {2}contender +ns\/event +range +x glibc +x fallback +peak committed +RSS growth\n {2}pymem native /);
  t.match(text, /\n {2}glibc malloc \(C\) +[\d.,]+ +[\d.,]+-[\d.,]+ +1\.00x +[\d.]+x +- +[\d.]+ MiB\n/);
  t.match(text, /\nnative against the fallback\n {2}workload +native ns\/event +fallback ns\/event +native \/ fallback\n {2}sweep /);
  t.match(text, /\nOn this machine createHeap\(\) runs on the native backend \(auto: native addon \/.*\)\.\nRecommendation: .*\.\n$/, 'it ends with what the default gives this machine, and what to do');
  const md = formatResults(r, 'markdown');
  t.match(md, /^## `pymem bench --quick --workload sweep --rounds 2 --scale 0\.01 --warmup 1 --markdown`\n\nMachine: .+, \d+ cores, .+, Node v\d+\.\d+\.\d+, .+\. Date: \d{4}-\d\d-\d\d\.\n/);
  t.match(md, '| contender | ns/event | range | x glibc | x fallback | peak committed | RSS growth |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n| pymem native |');
  t.match(md, /\n### Native against the fallback\n\n\| workload \| native ns\/event \| fallback ns\/event \| native \/ fallback \|\n/);
  t.match(md, /\nOn this machine createHeap\(\) runs on the native backend \(.*\)\. Recommendation: .*\.\n$/);
});

t.test('on a terminal, a progress bar redrawn in place', async (t) => {
  const io = capture(true);
  const r = runBench(tiny({ workloads: ['large'], rounds: 1 }), io, { env: { ...process.env, CC: '/nonexistent/cc' }, thingModule: 'no-such-allocator', wasm: '/nonexistent/tlsf.wasm' });
  t.match(io.err, /^glibc malloc: left out, no C compiler to build its replayer \(\/nonexistent\/cc: spawnSync \/nonexistent\/cc ENOENT\)\n/);
  t.match(io.err, /\nAssemblyScript TLSF: left out, \/nonexistent\/tlsf\.wasm is missing \(node bench\/assemblyscript\/build\.mjs builds it\)\n/);
  t.match(io.err, /\r\[#{6}\.{24}\] 1\/5 large: pymem native, round 1 of 1/);
  t.match(io.err, /\r\[#{30}\] 5\/5 large: new ArrayBuffer, round 1 of 1/);
  t.match(io.err, /\r {78}\rlarge: measured \(4 events\)\n$/);
  t.match(io.err, /\n@thi\.ng\/malloc: left out, no-such-allocator is not installed \(npm install @thi\.ng\/malloc to compare with it\)\n/);
  t.same(Object.keys(r.workloads[0].cells), ['native', 'fallback', 'native-mem', 'fallback-mem', 'arraybuffer']);
  t.match(formatResults(r, 'text'), /\n {2}pymem native +[\d.,]+ +[\d.,]+-[\d.,]+ +- +[\d.]+x /, 'no ratio to glibc');
  t.match(formatResults(r, 'markdown'), '\n- glibc malloc: left out, no C compiler');
});

t.test('--debug-hooks: each backend again with debug hooks, and what they cost it', async (t) => {
  const r = runBench(tiny({ workloads: ['large'], rounds: 1, debugHooks: true }), capture(), { env: { ...process.env, CC: 'false' }, thingModule: 'no-such-allocator', wasm: '/nonexistent/tlsf.wasm' });
  t.same(r.contenders, ['native', 'fallback', 'native-mem', 'fallback-mem', 'native-debug', 'fallback-debug', 'arraybuffer']);
  const w = r.workloads[0];
  t.ok(w.cells['native-debug'].peakCommitted! > 0 && w.cells['fallback-debug'].failed === 0);
  t.match(formatResults(r, 'text'), /\n {2}pymem native, debug hooks +[\d.,]+ /);
  t.match(formatResults(r, 'text'), /\ndebug hooks against none\n {2}workload +native with \/ without +fallback with \/ without\n {2}large +[\d.]+x +[\d.]+x\n/);
  const md = formatResults(r, 'markdown');
  t.match(md, /^## `pymem bench --quick --debug-hooks --workload large --rounds 1 --scale 0\.01 --warmup 1 --markdown`\n/, 'the heading names the options that make the same run');
  t.match(md, /\n### Debug hooks against none\n\n\| workload \| native with \/ without \| fallback with \/ without \|\n/);
});

t.test('--tracemalloc: each backend again while tracing 1 and 25 frames, and what that costs', async (t) => {
  const r = runBench(tiny({ workloads: ['sweep'], rounds: 1, tracemalloc: true }), capture(), { env: { ...process.env, CC: 'false' }, thingModule: 'no-such-allocator', wasm: '/nonexistent/tlsf.wasm' });
  t.same(r.contenders, ['native', 'fallback', 'native-mem', 'fallback-mem', 'native-tm1', 'fallback-tm1', 'native-tm25', 'fallback-tm25', 'arraybuffer']);
  t.ok(Object.values(r.workloads[0].cells).every((c) => c.failed === 0));
  const text = formatResults(r, 'text');
  t.match(text, /\n {2}pymem fallback, tracemalloc 25 frames +[\d.,]+ /);
  t.match(text, /\ntracemalloc against none\n {2}workload +native, 1 frame +native, 25 frames +fallback, 1 frame +fallback, 25 frames\n {2}sweep( +[\d.]+x){4}\n/);
  t.match(text, /\ntracemalloc: time added per traced allocation\n {2}workload +native, 1 frame +native, 25 frames +fallback, 1 frame +fallback, 25 frames\n {2}sweep( +-?[\d.]+ us){4}\n/);
  t.equal(r.workloads[0].allocations, 38, "the sweep's mallocs, the events tracemalloc traces");
  t.match(formatResults(r, 'markdown'), /^## `pymem bench --quick --tracemalloc --workload sweep --rounds 1 --scale 0\.01 --warmup 1 --markdown`\n[^]*\n### tracemalloc against none\n[^]*\nPer traced allocation \(malloc, calloc or realloc\), the time tracing added:\n\n\| workload \|/);
  const older = { ...r, workloads: r.workloads.map(({ allocations: _, ...w }) => w) };
  t.match(formatResults(older, 'text'), /\n {2}sweep( +-){4}\n/, 'results saved without the count of allocations show none');
});

t.test('--objects: ints, floats and strings as heap objects and as JS values, each form in a child', async (t) => {
  // 20,000 values of each type and 20,000 records: enough for V8's heap growth to stand out of its noise.
  const r = runBench(tiny({ workloads: ['sweep'], rounds: 1, objects: true, scale: 0.02 }), capture(), { env: { ...process.env, CC: 'false' }, thingModule: 'no-such-allocator', wasm: '/nonexistent/tlsf.wasm' });
  const objects = r.objects!;
  t.equal(objects.count, 20_000);
  t.same(Object.keys(objects.forms), ['native', 'fallback', 'js']);
  const { native, fallback, js } = objects.forms;
  t.equal(native.checksum, js.checksum, 'every form read the same values back');
  // An int of one digit and a float take a 32-byte block each, 'name-12345' a 64-byte one (PyASCIIObject 40 + 11).
  t.ok(native.heapBytes >= 3 * objects.count * 32 && native.heapBytes === fallback.heapBytes, 'the values are in the heap, the same bytes on both backends');
  t.equal(native.handleBytes, 3 * objects.count * 4, 'their pointers in a Uint32Array');
  t.ok(js.v8HeapGrowth > 3 * objects.count * 8, "JS values are in V8's heap");
  t.ok(native.v8HeapGrowth < js.v8HeapGrowth / 10, "heap objects are not");
  t.equal(js.heapBytes + js.handleBytes + js.committedGrowth, 0);
  t.match(formatResults(r, 'text'), /\nobjects against JS values\n {2}form +build ms +read ms +full V8 GC ms +bytes\/value in the heap +V8 heap growth +x JS memory\n {2}heap objects, native +\d+ +\d+ +[\d.]+ +[\d.]+ \(\+4 pointer\) /);
  t.match(formatResults(r, 'markdown'), /^## `pymem bench --quick --objects --workload sweep --rounds 1 --scale 0\.02 --warmup 1 --markdown`\n[^]*\n### Objects against JS values\n\n\| form \|[^]*\n60,000 values \(20,000 each of ints, floats and strings\), medians of 1 rounds: in the heap they take [\d.]+ MiB/);
  const fallbackOnly = { ...objects, forms: { fallback, js } };
  t.match(objectsSummary(fallbackOnly), new RegExp(`a full V8 GC with them alive takes ${fallback.gcMs.toFixed(1)} ms`), 'without native, the fallback speaks for the heap');
  const records = r.records!;
  t.equal(records.count, 20_000);
  t.same(Object.keys(records.forms), ['records-native', 'records-fallback', 'records-js']);
  t.equal(records.forms['records-native'].checksum, records.forms['records-js'].checksum, 'every field of every record read back the same');
  t.ok(records.forms['records-native'].heapBytes === records.forms['records-fallback'].heapBytes, 'the same bytes on both backends');
  t.ok(records.forms['records-native'].collectMs > 0 && records.forms['records-js'].collectMs === 0, 'heap.gc.collect() measured for the heap forms only');
  t.match(formatResults(r, 'text'), /\nrecords: dicts against JS objects\n {2}form +build ms +read ms +full V8 GC ms +heap\.gc\.collect\(\) ms +heap bytes\/record +heap committed +V8 heap growth +x JS memory\n {2}heap dicts, native +\d+ +\d+ +[\d.]+ +[\d.]+ +\d+ \(\+4 pointer\) +[\d.]+ MiB /);
  t.match(formatResults(r, 'markdown'), /\n### Records: dicts against JS objects\n\n\| form \|[^]*\n20,000 records, medians of 1 rounds: as heap dicts they take [\d.]+ MiB/);
  const recordsFallback = { ...records, forms: { 'records-fallback': records.forms['records-fallback'], 'records-js': records.forms['records-js'] } };
  t.match(recordsSummary(recordsFallback), new RegExp(`takes ${records.forms['records-fallback'].gcMs.toFixed(1)} ms instead`));
});

t.test('--objects: a child that fails, forms that disagree, a child without --expose-gc', async (t) => {
  t.throws(() => runObjects(['bogus'], 10, 1, () => {}), { message: /^objects, bogus, failed \(status 1\): [^]*no form 'bogus' \(forms: js, native, fallback, records-js, records-native, records-fallback\)/ });
  let n = 0;
  const m = { buildMs: 1, readMs: 1, gcMs: 1, collectMs: 1, v8HeapGrowth: 0, handleBytes: 0, heapBytes: 0, committedGrowth: 0 };
  const { runObjects: mocked } = t.mockRequire('../lib/cli/bench-objects', {
    'node:child_process': { spawnSync: () => ({ status: 0, stdout: JSON.stringify({ ...m, checksum: n++ }) }) },
  }) as typeof import('../lib/cli/bench-objects');
  t.throws(() => mocked(['js', 'fallback'], 10, 1, () => {}), { message: 'objects: the forms read different values back (checksums 0, 1)' });
  t.throws(() => measureObjects('js', 10), { message: 'bench-objects-child needs node --expose-gc' });
});

t.test('--image: records saved as heap images and as JSON and v8 files, and opened in fresh processes', async (t) => {
  const r = runBench(tiny({ workloads: ['sweep'], rounds: 1, image: true, scale: 0.002 }), capture(), { env: { ...process.env, CC: 'false' }, thingModule: 'no-such-allocator', wasm: '/nonexistent/tlsf.wasm' });
  const image = r.image!;
  t.equal(image.count, 2_000);
  t.same(Object.keys(image.forms), ['objects-native', 'objects-fallback', 'blocks-native', 'blocks-fallback', 'json', 'v8']);
  t.equal(new Set(Object.values(image.forms).map((m) => m.checksum)).size, 1, 'every form read every record back the same');
  const f = image.forms;
  t.equal(f['objects-native'].fileBytes, f['objects-fallback'].fileBytes, 'an image is the same bytes from either backend');
  t.ok(f['blocks-native'].fileBytes < f['objects-native'].fileBytes, 'compact blocks take fewer segments than dicts');
  t.ok(Object.values(f).every((m) => m.saveMs > 0 && m.openMs > 0 && m.readMs >= 0 && m.fileBytes > 0), 'each figure measured');
  t.match(formatResults(r, 'text'), /\nrecords saved and opened again\n {2}form +file +save ms +MB\/s saved +open \+ first record ms +RSS at first record +read all ms\n {2}heap image of dicts, native +[\d.]+ MiB +\d+ +\d+ +[\d.]+ /);
  t.match(formatResults(r, 'markdown'), /^## `pymem bench --quick --image --workload sweep --rounds 1 --scale 0\.002 --warmup 1 --markdown`\n[^]*\n### Records saved and opened again\n\n\| form \|[^]*\n2,000 records, medians of 1 rounds, the file in the page cache: a heap image opens with its first record in [\d.]+ ms where JSON\.parse/);
  const fallbackOnly = { ...image, forms: { 'objects-fallback': f['objects-fallback'], json: f.json } };
  t.match(imageSummary(fallbackOnly), new RegExp(`first record in ${f['objects-fallback'].openMs.toFixed(1)} ms`), 'without native, the fallback speaks for the heap');
  // The measurements themselves, as the bench runs them (here with coverage on), for each form.
  const dist = path.join(PACKAGE_ROOT, 'dist', 'cli', 'bench-image-main.js');
  let expected = 0;
  for (let i = 0; i < 300; i++) expected += i + `user-${i}`.length + `t${i % 10}`.length + `g${i % 7}`.length + 'member'.length + i / 4;
  for (const form of Object.keys(f)) {
    const file = path.join(scratch, `${form}.img`);
    const [saved, opened] = ['save', 'open'].map((phase) => spawnSync(process.execPath, [dist, form, '300', file, phase], { encoding: 'utf8' }));
    t.equal(JSON.parse(opened.stdout).checksum, expected, `${form}: every record read back ${saved.stderr}${opened.stderr}`);
  }
});

t.test('--image: a form or phase that does not exist, forms that disagree', async (t) => {
  t.throws(() => runImage(['bogus'], 10, 1, scratch, () => {}), { message: /^image, bogus, save, failed \(status 1\): [^]*no image form 'bogus'/ });
  t.throws(() => measureImage('json', 10, path.join(scratch, 'x.json'), 'reopen'), { message: "no phase 'reopen' (save or open)" });
  let n = 0;
  const m = { saveMs: 1, openMs: 1, readMs: 1, fileBytes: 1, openRss: 0 };
  const { runImage: mocked } = t.mockRequire('../lib/cli/bench-image', {
    'node:child_process': { spawnSync: () => ({ status: 0, stdout: JSON.stringify({ ...m, checksum: n++ >> 1 }) }) },
  }) as typeof import('../lib/cli/bench-image');
  t.throws(() => mocked(['json', 'v8'], 10, 1, scratch, () => {}), { message: 'image: the forms read different records back (checksums 0, 1)' });
});

t.test('a contender that fails is an error naming it', async (t) => {
  const cc = path.join(scratch, 'broken-cc');
  writeFileSync(cc, '#!/bin/sh\n# a "compiler" whose program exits 3\nwhile [ "$1" != "-o" ]; do shift; done\nprintf "#!/bin/sh\\nexit 3\\n" > "$2"; chmod +x "$2"\n');
  chmodSync(cc, 0o755);
  t.throws(() => runBench(tiny({ workloads: ['large'], rounds: 1 }), capture(), { env: { ...process.env, CC: cc } }), { message: /^glibc on large failed \(status 3\): $/ });
});

t.test('a compiler that fails, and a workload longer than the slow contenders are timed on', async (t) => {
  const io = capture();
  const r = runBench(tiny({ workloads: ['ast_compile'], rounds: 1 }), io, { env: { ...process.env, CC: 'false' } });
  t.match(io.err, /^glibc malloc: left out, no C compiler to build its replayer \(false: \)\n/);
  const w = r.workloads[0];
  t.same([w.events, w.cells.native.events, w.cells.assemblyscript.events, w.cells.thing.events, w.cells.arraybuffer.events], [31_037, 31_037, 31_037, 3_000, 3_000]);
  t.match(formatResults(r, 'text'), /\n {2}@thi\.ng\/malloc +[\d.,]+ \(first 3,000 events\) /);
});

t.test('the verdict: where native is worth it', async (t) => {
  const cell = (median: number) => ({ median, min: median, max: median, events: 1, rssGrowth: 0, failed: 0 });
  const auto = { backend: 'native', reason: 'auto: native addon /x/pymem.node' };
  const base: BenchResults = { mode: 'quick', options: '--quick', scale: 1, repeats: 1, slowEvents: 1, debugHooks: false, tracemalloc: false, contenders: ['native', 'fallback'], missing: [], auto, workloads: [] };
  const w = (name: string, native: number, fallback: number) => ({ name, events: 1, peakBytes: 0, cells: { native: cell(native), fallback: cell(fallback) } });
  t.equal(verdict({ ...base, workloads: [w('a', 1, 1), w('b', 1.05, 1)] }), "Native took no less than 0.9x the fallback's time on any workload, and within 10% on the other 2.");
  t.equal(verdict({ ...base, workloads: [w('a', 1, 2), w('b', 3, 1)] }), "Native took less than 0.9x the fallback's time on a (0.50x), more than 1.1x on b (3.00x).");
  t.equal(verdict({ ...base, contenders: ['fallback'] }), 'The native backend did not run here, so there is nothing to compare the fallback with.');
  t.equal(verdict({ ...base, workloads: [w('a', 0.896, 1)] }), "Native took no less than 0.9x the fallback's time on any workload, and within 10% on the other 1.", '0.896 shows as 0.90x, and is judged so');
  // The recommendation: the geometric mean of native over the fallback, in the same 10% band.
  t.equal(recommendation({ ...base, workloads: [w('a', 1, 8), w('b', 2, 1)] }), "Recommendation: keep the default, backend 'auto', where native is available: it took 0.50x the fallback's time over these workloads (geometric mean).", '1/8 and 2/1: a mean of 1/2');
  t.equal(recommendation({ ...base, workloads: [w('a', 3, 1), w('b', 1, 1.2)] }), "Recommendation: for work like this, pass backend: 'fallback' (or set PYMEM_BACKEND=fallback): native took 1.58x the fallback's time over these workloads (geometric mean).");
  t.equal(recommendation({ ...base, workloads: [w('a', 1.05, 1), w('b', 1, 1.05)] }), "Recommendation: either backend serves work like this (native took 1.00x the fallback's time over these workloads, geometric mean); keep the default, backend 'auto'.");
  const fallbackHere = { ...base, contenders: ['fallback'], auto: { backend: 'fallback', reason: 'auto: the native addon is not available: gone' }, workloads: [{ ...w('a', 1, 1), cells: { fallback: cell(1) } }] };
  t.match(formatResults(fallbackHere, 'text'), /\nOn this machine createHeap\(\) runs on the fallback \(auto: the native addon is not available: gone\)\.\nRecommendation: the fallback is all that runs here; with a C\+\+ compiler, make and Python, `npm rebuild pymem` builds the addon, and this benchmark then compares the two\.\n$/);
  t.match(formatResults({ ...base, debugHooks: true, workloads: [w('a', 1, 1)] }, 'text'), /\ndebug hooks against none\n {2}workload +native with \/ without +fallback with \/ without\n {2}a +- +-\n/, 'no debug contender measured: dashes');
  const failing = { ...base, workloads: [{ ...w('a', 1, 1), cells: { native: { ...cell(1), failed: 12 }, fallback: cell(1) } }] };
  t.match(formatResults(failing, 'text'), /\n {2}pymem native +1\.0, 12 failed +1\.0-1\.0 +- +1\.00x +- +0\.0 MiB\n/);
  // A machine whose CPUs Node cannot list (some containers).
  const { formatResults: format } = t.mockRequire('../lib/cli/bench-report', { 'node:os': { ...require('node:os'), cpus: () => [] } }) as typeof import('../lib/cli/bench-report');
  t.match(format(base, 'markdown'), /\nMachine: unknown CPU, 0 cores, .*, no C compiler\. Date: /);
});

t.test('the settings the options ask for', async (t) => {
  t.same(benchSettings({}), { mode: 'quick', rounds: 3, workloads: ['small', 'sweep', 'realloc', 'large', 'ast_compile', 'json_roundtrip', 'text_words', 'unittest_suite'] }, 'npm start');
  t.same(benchSettings({ full: true, workload: ['large', 'small'] }), { mode: 'full', rounds: 7, workloads: ['large', 'small'] });
  t.same(benchSettings({ quick: true, rounds: '2' }).rounds, 2);
  t.equal(benchSettings({ 'debug-hooks': true }).debugHooks, true);
  t.equal(benchSettings({ tracemalloc: true }).tracemalloc, true);
  t.equal(benchSettings({ objects: true }).objects, true);
  t.equal(benchSettings({ image: true }).image, true);
  t.equal(benchOptions(benchSettings({})), '--quick', "npm start's run is named by its mode alone");
  t.equal(benchOptions(benchSettings({ full: true, objects: true, 'debug-hooks': true, tracemalloc: true, workload: ['large', 'small'], rounds: '3' })), '--full --debug-hooks --tracemalloc --objects --workload large --workload small --rounds 3');
  t.throws(() => benchSettings({ rounds: '2.5' }), { message: "--rounds must be a whole number from 1; got '2.5'" });
  t.same([benchSettings({ scale: '0.5' }).scale, benchSettings({ warmup: '0' }).warmupMs], [0.5, 0]);
  t.equal(benchOptions(benchSettings({ scale: '0.5', warmup: '10' })), '--quick --scale 0.5 --warmup 10');
  t.throws(() => benchSettings({ scale: '0' }), { message: "--scale must be a number above 0 and at most 100; got '0'" });
  t.throws(() => benchSettings({ warmup: '-1' }), { message: "--warmup must be a whole number of milliseconds from 0; got '-1'" });
  t.throws(() => benchSettings({ warmup: 'long' }), { message: "--warmup must be a whole number of milliseconds from 0; got 'long'" });
  t.equal(WARM_MS, 250, 'the warm-up the help text names');
});

t.test('the command: options, JSON, Markdown, and a missing addon said in one line', async (t) => {
  t.match(pymem('bench', '--quick', '--full'), { status: 2, stderr: /^pymem bench: --quick and --full cannot both be given\n\nUsage: pymem bench/ });
  t.match(pymem('bench', '--workload', 'tiny'), { status: 2, stderr: /^pymem bench: no workload 'tiny' \(workloads: small, / });
  t.match(pymem('bench', 'small'), { status: 2, stderr: /^pymem bench: unexpected argument 'small'/ });
  t.match(pymem('bench', '--rounds', '0'), { status: 2, stderr: /^pymem bench: --rounds must be a whole number from 1; got '0'/ });
  const json = path.join(scratch, 'bench.json');
  t.match(pymem('bench', '--warmup', '-5'), { status: 2, stderr: /^pymem bench: --warmup must be a whole number of milliseconds from 0; got '-5'\n/ }, 'a negative value is the value, not an option');
  const md = pymem('bench', '--full', '--workload', 'small', '--rounds', '1', '--scale', '0.01', '--warmup', '0', '--markdown', '--json', json);
  t.equal(md.status, 0);
  t.match(md.stdout, /^## `pymem bench --full --workload small --rounds 1 --scale 0\.01 --warmup 0 --markdown`\n/);
  const saved = JSON.parse(readFileSync(json, 'utf8')) as BenchResults;
  t.same([saved.mode, saved.scale, saved.repeats, saved.workloads.map((w) => [w.name, w.events])], ['full', 0.01, 1, [['small', 14_000]]]);
  t.equal(saved.slowEvents, MODES.full.slowEvents, "--full's cap on the slow contenders");
  // Where the addon cannot load, the bench says so and measures the rest.
  const empty = path.join(scratch, 'no-addon');
  mkdirSync(empty);
  const child = spawnSync(path.join(PACKAGE_ROOT, 'bin', 'pymem'), ['bench', '--workload', 'sweep', '--rounds', '1', '--warmup', '1'], { encoding: 'utf8', env: { ...process.env, PYMEM_PREBUILD: empty } });
  t.equal(child.status, 0);
  t.match(child.stderr, /^pymem native: left out, the addon is not available \(No native build was found .*\)\n/);
  t.notMatch(child.stderr, /Warning/, 'the bench says it in its own words, without the warning a heap would emit');
  t.notMatch(child.stdout, /pymem native/);
  t.match(child.stdout, /^pymem bench --quick --workload sweep --rounds 1 --warmup 1: synthetic workloads at scale 0\.25, /, "without --scale, the mode's");
  t.match(child.stdout, /\nThe native backend did not run here, so there is nothing to compare the fallback with\.\n/);
  t.match(child.stdout, /\nOn this machine createHeap\(\) runs on the fallback \(auto: the native addon is not available: No native build was found .*\)\.\nRecommendation: the fallback is all that runs here; /);
});
