// examples/demo.mjs, a tour of the raw allocator, runs against the built package: it must run on both
// backends, print each step's figures, and still run, on the fallback alone, where the addon is missing.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PACKAGE_ROOT } from '../lib/raw/native';

function demo(env: Record<string, string> = {}, args: string[] = []): string {
  const run = spawnSync(process.execPath, [path.join(PACKAGE_ROOT, 'examples', 'demo.mjs'), ...args], { cwd: PACKAGE_ROOT, encoding: 'utf8', env: { ...process.env, PYMEM_BACKEND: '', ...env } });
  if (run.status !== 0) throw new Error(`the demo failed: ${run.stderr}`);
  return run.stdout;
}

t.test('the demo runs on both backends and prints every step', async (t) => {
  const out = demo();
  for (const backend of ['native', 'fallback']) t.match(out, `${backend} backend: backend '${backend}' was requested`);
  for (const step of ['new heap', 'malloc 102,016', 'free every other', 'free the rest']) {
    t.equal(out.split('\n').filter((line) => line.trimStart().startsWith(step)).length, 2, `"${step}" on each backend`);
  }
  t.match(out, /^ {2}free the rest +0 +0\.0 MiB/m, 'everything freed');
  t.notMatch(out, /heap full/, 'the mix fits the heap');
});

t.test('with a heap too small for the mix, requests get 0 and the rest carries on', async (t) => {
  const out = demo({}, ['--heap', '256']);
  t.equal(out.match(/^ {2}\(\d[\d,]* requests found the heap full and got 0, as C's malloc returns NULL\)$/gm)?.length, 2, 'on each backend');
  t.match(out, /^ {2}free the rest +0 +0\.0 MiB/m);
});

t.test('without the addon it runs on the fallback and says why', async (t) => {
  const empty = mkdtempSync(path.join(tmpdir(), 'pymem-demo-'));
  t.teardown(() => rmSync(empty, { recursive: true, force: true }));
  const out = demo({ PYMEM_PREBUILD: empty });
  t.match(out, /^The native addon is not available here \(No native build was found/);
  t.notMatch(out, /native backend:/);
  t.match(out, 'fallback backend:');
});
