// The public surface, as users reach it: `require('pymem')` and `import ... from 'pymem'` through the
// package's exports map (a package can name itself), both giving the same instance.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as api from '../lib/index';
import { PACKAGE_ROOT } from '../lib/raw/native';

const NAMES = [
  'ALIGNMENT', 'BadImageError', 'DEBUG_COLLECTABLE', 'DEBUG_STATS', 'DEBUG_UNCOLLECTABLE', 'DEFAULT_MAX_BYTES', 'Domain', 'GarbageCollector', 'Heap',
  'HeapCorruptionError', 'InvalidPointerError', 'MAX_MAX_BYTES', 'MIN_MAX_BYTES', 'MemoryCorruptionError', 'MemoryError', 'ObjectHandle', 'Objects',
  'RAW_HUGE_THRESHOLD', 'RecursionError', 'SEGMENT_SIZE', 'SharedHeap', 'SystemAllocator', 'Tuple', 'attachHeap', 'createHeap', 'defaultHeap', 'drawHeapMap',
  'nativeAddon',
];

function node(args: string[]): string {
  const run = spawnSync(process.execPath, args, { cwd: PACKAGE_ROOT, encoding: 'utf8', env: { ...process.env, PYMEM_BACKEND: 'fallback' } });
  if (run.status !== 0) throw new Error(run.stderr);
  return run.stdout.trim();
}

t.test('the entry point exports exactly the documented names', async (t) => {
  t.same(Object.keys(api).sort(), NAMES);
  t.same(
    { ALIGNMENT: api.ALIGNMENT, SEGMENT_SIZE: api.SEGMENT_SIZE, RAW_HUGE_THRESHOLD: api.RAW_HUGE_THRESHOLD },
    { ALIGNMENT: 16, SEGMENT_SIZE: 1 << 20, RAW_HUGE_THRESHOLD: 256 * 1024 },
  );
  t.same([api.MIN_MAX_BYTES, api.DEFAULT_MAX_BYTES, api.MAX_MAX_BYTES], [2 << 20, 2 ** 30, 2 ** 32]);
  const heap = api.createHeap({ maxBytes: api.MIN_MAX_BYTES });
  t.ok(heap instanceof api.Heap && heap.raw instanceof api.Domain && heap.system instanceof api.SystemAllocator && heap.objects instanceof api.Objects && heap.gc instanceof api.GarbageCollector);
});

t.test("require('pymem') and import 'pymem' resolve through the exports map to one instance", async (t) => {
  const probe = 'Object.keys(m).filter((k) => k !== "default").sort().join(",") + " " + m.createHeap({ maxBytes: 2 << 20 }).backend';
  t.equal(node(['-e', `const m = require('pymem'); console.log(${probe})`]), `${NAMES.join(',')} fallback`);
  t.equal(node(['--input-type=module', '-e', `import * as m from 'pymem'; console.log(${probe})`]), `${NAMES.join(',')} fallback`);
  t.equal(
    node(['--input-type=module', '-e', "import { createHeap } from 'pymem'; import { createRequire } from 'node:module'; console.log(createRequire(import.meta.url)('pymem').createHeap === createHeap)"]),
    'true',
    'no dual-package hazard',
  );
});

t.test("pymem/tracemalloc: the classes, one instance through require and import", async (t) => {
  const names = 'BaseFilter,DomainFilter,Filter,Frame,Snapshot,Statistic,StatisticDiff,Trace,Traceback,Traces';
  t.equal(node(['-e', "console.log(Object.keys(require('pymem/tracemalloc')).sort().join(','))"]), names);
  t.equal(
    node(['--input-type=module', '-e', "import * as m from 'pymem/tracemalloc'; import { createRequire } from 'node:module'; console.log(Object.keys(m).filter((k) => k !== 'default').sort().join(','), createRequire(import.meta.url)('pymem/tracemalloc').Snapshot === m.Snapshot)"]),
    `${names} true`,
  );
});
