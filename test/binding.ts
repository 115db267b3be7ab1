// The addon's own defences and lifetimes, below the TypeScript layer: what a caller holding the raw
// handle gets, and that dropped regions are unmapped once V8 collects them.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadNative } from '../lib/raw/native';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const addon = loadNative().addon!;
const MiB = 1 << 20;

/** VmSize (address space) from /proc/self/status, in bytes. */
function vmSize(): number {
  return Number(/VmSize:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
}

async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve)); // finalizers run on the next turn
  }
}

t.test('the C side checks its own arguments and refuses a closed region', async (t) => {
  t.throws(() => addon.createRegion(3 * MiB + 1), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => addon.createRegion(2 ** 32 + MiB), { code: 'ERR_OUT_OF_RANGE' }, 'over 2^32: refused before Node sees it');
  const region = addon.createRegion(4 * MiB);
  t.throws(() => region.malloc('8' as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => (region.realloc as (p: number) => number)(0), { code: 'ERR_INVALID_ARG_TYPE' }, 'a missing argument');
  const p = region.malloc(64);
  const view = new Uint8Array(region.buffer);
  region.close();
  t.equal(view.length, 0, 'the buffer was detached');
  for (const call of [() => region.malloc(1), () => region.free(p), () => region.arenaAlloc(), () => region.residentBytes()]) {
    t.throws(call, { code: 'ERR_PYMEM_HEAP_CLOSED' });
  }
  region.close();
  t.pass('closing twice does nothing');
});

t.test('a function kept after its handle is dropped still works', async (t) => {
  let region: ReturnType<typeof addon.createRegion> | undefined = addon.createRegion(4 * MiB);
  const { malloc, free } = region;
  region = undefined;
  await collect();
  const p = malloc(1000);
  t.ok(p > 0);
  t.equal(free(p), 0);
});

t.test('regions dropped without close() are unmapped when collected', async (t) => {
  await collect();
  const before = vmSize();
  for (let i = 0; i < 16; i++) addon.createRegion(2 ** 30).malloc(100);
  t.ok(vmSize() - before >= 15 * 2 ** 30, 'sixteen 1 GiB regions reserved');
  await collect();
  t.ok(vmSize() - before < 2 ** 30, `all unmapped after collection (${((vmSize() - before) / MiB).toFixed(0)} MiB above)`);
});

t.test('metadata scribbled over from JavaScript: C aborts with a message, never leaving its region', async (t) => {
  const run = (backend: string) => spawnSync(process.execPath, [path.join(__dirname, 'helpers', 'child-corrupt.js'), backend], { encoding: 'utf8' });
  const native = run('native');
  t.equal(native.signal, 'SIGABRT');
  t.match(native.stderr, /^pymem: the heap's metadata is corrupt: the allocator was led to bytes 0x[0-9a-f]+\.\.0x[0-9a-f]+, outside its 8388608-byte region\. .*heap\.check\(\) names what\. Aborting/m);
  // The fallback cannot leave its ArrayBuffer; it carries on, and heap.check() says what broke.
  const fallback = run('fallback');
  t.equal(fallback.status, 0);
  t.match(JSON.parse(fallback.stdout).check, /^heap check failed: /);
});
