// Opening a 1 GiB heap image: the time from createHeap({ image }) to its return, and to the first byte
// of its last block, each in a fresh process, on native and on the fallback; and the save's time beside
// the disk's own write speed, taken in the same run.
//
//   node bench/image-open.mjs [--quick]          (npm run bench:image)
//
// The heap holds 1,000 blocks of 1 MiB (1,000 segments of the image besides its metadata), each filled
// with its index. Native maps the image copy-on-write, so opening reads its header, its segment table
// and its metadata segment, and a block's page is read when first touched; the fallback reads the whole
// file into its region. Figures are medians of R fresh processes; the image is in the page cache (it
// was just written), so they are the times of a warm start.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHeap } from 'pymem';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 3 : 9;
const BLOCKS = quick ? 200 : 1000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pymem-image-open-'));
const file = path.join(dir, 'heap.img');

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

try {
  const heap = createHeap({ maxBytes: 2 ** 31 });
  const blocks = [];
  for (let i = 0; i < BLOCKS; i++) {
    const p = heap.raw.malloc((1 << 20) - 64);
    heap.u8.fill(i & 255, p, p + (1 << 20) - 64);
    blocks.push(p);
  }
  // The disk's write speed, in the same run: the same number of bytes written from one buffer, fsync'ed.
  const plainWrite = (length) => {
    const buffer = Buffer.alloc(1 << 20, 1);
    const fd = fs.openSync(path.join(dir, 'plain'), 'w');
    const t = performance.now();
    for (let done = 0; done < length; done += buffer.length) fs.writeSync(fd, buffer);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.rmSync(path.join(dir, 'plain'));
    return performance.now() - t;
  };
  const saves = [];
  const plains = [];
  let bytes = 0;
  for (let r = 0; r < (quick ? 1 : 3); r++) {
    const t0 = performance.now();
    bytes = heap.save(file);
    saves.push(performance.now() - t0);
    plains.push(plainWrite(bytes));
  }
  const saveMs = median(saves);
  const plainMs = median(plains);
  heap.close();
  const last = blocks[blocks.length - 1];
  const child = (backend) => {
    const script = `
      const { createHeap } = require('pymem');
      const t0 = performance.now();
      const heap = createHeap({ image: ${JSON.stringify(file)}, backend: '${backend}' });
      const opened = performance.now() - t0;
      const byte = heap.u8[${last}];
      const first = performance.now() - t0;
      if (byte !== ${(BLOCKS - 1) & 255}) throw new Error('the last block does not hold its bytes');
      console.log(JSON.stringify({ opened, first }));`;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: process.cwd() });
    if (run.status !== 0) throw new Error(run.stderr);
    return JSON.parse(run.stdout);
  };
  const rate = (ms) => (bytes / 1e6 / (ms / 1000)).toFixed(0);
  console.log(`${(bytes / 2 ** 30).toFixed(2)} GiB image of ${BLOCKS} blocks of 1 MiB: heap.save() ${saveMs.toFixed(0)} ms (${rate(saveMs)} MB/s), the same bytes written and fsync'ed from one buffer ${plainMs.toFixed(0)} ms (${rate(plainMs)} MB/s), medians of ${saves.length}`);
  console.log('| backend | createHeap({ image }) ms | to the last block\'s first byte ms |');
  console.log('| --- | --- | --- |');
  for (const backend of ['native', 'fallback']) {
    const runs = Array.from({ length: RUNS }, () => child(backend));
    console.log(`| ${backend} | ${median(runs.map((r) => r.opened)).toFixed(1)} | ${median(runs.map((r) => r.first)).toFixed(1)} |`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
