// Every code block of README.md, read from README.md itself so that the two cannot drift apart: each
// block is claimed by exactly one check below, and a block no check claims fails the test. JavaScript
// runs as written (as a file inside the package, where require('pymem') finds the package itself);
// shown output is compared with what the command prints now, numbers and widths aside (at the small
// scales these runs use); the commands a user types are the package's scripts; the diagrams name files
// that exist and the bytes they draw. The examples (examples/*.mjs) run here too, down each of their paths.
import t, { type Test } from 'tap';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { PACKAGE_ROOT } from '../lib/raw/native';
import { createHeap, MemoryCorruptionError } from '../lib/index';
import { parseTrace } from '../lib/trace/format';
import { FREED_KEY } from '../lib/pymalloc/layout';
import { recommendation, type BenchResults } from '../lib/cli/bench-report';

interface Block {
  /** The line of the opening fence, the info string, and the text between the fences. */
  line: number;
  info: string;
  text: string;
}

/** The fenced blocks of a Markdown text. */
export function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)$/.exec(lines[i]);
    if (open === null) continue;
    const end = lines.indexOf('```', i + 1);
    blocks.push({ line: i + 1, info: open[1], text: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

/**
 * A pattern for output shown in the README: the same text, but any number may be another, any run of
 * spaces another width, '...' stands for text left out, and a path to a .js/.mjs file or a directory
 * the README invents for one is any path.
 */
export function shape(shown: string): RegExp {
  const escaped = shown.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = escaped
    .replace(/\/home\/me\/pymem\//g, '\u0001')
    .replace(/\/app\/records\\\.js/g, '\u0002')
    .replace(/\\\.\\\.\\\./g, '\u0003')
    .replace(/0x[0-9a-f]+/g, '\u0004')
    .replace(/-?\d[\d,]*(?:\\\.\d+)?/g, '\u0005')
    .replace(/ +/g, ' +')
    .replace(/\u0001/g, '\\S*/')
    .replace(/\u0002/g, '\\S+\\.js')
    .replace(/\u0003/g, '[^]*?')
    .replace(/\u0004/g, '0x[0-9a-f]+')
    .replace(/\u0005/g, '-?[\\d,]+(?:\\.\\d+)?');
  return new RegExp(`^${pattern}$`);
}

const README = readFileSync(path.join(PACKAGE_ROOT, 'README.md'), 'utf8');
const BLOCKS = codeBlocks(README);
const scratch = mkdtempSync(path.join(tmpdir(), 'pymem-readme-'));
// JavaScript blocks run from a folder inside the package: require('pymem') resolves to the package itself.
const inside = mkdtempSync(path.join(PACKAGE_ROOT, '.readme-'));
t.teardown(() => {
  rmSync(scratch, { recursive: true, force: true });
  rmSync(inside, { recursive: true, force: true });
});

function run(command: string, args: string[], options: SpawnSyncOptions = {}) {
  const result = spawnSync(command, args, { cwd: PACKAGE_ROOT, encoding: 'utf8', ...options, env: { ...process.env, PYMEM_BACKEND: '', ...options.env } });
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Runs a JavaScript block as a file of its own; it must exit 0 and write nothing to stderr. */
function runJs(block: Block): string {
  const file = path.join(inside, `block-${block.line}.js`);
  writeFileSync(file, block.text);
  const result = run(process.execPath, [file]);
  if (result.status !== 0 || result.stderr !== '') throw new Error(`README.md:${block.line} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

const example = (name: string, args: string[], options: SpawnSyncOptions = {}) => run(process.execPath, [path.join(PACKAGE_ROOT, 'examples', name), ...args], options);
const PYMEM = path.join(PACKAGE_ROOT, 'bin', 'pymem');
const SCRIPTS = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const empty = path.join(scratch, 'no-addon');
mkdirSync(empty);

/** The checks, each claiming the blocks it matches. */
const CHECKS: { name: string; claims: (b: Block) => boolean; check: (t: Test, b: Block) => void }[] = [
  {
    name: 'commands to type: npm install, start, test',
    claims: (b) => b.info === 'sh' && !b.text.includes('$ '),
    check(t, b) {
      // npm install and npm test are what CI runs on a clean clone (.ci/run); npm start's command is
      // checked here, and run at tiny scales by test/bench.ts.
      const commands = b.text.split('\n').flatMap((line) => line.replace(/#.*/, '').split('&&')).map((c) => c.trim()).filter(Boolean);
      for (const command of commands) t.ok(['npm install', 'npm install pymem', 'npm start', 'npm test'].includes(command), `README.md:${b.line}: ${command}`);
      if (commands.includes('npm start')) t.equal(SCRIPTS.start, 'node bin/pymem bench --quick --objects');
      t.match(SCRIPTS.test, /tap$/);
    },
  },
  {
    name: 'the end of npm start',
    claims: (b) => b.text.startsWith('On this machine createHeap()'),
    check(t, b) {
      const bench = run(PYMEM, ['bench', '--workload', 'large', '--rounds', '1', '--scale', '0.01', '--warmup', '1']);
      t.equal(bench.status, 0, bench.stderr);
      const [shownAuto, shownAdvice] = b.text.split('\n');
      const [auto, advice] = bench.stdout.trimEnd().split('\n').slice(-2);
      t.match(auto, shape(shownAuto));
      t.match(advice, /^Recommendation: /);
      // The README shows what npm start printed on the machine of BENCHMARKS.md: one of the three verdicts over native and the fallback.
      const verdicts = [0.5, 1, 2].map((ratio) => {
        const cells = { native: { median: ratio }, fallback: { median: 1 } };
        return recommendation({ workloads: [{ cells }] } as unknown as BenchResults).replace(/[\d.]+x/, 'Nx');
      });
      t.ok(verdicts.includes(shownAdvice.replace(/[\d.]+x/, 'Nx')), 'one of the recommendations the bench makes');
    },
  },
  {
    name: 'JavaScript',
    claims: (b) => b.info === 'js',
    check(t, b) {
      const out = runJs(b);
      // A block that says what it prints is held to it.
      for (const [, shown] of b.text.matchAll(/\/\/ prints: (.*)/g)) t.ok(out.split('\n').some((line) => shape(shown).test(line)), `README.md:${b.line} prints ${shown}`);
      for (const [, value] of b.text.matchAll(/^console\.log\(.*\); +\/\/ (\d+)\b/gm)) t.ok(out.split('\n').includes(value), `README.md:${b.line} prints ${value}`);
    },
  },
  {
    name: 'examples/records.mjs',
    claims: (b) => b.text.includes('records { id, name, score }:'),
    check(t, b) {
      const out = example('records.mjs', ['--count', '20000']);
      t.equal(out.status, 0, out.stderr);
      t.match(out.stdout.trimEnd(), shape(b.text));
    },
  },
  {
    name: 'examples/leak.mjs',
    claims: (b) => b.text.startsWith('[ Top 3 differences'),
    check(t, b) {
      const out = example('leak.mjs', ['--requests', '500']);
      t.equal(out.status, 0, out.stderr);
      t.match(out.stdout.trimEnd(), shape(b.text));
      const leakingLine = readFileSync(path.join(PACKAGE_ROOT, 'examples', 'leak.mjs'), 'utf8').split('\n').findIndex((line) => line.includes('kept for good')) + 1;
      t.match(out.stdout.split('\n')[1], new RegExp(`examples/leak\\.mjs:${leakingLine}: size=`), `the first difference names line ${leakingLine}, the one that leaks`);
    },
  },
  {
    name: 'examples/trace-map.mjs',
    claims: (b) => b.text.startsWith('json_roundtrip x '),
    check(t, b) {
      const out = example('trace-map.mjs', ['--rounds', '2', '--out', path.join(scratch, 'heap-map.png')]);
      t.equal(out.status, 0, out.stderr);
      t.match(out.stdout.trimEnd().replace(path.join(scratch, 'heap-map.png'), 'heap-map.png'), shape(b.text));
      t.same([...readFileSync(path.join(scratch, 'heap-map.png')).subarray(1, 4)], [...Buffer.from('PNG')], 'the map, a PNG');
      const image = /!\[[^\]]*\]\(([^)]+)\)/.exec(README.slice(README.indexOf(b.text)))!;
      t.ok(existsSync(path.join(PACKAGE_ROOT, image[1])), `the picture the README shows, ${image[1]}, is in the tree`);
    },
  },
  {
    name: "the fallback's warning",
    claims: (b) => b.text.includes('Warning: pymem runs on its TypeScript fallback'),
    check(t, b) {
      const out = run(process.execPath, ['-e', "require('./dist/index.js').createHeap()"], { env: { PYMEM_PREBUILD: empty } });
      t.equal(out.status, 0);
      t.match(out.stderr.split('\n')[0], shape(b.text));
    },
  },
  {
    name: 'the layer diagram',
    claims: (b) => b.text.includes('mmap reserve'),
    check(t, b) {
      for (const [file] of b.text.matchAll(/\b(?:lib|native)\/[\w/.-]*\w/g)) t.ok(existsSync(path.join(PACKAGE_ROOT, file)), `${file} exists`);
      // The diagram is the directory listing: every folder of lib/ (hooks/ by its two) and every module at its root.
      const named = [...b.text.matchAll(/\blib\/[\w/.-]*/g)].map(([m]) => m).join(' ');
      for (const entry of readdirSync(path.join(PACKAGE_ROOT, 'lib'), { withFileTypes: true })) {
        const listed = entry.isDirectory() ? `lib/${entry.name}/` : entry.name;
        t.ok(named.includes(listed) || b.text.includes(entry.name), `lib/${entry.name} is in the diagram`);
      }
    },
  },
  {
    name: 'a heap sent to another thread',
    claims: (b) => b.text.startsWith('DataCloneError'),
    check(t, b) {
      const heap = createHeap({ backend: 'fallback', maxBytes: 2 << 20 });
      const { port1, port2 } = new MessageChannel();
      t.throws(() => port1.postMessage(heap), { name: 'DataCloneError', message: b.text.replace('DataCloneError: ', '') });
      port1.close();
      port2.close();
      heap.close();
    },
  },
  {
    name: "the debug hooks' frame",
    claims: (b) => b.text.startsWith('base     [size: 8, big-endian]'),
    check(t, b) {
      const heap = createHeap({ backend: 'fallback', maxBytes: 2 << 20, allocator: 'debug' });
      const p = heap.mem.malloc(5);
      const u8 = heap.u8;
      t.equal(Buffer.from(u8.buffer, p - 16, 8).readBigUInt64BE(), 5n, '[size: 8, big-endian]');
      t.equal(String.fromCharCode(u8[p - 8]), 'm', "[api id: 1]: 'm' for heap.mem");
      t.same([...u8.subarray(p - 7, p)], Array(7).fill(0xfd), "['\\xfd' x 7]");
      t.same([...u8.subarray(p, p + 5)], Array(5).fill(0xcd), '0xCD when new');
      t.same([...u8.subarray(p + 5, p + 13)], Array(8).fill(0xfd), "p+N ['\\xfd' x 8]");
      heap.mem.free(p);
      // pymalloc's free list then takes the block's first 8 bytes: the link, as in CPython, and the
      // freed-block key that catches a double free (FREED_KEY).
      t.same([...u8.subarray(p - 8, p + 13)], Array(21).fill(0xdd), '0xDD over the whole block once freed');
      t.equal(heap.u32[(p - 12) >>> 2], FREED_KEY, 'its second word the key');
      t.match(b.text, /\[size: 8, big-endian\]\[api id: 1\]\['\\xfd' x 7\][^]*0xCD when new[^]*\['\\xfd' x 8\] +0xDD over the whole block once freed/);
      heap.close();
    },
  },
  {
    name: "a debug hooks' report",
    claims: (b) => b.text.startsWith('Debug memory block at address'),
    check(t, b) {
      const heap = createHeap({ backend: 'fallback', maxBytes: 2 << 20, allocator: 'debug' });
      const p = heap.mem.malloc(16);
      heap.u8[p + 16] = 0x78; // _testcapi.pymem_buffer_overflow
      const error = t.throws(() => heap.mem.free(p)) as MemoryCorruptionError;
      t.match(error.report.trimEnd(), shape(b.text));
      heap.close();
    },
  },
  {
    name: 'a command and its output',
    claims: (b) => b.info === 'sh' && b.text.startsWith('$ '),
    check(t, b) {
      const [command, ...shown] = b.text.split('\n');
      const [npx, pymem, ...args] = command.slice(2).split(' ');
      t.same([npx, pymem], ['npx', 'pymem']);
      const out = run(PYMEM, args);
      t.equal(out.status, 0, out.stderr);
      t.match(out.stdout.trimEnd(), shape(shown.join('\n')));
    },
  },
  {
    name: 'the trace format',
    claims: (b) => b.text.startsWith('pymem-trace 1'),
    check(t, b) {
      // Each line as the block draws it, its placeholders given values: a trace the parser takes.
      const values: Record<string, string> = { ID: '1', SIZE: '24', NELEM: '3', ELSIZE: '8' };
      const lines = b.text.split('\n').map((line) => line.split(/ {2,}/)[0].replace(/[A-Z]+/g, (word) => values[word] ?? word));
      t.same(lines, ['pymem-trace 1', '# a comment', 'm 1 24', 'c 1 3 8', 'r 1 24', 'f 1']);
      const trace = parseTrace(Buffer.from(`${['pymem-trace 1', '# a comment', 'm 1 24', 'r 1 24', 'f 1', 'c 1 3 8'].join('\n')}\n`));
      t.equal(trace.length, 4, 'm, r, f and c are events; the comment is not');
    },
  },
];

t.test('every block of README.md is claimed by exactly one check', async (t) => {
  t.ok(BLOCKS.length >= 19, `${BLOCKS.length} blocks`);
  for (const block of BLOCKS) {
    const claimed = CHECKS.filter((c) => c.claims(block)).map((c) => c.name);
    t.equal(claimed.length, 1, `README.md:${block.line} (${block.info || 'no language'}) is checked by ${claimed.join(', ') || 'nothing'}`);
  }
  for (const c of CHECKS) t.ok(BLOCKS.some((b) => c.claims(b)), `the check "${c.name}" has a block`);
});

for (const block of BLOCKS) {
  const check = CHECKS.find((c) => c.claims(block));
  if (check !== undefined) t.test(`README.md:${block.line}: ${check.name}`, async (t) => check.check(t, block));
}

t.test('the helpers: blocks and shapes', async (t) => {
  t.same(codeBlocks('a\n```js\nx;\n```\n\n```\ny\n```\n'), [{ line: 2, info: 'js', text: 'x;' }, { line: 6, info: '', text: 'y' }]);
  t.match('size=19.5 KiB, count=100', shape('size=3906 KiB, count=20000'));
  t.notMatch('size=19.5 MiB, count=100', shape('size=3906 KiB, count=20000'), 'units are words, and must agree');
  t.match('/x/y/examples/leak.mjs:23: a', shape('/home/me/pymem/examples/leak.mjs:23: a'));
  t.match('p=0x1a0: and more text', shape('p=0x100040: ... text'));
});

t.test('the examples, down every path', async (t) => {
  const records = example('records.mjs', ['--count', '2000', '--dicts']);
  t.equal(records.status, 0, records.stderr);
  t.match(records.stdout, /\n {2}CPython dicts \(objects\.fromJS\) +[\d.]+ MiB /, '--dicts adds the dicts');
  t.match(example('records.mjs', ['--count', '100000', '--heap', '2']), { status: 1, stderr: /Error: the heap is full after [\d,]+ records/ });
  t.match(example('records.mjs', ['--count', String(1e13)]), { status: 1, stderr: /Error: names of 17 bytes do not fit 16/ });
  t.match(example('leak.mjs', []), { status: 0, stdout: /^\[ Top 3 differences after 18,000 more requests \]\n/ }, 'by default, 20,000 requests');
  const map = example('trace-map.mjs', ['--rounds', '1', '--keep-every', '10'], { cwd: scratch });
  t.equal(map.status, 0, map.stderr);
  t.match(map.stdout, /\nheap-map\.png: the heap map, /, 'by default, heap-map.png in the current directory');
  t.ok(existsSync(path.join(scratch, 'heap-map.png')));
  const svg = example('trace-map.mjs', ['--rounds', '1', '--out', path.join(scratch, 'map.svg')]);
  t.match(readFileSync(path.join(scratch, 'map.svg'), 'utf8'), /^<svg /, svg.stderr);
});
