// The package as users get it: packed with `npm pack` (its prepack step compiles and prebuilds), checked
// against the allow-list, and installed from the tarball into fresh apps with no network (a dead
// registry and an empty npm cache: the dependencies come as tarballs too). Each app then takes one of
// the loader's paths: the prebuild with install scripts on and off, a build from source, no addon, and
// a broken addon. The apps use pymem from CommonJS,
// from ESM and from TypeScript type-checked against the shipped types, through every subpath in
// package.json's exports.
import t from 'tap';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PACKAGE_ROOT } from '../lib/raw/native';
import { copyPackage } from './helpers/package-copy';

const { checkPack, sizeReport } = require('../scripts/pack-check.js') as {
  checkPack(files: string[], context: { pkg: object; bindingGyp: string; libDir: string; platform?: string }): string[];
  sizeReport(record: PackRecord): string;
};

interface PackRecord {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string; size: number }[];
}

const scratch = mkdtempSync(path.join(tmpdir(), 'pymem-package-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

const PLATFORM = `${process.platform}-${process.arch}`;
const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string; exports: Record<string, unknown> };
const bindingGyp = readFileSync(path.join(PACKAGE_ROOT, 'binding.gyp'), 'utf8');
const SUBPATHS = Object.keys(pkg.exports).filter((key) => !key.endsWith('.json')).map((key) => (key === '.' ? 'pymem' : `pymem/${key.slice(2)}`));

/** No network: a registry on a port where nothing listens, and a cache with nothing in it. */
const OFFLINE = {
  npm_config_registry: 'http://127.0.0.1:9/',
  npm_config_cache: path.join(scratch, 'empty-npm-cache'),
  npm_config_offline: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};

function run(cwd: string, command: string, args: string[], env: Record<string, string> = {}, options: SpawnSyncOptions = {}) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, ...options });
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

function ok(cwd: string, command: string, args: string[], env: Record<string, string> = {}): string {
  const result = run(cwd, command, args, env);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stderr.slice(-3000)}`);
  return result.stdout;
}

// The package's sources as a clone has them: none of the ignored build output, our node_modules linked.
const IGNORED = new Set(['.git', 'node_modules', 'dist', 'build', 'prebuilds', '.tap']);
const src = copyPackage(
  path.join(scratch, 'src'),
  readdirSync(PACKAGE_ROOT).filter((entry) => !IGNORED.has(entry) && !entry.endsWith('.tgz')),
);
let record: PackRecord;
const tarballs: string[] = [];

t.test('npm pack: the tarball holds what a user needs and nothing else', async (t) => {
  // pack:check runs the prepack step (compile, prebuildify) and checks `npm pack --dry-run`.
  const check = run(src, process.execPath, [path.join(PACKAGE_ROOT, 'scripts', 'pack-check.js'), src]);
  t.equal(check.status, 0, check.stderr);
  t.match(check.stdout, `prebuilds/${PLATFORM}/pymem.node`);
  [record] = JSON.parse(ok(src, 'npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch]));
  const files = record.files.map((f) => f.path);
  t.same(checkPack(files, { pkg, bindingGyp, libDir: path.join(src, 'lib') }), [], 'every file allowed, none missing, none stale');
  t.ok(files.includes('dist/index.mjs') && files.includes('native/binding.cc'));
  t.notOk(files.some((f) => /^(lib|test|examples|\.ci)\/|^bench\/(?!traces\/|glibc\/replay\.c$|assemblyscript\/tlsf\.wasm$)/.test(f)), 'no sources, tests, benchmarks or CI');
  t.ok(files.includes('bench/assemblyscript/tlsf.wasm'), "the AssemblyScript contender's module, without its sources");
  t.ok(['ast_compile', 'json_roundtrip', 'text_words', 'unittest_suite'].every((name) => files.includes(`bench/traces/${name}.trace.gz`)), "the recorded traces the command's workloads replay");
  t.equal(check.stdout.trim().split('\n').pop(), sizeReport(record), 'the dry run and the tarball agree');
  t.comment(sizeReport(record));
  tarballs.push(path.join(scratch, record.filename));
  // The dependencies, as tarballs: an app with no network installs from files only.
  for (const dep of ['node-addon-api', 'node-gyp-build']) {
    const [packed] = JSON.parse(ok(scratch, 'npm', ['pack', '--json', '--ignore-scripts', path.join(PACKAGE_ROOT, 'node_modules', dep)]));
    tarballs.push(path.join(scratch, packed.filename));
  }
});

t.test('pack:check names what is wrong, and fails', async (t) => {
  const context = { pkg, bindingGyp, libDir: path.join(src, 'lib'), platform: 'linux-x64' };
  const good = record.files.map((f) => f.path).filter((f) => !f.startsWith('prebuilds/')).concat('prebuilds/linux-x64/pymem.node');
  t.same(checkPack(good, context), []);
  t.same(checkPack([...good, 'test/heap.ts', 'dist/gone.js', 'dist/orphan.mjs'], context), [
    'test/heap.ts: not on the allow-list',
    'dist/gone.js: stale, lib/gone.ts does not exist',
    'dist/orphan.mjs: an ESM entry without dist/orphan.js',
  ]);
  t.same(checkPack(good.filter((f) => f !== 'dist/capi.mjs' && f !== 'native/tlsf.c'), context), ['dist/capi.mjs: required, missing', 'native/tlsf.c: required, missing']);
  t.same(checkPack(good, { ...context, platform: 'darwin-arm64' }), ['prebuilds/darwin-arm64/pymem.node: required, missing']);
  // The command itself: a stray file in a shipped folder fails it; so does a folder with no package.
  writeFileSync(path.join(src, 'native', 'notes.txt'), 'not for users');
  const stray = run(src, process.execPath, [path.join(PACKAGE_ROOT, 'scripts', 'pack-check.js'), src, '--no-prepack']);
  rmSync(path.join(src, 'native', 'notes.txt'));
  t.equal(stray.status, 1);
  t.match(stray.stderr, 'pack:check: native/notes.txt: not on the allow-list');
  const empty = path.join(scratch, 'not-a-package');
  mkdirSync(empty);
  const none = run(empty, process.execPath, [path.join(PACKAGE_ROOT, 'scripts', 'pack-check.js'), empty]);
  t.not(none.status, 0);
  t.match(none.stderr, `pack:check: \`npm run prepack\` in ${empty} exited with status`);
});

/** A fresh app with the tarballs installed offline; `flags` go to npm install. */
function app(name: string, flags: string[] = [], env: Record<string, string> = {}): string {
  const dir = path.join(scratch, name);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
  writeFileSync(path.join(dir, 'probe.cjs'), PROBE);
  ok(dir, 'npm', ['install', ...flags, ...tarballs], { ...OFFLINE, ...env });
  return dir;
}

/** Creates a heap as a user would and prints what happened. */
const PROBE = `const { createHeap, nativeAddon } = require('pymem');
let result;
try {
  const heap = createHeap({ maxBytes: 4 << 20 });
  const p = heap.obj.malloc(100);
  heap.check();
  result = { backend: heap.backend, reason: heap.backendReason, works: p > 0 };
} catch (e) {
  result = { code: e.code, message: e.message };
}
console.log(JSON.stringify({ ...result, addon: nativeAddon() }));
`;

interface Probe {
  backend?: string;
  reason?: string;
  works?: boolean;
  code?: string;
  message?: string;
  addon: { available: boolean; path?: string; reason?: string };
}

function probe(dir: string, backend = ''): Probe {
  return JSON.parse(ok(dir, process.execPath, ['probe.cjs'], { PYMEM_BACKEND: backend }));
}

const CJS = `const pymem = require('pymem');
const capi = require('pymem/capi');
const heap = pymem.createHeap({ maxBytes: 4 << 20 });
const p = heap.obj.malloc(24);
heap.f64[p >>> 3] = 2.5;
const q = capi.PyMem_Malloc(10);
capi.PyMem_Free(q);
console.log(JSON.stringify({ read: heap.f64[p >>> 3], blocks: heap.allocatedBlocks(), allocator: capi._PyMem_GetCurrentAllocatorName() }));
`;

const ESM = `import { createRequire } from 'node:module';
import { createHeap } from 'pymem';
import * as capi from 'pymem/capi';
const require = createRequire(import.meta.url);
const subpaths = {};
for (const spec of ${JSON.stringify(SUBPATHS)}) {
  const cjs = require(spec);
  const esm = await import(spec);
  const names = Object.keys(esm).filter((n) => n !== 'default');
  subpaths[spec] = { cjs: Object.keys(cjs).sort(), esm: names.sort(), oneInstance: names.every((n) => esm[n] === cjs[n]) && esm.default === cjs };
}
const heap = createHeap({ maxBytes: 4 << 20 });
const p = capi.PyObject_Malloc(16);
capi.PyObject_Free(p);
console.log(JSON.stringify({ subpaths, backend: heap.backend, works: heap.obj.malloc(8) > 0 }));
`;

/** Type-checked against the shipped declarations; each @ts-expect-error proves a type is not `any`. */
const TS_ESM = `import { createHeap, type Heap, type HeapStats, type BackendName } from 'pymem';
import * as capi from 'pymem/capi';
${SUBPATHS.filter((spec) => spec !== 'pymem' && spec !== 'pymem/capi').map((spec, i) => `import * as subpath${i} from '${spec}';\nvoid subpath${i};`).join('\n')}
const heap: Heap = createHeap({ backend: 'auto', maxBytes: 4 << 20 });
const p: number = heap.obj.malloc(16);
const stats: HeapStats = heap.stats();
const backend: BackendName = heap.backend;
const q: number = capi.PyObject_Malloc(8);
capi.PyObject_Free(q);
// @ts-expect-error: 'wasm' is not a backend
createHeap({ backend: 'wasm' });
// @ts-expect-error: sizes are numbers
heap.raw.malloc('16');
// @ts-expect-error: there is no such domain
heap.getAllocator('gpu');
export { p, stats, backend };
`;

const TS_CJS = `import pymem = require('pymem');
import capi = require('pymem/capi');
const heap: pymem.Heap = pymem.createHeap();
const name: string | null = capi._PyMem_GetCurrentAllocatorName();
// @ts-expect-error: maxBytes is a number
pymem.createHeap({ maxBytes: '1' });
export = { heap, name };
`;

t.test('installed with its install script: the prebuild is kept; CommonJS, ESM and TypeScript use it', async (t) => {
  const dir = app('app-default');
  const found = probe(dir);
  t.equal(found.backend, 'native');
  t.equal(found.reason, `auto: native addon ${path.join(dir, 'node_modules', 'pymem', 'prebuilds', PLATFORM, 'pymem.node')}`);
  t.notOk(readdirSync(path.join(dir, 'node_modules', 'pymem')).includes('build'), 'nothing was compiled');

  writeFileSync(path.join(dir, 'use.cjs'), CJS);
  t.same(JSON.parse(ok(dir, process.execPath, ['use.cjs'])), { read: 2.5, blocks: 1, allocator: 'pymalloc' });

  writeFileSync(path.join(dir, 'use.mjs'), ESM);
  const esm = JSON.parse(ok(dir, process.execPath, ['use.mjs']));
  t.equal(esm.backend, 'native');
  t.equal(esm.works, true);
  t.same(Object.keys(esm.subpaths), SUBPATHS, 'every subpath in exports');
  t.same(esm.subpaths.pymem.cjs, Object.keys(require('../lib/index')).filter((n) => n !== '__esModule').sort(), 'the installed package exports what lib/index.ts does');
  for (const spec of SUBPATHS) {
    const { cjs, esm: names, oneInstance } = esm.subpaths[spec];
    t.ok(cjs.length > 0, `${spec} exports names`);
    t.same(names, cjs, `${spec}: import and require see the same names`);
    t.equal(oneInstance, true, `${spec}: one instance of the package, not two`);
  }

  // The pymem command, as npm links it, with a recorded trace from the package.
  const bin = path.join(dir, 'node_modules', '.bin', 'pymem');
  t.match(ok(dir, bin, ['help']), /^Usage: pymem <command>/);
  t.match(ok(dir, bin, ['replay', 'ast_compile', '--repeat', '1']), /^ast_compile: 31,037 events on 17,848 blocks.*\nnative, pymalloc, heap\.obj: /);
  // The benchmark, where the dev-only baseline is not installed: one line, and the rest runs.
  const bench = run(dir, bin, ['bench', '--workload', 'large', '--rounds', '1', '--scale', '0.01', '--warmup', '1']);
  t.equal(bench.status, 0, bench.stderr);
  t.match(bench.stderr, /^@thi\.ng\/malloc: left out, @thi\.ng\/malloc is not installed \(npm install @thi\.ng\/malloc to compare with it\)\n/);
  t.match(bench.stdout, /\n {2}pymem native .*\n {2}pymem fallback .*\n {2}pymem native, heap\.mem .*\n {2}pymem fallback, heap\.mem .*\n {2}glibc malloc \(C\) .*\n {2}AssemblyScript TLSF \(wasm\) .*\n {2}new ArrayBuffer /);

  writeFileSync(path.join(dir, 'check.mts'), TS_ESM);
  writeFileSync(path.join(dir, 'check.cts'), TS_CJS);
  writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        noEmit: true,
        skipLibCheck: false, // the shipped .d.ts files are checked too
        types: ['node'],
        typeRoots: [path.join(PACKAGE_ROOT, 'node_modules', '@types')],
      },
      files: ['check.mts', 'check.cts'],
    }),
  );
  const tsc = run(dir, process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json']);
  t.equal(tsc.status, 0, `tsc --noEmit: ${tsc.stdout}`);
});

t.test('installed with --ignore-scripts: the prebuild loads; without it, or broken, auto runs on the fallback', async (t) => {
  const dir = app('app-ignore-scripts', ['--ignore-scripts']);
  const prebuild = path.join(dir, 'node_modules', 'pymem', 'prebuilds', PLATFORM, 'pymem.node');
  t.same(probe(dir), { backend: 'native', reason: `auto: native addon ${prebuild}`, works: true, addon: { available: true, path: prebuild } });

  const original = readFileSync(prebuild);
  rmSync(path.dirname(prebuild), { recursive: true });
  const none = probe(dir);
  t.equal(none.backend, 'fallback');
  t.equal(none.works, true);
  t.match(none.reason, /^auto: the native addon is not available: No native build was found for platform=linux arch=x64 runtime=node abi=\d+ uv=\d+ libc=glibc node=[\d.]+; loaded from: /);
  t.same(none.addon, { available: false, reason: none.reason!.replace('auto: the native addon is not available: ', '') });
  const forced = probe(dir, 'native');
  t.equal(forced.code, 'ERR_PYMEM_NATIVE_UNAVAILABLE');
  t.match(forced.message, /^the native backend is not available \(PYMEM_BACKEND=native\): No native build was found/);

  // A truncated copy, as an interrupted download leaves it; then a file that is no shared object at all.
  mkdirSync(path.dirname(prebuild));
  writeFileSync(prebuild, original.subarray(0, 4096));
  const truncated = probe(dir);
  t.equal(truncated.backend, 'fallback');
  t.match(truncated.reason, `auto: the native addon is not available: ${prebuild} is truncated: 4096 bytes where its ELF header describes`);
  t.match(probe(dir, 'native'), { code: 'ERR_PYMEM_NATIVE_UNAVAILABLE', message: `the native backend is not available (PYMEM_BACKEND=native): ${prebuild} is truncated` });
  writeFileSync(prebuild, Buffer.alloc(8192, 'not an addon '));
  const garbage = probe(dir);
  t.equal(garbage.backend, 'fallback');
  t.match(garbage.reason, `auto: the native addon is not available: ${prebuild}: invalid ELF header`);
  t.match(probe(dir, 'native'), { code: 'ERR_PYMEM_NATIVE_UNAVAILABLE', message: /invalid ELF header$/ });
});

t.test('--build-from-source builds the addon from the shipped sources', async (t) => {
  const dir = app('app-from-source', ['--build-from-source']);
  const built = path.join(dir, 'node_modules', 'pymem', 'build', 'Release', 'pymem.node');
  t.same(probe(dir), { backend: 'native', reason: `auto: native addon ${built}`, works: true, addon: { available: true, path: built } });
  // The variant for runtimes that forbid external ArrayBuffers (npm rebuild pymem --build-from-source
  // --pymem_no_external_buffers=1) is built and refused in test/loader.ts; npm hands the option to
  // node-gyp through the install script's environment (test/install.ts).
});
