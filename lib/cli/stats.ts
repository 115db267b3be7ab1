/**
 * pymem stats: the statistics CPython's sys._debugmallocstats() prints, for a heap a workload left.
 */
import { replay } from '../trace/replay';
import { PYMALLOC_STATS_HEADING } from '../pymalloc/stats';
import { HEAP_OPTIONS, HEAP_USAGE, UsageError, heapChoice, openHeap, scale, workload, type Command } from './args';

export const statsCommand: Command = {
  summary: "run a workload and print the heap's debugMallocStats()",
  usage: `Usage: pymem stats [options]

Replays a workload on a fresh heap and prints heap.debugMallocStats(): CPython's
sys._debugmallocstats() text (size classes, arenas, pools, the region's segments) for the heap, with
the workload's live blocks in place.

Options:
  --workload NAME|FILE             a built-in workload or a trace file (default: small)
${HEAP_USAGE}
  --scale F                        multiplies a synthetic workload's counts (default: 1)
  -h, --help                       this text`,
  options: { ...HEAP_OPTIONS, workload: { type: 'string', default: 'small' }, scale: { type: 'string', default: '1' } },
  run(values, positionals, io) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const choice = heapChoice(values);
    const program = workload(values.workload as string, scale(values.scale));
    const heap = openHeap(choice);
    replay(heap[choice.domain], program);
    const text = heap.debugMallocStats();
    const note = text.startsWith(PYMALLOC_STATS_HEADING) ? '' : `(no pymalloc statistics: with --allocator ${choice.allocator}, pymalloc serves nothing)\n`;
    io.stdout.write(note + text);
    heap.close();
    return 0;
  },
};
