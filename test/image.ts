// Heap images (heap.save, createHeap({ image })): on both backends and across them, roots, the atomic
// save, every bad-image reason, mutated images, and an opened native image's RSS.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BACKENDS, heapOn, firstDifference } from './helpers/backends';
import { createHeap, BadImageError, HeapCorruptionError, type Heap } from '../lib/index';
import { crc32 } from '../lib/image/checksum';
import {
  HEADER_BYTES, IMG_VERSION, IMG_SEGMENTS, IMG_STORED, IMG_DATA_OFFSET, IMG_ALLOCATOR, IMG_ROOT, IMG_TABLE_CRC, IMG_REGION_CRC,
  IMG_HEADER_CRC, IMG_LAYOUT, headerCrc,
} from '../lib/image/format';
import { openImage } from '../lib/image/file';
import { openBackend } from '../lib/raw/open';
import { SEGMENT_SIZE } from '../lib/config';
import { HDR_SEGMENT_COUNT, HDR_CACHE_MAX, SEG_TABLE, SEG_ENTRY_SIZE, SEG_KIND, TLSF_FL_BITMAP } from '../lib/raw/layout';
import { OB_REFCNT } from '../lib/objects/layout';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pymem-image-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;
const scratch = (name = 'heap.img'): string => path.join(dir, `${files++}-${name}`);

const RECORDS = Array.from({ length: 200 }, (_, i) => ({ id: i, name: `user-${i}`, tags: [`t${i % 10}`, 'member'], score: i / 4 }));

/** A heap holding objects (the root), a pymalloc block, a raw block and a huge one, each with a pattern. */
function populate(heap: Heap): { small: number; raw: number; huge: number } {
  const records = heap.objects.fromJS(RECORDS);
  heap.setRoot(records);
  heap.objects.decref(records);
  const small = heap.obj.malloc(300);
  heap.u8.fill(0x5a, small, small + 300);
  const raw = heap.raw.malloc(40_000);
  heap.u8.fill(0x6b, raw, raw + 40_000);
  const huge = heap.raw.malloc(3 << 20);
  heap.u8.fill(0x7c, huge, huge + (3 << 20));
  return { small, raw, huge };
}

function saved(backend: (typeof BACKENDS)[number], options = {}): { file: string; blocks: ReturnType<typeof populate>; region: Buffer } {
  const heap = heapOn(backend, options);
  const blocks = populate(heap);
  const file = scratch();
  heap.save(file);
  const region = Buffer.from(heap.u8);
  heap.close();
  return { file, blocks, region };
}

for (const from of BACKENDS) {
  for (const to of BACKENDS) {
    t.test(`saved on ${from}, opened on ${to}: every byte, object and block as it was`, async (t) => {
      const { file, blocks, region } = saved(from);
      const heap = createHeap({ image: file, backend: to });
      t.equal(heap.backend, to);
      t.equal(heap.maxBytes, 16 << 20);
      t.equal(firstDifference(heap.u8, region), -1, 'the region is the saved one, byte for byte');
      heap.check();
      t.same(heap.objects.toJS(heap.getRoot()), RECORDS, 'the root holds the records');
      t.ok(heap.u8.subarray(blocks.small, blocks.small + 300).every((b) => b === 0x5a), 'the pymalloc block');
      t.ok(heap.u8.subarray(blocks.huge, blocks.huge + (3 << 20)).every((b) => b === 0x7c), 'the huge block');
      // The heap goes on from where it was: its blocks free, new ones come from its arenas and pools.
      heap.obj.free(blocks.small);
      heap.raw.free(blocks.raw);
      heap.raw.free(blocks.huge);
      const again = heap.objects.fromJS({ more: [1, 2, 3] });
      t.same(heap.objects.toJS(again), { more: [1, 2, 3] });
      heap.objects.decref(again);
      heap.gc.collect();
      heap.check();
      heap.close();
    });
  }
}

t.test('both backends open one image and, after the same operations, leave the same bytes', async (t) => {
  const { file, blocks } = saved('native');
  const [a, b] = BACKENDS.map((backend) => createHeap({ image: file, backend }));
  for (const heap of [a, b]) {
    // Freed segments of an image read as zeros on native too: they no longer map the file.
    heap.raw.free(blocks.huge);
    heap.obj.free(blocks.small);
    heap.setRoot(0);
    heap.gc.collect();
    heap.trim();
    heap.check();
  }
  t.equal(firstDifference(a.u8, b.u8), -1);
  t.ok(a.u8.subarray(blocks.huge, blocks.huge + (3 << 20)).every((x) => x === 0), "the huge block's pages read as zeros");
  a.close();
  b.close();
});

t.test('writes to an opened heap never reach the file', async (t) => {
  const { file, blocks } = saved('fallback');
  const before = fs.readFileSync(file);
  for (const backend of BACKENDS) {
    const heap = createHeap({ image: file, backend });
    heap.u8.fill(0, blocks.huge, blocks.huge + (3 << 20));
    heap.raw.free(blocks.huge);
    heap.trim();
    heap.close();
  }
  t.equal(Buffer.compare(fs.readFileSync(file), before), 0);
});

t.test('an opened heap saved over its own image keeps reading the old file, and the new one opens', async (t) => {
  const { file, blocks } = saved('native');
  const heap = createHeap({ image: file, backend: 'native' });
  heap.u8.fill(0x11, blocks.raw, blocks.raw + 40_000);
  heap.save(file);
  t.ok(heap.u8.subarray(blocks.huge, blocks.huge + (3 << 20)).every((b) => b === 0x7c), 'pages not read yet come from the old file, unchanged');
  const again = createHeap({ image: file, backend: 'native', verify: true });
  t.ok(again.u8.subarray(blocks.raw, blocks.raw + 40_000).every((b) => b === 0x11), 'the new image holds the change');
  again.close();
  heap.close();
});

t.test('only segments in use are written', async (t) => {
  const heap = heapOn('fallback', { maxBytes: 64 << 20 });
  const file = scratch();
  const bytes = heap.save(file);
  // Segment 0 alone: the metadata and nothing else.
  t.equal(bytes, 2 * HEADER_BYTES + SEGMENT_SIZE);
  t.equal(fs.statSync(file).size, bytes);
  const p = heap.raw.malloc(5 << 20);
  t.equal(heap.save(file), 2 * HEADER_BYTES + 6 * SEGMENT_SIZE, 'the huge block adds its five segments');
  heap.raw.free(p);
  heap.close();
});

t.test('roots', async (t) => {
  for (const backend of BACKENDS) {
    const heap = heapOn(backend);
    t.equal(heap.getRoot(), 0, 'none at first');
    const o = heap.objects;
    const list = o.fromJS([1, 2]);
    const refs = (p: number): number => heap.u32[(p + OB_REFCNT) >>> 2];
    heap.setRoot(list);
    t.equal(refs(list), 2, 'an object root holds a reference');
    heap.setRoot(list);
    t.equal(refs(list), 2, 'setting it again holds one still');
    const block = heap.mem.malloc(64);
    heap.setRoot(block);
    t.equal(refs(list), 1, 'replacing it gives the reference back');
    t.equal(heap.getRoot(), block, 'a block is kept as it is');
    let file = scratch();
    heap.save(file);
    let opened = createHeap({ image: file, backend });
    t.equal(opened.getRoot(), block, "a block root comes back from the image's header");
    opened.close();
    heap.setRoot(list);
    o.decref(list);
    file = scratch();
    heap.save(file);
    opened = createHeap({ image: file, backend });
    t.same(opened.objects.toJS(opened.getRoot()), [1, 2], 'an object root comes back, its reference with it');
    t.equal(opened.u32[(opened.getRoot() + OB_REFCNT) >>> 2], 1, "the root's reference is the only one");
    opened.setRoot(0);
    t.equal(opened.getRoot(), 0);
    opened.check();
    opened.close();
    t.throws(() => heap.setRoot(24), { code: 'ERR_PYMEM_INVALID_POINTER', reason: 'misaligned' });
    t.throws(() => heap.setRoot(heap.maxBytes), { code: 'ERR_PYMEM_INVALID_POINTER', reason: 'outside' });
    t.throws(() => heap.setRoot(-1), { code: 'ERR_PYMEM_INVALID_POINTER', reason: 'outside' });
    t.throws(() => heap.setRoot('1' as unknown as number), { code: 'ERR_INVALID_ARG_TYPE' });
    heap.setRoot(0);
    heap.close();
    t.throws(() => heap.getRoot(), { code: 'ERR_PYMEM_HEAP_CLOSED' });
  }
});

t.test('a save that fails before its rename (the rename, or a write) leaves the old image, and no temporary file', async (t) => {
  const heap = heapOn('fallback');
  const file = scratch();
  heap.save(file);
  const old = fs.readFileSync(file);
  populate(heap);
  // The module object itself (an import's namespace is read-only): lib/image/file.ts calls through it.
  const realFs: { renameSync: typeof fs.renameSync; fsyncSync: typeof fs.fsyncSync } = require('node:fs');
  const rename = realFs.renameSync;
  realFs.renameSync = () => {
    throw Object.assign(new Error('injected: rename failed'), { code: 'EIO' });
  };
  try {
    t.throws(() => heap.save(file), { message: 'injected: rename failed' });
  } finally {
    realFs.renameSync = rename;
  }
  t.equal(Buffer.compare(fs.readFileSync(file), old), 0, 'the old image is whole');
  t.same(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'the temporary file is gone');
  // A disk that fills up while the image is written: the same.
  const realWrite: { writeSync: typeof fs.writeSync } = require('node:fs');
  const write = realWrite.writeSync;
  realWrite.writeSync = (() => {
    throw Object.assign(new Error('injected: no space left on device'), { code: 'ENOSPC' });
  }) as typeof fs.writeSync;
  try {
    t.throws(() => heap.save(file), { code: 'ENOSPC' });
  } finally {
    realWrite.writeSync = write;
  }
  t.equal(Buffer.compare(fs.readFileSync(file), old), 0, 'the old image is whole after a failed write');
  t.same(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'and its temporary file is gone');
  // A filesystem that refuses to fsync a directory: the save has happened all the same.
  const fsync = realFs.fsyncSync;
  realFs.fsyncSync = (fd: number) => {
    if (fs.fstatSync(fd).isDirectory()) throw Object.assign(new Error('EINVAL'), { code: 'EINVAL' });
    fsync(fd);
  };
  try {
    heap.save(file);
  } finally {
    realFs.fsyncSync = fsync;
  }
  t.notOk(Buffer.compare(fs.readFileSync(file), old) === 0, 'the new image replaced the old');
  createHeap({ image: file, backend: 'fallback', verify: true }).close();
  heap.close();
});

t.test('debug hooks: the image keeps their frames and opens with them', async (t) => {
  for (const backend of BACKENDS) {
    const heap = heapOn(backend, { allocator: 'pymalloc_debug' });
    const p = heap.obj.malloc(100);
    const file = scratch();
    heap.save(file);
    heap.close();
    const opened = createHeap({ image: file, backend });
    t.equal(opened.allocatorName(), 'pymalloc_debug');
    opened.obj.free(p);
    t.throws(() => opened.obj.free(p), { code: 'ERR_PYMEM_DOUBLE_FREE' }, "the hooks see the block's frame");
    opened.close();
  }
});

t.test("tracemalloc's and setNoMemory's hooks are not saved: the image records the allocator under them", async (t) => {
  for (const allocator of ['pymalloc', 'malloc_debug'] as const) {
    const heap = heapOn('fallback', { allocator });
    heap.tracemalloc.start(5);
    heap.setNoMemory(1_000_000);
    t.equal(heap.allocatorName(), null, 'the hooks hide the name from allocatorName()');
    const p = heap.obj.malloc(40);
    const file = scratch();
    heap.save(file);
    const opened = createHeap({ image: file, backend: 'native' });
    t.equal(opened.allocatorName(), allocator);
    t.equal(opened.tracemalloc.isTracing(), false, 'no tracing comes with it');
    opened.obj.free(p);
    opened.close();
    // A program's own hook over tracemalloc's is not one the image can look through.
    const inner = heap.getAllocator('mem');
    heap.setAllocator('mem', { ...inner, malloc: (n) => inner.malloc(n) });
    t.throws(() => heap.save(scratch()), { code: 'ERR_INVALID_STATE' });
    heap.removeMemHooks();
    heap.tracemalloc.stop();
    heap.close();
  }
});

t.test('what save and createHeap({ image }) refuse', async (t) => {
  const heap = heapOn('fallback');
  t.throws(() => heap.save(1 as unknown as string), { code: 'ERR_INVALID_ARG_TYPE' });
  const file = scratch();
  heap.save(file);
  heap.setAllocator('obj', heap.getAllocator('raw'));
  t.throws(() => heap.save(scratch()), { code: 'ERR_INVALID_STATE', message: /allocators of the program's own/ });
  heap.close();
  t.throws(() => heap.save(file), { code: 'ERR_PYMEM_HEAP_CLOSED' });
  t.throws(() => createHeap({ image: 3 as unknown as string }), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => createHeap({ image: file, verify: 'yes' as unknown as boolean }), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => createHeap({ image: file, maxBytes: 32 << 20 }), { code: 'ERR_INVALID_ARG_VALUE', message: /must be the image's \(16777216\)/ });
  t.throws(() => createHeap({ image: file, allocator: 'malloc' }), { code: 'ERR_INVALID_ARG_VALUE', message: /must be the image's \('pymalloc'\)/ });
  t.throws(() => createHeap({ image: file, gcAtBytes: 16 << 20 }), { code: 'ERR_OUT_OF_RANGE' });
  const ok = createHeap({ image: file, maxBytes: 16 << 20, allocator: 'default', gcAtBytes: 8 << 20, backend: 'fallback' });
  ok.close();
});

/** An image's bytes with its checksums made right again: a crafted image, not a damaged one. */
function reseal(img: Buffer): Buffer {
  const data = img.readUInt32LE(IMG_DATA_OFFSET);
  img.writeUInt32LE(crc32(img.subarray(HEADER_BYTES, Math.min(data, dataOffset))), IMG_TABLE_CRC);
  img.writeUInt32LE(crc32(img.subarray(dataOffset, dataOffset + SEGMENT_SIZE)), IMG_REGION_CRC);
  img.writeUInt32LE(headerCrc(img), IMG_HEADER_CRC);
  return img;
}

const good = saved('fallback');
const image = (): Buffer => Buffer.from(fs.readFileSync(good.file));
const dataOffset = image().readUInt32LE(IMG_DATA_OFFSET);

const BAD: [reason: string, make: () => Buffer | null][] = [
  ['unreadable', () => null],
  ['not-an-image', () => Buffer.from('{"this": "is json"}')],
  ['not-an-image', () => Buffer.alloc(0)],
  ['truncated', () => image().subarray(0, 100)],
  ['version', () => { const b = image(); b.writeUInt32LE(2, IMG_VERSION); return b; }],
  ['version', () => { const b = image(); b.writeUInt32LE(99, IMG_LAYOUT); return reseal(b); }],
  ['header-checksum', () => { const b = image(); b.writeUInt32LE(1234, IMG_ROOT); return b; }],
  ['too-large', () => { const b = image(); b.writeUInt32LE(8192, IMG_SEGMENTS); return reseal(b); }],
  ['too-large', () => { const b = image(); b.writeUInt32LE(1, IMG_SEGMENTS); return reseal(b); }],
  ['too-large', () => { const b = image(); b.writeUInt32LE(0, IMG_STORED); return reseal(b); }],
  ['table', () => { const b = image(); b.writeUInt32LE(dataOffset + 4096, IMG_DATA_OFFSET); return reseal(b); }],
  ['truncated', () => image().subarray(0, image().length - 1)],
  ['table-checksum', () => { const b = image(); b.writeUInt32LE(b.readUInt32LE(HEADER_BYTES + 4) + 1, HEADER_BYTES + 4); return b; }],
  ['table', () => { const b = image(); b.writeUInt32LE(5, HEADER_BYTES); return reseal(b); }],
  ['table', () => { const b = image(); b.writeUInt32LE(0, HEADER_BYTES + 4); return reseal(b); }],
  ['table', () => { const b = image(); b.writeUInt32LE(16, HEADER_BYTES + 4 * (b.readUInt32LE(IMG_STORED) - 1)); return reseal(b); }],
  ['allocator', () => { const b = image(); b.writeUInt32LE(9, IMG_ALLOCATOR); return reseal(b); }],
  ['region-checksum', () => { const b = image(); b[dataOffset + TLSF_FL_BITMAP] ^= 1; return b; }],
  ['region-header', () => { const b = image(); b.writeUInt32LE(32, dataOffset + HDR_SEGMENT_COUNT); return reseal(b); }],
  ['region-header', () => { const b = image(); b.writeUInt32LE(0, dataOffset + SEG_TABLE + SEG_KIND); return reseal(b); }],
  ['region-header', () => { const b = image(); b.writeUInt32LE(0, dataOffset + SEG_TABLE + 1 * SEG_ENTRY_SIZE + SEG_KIND); return reseal(b); }],
  ['region-header', () => { const b = image(); b.writeUInt32LE(3, dataOffset + SEG_TABLE + 15 * SEG_ENTRY_SIZE + SEG_KIND); return reseal(b); }],
  ['region-header', () => { const b = image(); b.writeUInt32LE(77, dataOffset + SEG_TABLE + 15 * SEG_ENTRY_SIZE + SEG_KIND); return reseal(b); }],
];

t.test('each bad image is refused with its reason, naming the file, before a heap exists', async (t) => {
  for (const [reason, make] of BAD) {
    const bytes = make();
    const file = scratch(`${reason}.img`);
    if (bytes !== null) fs.writeFileSync(file, bytes);
    for (const backend of BACKENDS) {
      const error = (() => {
        try {
          createHeap({ image: file, backend }).close();
        } catch (e) {
          return e as BadImageError;
        }
        return undefined;
      })();
      t.ok(error instanceof BadImageError, `${reason} on ${backend}: a BadImageError`);
      t.match(error, { code: 'ERR_PYMEM_BAD_IMAGE', reason, file, message: new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a heap image this pymem can open \\(${reason}\\): `) });
    }
  }
});

t.test("the fallback passes a truncated image's error on, not as a reservation's", async (t) => {
  const image = {
    file: 'cut.img',
    fd: -1,
    segments: Uint32Array.of(0),
    dataOffset: HEADER_BYTES * 2,
    readSegment: () => {
      throw new BadImageError('cut.img', 'truncated', 'segment 0 ends early');
    },
  };
  t.throws(() => openBackend('fallback', 2 << 20, image), { code: 'ERR_PYMEM_BAD_IMAGE', reason: 'truncated' });
});

t.test('a file cut short after it was opened is a truncated image', async (t) => {
  const file = scratch();
  fs.copyFileSync(good.file, file);
  const opened = openImage(file);
  fs.truncateSync(file, opened.dataOffset + SEGMENT_SIZE / 2);
  t.throws(() => opened.readSegment(0, new Uint8Array(SEGMENT_SIZE)), { code: 'ERR_PYMEM_BAD_IMAGE', reason: 'truncated' });
  opened.close();
});

t.test('verify: true walks every invariant first, and a heap that fails it is closed', async (t) => {
  for (const backend of BACKENDS) {
    const b = image();
    // A crafted image: its checksums right, its region's header with another segment cache bound.
    b.writeUInt32LE(2, dataOffset + HDR_CACHE_MAX);
    const file = scratch();
    fs.writeFileSync(file, reseal(b));
    t.throws(() => createHeap({ image: file, backend, verify: true }), HeapCorruptionError);
    const unverified = createHeap({ image: file, backend });
    t.throws(() => unverified.check(), HeapCorruptionError, 'opened without verify, check() finds it');
    unverified.close();
  }
});

t.test('mutated images: each one refused, or opened and then checked, on both backends', async (t) => {
  // Deterministic: the same mutations every run (a 32-bit LCG).
  let seed = 0x2545f491;
  const random = (n: number): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) % n);
  const counts: Record<string, number> = {};
  const base = image();
  for (let i = 0; i < 240; i++) {
    const b = Buffer.from(base);
    // Header, table or metadata segment, the padding of the first two included; one in four is
    // resealed, as a crafted image would be.
    const span = [HEADER_BYTES, dataOffset - HEADER_BYTES, SEGMENT_SIZE][i % 3];
    const at = [0, HEADER_BYTES, dataOffset][i % 3] + random(span);
    b[at] ^= 1 << random(8);
    if (i % 4 === 0) reseal(b);
    const file = scratch('mutant.img');
    fs.writeFileSync(file, b);
    for (const backend of BACKENDS) {
      let outcome: string;
      try {
        const heap = createHeap({ image: file, backend, verify: true });
        outcome = 'opened and checked';
        heap.close();
      } catch (e) {
        if (e instanceof BadImageError) outcome = `refused: ${e.reason}`;
        else if (e instanceof HeapCorruptionError) outcome = 'opened, check failed';
        else throw e;
      }
      counts[outcome] = (counts[outcome] ?? 0) + 1;
    }
    fs.rmSync(file);
  }
  t.equal(Object.values(counts).reduce((a, b) => a + b, 0), 480, 'every case has an outcome');
  t.ok(counts['refused: header-checksum'] > 0 && counts['refused: region-checksum'] > 0, 'checksums catch damage');
  t.ok((counts['opened, check failed'] ?? 0) + (counts['opened and checked'] ?? 0) > 0, 'resealed ones reach the check');
  t.comment(JSON.stringify(counts));
});

t.test("an opened native image's RSS grows with the pages touched, not with the image", async (t) => {
  const file = scratch();
  const heap = createHeap({ backend: 'native', maxBytes: 256 << 20 });
  const blocks: number[] = [];
  for (let i = 0; i < 48; i++) {
    const p = heap.raw.malloc(4 << 20);
    heap.u8.fill(i + 1, p, p + (4 << 20));
    blocks.push(p);
  }
  heap.save(file);
  heap.close();
  const child = spawnSync(process.execPath, ['-e', `
    const { createHeap } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))});
    const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
    const before = rss();
    const heap = createHeap({ image: ${JSON.stringify(file)}, backend: 'native' });
    const opened = rss();
    const blocks = ${JSON.stringify(blocks)};
    let sum = 0;
    for (let i = 0; i < 8; i++) for (let q = blocks[i]; q < blocks[i] + (4 << 20); q += 4096) sum += heap.u8[q];
    const touched = rss();
    console.log(JSON.stringify({ open: opened - before, touched: touched - opened, sum }));
  `], { encoding: 'utf8' });
  t.equal(child.status, 0, child.stderr);
  const { open, touched, sum } = JSON.parse(child.stdout);
  let expected = 0;
  for (let i = 0; i < 8; i++) expected += (i + 1) * 1024;
  t.equal(sum, expected, 'the pages read hold the saved bytes');
  t.ok(open < 24 << 20, `opening 196 MiB grew RSS by ${open >> 20} MiB: the metadata and the code, not the image`);
  t.ok(touched >= 30 << 20 && touched < 48 << 20, `reading 32 MiB of it grew RSS by ${touched >> 20} MiB`);
});
