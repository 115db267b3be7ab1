/**
 * pymem inspect IMAGE: a heap image's figures, read without the program that made it.
 */
import { writeFileSync } from 'node:fs';
import { createHeap } from '../create';
import { openImage } from '../image/file';
import { ROOT_OBJECT } from '../image/format';
import { objectCensus } from '../objects/census';
import { SEGMENT_SIZE } from '../config';
import { drawHeapMap } from '../map/render';
import { count, mib } from '../map/numbers';
import { UsageError, oneOf, type Command } from './args';
import { hex } from '../errors';

export const inspectCommand: Command = {
  summary: "print a heap image's figures and objects, and draw its map",
  usage: `Usage: pymem inspect IMAGE [options]

Opens a heap image (heap.save()) and prints what it holds: its region, the segments it stores, its
allocator and its root; heap.debugMallocStats() (CPython's sys._debugmallocstats() text); and the
objects in its blocks by type (the static ones, None and the small ints among them, aside). With --out
it also draws the heap's map, as pymem map does. The image is opened, never written.

Options:
  --backend auto|native|fallback   the backend to open it on (default: auto)
  --out FILE                       also draw the map to FILE (.svg, .html or .png)
  -h, --help                       this text`,
  options: { backend: { type: 'string', default: 'auto' }, out: { type: 'string' } },
  run(values, positionals, io) {
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'inspect needs an IMAGE' : `unexpected argument '${positionals[1]}'`);
    const [file] = positionals;
    const out = values.out as string | undefined;
    const format = out === undefined ? undefined : /\.(svg|html|png)$/i.exec(out)?.[1].toLowerCase();
    if (out !== undefined && format === undefined) throw new UsageError(`--out must end in .svg, .html or .png; got '${out}'`);
    const image = openImage(file);
    const { header } = image;
    image.close();
    const backend = oneOf('backend', values.backend, ['auto', 'native', 'fallback'] as const);
    const heap = createHeap({ image: file, backend });
    try {
      const root = header.root === 0 ? 'none' : `${hex(header.root)} (${header.rootKind === ROOT_OBJECT ? `an object: ${heap.objects.typeName(header.root)}` : 'a block'})`;
      const stored = header.segments.length;
      io.stdout.write(
        `${file}: a heap image of ${mib(header.dataOffset + stored * SEGMENT_SIZE)}, its region ${mib(header.maxBytes)} ` +
          `(${count(header.maxBytes / SEGMENT_SIZE)} segments, ${count(stored)} stored); allocator ${header.allocator}; root ${root}\n\n`,
      );
      io.stdout.write(`${heap.debugMallocStats()}\n`);
      const census = Object.entries(objectCensus(heap.u32, heap.maxBytes)).sort(([, a], [, b]) => b.blockBytes - a.blockBytes);
      if (census.length === 0) {
        io.stdout.write('objects in its blocks: none\n');
      } else {
        const rows = [['type', 'objects', 'bytes of their blocks'], ...census.map(([name, c]) => [name, count(c.objects), count(c.blockBytes)])];
        const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
        io.stdout.write(`objects in its blocks, by type:\n${rows.map((r) => `  ${r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')}`).join('\n')}\n`);
      }
      if (out !== undefined) {
        const { data, width, height } = drawHeapMap(heap, format as 'svg' | 'html' | 'png', `pymem heap map: ${file}`);
        writeFileSync(out, data);
        io.stdout.write(`\n${out}: ${width} x ${height} ${(format as string).toUpperCase()}, ${count(data.length)} bytes\n`);
      }
    } finally {
      heap.close();
    }
    return 0;
  },
};
