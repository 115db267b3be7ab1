/**
 * The figures of `pymem bench`, as a table for the terminal or as Markdown (BENCHMARKS.md is made
 * of the latter): per workload, each contender's median time per event and its range, its ratios to
 * glibc and to the fallback, peak committed bytes (pymem) and peak RSS growth; then native against
 * the fallback, workload by workload, and one sentence that says where native is worth it. It ends
 * with the backend createHeap() picks on this machine and a one-line recommendation from the figures.
 */
import * as os from 'node:os';
import { count, mib } from '../map/numbers';
import { objectsSummary, objectsTable, recordsSummary, recordsTable, type ObjectsResults } from './bench-objects';
import { imageSummary, imageTable, type ImageResults } from './bench-image';
import { threadsSummary, threadsTable, type ThreadResults } from './bench-threads';

export interface Cell {
  /** Nanoseconds per event: the median of the rounds, and the fastest and slowest round. */
  median: number;
  min: number;
  max: number;
  /** Events timed (slow contenders time a prefix of the workload). */
  events: number;
  rssGrowth: number;
  peakCommitted?: number;
  failed: number;
}

export interface BenchResults {
  mode: string;
  /** The options that make the same run: the command's heading names them. */
  options: string;
  scale: number;
  repeats: number;
  slowEvents: number;
  /** Whether the backends were also measured with debug hooks (native-debug, fallback-debug). */
  debugHooks: boolean;
  /** Whether the backends were also measured while tracemalloc traced 1 and 25 frames (-tm1, -tm25). */
  tracemalloc: boolean;
  contenders: string[];
  missing: string[];
  compiler?: string;
  /** The backend the default, backend 'auto', picks on this machine, and why. */
  auto: { backend: string; reason: string };
  /** Per workload: its events, of which `allocations` malloc, calloc or realloc (what tracemalloc traces). */
  workloads: { name: string; events: number; allocations?: number; peakBytes: number; cells: Record<string, Cell> }[];
  /** With --objects: the objects against JS values, and records as dicts against JS objects (lib/cli/bench-objects.ts). */
  objects?: ObjectsResults;
  records?: ObjectsResults;
  /** With --image: records saved and opened again (lib/cli/bench-image.ts). */
  image?: ImageResults;
  /** With --threads: one shared heap from worker threads (lib/cli/bench-threads.ts). */
  threads?: ThreadResults;
}

export const LABELS: Record<string, string> = {
  native: 'pymem native',
  fallback: 'pymem fallback',
  'native-mem': 'pymem native, heap.mem',
  'fallback-mem': 'pymem fallback, heap.mem',
  'native-debug': 'pymem native, debug hooks',
  'fallback-debug': 'pymem fallback, debug hooks',
  'native-tm1': 'pymem native, tracemalloc 1 frame',
  'fallback-tm1': 'pymem fallback, tracemalloc 1 frame',
  'native-tm25': 'pymem native, tracemalloc 25 frames',
  'fallback-tm25': 'pymem fallback, tracemalloc 25 frames',
  glibc: 'glibc malloc (C)',
  assemblyscript: 'AssemblyScript TLSF (wasm)',
  thing: '@thi.ng/malloc',
  arraybuffer: 'new ArrayBuffer',
};

const mibOrDash = (n: number | undefined) => (n === undefined ? '-' : mib(n));
const ns = (n: number) => (n >= 1000 ? count(n) : n.toFixed(1));
const ratio = (a: number, b: number | undefined) => (b === undefined ? '-' : `${(a / b).toFixed(2)}x`);

function rows(w: BenchResults['workloads'][number]): string[][] {
  const glibc = w.cells.glibc?.median;
  const fallback = w.cells.fallback.median;
  return Object.entries(w.cells).map(([contender, c]) => [
    LABELS[contender],
    `${ns(c.median)}${c.events < w.events ? ` (first ${count(c.events)} events)` : ''}${c.failed ? `, ${count(c.failed)} failed` : ''}`,
    `${ns(c.min)}-${ns(c.max)}`,
    ratio(c.median, glibc),
    ratio(c.median, fallback),
    mibOrDash(c.peakCommitted),
    mib(c.rssGrowth),
  ]);
}

const HEAD = ['contender', 'ns/event', 'range', 'x glibc', 'x fallback', 'peak committed', 'RSS growth'];

function textTable(table: string[][]): string {
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  return table.map((r) => `  ${r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')}`.trimEnd()).join('\n');
}

function markdownTable(table: string[][]): string {
  const [head, ...body] = table;
  return [`| ${head.join(' | ')} |`, `| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Where native is faster than the fallback, and where not: one sentence from the figures. */
export function verdict(r: BenchResults): string {
  if (!r.contenders.includes('native')) return 'The native backend did not run here, so there is nothing to compare the fallback with.';
  const both = r.workloads.map((w) => ({ name: w.name, x: Math.round((100 * w.cells.native.median) / w.cells.fallback.median) / 100 }));
  const faster = both.filter((b) => b.x < 0.9);
  const slower = both.filter((b) => b.x > 1.1);
  const list = (bs: typeof both) => bs.map((b) => `${b.name} (${b.x.toFixed(2)}x)`).join(', ');
  return [
    `Native took ${faster.length ? `less than 0.9x the fallback's time on ${list(faster)}` : "no less than 0.9x the fallback's time on any workload"}`,
    slower.length ? `, more than 1.1x on ${list(slower)}` : '',
    both.length - faster.length - slower.length ? `, and within 10% on the other ${both.length - faster.length - slower.length}` : '',
    '.',
  ].join('');
}

/** The closing line's first half: what the default gives this machine. */
export function autoLine(r: BenchResults): string {
  return `On this machine createHeap() runs on ${r.auto.backend === 'native' ? 'the native backend' : 'the fallback'} (${r.auto.reason}).`;
}

/**
 * What to do, from the figures: the geometric mean of native's time over the fallback's across the
 * workloads (one slow workload does not outvote the rest, nor one fast one), judged by the verdict's
 * 10% band.
 */
export function recommendation(r: BenchResults): string {
  const both = r.workloads.filter((w) => w.cells.native && w.cells.fallback);
  if (both.length === 0) {
    return 'Recommendation: the fallback is all that runs here; with a C++ compiler, make and Python, `npm rebuild pymem` builds the addon, and this benchmark then compares the two.';
  }
  const mean = Math.exp(both.reduce((sum, w) => sum + Math.log(w.cells.native.median / w.cells.fallback.median), 0) / both.length);
  const x = `${mean.toFixed(2)}x`;
  if (mean < 0.9) return `Recommendation: keep the default, backend 'auto', where native is available: it took ${x} the fallback's time over these workloads (geometric mean).`;
  if (mean > 1.1) return `Recommendation: for work like this, pass backend: 'fallback' (or set PYMEM_BACKEND=fallback): native took ${x} the fallback's time over these workloads (geometric mean).`;
  return `Recommendation: either backend serves work like this (native took ${x} the fallback's time over these workloads, geometric mean); keep the default, backend 'auto'.`;
}

function machine(r: BenchResults): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${os.type()} ${os.release()}, Node ${process.version}, ${r.compiler ?? 'no C compiler'}`;
}

export function formatResults(r: BenchResults, format: 'text' | 'markdown'): string {
  const command = `pymem bench ${r.options}${format === 'markdown' ? ' --markdown' : ''}`;
  const settings = `synthetic workloads at scale ${r.scale}, ${r.repeats} rounds; @thi.ng/malloc and ArrayBuffer timed on the first ${count(r.slowEvents)} events`;
  const comparison = [['workload', 'native ns/event', 'fallback ns/event', 'native / fallback']].concat(
    r.workloads.filter((w) => w.cells.native).map((w) => [w.name, ns(w.cells.native.median), ns(w.cells.fallback.median), ratio(w.cells.native.median, w.cells.fallback.median)]),
  );
  // What the debug hooks and tracemalloc cost each backend: time with them over time without, in this run.
  const against = (head: string[], variants: string[]) =>
    [['workload', ...head]].concat(
      r.workloads.map((w) => [w.name, ...['native', 'fallback'].flatMap((b) => variants.map((v) => (w.cells[`${b}-${v}`] ? ratio(w.cells[`${b}-${v}`].median, w.cells[b].median) : '-')))]),
    );
  const hooks = against(['native with / without', 'fallback with / without'], ['debug']);
  const tracing = against(['native, 1 frame', 'native, 25 frames', 'fallback, 1 frame', 'fallback, 25 frames'], ['tm1', 'tm25']);
  // What one traced allocation costs: the time tracing added to the replay, over its allocations.
  const perAllocation = [['workload', 'native, 1 frame', 'native, 25 frames', 'fallback, 1 frame', 'fallback, 25 frames']].concat(
    r.workloads.map((w) => [
      w.name,
      ...['native', 'fallback'].flatMap((b) =>
        ['tm1', 'tm25'].map((v) => {
          const traced = w.cells[`${b}-${v}`];
          if (traced === undefined || w.allocations === undefined) return '-';
          return `${(((traced.median - w.cells[b].median) * w.events) / Math.max(1, w.allocations) / 1000).toFixed(2)} us`;
        }),
      ),
    ]),
  );
  const out: string[] = [];
  if (format === 'markdown') {
    out.push(`## \`${command}\``, '', `Machine: ${machine(r)}. Date: ${new Date().toISOString().slice(0, 10)}.`, '', `Settings: ${settings}.`);
    for (const line of r.missing) out.push('', `- ${line}`);
    for (const w of r.workloads) {
      out.push('', `### ${w.name}: ${count(w.events)} events, ${mib(w.peakBytes)} requested at the peak`, '', markdownTable([HEAD, ...rows(w)]));
    }
    out.push('', '### Native against the fallback', '', markdownTable(comparison), '', verdict(r), '');
    if (r.debugHooks) out.push('### Debug hooks against none', '', markdownTable(hooks), '');
    if (r.tracemalloc) out.push('### tracemalloc against none', '', markdownTable(tracing), '', 'Per traced allocation (malloc, calloc or realloc), the time tracing added:', '', markdownTable(perAllocation), '');
    if (r.objects) out.push('### Objects against JS values', '', markdownTable(objectsTable(r.objects)), '', objectsSummary(r.objects), '');
    if (r.records) out.push('### Records: dicts against JS objects', '', markdownTable(recordsTable(r.records)), '', recordsSummary(r.records), '');
    if (r.image) out.push('### Records saved and opened again', '', markdownTable(imageTable(r.image)), '', imageSummary(r.image), '');
    if (r.threads) out.push('### One shared heap from worker threads', '', markdownTable(threadsTable(r.threads)), '', threadsSummary(r.threads), '');
    out.push(`${autoLine(r)} ${recommendation(r)}`);
  } else {
    out.push(`${command}: ${settings}.`);
    for (const w of r.workloads) out.push('', `${w.name}: ${count(w.events)} events, ${mib(w.peakBytes)} requested at the peak`, textTable([HEAD, ...rows(w)]));
    out.push('', 'native against the fallback', textTable(comparison), '', verdict(r), '');
    if (r.debugHooks) out.push('debug hooks against none', textTable(hooks), '');
    if (r.tracemalloc) out.push('tracemalloc against none', textTable(tracing), '', 'tracemalloc: time added per traced allocation', textTable(perAllocation), '');
    if (r.objects) out.push('objects against JS values', textTable(objectsTable(r.objects)), '', objectsSummary(r.objects), '');
    if (r.records) out.push('records: dicts against JS objects', textTable(recordsTable(r.records)), '', recordsSummary(r.records), '');
    if (r.image) out.push('records saved and opened again', textTable(imageTable(r.image)), '', imageSummary(r.image), '');
    if (r.threads) out.push('one shared heap from worker threads', textTable(threadsTable(r.threads)), '', threadsSummary(r.threads), '');
    out.push(autoLine(r), recommendation(r));
  }
  return `${out.join('\n')}\n`;
}
