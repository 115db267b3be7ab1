/**
 * pymem replay: a trace (a file, or a built-in workload) replayed on fresh heaps, timed per event.
 */
import { PYMALLOC_STATS_HEADING } from '../pymalloc/stats';
import { freeLive, replay } from '../trace/replay';
import { HEAP_OPTIONS, HEAP_USAGE, UsageError, heapChoice, openHeap, scale, workload, type Command } from './args';
import { count, mib } from '../map/numbers';

export const replayCommand: Command = {
  summary: 'replay an allocation trace on a heap and time it',
  usage: `Usage: pymem replay FILE|WORKLOAD [options]

Replays an allocation trace on a fresh heap, --repeat times after one replay that warms up the JIT
and is not counted, and reports the time per event (the median and the range), the allocations that
failed, and the bytes the heap had committed when the trace ended. FILE is a trace file in the
format README.md describes under "Traces" (.trace, or gzip'ed .trace.gz); WORKLOAD is a built-in
workload (pymem help workloads).

Options:
${HEAP_USAGE}
  --repeat N                       replays, each on a fresh heap (default: 5)
  --scale F                        multiplies a synthetic workload's counts (default: 1)
  --stats                          print debugMallocStats() after the last replay, its blocks live
  -h, --help                       this text`,
  options: {
    ...HEAP_OPTIONS,
    repeat: { type: 'string', default: '5' },
    scale: { type: 'string', default: '1' },
    stats: { type: 'boolean', default: false },
  },
  run(values, positionals, io) {
    if (positionals.length !== 1) throw new UsageError(`expected one trace file or workload, got ${positionals.length}`);
    const choice = heapChoice(values);
    const repeat = Number(values.repeat);
    if (!Number.isInteger(repeat) || repeat < 1) throw new UsageError(`--repeat must be a whole number from 1; got '${values.repeat}'`);
    const program = workload(positionals[0], scale(values.scale));
    io.stdout.write(`${positionals[0]}: ${count(program.length)} events on ${count(program.slots)} blocks, at most ${count(program.peakBlocks)} live (${mib(program.peakBytes)} requested)\n`);
    const samples: number[] = [];
    let failed = 0;
    let committed = 0;
    let backend = '';
    let stats = '';
    for (let r = -1; r < repeat; r++) {
      const heap = openHeap(choice);
      backend = heap.backend;
      const pointers = new Uint32Array(program.slots);
      const t0 = process.hrtime.bigint();
      failed = replay(heap[choice.domain], program, pointers).failed;
      if (r >= 0) samples.push(Number(process.hrtime.bigint() - t0) / Math.max(1, program.length));
      committed = heap.stats().committedBytes;
      if (values.stats && r === repeat - 1) {
        stats = heap.debugMallocStats();
        if (!stats.startsWith(PYMALLOC_STATS_HEADING)) stats = `(no pymalloc statistics: the OBJ domain is served by '${choice.allocator}')\n${stats}`;
      }
      freeLive(heap[choice.domain], pointers);
      heap.check();
      heap.close();
    }
    samples.sort((a, b) => a - b);
    const median = samples[samples.length >> 1];
    io.stdout.write(
      `${backend}, ${choice.allocator}, heap.${choice.domain}: ${median.toFixed(1)} ns/event (median of ${repeat}; ${samples[0].toFixed(1)} to ${samples[samples.length - 1].toFixed(1)}), ${count(failed)} failed, ${mib(committed)} committed at the end\n`,
    );
    io.stdout.write(stats);
    return 0;
  },
};
