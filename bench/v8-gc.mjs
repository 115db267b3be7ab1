// Does a pymem region make V8 collect more often? V8 charges an ArrayBuffer's whole length as external
// memory, external or not. Each configuration runs in its own process, counting V8's GC events by kind
// (PerformanceObserver):
//   1. create the heap (or not), then run the same garbage-heavy JavaScript workload;
//   2. create and close twenty 1 GiB heaps in a row (a program that makes heaps as it goes).
//
//   node bench/v8-gc.mjs [--runs N]        (npm run bench:v8gc; N defaults to 5)
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const CONFIGS = [
  ['no heap', null],
  ['fallback, 1 GiB', { backend: 'fallback', maxBytes: 2 ** 30 }],
  ['native, 1 GiB', { backend: 'native', maxBytes: 2 ** 30 }],
  ['fallback, 4 GiB', { backend: 'fallback', maxBytes: 2 ** 32 }],
  ['native, 4 GiB', { backend: 'native', maxBytes: 2 ** 32 }],
];

/** Counts GC events by kind until stop() is awaited. */
async function gcCounter() {
  const { PerformanceObserver, constants } = await import('node:perf_hooks');
  const kinds = { [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb' };
  const counts = { minor: 0, major: 0, incremental: 0, weakcb: 0, pauseMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      counts[kinds[entry.detail.kind]]++;
      counts.pauseMs += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return async () => {
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the observer deliver the last entries
    observer.disconnect();
    return counts;
  };
}

/** Experiment 2's child: twenty 1 GiB heaps created, used a little and closed, one after another. */
async function churnChild(backend) {
  const { createHeap } = await import('pymem');
  const stop = await gcCounter();
  const start = process.hrtime.bigint();
  for (let i = 0; i < 20; i++) {
    const heap = createHeap({ backend, maxBytes: 2 ** 30 });
    heap.raw.malloc(100);
    heap.close();
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  process.stdout.write(JSON.stringify({ ...(await stop()), ms }));
}

/** Experiment 1's child: heap first, then 40 rounds of short-lived objects with a retained sliding window. */
async function child(config) {
  const stop = await gcCounter();
  let heap;
  if (config) {
    const { createHeap } = await import('pymem');
    heap = createHeap(config);
    const p = heap.raw.malloc(64 << 20); // and use some of it, as a program would
    heap.u8.fill(1, p, p + (64 << 20));
  }
  const start = process.hrtime.bigint();
  const window = new Array(50_000);
  for (let round = 0; round < 40; round++) {
    for (let i = 0; i < 100_000; i++) window[(round * 100_000 + i) % window.length] = { i, s: `item ${i}`, a: [i, i + 1] };
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const counts = await stop();
  const external = process.memoryUsage().external;
  heap?.close();
  process.stdout.write(JSON.stringify({ ...counts, ms, external }));
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

/** The median of each field over `runs` runs of this script with `args`. */
function medians(args, runs) {
  const self = fileURLToPath(import.meta.url);
  const results = [];
  for (let r = 0; r < runs; r++) {
    const run = spawnSync(process.execPath, [self, ...args], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`${args.join(' ')}: ${run.stderr}`);
    results.push(JSON.parse(run.stdout));
  }
  return (key) => median(results.map((x) => x[key]));
}

function main() {
  const at = process.argv.indexOf('--runs');
  const runs = at > 0 ? Number(process.argv[at + 1]) : 5;
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a positive integer');
  console.log(`# V8 garbage collections with and without pymem regions (median of ${runs} runs each)`);
  console.log(`# ${os.cpus()[0].model}, ${os.cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`);
  console.log('## 1. One heap, then a garbage-heavy JavaScript workload (4M short-lived objects)\n');
  console.log('| configuration | minor GCs | major GCs | incremental marks | GC pause (ms) | workload (ms) | external memory |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, config] of CONFIGS) {
    const m = medians(['--child', JSON.stringify(config)], runs);
    console.log(`| ${name} | ${m('minor')} | ${m('major')} | ${m('incremental')} | ${m('pauseMs').toFixed(1)} | ${m('ms').toFixed(0)} | ${(m('external') / 2 ** 20).toFixed(0)} MiB |`);
  }
  console.log('\n## 2. Twenty 1 GiB heaps created, used and closed in a row\n');
  console.log('| backend | minor GCs | major GCs | incremental marks | GC pause (ms) | total (ms) |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const backend of ['native', 'fallback']) {
    const m = medians(['--churn', backend], runs);
    console.log(`| ${backend} | ${m('minor')} | ${m('major')} | ${m('incremental')} | ${m('pauseMs').toFixed(1)} | ${m('ms').toFixed(1)} |`);
  }
}

if (process.argv[2] === '--child') await child(JSON.parse(process.argv[3]));
else if (process.argv[2] === '--churn') await churnChild(process.argv[3]);
else main();
