// pymem map: the model read from the region, the drawing, and its three outputs (SVG, HTML, PNG, each
// checked as a file of its format, of the expected size, showing the segments it should).
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { inflateSync } from 'node:zlib';
import { pymem } from './helpers/cli';
import { POOL_EMPTY, POOL_UNCARVED, POOL_USED, readHeapModel } from '../lib/map/model';
import { MAX_ARENAS_DRAWN, drawHeap, poolColor } from '../lib/map/draw';
import { toHtml, toSvg } from '../lib/map/svg';
import { crc32, toPng } from '../lib/map/png';
import { FONT_CHARACTERS, glyph } from '../lib/map/font';
import { SEG_ARENA, SEG_FREE_CLEAN, SEG_HUGE_CONT, SEG_HUGE_HEAD, SEG_META, SEG_RAW_POOL } from '../lib/raw/layout';
import { BACKENDS, heapOn } from './helpers/backends';
import { createHeap, drawHeapMap } from '../lib/index';

const scratch = mkdtempSync(path.join(tmpdir(), 'pymem-map-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

for (const backend of BACKENDS) {
  t.test(`the model of a heap on ${backend}`, async (t) => {
    const heap = heapOn(backend, { maxBytes: 64 << 20 });
    const small = Array.from({ length: 3000 }, (_, i) => heap.obj.malloc(8 + (i % 500)));
    for (let i = 0; i < small.length; i += 3) heap.obj.free(small[i]);
    const raw = [heap.raw.malloc(100_000), heap.raw.malloc(3000)];
    const huge = heap.raw.malloc(2.5 * 2 ** 20);
    const model = readHeapModel(heap);
    t.equal(model.backend, backend);
    t.equal(model.kinds.length, 64);
    t.equal(model.kinds[0], SEG_META);
    const head = Math.floor(huge / 2 ** 20);
    t.same([model.kinds[head], model.kinds[head + 1], model.kinds[head + 2]], [SEG_HUGE_HEAD, SEG_HUGE_CONT, SEG_HUGE_CONT]);
    t.same([model.fill[head], model.fill[head + 1], model.fill[head + 2]], [1, 1, 0.5], 'a 2.5 MiB block fills two and a half segments');
    const pool = Math.floor(raw[0] / 2 ** 20);
    t.equal(model.kinds[pool], SEG_RAW_POOL);
    t.ok(model.fill[pool] > 103_000 / 2 ** 20 && model.fill[pool] < 0.11, `raw pool ${model.fill[pool]} full`);
    t.equal(model.arenas.length, heap.stats().pymalloc.arenasCurrent);
    const arena = model.arenas[0];
    t.equal(model.kinds[arena.segment], SEG_ARENA);
    t.equal(arena.pools.length, 64);
    const pools = model.arenas.flatMap((a) => a.pools);
    const used = pools.filter((p) => p.state === POOL_USED);
    t.equal(used.reduce((n, p) => n + p.blocks, 0), 2000, 'the blocks still allocated, pool by pool');
    t.ok(used.every((p) => p.blocks <= p.capacity && p.blockSize === (p.sizeClass + 1) * 16));
    t.equal(model.fill[arena.segment], arena.pools.filter((p) => p.state === POOL_USED).length / 64, "an arena's square: its pools in use");
    t.ok(pools.some((p) => p.state === POOL_UNCARVED));
    // Free every block of one pool: it becomes empty.
    const pool1 = Math.floor(small[1] / 16384);
    small.forEach((p, i) => i % 3 !== 0 && Math.floor(p / 16384) === pool1 && heap.obj.free(p));
    t.equal(readHeapModel(heap).arenas[0].pools.filter((p) => p.state === POOL_EMPTY).length, 1);
    heap.close();
  });

  t.test(`an arena above 2 GiB, not on a pool boundary, on ${backend}`, async (t) => {
    // Offsets from 2^31 on are where a signed bitwise operation turns an address negative.
    const heap = heapOn(backend, { maxBytes: 2 ** 32 });
    const address = 3 * 2 ** 30 + 4096;
    heap.setArenaAllocator({ alloc: () => address, free: () => {} });
    const p = heap.obj.malloc(64);
    const [arena] = readHeapModel(heap).arenas;
    t.equal(arena.address, address);
    t.equal(arena.pools.length, 63, 'one pool fewer for the unaligned start');
    t.match(arena.pools[0], { state: POOL_USED, sizeClass: 3, blocks: 1 });
    t.ok(arena.pools.slice(1).every((pool) => pool.state === POOL_UNCARVED), 'the other 62 never carved');
    t.equal(Math.floor(p / 16384) * 16384, address + 16384 - 4096, 'the block is in the first whole pool');
    heap.check();
    heap.close();
  });
}

t.test('the drawing: a square per segment, an 8 x 8 grid per arena, the legend and the figures', async (t) => {
  const heap = heapOn('native', { maxBytes: 64 << 20 });
  for (let i = 0; i < 100; i++) heap.obj.malloc(64);
  const emptied = Array.from({ length: 10 }, () => heap.obj.malloc(128)); // a second pool, then freed whole
  for (const p of emptied) heap.obj.free(p);
  heap.raw.malloc(3 * 2 ** 20);
  const model = readHeapModel(heap);
  heap.close();
  const d = drawHeap(model, 'a <title> & more');
  const segments = d.rects.filter((r) => r.title?.startsWith('segment '));
  t.equal(segments.length, 64);
  t.match(segments[0], { x: 24, y: 86, w: 12, h: 12, fill: '#495057', title: 'segment 0: metadata (segment 0)' });
  t.match(segments[1], { x: 38, title: 'segment 1: pymalloc arena, 2% used' });
  t.match(segments[32], { x: 24, y: 100, title: /^segment 32: / }, '32 a row');
  t.equal(d.rects.filter((r) => r.title?.startsWith('pool ')).length, 64);
  t.match(d.rects.find((r) => r.title?.startsWith('pool 0:')), { fill: poolColor(100 / 255), title: 'pool 0: size class 3 (64 B), 100 of 255 blocks allocated' });
  t.match(d.texts.map((x) => x.text), ['a <title> & more', 'native backend, 64 segments of 1 MiB; 5.0 MiB committed']);
  t.ok(d.texts.some((x) => x.text === 'pools: 1 in use, 1 empty, 62 never used'));
  t.match(d.rects.find((r) => r.title === 'pool 1: empty'), { fill: '#ffffff', stroke: '#adb5bd' });
  t.match(d.rects.find((r) => r.title === 'pool 2: never used'), { fill: '#e9ecef', stroke: '#adb5bd' });
  t.ok(d.texts.some((x) => x.text === 'raw blocks: 1, 3.0 MiB requested'));
  t.equal(poolColor(0), '#ffd8a8');
  t.equal(poolColor(1), '#d9480f');
  t.same([d.width, d.height], [1232, 448], 'as wide as the region and 8 arenas, as tall as the legend and figures');

  // Above 1,024 segments the squares shrink to 64 a row; past MAX_ARENAS_DRAWN arenas, a line says how many more.
  const wide = { ...model, kinds: new Uint8Array(2048), fill: new Float64Array(2048), arenas: Array.from({ length: MAX_ARENAS_DRAWN + 5 }, () => model.arenas[0]) };
  const big = drawHeap(wide, 'big');
  t.match(big.rects.filter((r) => r.title?.startsWith('segment '))[64], { x: 24, y: 94, w: 6, title: 'segment 64: free' });
  t.equal(big.texts.at(-1)!.text, '... and 5 more arenas, not drawn');
  t.equal(drawHeap({ ...model, arenas: [] }, 'none').texts.at(-1)!.text, 'none: the object allocator holds no arena');
  t.equal(model.kinds[5], SEG_FREE_CLEAN);
});

t.test('SVG and HTML', async (t) => {
  const heap = heapOn('fallback', { maxBytes: 4 << 20 });
  heap.obj.malloc(10);
  const d = drawHeap(readHeapModel(heap), 'x & <y>');
  const stats = heap.debugMallocStats();
  heap.close();
  const svg = toSvg(d);
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="1232" height="\d+" viewBox="0 0 1232 \d+">\n/);
  t.match(svg, '<rect x="24" y="86" width="12" height="12" fill="#495057"><title>segment 0: metadata (segment 0)</title></rect>');
  t.match(svg, '<text x="24" y="32" font-size="18" font-weight="bold">x &amp; &lt;y&gt;</text>');
  t.equal(svg.match(/<rect /g)!.length, d.rects.length + 1, 'every shape, and the background');
  t.equal(svg.match(/<text /g)!.length, d.texts.length);
  t.ok(svg.endsWith('</svg>\n'));
  const html = toHtml(d, 'x & <y>', stats);
  t.match(html, /^<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>x &amp; &lt;y&gt;<\/title>/);
  t.match(html, svg);
  t.match(html, '<pre>Small block threshold = 512, in 32 size classes.\n');
  t.ok(html.endsWith('</body>\n</html>\n'));
});

/** The chunks of a PNG file, each CRC checked. */
function chunks(png: Buffer): { type: string; data: Buffer }[] {
  const out = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    if (png.readUInt32BE(at + 8 + length) !== crc32(png.subarray(at + 4, at + 8 + length))) throw new Error(`${type}: bad CRC`);
    out.push({ type, data });
    at += 12 + length;
  }
  return out;
}

t.test('PNG: a valid file of the drawing, its pixels where the drawing puts them', async (t) => {
  t.equal(crc32(Buffer.from('123456789')), 0xcbf43926, "CRC-32's check value");
  const d = { width: 40, height: 20, rects: [{ x: 2, y: 3, w: 4, h: 5, fill: '#123456', stroke: '#abcdef' }], texts: [{ x: 10, y: 12, text: 'p~\u00e9', size: 12 }, { x: 0, y: 40, text: 'A', size: 20, bold: true }] };
  const png = toPng(d);
  t.same([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const parts = chunks(png);
  t.same(parts.map((c) => c.type), ['IHDR', 'IDAT', 'IEND']);
  t.same([parts[0].data.readUInt32BE(0), parts[0].data.readUInt32BE(4), ...parts[0].data.subarray(8)], [40, 20, 8, 2, 0, 0, 0]);
  const rows = inflateSync(parts[1].data);
  t.equal(rows.length, 20 * (1 + 40 * 3));
  const pixel = (x: number, y: number) => rows.subarray(y * 121 + 1 + x * 3, y * 121 + 4 + x * 3).toString('hex');
  t.equal(pixel(0, 0), 'ffffff');
  t.equal(pixel(2, 3), 'abcdef', 'the stroke');
  t.equal(pixel(3, 4), '123456', 'the fill');
  t.equal(pixel(5, 7), 'abcdef');
  t.equal(pixel(6, 8), 'ffffff');
  // 'p' hangs 2 rows below the others: its stem's last pixel is at the baseline + 2.
  t.equal(pixel(10, 13), '212529');
  t.equal(pixel(10, 6), 'ffffff');
  t.ok(rows.every((_, i) => i % 121 !== 0 || rows[i] === 0), 'every row unfiltered');
  for (const ch of FONT_CHARACTERS) t.ok(glyph(ch).length === 7 && glyph(ch).every((row) => row < 32), ch);
  t.equal(FONT_CHARACTERS.length, 95, 'printable ASCII');
  t.equal(glyph('\u00e9'), glyph('?'));
});

t.test('pymem map writes the picture in the format its name asks for', async (t) => {
  for (const format of ['svg', 'html', 'png']) {
    const out = path.join(scratch, `map.${format}`);
    const result = pymem('map', '--workload', 'small', '--scale', '0.05', '--max-bytes', '64', '--out', out);
    t.equal(result.status, 0);
    const bytes = readFileSync(out);
    t.equal(result.stdout, `${out}: 1232 x 448 ${format.toUpperCase()}, ${bytes.length.toLocaleString('en-US')} bytes\n`);
    if (format === 'png') t.same(chunks(bytes).map((c) => c.type), ['IHDR', 'IDAT', 'IEND']);
    else t.match(bytes.toString(), '<title>segment 1: pymalloc arena, ');
  }
  t.match(pymem('map', '--out', path.join(scratch, 'x.svg'), '--scale', '0.5', '--max-bytes', '2'), { status: 0, stdout: /; \d+ allocations failed \(the heap was full\)\n$/ });
  t.match(pymem('map', '--out', 'map.jpg'), { status: 2, stderr: /^pymem map: --out must end in \.svg, \.html or \.png; got 'map\.jpg'\n\nUsage: pymem map/ });
  t.match(pymem('map', '--max-bytes', '1.5'), { status: 2, stderr: /^pymem map: --max-bytes must be a whole number of MiB from 2 to 4096; got '1\.5'/ });
  t.match(pymem('map', 'small'), { status: 2, stderr: /^pymem map: unexpected argument 'small'/ });
});

t.test("drawHeapMap: a program's own heap, as pymem map draws it", async (t) => {
  const heap = createHeap({ backend: 'fallback', maxBytes: 8 << 20 });
  heap.obj.malloc(64);
  const svg = drawHeapMap(heap, 'svg', 'mine');
  t.match(svg.data, /^<svg /);
  t.match(svg.data, '>mine<');
  t.ok(svg.width > 0 && svg.height > 0);
  t.match(drawHeapMap(heap, 'html').data, /Small block threshold = 512/, 'the page carries debugMallocStats()');
  t.same([...(drawHeapMap(heap, 'png').data as Buffer).subarray(1, 4)], [...Buffer.from('PNG')]);
  t.throws(() => drawHeapMap(heap, 'gif' as never), { code: 'ERR_INVALID_ARG_VALUE', message: /The argument "format" must be 'svg', 'html' or 'png'\. Received 'gif'/ });
  t.throws(() => drawHeapMap({} as never, 'svg'), { code: 'ERR_INVALID_ARG_TYPE', message: /The "heap" argument must be of type Heap/ });
  heap.close();
});
