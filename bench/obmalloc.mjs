// The object allocator's speed: heap.obj malloc/free on both backends against glibc, @thi.ng/malloc and
// `new ArrayBuffer`, every contender replaying the same sequence file in a process of its own, rounds
// interleaved so that the machine's noise falls on all alike. Prints a table of medians (ns per
// free+malloc pair), spreads and ratios taken within this one run.
//
//   node bench/obmalloc.mjs [--ops N] [--slow-ops N] [--repeats R] [--json FILE]
//
// --ops (default 10,000,000) pairs for pymem and glibc; --slow-ops (default 20,000) for
// @thi.ng/malloc and ArrayBuffer, which are orders of magnitude slower (per-pair figures compare alike).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { writeSequence } from './obmalloc/sequence.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const OPS = Number(option('--ops', 10_000_000));
const SLOW_OPS = Number(option('--slow-ops', 20_000));
const REPEATS = Number(option('--repeats', 5));
const LIVE = 10_000;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pymem-bench-'));
const replay = path.join(work, 'replay');
const cc = spawnSync('cc', ['-O2', '-o', replay, path.join(HERE, 'obmalloc', 'replay.c')], { encoding: 'utf8' });
const haveGlibc = cc.status === 0;
if (!haveGlibc) console.error(`no C compiler (${cc.error?.message ?? cc.stderr.trim()}): the glibc baseline is left out`);

const CONTENDERS = ['pymem-native', 'pymem-fallback', ...(haveGlibc ? ['glibc'] : []), 'thing', 'arraybuffer'];
const LABELS = { 'pymem-native': 'pymem obj, native', 'pymem-fallback': 'pymem obj, fallback', glibc: 'glibc malloc/free (C)', thing: '@thi.ng/malloc', arraybuffer: 'new ArrayBuffer' };
const slow = (c) => c === 'thing' || c === 'arraybuffer';

function measure(contender, file) {
  const command = contender === 'glibc' ? [replay, [file]] : [process.execPath, [path.join(HERE, 'obmalloc', 'child.mjs'), contender, file]];
  const run = spawnSync(command[0], command[1], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${contender}: ${run.stderr}`);
  return JSON.parse(run.stdout).nsPerPair;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
for (const workload of ['uniform', 'cpython']) {
  const files = { fast: path.join(work, `${workload}.seq`), slow: path.join(work, `${workload}-slow.seq`) };
  writeSequence(files.fast, workload, LIVE, OPS);
  writeSequence(files.slow, workload, LIVE, SLOW_OPS);
  const samples = Object.fromEntries(CONTENDERS.map((c) => [c, []]));
  for (let r = 0; r < REPEATS; r++) {
    for (const c of CONTENDERS) {
      process.stderr.write(`\r${workload}: round ${r + 1}/${REPEATS}, ${c}            `);
      samples[c].push(measure(c, slow(c) ? files.slow : files.fast));
    }
  }
  process.stderr.write('\n');
  results[workload] = Object.fromEntries(CONTENDERS.map((c) => [c, { median: median(samples[c]), min: Math.min(...samples[c]), max: Math.max(...samples[c]) }]));
}
fs.rmSync(work, { recursive: true, force: true });

const fmt = (x, digits = 1) => x.toFixed(digits);
for (const [workload, r] of Object.entries(results)) {
  console.log(`\n${workload === 'uniform' ? 'uniform: sizes 8..512 uniform (all 32 classes)' : 'cpython: sizes of CPython 3.12 running a real program'}; ${LIVE} live blocks; ${OPS.toLocaleString('en-US')} pairs (${SLOW_OPS.toLocaleString('en-US')} for the slow two); median of ${REPEATS}\n`);
  console.log('| contender | ns per free+malloc | spread (min–max) | / glibc | / pymem fallback |');
  console.log('|---|---:|---:|---:|---:|');
  for (const c of CONTENDERS) {
    const x = r[c];
    const glibc = r.glibc ? fmt(x.median / r.glibc.median, 2) : 'n/a';
    console.log(`| ${LABELS[c]} | ${fmt(x.median)} | ${fmt(x.min)}–${fmt(x.max)} | ${glibc} | ${fmt(x.median / r['pymem-fallback'].median, 2)} |`);
  }
}
const json = option('--json');
if (json) fs.writeFileSync(json, JSON.stringify({ ops: OPS, slowOps: SLOW_OPS, repeats: REPEATS, live: LIVE, results }, null, 2));
