/**
 * pymem map: a picture of the heap a workload leaves, as SVG, HTML or PNG (by the output's extension).
 */
import { writeFileSync } from 'node:fs';
import { replay } from '../trace/replay';
import { HEAP_OPTIONS, HEAP_USAGE, UsageError, heapChoice, openHeap, scale, workload, type Command } from './args';
import { drawHeapMap } from '../map/render';
import { count } from '../map/numbers';
export const mapCommand: Command = {
  summary: 'draw the heap a workload leaves (SVG, HTML or PNG)',
  usage: `Usage: pymem map [options]

Replays a workload on a fresh heap and draws the heap it leaves: every 1 MiB segment of the region by
kind and how much of it is in use, each pymalloc arena as its 64 pools shaded by how full they are,
a legend and the figures. The output's extension chooses the format: .svg, .html (the picture and
debugMallocStats()) or .png.

Options:
  --workload NAME|FILE             a built-in workload or a trace file (default: small)
  --out FILE                       where to write it (default: heap-map.svg)
${HEAP_USAGE}
  --max-bytes N                    the heap's region in MiB, 2 to 4096 (default: 1024)
  --scale F                        multiplies a synthetic workload's counts (default: 1)
  -h, --help                       this text`,
  options: {
    ...HEAP_OPTIONS,
    workload: { type: 'string', default: 'small' },
    out: { type: 'string', default: 'heap-map.svg' },
    'max-bytes': { type: 'string', default: '1024' },
    scale: { type: 'string', default: '1' },
  },
  run(values, positionals, io) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const out = values.out as string;
    const format = /\.(svg|html|png)$/i.exec(out)?.[1].toLowerCase();
    if (format === undefined) throw new UsageError(`--out must end in .svg, .html or .png; got '${out}'`);
    const mib = Number(values['max-bytes']);
    if (!Number.isInteger(mib) || mib < 2 || mib > 4096) throw new UsageError(`--max-bytes must be a whole number of MiB from 2 to 4096; got '${values['max-bytes']}'`);
    const choice = heapChoice(values);
    const name = values.workload as string;
    const program = workload(name, scale(values.scale));
    const heap = openHeap(choice, mib * 2 ** 20);
    const { failed } = replay(heap[choice.domain], program);
    const { data, width, height } = drawHeapMap(heap, format as 'svg' | 'html' | 'png', `pymem heap map: ${name} (${choice.allocator}, heap.${choice.domain})`);
    heap.close();
    writeFileSync(out, data);
    io.stdout.write(`${out}: ${width} x ${height} ${format.toUpperCase()}, ${count(data.length)} bytes${failed ? `; ${failed} allocations failed (the heap was full)` : ''}\n`);
    return 0;
  },
};
