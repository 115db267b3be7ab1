// The pymem command: argument handling (usage and exit status 2 for bad arguments, one line and
// status 1 for pymem's own errors) and the shape of each subcommand's output, on tiny workloads.
import { EMPTY_FREE_LISTS } from './helpers/free-lists';
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { main, onStdoutError, WORKLOADS } from '../lib/cli/main';
import { pymem } from './helpers/cli';
import { workloadNames } from '../lib/trace/workloads';
import { PACKAGE_ROOT } from '../lib/raw/native';
import { Snapshot } from '../lib/hooks/tracemalloc/index';

const scratch = mkdtempSync(path.join(tmpdir(), 'pymem-cli-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

const TRACE = path.join(scratch, 'tiny.trace');
writeFileSync(TRACE, 'pymem-trace 1\nm 1 100\nm 2 2000\nr 1 300\nf 2\nc 3 4 4\n');

t.test('usage and help', async (t) => {
  const none = pymem();
  t.equal(none.status, 2, 'no command: usage, status 2');
  t.match(none.stderr, /^Usage: pymem <command> \[options\]\n/);
  t.match(none.stderr, /\n {2}replay +replay an allocation trace/);
  for (const help of [['help'], ['--help'], ['-h']]) t.same(pymem(...help), { status: 0, stdout: none.stderr, stderr: '' }, help.join(' '));
  t.match(pymem('help', 'replay'), { status: 0, stdout: /^Usage: pymem replay FILE\|WORKLOAD \[options\]\n/ });
  t.match(pymem('replay', '--help'), { status: 0, stdout: /^Usage: pymem replay/ });
  t.match(pymem('stats', '-h'), { status: 0, stdout: /^Usage: pymem stats \[options\]/ });
  const workloads = pymem('help', 'workloads');
  t.equal(workloads.stdout, WORKLOADS);
  for (const name of workloadNames()) t.match(WORKLOADS, new RegExp(`\\n {2}${name} +\\S`), `${name} is described`);
  t.same(pymem('--version'), { status: 0, stdout: '0.1.0\n', stderr: '' }, "package.json's version");
  t.same(pymem('-v'), pymem('--version'));
  t.match(pymem('help').stdout, /\nOptions:\n {2}-v, --version {2}the version of pymem\n$/);
  t.match(pymem('help', 'nothing'), { status: 2, stderr: /^pymem help: no command 'nothing'\n\nUsage: pymem/ });
  t.match(pymem('frobnicate'), { status: 2, stderr: /^pymem: no command 'frobnicate'\n\nUsage: pymem/ });
});

t.test('bad arguments print the command usage and exit 2', async (t) => {
  const bad: [string[], RegExp][] = [
    [['replay', '--bogus'], /^pymem replay: Unknown option '--bogus'/],
    [['replay'], /^pymem replay: expected one trace file or workload, got 0\n/],
    [['replay', 'small', 'large'], /^pymem replay: expected one trace file or workload, got 2\n/],
    [['replay', 'small', '--backend', 'gpu'], /^pymem replay: --backend must be auto, native, fallback; got 'gpu'\n/],
    [['replay', 'small', '--allocator', 'jemalloc'], /^pymem replay: --allocator must be pymalloc, malloc, pymalloc_debug, malloc_debug; got 'jemalloc'\n/],
    [['replay', 'small', '--domain', 'gpu'], /^pymem replay: --domain must be raw, mem, obj; got 'gpu'\n/],
    [['replay', 'small', '--repeat', '0'], /^pymem replay: --repeat must be a whole number from 1; got '0'\n/],
    [['replay', 'small', '--scale', '0'], /^pymem replay: --scale must be a number above 0 and at most 100; got '0'\n/],
    [['replay', 'small', '--scale', '-1'], /^pymem replay: --scale must be a number above 0 and at most 100; got '-1'\n/],
    [['replay', 'small', '--scale', '-.5'], /^pymem replay: --scale must be a number above 0 and at most 100; got '-.5'\n/],
    [['replay', 'nothing'], /^pymem replay: no workload or trace file 'nothing' \(workloads: small, sweep, realloc, large, ast_compile/],
    [['replay', path.join(scratch, 'missing.trace')], /^pymem replay: no workload or trace file '.*missing\.trace'/],
    [['stats', 'small'], /^pymem stats: unexpected argument 'small'\n/],
    [['stats', '--workload'], /^pymem stats: Option '--workload <value>' argument missing/],
  ];
  for (const [argv, message] of bad) {
    const run = pymem(...argv);
    t.equal(run.status, 2, argv.join(' '));
    t.match(run.stderr, message);
    t.match(run.stderr, `\n\nUsage: pymem ${argv[0]}`, 'then the usage');
    t.equal(run.stdout, '');
  }
});

t.test("pymem's own errors are one line, status 1", async (t) => {
  const broken = path.join(scratch, 'broken.trace');
  writeFileSync(broken, 'pymem-trace 1\nm 1 8\nq 2\n');
  t.same(pymem('replay', broken), { status: 1, stdout: '', stderr: `pymem replay: ${broken}:3: unknown event 'q' (expected m, c, r or f)\n` });
  const dir = path.join(scratch, 'a-directory.trace');
  mkdirSync(dir);
  t.match(pymem('replay', dir), { status: 1, stderr: /^pymem replay: EISDIR: illegal operation on a directory, read\n$/ });
  // Anything else is a bug, and is not hidden.
  t.throws(() => main(['replay', TRACE], { stdout: { write: () => { throw new Error('stdout closed'); } }, stderr: { write: () => 0 } }), { message: 'stdout closed' });
});

t.test('replay: the trace, then one line per heap', async (t) => {
  for (const backend of ['native', 'fallback']) {
    const run = pymem('replay', TRACE, '--backend', backend, '--repeat', '3');
    t.equal(run.status, 0);
    t.equal(run.stderr, '');
    const lines = run.stdout.split('\n');
    t.equal(lines[0], `${TRACE}: 5 events on 3 blocks, at most 2 live (0.0 MiB requested)`);
    t.match(lines[1], new RegExp(`^${backend}, pymalloc, heap\\.obj: \\d+\\.\\d ns/event \\(median of 3; \\d+\\.\\d to \\d+\\.\\d\\), 0 failed, \\d+\\.\\d MiB committed at the end$`));
    t.equal(lines.length, 3);
  }
  const stats = pymem('replay', 'small', '--scale', '0.01', '--repeat', '1', '--stats', '--domain', 'mem');
  t.match(stats.stdout, /^small: 14,000 events on 12,000 blocks, at most 10,000 live/);
  t.match(stats.stdout, /heap\.mem: .*\nSmall block threshold = 512, in 32 size classes\.\n/);
  const malloc = pymem('replay', TRACE, '--allocator', 'malloc', '--domain', 'raw', '--repeat', '1', '--stats');
  t.match(malloc.stdout, /, malloc, heap\.raw: .*\n\(no pymalloc statistics: the OBJ domain is served by 'malloc'\)\n {12}0 free PyDictObjects/);
  const debug = pymem('replay', 'small', '--scale', '0.01', '--allocator', 'pymalloc_debug', '--repeat', '1', '--stats');
  t.match(debug.stdout, /, pymalloc_debug, heap\.obj: .*, 0 failed, .*\nSmall block threshold = 512/, 'the debug hooks replay a workload, and pymalloc under them prints its statistics');
});

t.test('stats: debugMallocStats() of the heap a workload left', async (t) => {
  const run = pymem('stats', '--workload', 'small', '--scale', '0.01');
  t.equal(run.status, 0);
  t.match(run.stdout, /^Small block threshold = 512, in 32 size classes\.\n\nclass {3}size {3}num pools/);
  t.match(run.stdout, /# arenas allocated total {11}= +3\n/, "10,000 blocks of 8-512 bytes");
  t.match(pymem('stats', '--workload', TRACE, '--allocator', 'malloc'), { status: 0, stdout: `(no pymalloc statistics: with --allocator malloc, pymalloc serves nothing)\n${EMPTY_FREE_LISTS}` });
});

t.test('bin/pymem runs it, with its exit status', async (t) => {
  const bin = path.join(PACKAGE_ROOT, 'bin', 'pymem');
  const help = spawnSync(bin, ['help'], { encoding: 'utf8' });
  t.equal(help.status, 0);
  t.match(help.stdout, /^Usage: pymem <command>/);
  for (const flag of ['--version', '-v']) {
    t.match(spawnSync(bin, [flag], { encoding: 'utf8' }), { status: 0, stdout: `${JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')).version}\n`, stderr: '' }, `pymem ${flag}: the package's version`);
  }
  const bad = spawnSync(bin, ['replay'], { encoding: 'utf8' });
  t.equal(bad.status, 2);
  t.match(bad.stderr, /^pymem replay: expected one trace file/);
  // Where the addon cannot load, asking for it is said in one line.
  const empty = path.join(scratch, 'no-addon');
  mkdirSync(empty);
  const native = spawnSync(bin, ['replay', TRACE, '--backend', 'native'], { encoding: 'utf8', env: { ...process.env, PYMEM_PREBUILD: empty } });
  t.equal(native.status, 1);
  t.match(native.stderr, /^pymem replay: the native backend is not available \(backend 'native' was requested\): No native build was found/);
  t.equal(native.stderr.split('\n').length, 2, 'one line');
});

t.test('a reader that stops early (pymem ... | head) ends the command quietly', async (t) => {
  const child = spawn(path.join(PACKAGE_ROOT, 'bin', 'pymem'), ['help', 'workloads'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // before the command has written anything
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const status = await new Promise((resolve) => child.on('exit', resolve));
  t.equal(status, 0);
  t.equal(stderr, '');
  const other = Object.assign(new Error('write EIO'), { code: 'EIO' });
  t.throws(() => onStdoutError(other), other, 'any other write error is thrown');
});

t.test("top: a snapshot's top statistics as the tracemalloc docs print them", async (t) => {
  const file = path.join(scratch, 'snapshot.json');
  // test_tracemalloc.py's second synthetic snapshot: CPython prints these three lines for it.
  new Snapshot(
    [
      [0, 10, [['a.py', 2], ['b.py', 4]], 3],
      [0, 10, [['a.py', 2], ['b.py', 4]], 3],
      [0, 10, [['a.py', 2], ['b.py', 4]], 3],
      [2, 2, [['a.py', 5], ['b.py', 4]], 3],
      [2, 5000, [['a.py', 5], ['b.py', 4]], 3],
      [4, 400, [['c.py', 578]], 1],
    ],
    2,
  ).dump(file);
  t.same(pymem('top', file), {
    status: 0,
    stdout: '[ Top 10 ]\na.py:5: size=5002 B, count=2, average=2501 B\nc.py:578: size=400 B, count=1, average=400 B\na.py:2: size=30 B, count=3, average=10 B\n',
    stderr: '',
  });
  t.equal(pymem('top', file, '--limit', '1', '--key', 'filename').stdout, '[ Top 1 ]\na.py:0: size=5032 B, count=5, average=1006 B\n');
  t.equal(pymem('top', file, '--key', 'lineno', '--cumulative', '--limit', '2').stdout, '[ Top 2 ]\nb.py:4: size=5032 B, count=5, average=1006 B\na.py:5: size=5002 B, count=2, average=2501 B\n');
  t.equal(pymem('top', file, '--key', 'traceback', '--limit', '1').stdout, '[ Top 1 ]\nb.py:4: size=5002 B, count=2, average=2501 B\n  File "b.py", line 4\n  File "a.py", line 5\n');
  t.match(pymem('top'), { status: 2, stderr: /^pymem top: a snapshot FILE is needed\n/ });
  t.match(pymem('top', file, 'more'), { status: 2, stderr: /^pymem top: unexpected argument 'more'/ });
  t.match(pymem('top', file, '--limit', '0'), { status: 2, stderr: /--limit must be a whole number from 1; got '0'/ });
  t.match(pymem('top', file, '--key', 'size'), { status: 2, stderr: /--key must be lineno, filename or traceback; got 'size'/ });
  t.match(pymem('top', file, '--key', 'traceback', '--cumulative'), { status: 2, stderr: /--cumulative cannot be used with --key traceback/ });
  writeFileSync(file, '{}');
  t.match(pymem('top', file), { status: 1, stderr: /is not a tracemalloc snapshot written by Snapshot\.dump\(\)/ });
});
