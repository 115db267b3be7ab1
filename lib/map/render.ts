/**
 * The heap map as a file's contents: the model read from the region (map-model.ts), drawn
 * (map-draw.ts), written as SVG, HTML or PNG. `pymem map` draws the heap a workload leaves; a program
 * draws its own heap with drawHeapMap (exported by pymem).
 */
import { invalidArgType, invalidArgValue } from '../errors';
import { readHeapModel } from './model';
import { drawHeap } from './draw';
import { toHtml, toSvg } from './svg';
import { toPng } from './png';
import { Heap } from '../heap';

/**
 * A picture of `heap` as it stands (what `pymem map` draws): 'svg' and 'html' give text, 'png' a
 * Buffer. Reads the region only.
 */
export function drawHeapMap(heap: Heap, format: 'svg' | 'html' | 'png', title = 'pymem heap map'): { data: string | Buffer; width: number; height: number } {
  if (!(heap instanceof Heap)) throw invalidArgType('heap', 'Heap', heap);
  if (format !== 'svg' && format !== 'html' && format !== 'png') throw invalidArgValue('argument "format"', format, "must be 'svg', 'html' or 'png'");
  const drawing = drawHeap(readHeapModel(heap), title);
  const data = format === 'svg' ? toSvg(drawing) : format === 'html' ? toHtml(drawing, title, heap.debugMallocStats()) : toPng(drawing);
  return { data, width: drawing.width, height: drawing.height };
}

