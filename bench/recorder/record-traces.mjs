// Records the traces shipped in bench/traces/: CPython 3.12 running each workload of
// bench/recorder/workloads/ under the LD_PRELOAD recorder (record.c), with PYTHONMALLOC=malloc so that
// every object allocation reaches malloc (pymalloc would otherwise serve the small ones unseen), and
// PYTHONHASHSEED=0 so that a run repeats. Only the workload is recorded, not the interpreter's start.
//
//   node bench/recorder/record-traces.mjs [PYTHON [WORKLOAD...]]   (default: PYENV_VERSION=3.12.1 python3.12, every workload)
//
// Naming workloads records only those, leaving the other traces as they are.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.join(HERE, '..', 'traces');
const python = process.argv[2] ?? 'python3.12';
const only = process.argv.slice(3);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pymem-record-'));
const recorder = path.join(work, 'record.so');

function run(command, args, env = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.error?.message ?? result.stderr}`);
  return result.stdout;
}

run('cc', ['-O2', '-Wall', '-Wextra', '-shared', '-fPIC', '-o', recorder, path.join(HERE, 'record.c')]);
const version = run(python, ['-c', 'import sys; print(sys.version.split()[0])'], { PYENV_VERSION: '3.12.1' }).trim();
fs.mkdirSync(OUT, { recursive: true });
const files = fs.readdirSync(path.join(HERE, 'workloads')).filter((f) => !f.startsWith('_') && (only.length === 0 || only.includes(path.basename(f, '.py'))));
for (const file of files.sort()) {
  const name = path.basename(file, '.py');
  const raw = path.join(work, `${name}.trace`);
  run(python, [path.join(HERE, 'workloads', file)], {
    PYENV_VERSION: '3.12.1',
    PYTHONMALLOC: 'malloc',
    PYTHONHASHSEED: '0',
    PYMEM_TRACE_WAIT: '1',
    PYMEM_TRACE_FILE: raw,
    LD_PRELOAD: recorder,
  });
  const [header, ...events] = fs.readFileSync(raw, 'utf8').split('\n');
  const comment = `# CPython ${version} (PYTHONMALLOC=malloc, PYTHONHASHSEED=0) running bench/recorder/workloads/${file}, recorded by bench/recorder/record.c`;
  const gz = gzipSync([header, comment, ...events].join('\n'), { level: 9 });
  fs.writeFileSync(path.join(OUT, `${name}.trace.gz`), gz);
  console.log(`${name}: ${events.length - 1} events, ${(gz.length / 1024).toFixed(0)} KiB compressed`);
}
fs.rmSync(work, { recursive: true, force: true });
