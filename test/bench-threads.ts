// pymem bench --threads (lib/cli/bench-threads.ts): each scenario measured in workers, the table and its
// ratios against their targets, at a tiny scale: these tests check what the bench does, never how fast
// anything is; the measurements themselves live in BENCHMARKS.md. (A file of its own: test/bench.ts is
// near the minute a test file may take.)
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { capture } from './helpers/cli';
import { benchOptions, benchSettings, runBench, type BenchSettings } from '../lib/cli/bench';
import { formatResults } from '../lib/cli/bench-report';
import { threadRatios, threadsSummary } from '../lib/cli/bench-threads';
import { PACKAGE_ROOT } from '../lib/raw/native';

const tiny = (settings: Omit<BenchSettings, 'mode'>): BenchSettings => ({ mode: 'quick', scale: 0.01, warmupMs: 1, ...settings });

t.test('--threads: one shared heap from worker threads, its ratios against their targets', async (t) => {
  const r = runBench(tiny({ workloads: ['sweep'], rounds: 1, threads: true, scale: 0.001 }), capture(), { env: { ...process.env, CC: 'false' }, thingModule: 'no-such-allocator', wasm: '/nonexistent/tlsf.wasm' });
  const threads = r.threads!;
  t.equal(threads.pairs, 5_000);
  t.same(Object.keys(threads.rates), ['native', 'fallback']);
  for (const rates of Object.values(threads.rates)) t.same(Object.keys(rates), ['private-1', 'shared-1', 'shared-2', 'prodcons']);
  t.ok(Object.values(threads.rates).every((rates) => Object.values(rates).every((v) => v > 0)), 'each rate measured');
  t.equal(benchSettings({ threads: true }).threads, true);
  t.match(benchOptions(benchSettings({ threads: true })), '--threads');
  t.match(formatResults(r, 'text'), /\none shared heap from worker threads\n {2}scenario +native M pairs\/s +fallback M pairs\/s\n {2}1 thread, a private heap of its own +[\d.]+ +[\d.]+\n/);
  t.match(formatResults(r, 'markdown'), /\n### One shared heap from worker threads\n\n\| scenario \|[^]*\| shared \/ private, 1 thread \(target 0\.85\) \| [\d.]+( \(below\))? \|[^]*\n5,000 pairs per thread, medians of 1 rounds, every scenario in workers\. (Every target is met\.|Below target: )/);
  const rate = { 'private-1': 10, 'shared-1': 9, 'shared-2': 18, prodcons: 5 };
  t.same(threadRatios(rate).map((x) => x.value), [0.9, 2, 5 / 9]);
  t.equal(threadsSummary({ pairs: 10, rounds: 1, rates: { native: rate } }), '10 pairs per thread, medians of 1 rounds, every scenario in workers. Every target is met.');
  t.equal(threadsSummary({ pairs: 10, rounds: 1, rates: { native: { ...rate, prodcons: 1 } } }), '10 pairs per thread, medians of 1 rounds, every scenario in workers. Below target: producer/consumer / 1 thread, shared on native.');
  // The measurements themselves, here in this process (with coverage on), for each scenario: the compiled
  // module, whose workers start without this process's TypeScript loader. A ring of one batch makes the
  // producer wait for the consumer, and no spins make every wait a sleep.
  const { measureThreads } = require('../dist/cli/bench-threads-child.js') as typeof import('../lib/cli/bench-threads-child');
  for (const backend of ['native', 'fallback'] as const) {
    for (const scenario of ['private-1', 'shared-1', 'shared-2', 'prodcons'] as const) {
      const m = await measureThreads(backend, scenario, 3000, 64, 0);
      t.ok(m.pairsPerSecond > 0 && m.changed === 0, `${backend} ${scenario}: measured, every block arrived as written`);
    }
  }
  const main = spawnSync(process.execPath, [path.join(PACKAGE_ROOT, 'dist', 'cli', 'bench-threads-main.js'), 'fallback', 'prodcons', '2000'], { encoding: 'utf8' });
  t.ok(JSON.parse(main.stdout).pairsPerSecond > 0, `bench-threads-main prints its measurement ${main.stderr}`);
});

