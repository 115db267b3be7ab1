/**
 * The map as PNG, with no dependency: the drawing's rectangles and text (in the 5 x 7 font of
 * lib/map/font.ts: 1 px per font pixel below 14 px text, 2 px from there) painted into an RGB
 * buffer, which is then written as a PNG (8-bit RGB, every row unfiltered, zlib from node:zlib).
 */
import { deflateSync } from 'node:zlib';
import type { Drawing } from './draw';
import { DESCENDERS, GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from './font';

const TEXT_COLOR = '#212529';

function rgb(color: string): [number, number, number] {
  const n = parseInt(color.slice(1), 16);
  return [n >>> 16, (n >>> 8) & 0xff, n & 0xff];
}

/** The table of CRC-32 (ISO 3309, as PNG chunks use), one entry per byte value. */
const CRC_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

export function crc32(bytes: Uint8Array): number {
  let c = -1;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Paints the drawing into rows of RGB pixels, each row led by PNG's filter byte (0: none). */
export function paint(d: Drawing): Buffer {
  const stride = 1 + d.width * 3;
  const px = Buffer.alloc(stride * d.height, 0xff);
  for (let y = 0; y < d.height; y++) px[y * stride] = 0;
  const dot = (x: number, y: number, [r, g, b]: [number, number, number]) => {
    if (x < 0 || y < 0 || x >= d.width || y >= d.height) return;
    const i = y * stride + 1 + x * 3;
    px[i] = r;
    px[i + 1] = g;
    px[i + 2] = b;
  };
  for (const r of d.rects) {
    const fill = rgb(r.fill);
    for (let y = r.y; y < r.y + r.h; y++) for (let x = r.x; x < r.x + r.w; x++) dot(x, y, fill);
    if (r.stroke) {
      const stroke = rgb(r.stroke);
      for (let x = r.x; x < r.x + r.w; x++) (dot(x, r.y, stroke), dot(x, r.y + r.h - 1, stroke));
      for (let y = r.y; y < r.y + r.h; y++) (dot(r.x, y, stroke), dot(r.x + r.w - 1, y, stroke));
    }
  }
  for (const t of d.texts) {
    const color = rgb(t.fill ?? TEXT_COLOR);
    const scale = t.size >= 14 ? 2 : 1;
    const top = t.y - GLYPH_HEIGHT * scale;
    [...t.text].forEach((ch, k) => {
      const rows = glyph(ch);
      const left = t.x + k * GLYPH_ADVANCE * scale;
      const drop = DESCENDERS.includes(ch) ? 2 * scale : 0;
      for (let row = 0; row < GLYPH_HEIGHT; row++) {
        for (let col = 0; col < GLYPH_WIDTH; col++) {
          if (((rows[row] >>> (GLYPH_WIDTH - 1 - col)) & 1) === 0) continue;
          for (let dy = 0; dy < scale; dy++) {
            for (let dx = 0; dx < scale + (t.bold ? 1 : 0); dx++) dot(left + col * scale + dx, top + drop + row * scale + dy, color);
          }
        }
      }
    });
  }
  return px;
}

export function toPng(d: Drawing): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(d.width, 0);
  header.writeUInt32BE(d.height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits per channel, RGB, deflate, no filter choice, not interlaced
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(paint(d))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
