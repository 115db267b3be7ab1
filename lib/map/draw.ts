/**
 * The picture `pymem map` draws, as a list of shapes (rectangles and text) in pixel coordinates, so
 * that one layout serves every output: SVG and HTML write the shapes as SVG elements, PNG rasterises
 * them (lib/map/png.ts).
 *
 * Left, the region: one square per 1 MiB segment, coloured by kind; a raw pool, an arena or a huge
 * block fills its square from the bottom as far as it is used. Right, pymalloc's arenas: each an 8 x 8
 * grid of its 16 KiB pools, shaded by how many of their blocks are allocated. Below the region, the
 * legend and the figures.
 */
import { SEG_ARENA, SEG_FREE_CACHED, SEG_FREE_CLEAN, SEG_HUGE_CONT, SEG_HUGE_HEAD, SEG_META, SEG_RAW_POOL } from '../raw/layout';
import { POOL_EMPTY, POOL_USED, type HeapModel } from './model';
import { count, mib } from './numbers';

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
  fill: string;
  stroke?: string;
  /** A tooltip (SVG <title>). */
  title?: string;
}

export interface Text {
  x: number;
  y: number;
  text: string;
  size: number;
  bold?: boolean;
  fill?: string;
}

export interface Drawing {
  width: number;
  height: number;
  rects: Rect[];
  texts: Text[];
}

/** Per segment kind: its name in the legend, its colour, and the colour of its used part. */
export const KIND_STYLE: Record<number, { name: string; color: string; used?: string }> = {
  [SEG_META]: { name: 'metadata (segment 0)', color: '#495057' },
  [SEG_ARENA]: { name: 'pymalloc arena', color: '#ffe8cc', used: '#e8590c' },
  [SEG_RAW_POOL]: { name: 'raw pool (small raw blocks)', color: '#d0ebff', used: '#1c7ed6' },
  [SEG_HUGE_HEAD]: { name: 'large raw block', color: '#e5dbff', used: '#7048e8' },
  [SEG_HUGE_CONT]: { name: 'large raw block', color: '#e5dbff', used: '#7048e8' },
  [SEG_FREE_CACHED]: { name: 'free, kept committed (cache)', color: '#c3fae8' },
  [SEG_FREE_CLEAN]: { name: 'free', color: '#f1f3f5' },
};

const EMPTY_POOL = '#ffffff';
const UNCARVED_POOL = '#e9ecef';
const FRAME = '#adb5bd';

/** The shade of a pool whose blocks are `fraction` allocated: from light (few) to dark orange (all). */
export function poolColor(fraction: number): string {
  const from = [0xff, 0xd8, 0xa8];
  const to = [0xd9, 0x48, 0x0f];
  const mix = from.map((c, i) => Math.round(c + (to[i] - c) * fraction));
  return `#${mix.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}


/** How many arenas are drawn; more are summed up in one line. */
export const MAX_ARENAS_DRAWN = 48;

export function drawHeap(model: HeapModel, title: string): Drawing {
  const rects: Rect[] = [];
  const texts: Text[] = [];
  const text = (x: number, y: number, s: string, size = 12, bold = false) => texts.push({ x, y, text: s, size, bold });
  const margin = 24;
  text(margin, 32, title, 18, true);
  const s = model.stats;
  const p = s.pymalloc;
  text(margin, 54, `${model.backend} backend, ${count(model.kinds.length)} segments of 1 MiB; ${mib(s.committedBytes)} committed`, 13);

  // The region: squares of 12 px (32 a row), or 6 px (64 a row) above 1,024 segments.
  const segments = model.kinds.length;
  const columns = segments > 1024 ? 64 : 32;
  const cell = segments > 1024 ? 6 : 12;
  const pitch = cell + 2;
  const top = 86;
  text(margin, top - 10, 'Region: every 1 MiB segment', 14, true);
  for (let i = 0; i < segments; i++) {
    const x = margin + (i % columns) * pitch;
    const y = top + Math.floor(i / columns) * pitch;
    const style = KIND_STYLE[model.kinds[i]];
    rects.push({ x, y, w: cell, h: cell, fill: style.color, title: `segment ${i}: ${style.name}${style.used ? `, ${Math.round(model.fill[i] * 100)}% used` : ''}` });
    if (style.used && model.fill[i] > 0) {
      const h = Math.max(1, Math.round(cell * model.fill[i]));
      rects.push({ x, y: y + cell - h, w: cell, h, fill: style.used });
    }
  }
  const regionBottom = top + Math.ceil(segments / columns) * pitch;

  // The legend: segment kinds, then pool shades.
  let y = regionBottom + 24;
  text(margin, y, 'Legend', 14, true);
  y += 12;
  for (const kind of [SEG_META, SEG_ARENA, SEG_RAW_POOL, SEG_HUGE_HEAD, SEG_FREE_CACHED, SEG_FREE_CLEAN]) {
    const style = KIND_STYLE[kind];
    rects.push({ x: margin, y, w: 12, h: 12, fill: style.color, stroke: FRAME });
    if (style.used) rects.push({ x: margin, y: y + 6, w: 12, h: 6, fill: style.used });
    text(margin + 20, y + 10, style.used ? `${style.name}: the dark part is in use` : style.name);
    y += 18;
  }
  for (const [i, fraction] of [0.05, 0.25, 0.5, 0.75, 1].entries()) rects.push({ x: margin + i * 14, y, w: 12, h: 12, fill: poolColor(fraction), stroke: FRAME });
  text(margin + 76, y + 10, 'pool in use: light = few blocks allocated, dark = all');
  y += 18;
  rects.push({ x: margin, y, w: 12, h: 12, fill: EMPTY_POOL, stroke: FRAME });
  text(margin + 20, y + 10, 'empty pool (free, in its arena)');
  y += 18;
  rects.push({ x: margin, y, w: 12, h: 12, fill: UNCARVED_POOL, stroke: FRAME });
  text(margin + 20, y + 10, 'pool never used yet');
  y += 40;

  // The figures.
  text(margin, y, 'Figures', 14, true);
  const pools = model.arenas.flatMap((a) => a.pools);
  const used = pools.filter((pool) => pool.state === POOL_USED);
  const empty = pools.filter((pool) => pool.state === POOL_EMPTY).length;
  const inBlocks = used.reduce((sum, pool) => sum + pool.blocks * pool.blockSize, 0);
  const figures = [
    `region ${mib(model.maxBytes)}, committed ${mib(s.committedBytes)}${s.residentBytes === null ? '' : `, resident ${mib(s.residentBytes)}`}`,
    `raw blocks: ${count(s.rawBlocks)}, ${mib(s.rawBytes)} requested`,
    `arenas: ${count(model.arenas.length)} (${count(p.arenasHighwater)} at most at once)`,
    `pools: ${count(used.length)} in use, ${count(empty)} empty, ${count(pools.length - used.length - empty)} never used`,
    `pymalloc blocks: ${count(p.allocatedBlocks - p.rawAllocatedBlocks)} allocated, ${mib(inBlocks)} in blocks of ${mib(used.length * 16384)} of used pools (${used.length ? Math.round((100 * inBlocks) / (used.length * 16384)) : 0}%)`,
  ];
  for (const line of figures) text(margin, (y += 18), line);
  const leftBottom = y + margin;

  // The arenas, 8 to a row, each 8 x 8 pools of 8 px.
  const left = margin + columns * pitch + 48;
  text(left, top - 10, `pymalloc arenas: 64 pools of 16 KiB each`, 14, true);
  const shown = model.arenas.slice(0, MAX_ARENAS_DRAWN);
  const poolPitch = 9;
  const arenaW = 8 * poolPitch;
  const arenaPitchX = arenaW + 14;
  const arenaPitchY = arenaW + 26;
  shown.forEach((arena, k) => {
    const ax = left + (k % 8) * arenaPitchX;
    const ay = top + Math.floor(k / 8) * arenaPitchY;
    text(ax, ay + 10, `segment ${arena.segment}`, 10);
    arena.pools.forEach((pool, i) => {
      const px = ax + (i % 8) * poolPitch;
      const py = ay + 16 + Math.floor(i / 8) * poolPitch;
      if (pool.state === POOL_USED) {
        rects.push({ x: px, y: py, w: 8, h: 8, fill: poolColor(pool.blocks / pool.capacity), title: `pool ${i}: size class ${pool.sizeClass} (${pool.blockSize} B), ${pool.blocks} of ${pool.capacity} blocks allocated` });
      } else {
        rects.push({ x: px, y: py, w: 8, h: 8, fill: pool.state === POOL_EMPTY ? EMPTY_POOL : UNCARVED_POOL, stroke: FRAME, title: `pool ${i}: ${pool.state === POOL_EMPTY ? 'empty' : 'never used'}` });
      }
    });
  });
  let rightBottom = top + Math.ceil(shown.length / 8) * arenaPitchY;
  if (model.arenas.length === 0) text(left, (rightBottom += 20), 'none: the object allocator holds no arena');
  if (model.arenas.length > shown.length) text(left, (rightBottom += 16), `... and ${count(model.arenas.length - shown.length)} more arenas, not drawn`);
  const width = left + 8 * arenaPitchX + margin;
  return { width, height: Math.max(leftBottom, rightBottom + margin), rects, texts };
}
