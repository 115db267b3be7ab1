// pymem inspect IMAGE, and the census of objects it prints (lib/objects/census.ts), on both backends.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BACKENDS, heapOn } from './helpers/backends';
import { pymem } from './helpers/cli';
import { Tuple } from '../lib/index';
import { objectCensus } from '../lib/objects/census';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pymem-inspect-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

// Every type, in pools and raw blocks: a str of 2,000 bytes is a raw pool's block, one of 300,000 a
// huge block of its own; 1-character strings, small ints, None and the empty tuple are static.
const VALUES = [{ a: 1, b: 'x'.repeat(2000) }, [1.5, 2.5, 'y'.repeat(300_000)], 'hello', 12345678901234567890n, new Uint8Array(10), new Tuple([7, 'q']), true, null, new Tuple([])];

t.test('the census counts the objects in live blocks, by type, on both backends alike', async (t) => {
  const census = BACKENDS.map((backend) => {
    const heap = heapOn(backend);
    t.same(objectCensus(heap.u32, heap.maxBytes), {}, 'a heap without objects holds none');
    const o = heap.objects;
    const list = o.fromJS(VALUES);
    // 40,000 ints more: their blocks carve the first arena's every pool and spill into a second.
    const ints = o.fromJS(Array.from({ length: 40_000 }, (_, i) => 1_000 + i));
    // A parked object and a data block are no objects: a float on the freelist, a block of zeros;
    // nor are the blocks of pools emptied again (200 bytes objects of 200 bytes each, alone in their size class).
    o.decref(o.float(9.5));
    const gone = o.fromJS(Array.from({ length: 200 }, (_, i) => new Uint8Array(200).fill(i)));
    o.decref(gone);
    heap.obj.malloc(64);
    const found = objectCensus(heap.u32, heap.maxBytes);
    o.decref(list);
    o.decref(ints);
    heap.close();
    return found;
  });
  t.same(census[0], census[1]);
  const objects = Object.fromEntries(Object.entries(census[0]).map(([name, c]) => [name, c.objects]));
  // The ints, 1.5 and 2.5, the three long strings, the bytes, (7, 'q'), the three lists and the dict.
  t.same(objects, { int: 40_001, float: 2, str: 3, bytes: 1, tuple: 1, list: 3, dict: 1 });
  t.ok(census[0].str.blockBytes > 302_000, "the strings' blocks, the huge one's whole length among them");
});

t.test('pymem inspect: the header, debugMallocStats(), the objects by type, the map', async (t) => {
  for (const backend of BACKENDS) {
    const heap = heapOn(backend);
    const list = heap.objects.fromJS(VALUES);
    heap.setRoot(list);
    heap.objects.decref(list);
    const file = path.join(dir, `${backend}.img`);
    heap.save(file);
    heap.close();
    const png = path.join(dir, `${backend}.png`);
    const run = pymem('inspect', file, '--backend', backend, '--out', png);
    t.equal(run.status, 0, run.stderr);
    const lines = run.stdout.split('\n');
    t.match(lines[0], new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: a heap image of [\\d.]+ MiB, its region 16\\.0 MiB \\(16 segments, \\d+ stored\\); allocator pymalloc; root 0x[0-9a-f]+ \\(an object: list\\)$`));
    t.match(run.stdout, /\nSmall block threshold = 512, in 32 size classes\.\n/);
    t.match(run.stdout, /\nobjects in its blocks, by type:\n {2}type +objects +bytes of their blocks\n {2}str +3 +[\d,]+\n/);
    t.match(run.stdout, new RegExp(`\\n${png.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\d+ x \\d+ PNG, [\\d,]+ bytes\\n$`));
    t.same([...fs.readFileSync(png).subarray(1, 4)], [...Buffer.from('PNG')]);
  }
});

t.test('pymem inspect: a root that is a block, none, and a heap without objects', async (t) => {
  const heap = heapOn('fallback');
  const file = path.join(dir, 'plain.img');
  heap.save(file);
  let run = pymem('inspect', file);
  t.match(run.stdout, /; allocator pymalloc; root none\n/);
  t.match(run.stdout, /\nobjects in its blocks: none\n$/);
  heap.setRoot(heap.raw.malloc(100));
  heap.save(file);
  heap.close();
  run = pymem('inspect', file);
  t.match(run.stdout, /; root 0x[0-9a-f]+ \(a block\)\n/);
});

t.test('pymem inspect: what it refuses', async (t) => {
  const file = path.join(dir, 'native.img');
  t.match(pymem('inspect'), { status: 2, stderr: /^pymem inspect: inspect needs an IMAGE\n\nUsage: pymem inspect IMAGE/ });
  t.match(pymem('inspect', file, 'more'), { status: 2, stderr: /^pymem inspect: unexpected argument 'more'\n/ });
  t.match(pymem('inspect', file, '--out', 'map.gif'), { status: 2, stderr: /^pymem inspect: --out must end in \.svg, \.html or \.png; got 'map\.gif'\n/ });
  t.match(pymem('inspect', file, '--backend', 'gpu'), { status: 2, stderr: /^pymem inspect: --backend must be auto, native, fallback; got 'gpu'\n/ });
  const json = path.join(dir, 'data.json');
  fs.writeFileSync(json, '{}');
  t.same(pymem('inspect', json), { status: 1, stdout: '', stderr: `pymem inspect: ${json} is not a heap image this pymem can open (not-an-image): its first bytes are not "pymemimg"\n` });
});
