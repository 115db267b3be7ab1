// Loading the addon: the layout check, and what 'auto' and 'native' do when the addon is missing,
// broken, or built for a runtime without external ArrayBuffers. The child processes find the addon
// where node-gyp-build looks when PYMEM_PREBUILD names a directory.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadNative, layoutMismatch, layoutTable, PACKAGE_ROOT } from '../lib/raw/native';
import { copyPackage } from './helpers/package-copy';
import { LAYOUT_VERSION } from '../lib/raw/layout';

const CHILD = path.join(__dirname, 'helpers', 'child-heap.js');

interface ChildResult {
  backend?: string;
  reason?: string;
  works?: boolean;
  code?: string;
  message?: string;
  native: { available: boolean; path?: string; reason?: string };
  warnings: { name: string; code: string; message: string }[];
}

/** Runs test/helpers/child-heap.js with `env`; `vmLimitKiB` caps its address space (ulimit -v). */
function child(env: Record<string, string>, vmLimitKiB?: number): ChildResult {
  const node = [process.execPath, CHILD];
  const [cmd, ...args] = vmLimitKiB ? ['bash', '-c', `ulimit -v ${vmLimitKiB}; exec "$@"`, 'bash', ...node] : node;
  const run = spawnSync(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`child failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!);
}

/**
 * Builds the addon from a copy of native/ into `dir` (for PYMEM_PREBUILD to point at), after `edit`
 * has had its way with the copy; returns node-gyp's failure output, or '' when it built.
 */
function buildVariant(dir: string, gypArgs: string[], edit: (dir: string) => void = () => {}): string {
  copyPackage(dir, ['native', 'binding.gyp']);
  edit(dir);
  const build = spawnSync(process.execPath, [path.join(PACKAGE_ROOT, 'scripts', 'build-native.js'), ...gypArgs], { cwd: dir, encoding: 'utf8' });
  return build.status === 0 ? '' : build.stderr.slice(-2000);
}

const scratch = mkdtempSync(path.join(tmpdir(), 'pymem-loader-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

t.test('the addon is built with the same layout as the TypeScript allocator', async (t) => {
  const load = loadNative();
  t.equal(load.error, undefined);
  t.same(load.addon!.layout, layoutTable(), 'every constant equal, none missing on either side');
  t.equal(layoutMismatch(load.addon!.layout), undefined);
  t.equal(layoutMismatch({ ...layoutTable(), POOL_SENTINEL: 8 }), 'POOL_SENTINEL is 8 in the addon and 1048560 in the TypeScript allocator');
  t.match(layoutMismatch({ ...layoutTable(), EXTRA: 1 }), /^EXTRA is 1 in the addon and undefined/);
  t.equal(loadNative(), load, 'loaded once per process');
});

t.test('a missing addon: auto runs on the fallback and says why; native is an error', async (t) => {
  const empty = path.join(scratch, 'empty');
  mkdirSync(empty);
  const missing = loadNative(empty);
  t.match(missing.error, /^No native build was found for platform=/);
  const auto = child({ PYMEM_PREBUILD: empty, PYMEM_BACKEND: '' });
  t.same(auto, { backend: 'fallback', reason: auto.reason, works: true, native: auto.native, warnings: auto.warnings });
  t.match(auto.reason, /^auto: the native addon is not available: No native build was found/);
  t.same(auto.native, { available: false, reason: missing.error }, 'nativeAddon() says so too');
  t.same(
    auto.warnings,
    [
      {
        name: 'Warning',
        code: 'PYMEM_FALLBACK',
        message: `pymem runs on its TypeScript fallback, ${auto.reason!.replace('auto: ', '')}. \`npm rebuild pymem\` builds the addon (it needs a C++ compiler, make and Python); PYMEM_NO_FALLBACK_WARNING=1, or backend: 'fallback', silences this warning.`,
      },
    ],
    'one warning for the two heaps: the reason, and the command that builds the addon',
  );
  t.same(child({ PYMEM_PREBUILD: empty, PYMEM_BACKEND: '', PYMEM_NO_FALLBACK_WARNING: '1' }).warnings, [], 'PYMEM_NO_FALLBACK_WARNING=1 silences it');
  t.same(child({ PYMEM_PREBUILD: empty, PYMEM_BACKEND: 'fallback' }).warnings, [], 'the fallback chosen is no fallback: no warning');
  const native = child({ PYMEM_PREBUILD: empty, PYMEM_BACKEND: 'native' });
  t.equal(native.code, 'ERR_PYMEM_NATIVE_UNAVAILABLE');
  t.match(native.message, /^the native backend is not available \(PYMEM_BACKEND=native\): No native build was found/);
});

t.test('a broken addon file (a truncated copy, as an interrupted download leaves): the same', async (t) => {
  const broken = path.join(scratch, 'broken');
  const file = path.join(broken, 'build', 'Release', 'pymem.node');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, readFileSync(loadNative().path!).subarray(0, 4096));
  t.match(loadNative(broken).error, `${file} is truncated: 4096 bytes where its ELF header describes`, 'refused before dlopen, which would die of SIGBUS');
  const auto = child({ PYMEM_PREBUILD: broken, PYMEM_BACKEND: '' });
  t.equal(auto.backend, 'fallback');
  t.equal(auto.works, true);
  t.match(auto.reason, `auto: the native addon is not available: ${file} is truncated`);
  t.equal(child({ PYMEM_PREBUILD: broken, PYMEM_BACKEND: 'native' }).code, 'ERR_PYMEM_NATIVE_UNAVAILABLE');
  // A file that is no shared object at all: dlopen itself refuses it, and that is the reason given.
  writeFileSync(file, Buffer.alloc(8192, 'not an addon '));
  t.match(loadNative(broken).error, `${file}: invalid ELF header`);
  t.equal(child({ PYMEM_PREBUILD: broken, PYMEM_BACKEND: '' }).backend, 'fallback');
});

t.test('an addon built without external ArrayBuffers (as under a V8 memory sandbox)', async (t) => {
  const dir = path.join(scratch, 'sandboxed');
  t.equal(buildVariant(dir, ['--pymem_no_external_buffers=1']), '', 'node-gyp built the variant');
  const auto = child({ PYMEM_PREBUILD: dir, PYMEM_BACKEND: '' });
  t.same(auto, { backend: 'fallback', reason: auto.reason, works: true, native: auto.native, warnings: auto.warnings });
  t.match(auto.warnings, [{ code: 'PYMEM_FALLBACK', message: /^pymem runs on its TypeScript fallback, the native addon cannot run here: this build/ }]);
  t.equal(auto.reason, 'auto: the native addon cannot run here: this build of the addon cannot expose memory to JavaScript (compiled with NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED)');
  t.equal(auto.native.available, true, 'the addon loads; it is the region it cannot expose');
  const native = child({ PYMEM_PREBUILD: dir, PYMEM_BACKEND: 'native' });
  t.equal(native.code, 'ERR_PYMEM_NATIVE_UNAVAILABLE');
  t.match(native.message, /^the native backend cannot run here \(PYMEM_BACKEND=native\): this build/);
});

t.test('a stale addon, built for another layout, is never used', async (t) => {
  const dir = path.join(scratch, 'stale');
  const built = buildVariant(dir, [], (d) => {
    const header = path.join(d, 'native', 'layout.h');
    writeFileSync(header, readFileSync(header, 'utf8').replace(`#define LAYOUT_VERSION ${LAYOUT_VERSION}u`, `#define LAYOUT_VERSION ${LAYOUT_VERSION + 1}u`));
  });
  t.equal(built, '', 'node-gyp built the stale variant');
  const file = path.join(dir, 'build', 'Release', 'pymem.node');
  const expected = `the addon at ${file} was built for another layout (LAYOUT_VERSION is ${LAYOUT_VERSION + 1} in the addon and ${LAYOUT_VERSION} in the TypeScript allocator); rebuild it with \`npm run build:native\``;
  t.equal(loadNative(dir).error, expected);
  const auto = child({ PYMEM_PREBUILD: dir, PYMEM_BACKEND: '' });
  t.equal(auto.backend, 'fallback');
  t.equal(auto.reason, `auto: the native addon is not available: ${expected}`);
});

t.test('a region the OS will not reserve is an error on either backend', async (t) => {
  // A 3 GB address-space limit (ulimit -v, as containers set it) leaves Node room to run but no room for 4 GiB.
  for (const backend of ['native', 'fallback']) {
    const result = child({ PYMEM_BACKEND: backend, PYMEM_TEST_MAX_BYTES: String(2 ** 32) }, 3_000_000);
    t.equal(result.code, 'ERR_PYMEM_RESERVE_FAILED', backend);
    t.match(result.message, /^cannot reserve a 4294967296-byte region/);
    t.equal(child({ PYMEM_BACKEND: backend, PYMEM_TEST_MAX_BYTES: String(2 ** 28) }, 3_000_000).works, true, `a 256 MiB ${backend} heap fits`);
  }
});
