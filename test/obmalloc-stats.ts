// sys._debugmallocstats()'s text: our formatter against CPython 3.12's own output, a known sequence
// against the text computed for it by scripts/fixtures/debugmallocstats.py, and PYMEM_MALLOCSTATS.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { EMPTY_FREE_LISTS } from './helpers/free-lists';
import { BACKENDS, heapOn } from './helpers/backends';
import { formatDebugMallocStats, printone, type PymallocStats } from '../lib/pymalloc/stats';
import { SEGMENT_SIZE } from '../lib/index';

const fixture = (name: string): string => fs.readFileSync(path.join(__dirname, 'fixtures', name), 'utf8');
const number = (line: string): number => Number(line.slice(line.indexOf('=') + 1).replace(/,/g, ''));

t.test("the formatter reproduces CPython 3.12's pymalloc section from its figures", async (t) => {
  const text = fixture('debugmallocstats-cpython.txt');
  const lines = text.split('\n');
  const value = (label: string): number => number(lines.find((l) => l.startsWith(label))!);
  const classes = lines
    .filter((l) => /^ +\d+ +\d+ +\d+ +\d+ +\d+$/.test(l))
    .map((l) => l.trim().split(/ +/).map(Number))
    .map(([sizeClass, blockSize, pools, blocksInUse, availableBlocks]) => ({ sizeClass, blockSize, pools, blocksInUse, availableBlocks }));
  const unused = lines.find((l) => l.includes('unused pools'))!;
  const stats: PymallocStats = {
    arenasAllocatedTotal: value('# arenas allocated total'),
    arenasReclaimed: value('# arenas reclaimed'),
    arenasHighwater: value('# arenas highwater mark'),
    arenasCurrent: value('# arenas allocated current'),
    allocatedBytes: value('# bytes in allocated blocks'),
    availableBytes: value('# bytes in available blocks'),
    unusedPools: Number(unused.split(' ')[0]),
    poolHeaderBytes: value('# bytes lost to pool headers'),
    quantizationBytes: value('# bytes lost to quantization'),
    arenaAlignmentBytes: value('# bytes lost to arena alignment'),
    rawAllocatedBlocks: 0,
    allocatedBlocks: 0,
    classes,
  };
  t.ok(classes.length > 10 && stats.arenasCurrent > 0, `parsed ${classes.length} classes of ${stats.arenasCurrent} arenas`);
  const region = { reservedBytes: 0, committedBytes: 0, segments: { total: 0, free: 0, cached: 0, meta: 0, rawPool: 0, arena: 0, huge: 0 } };
  const ours = formatDebugMallocStats(stats, region);
  t.equal(ours.slice(0, ours.indexOf('\nregion segments\n')), text.slice(0, -1), 'byte for byte up to where CPython prints its arena map');
});

t.test('printone pads the label to column 35 and right-aligns the value with thousands commas', async (t) => {
  t.equal(printone('# arenas reclaimed', 0), '# arenas reclaimed                 =                    0\n');
  t.equal(printone('Total', 2_097_152), 'Total                              =            2,097,152\n');
  t.equal(printone('x'.repeat(40), 1234567890123), `${'x'.repeat(40)}=    1,234,567,890,123\n`, 'a long label pushes the = right, as in CPython');
});

for (const backend of BACKENDS) {
  t.test(`debugMallocStats() after the known sequence on ${backend}`, async (t) => {
    const heap = heapOn(backend);
    const small = Array.from({ length: 66_000 }, () => heap.obj.malloc(16));
    const mid = Array.from({ length: 100 }, () => heap.obj.malloc(100));
    Array.from({ length: 40 }, () => heap.obj.malloc(512));
    const raw = [0, 0, 0, 1000, 1000].map((n) => heap.obj.malloc(n));
    for (let i = 0; i < 2042; i += 2) heap.obj.free(small[i]);
    for (let i = 5 * 1021; i < 6 * 1021; i++) heap.obj.free(small[i]);
    for (const p of mid) heap.obj.free(p);
    t.equal(heap.debugMallocStats(), `${fixture('debugmallocstats-sequence.txt')}\n${EMPTY_FREE_LISTS}`, "pymalloc's section, a blank line, the free lists'");
    t.equal(heap.allocatedBlocks(), 66_000 - 1021 - 1021 + 40 + raw.length, 'sys.getallocatedblocks()');
    t.equal(heap.stats().segments.total * SEGMENT_SIZE, heap.maxBytes);
    heap.check();
  });
}

t.test('PYMEM_MALLOCSTATS=1 prints the statistics at every new arena and at close, as PYTHONMALLOCSTATS does', async (t) => {
  const child = path.join(__dirname, 'helpers', 'child-mallocstats.js');
  const run = spawnSync(process.execPath, [child], { encoding: 'utf8', env: { ...process.env, PYMEM_MALLOCSTATS: '1' } });
  t.equal(run.status, 0, run.stderr);
  const reports = run.stderr.split('Small block threshold = 512, in 32 size classes.\n').slice(1);
  t.equal(reports.length, 3, 'before each of the two new arenas, and at close');
  t.match(reports[0], /# arenas allocated current         =                    0\n/, 'the first report comes before the first arena');
  t.match(reports[1], /# arenas allocated current         =                    1\n/);
  t.match(reports[2], /# arenas allocated current         =                    2\n/);
  const quiet = spawnSync(process.execPath, [child], { encoding: 'utf8', env: { ...process.env, PYMEM_MALLOCSTATS: '' } });
  t.equal(quiet.stderr, '', 'empty means off');
});
