// createHeap({ debugAbort: true }) and PYMEM_DEBUG_ABORT=1: a failed check prints CPython's report and
// fatal error line, then the process aborts (SIGABRT), as under PYTHONMALLOC=debug. Run in a child.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BACKENDS } from './helpers/backends';
import { hex } from '../lib/errors';
import { fatalText } from '../lib/hooks/debug/report';
import { MemoryCorruptionError } from '../lib/index';

const CHILD = path.join(__dirname, 'helpers', 'child-debug-abort.js');
const FIXTURE = fs.readFileSync(path.join(__dirname, 'fixtures', 'debug-hooks-cpython.txt'), 'utf8');
/** CPython's text for _testcapi.pymem_buffer_overflow(): the report and the fatal line. */
const CPYTHON = /^## buffer_overflow\n# .*\n([^]*?Fatal Python error: .*\n)/m.exec(FIXTURE)![1];

for (const backend of BACKENDS) {
  for (const how of ['option', 'env'] as const) {
    t.test(`${backend}, debugAbort by ${how}: the report, the fatal line, abort`, async (t) => {
      const env = { ...process.env, PYMEM_DEBUG_ABORT: how === 'env' ? '1' : '', PYMEM_ALLOCATOR: how === 'env' ? 'debug' : '' };
      // ulimit -c 0: no core file from the abort, wherever the machine's core pattern would put one.
      const run = spawnSync('/bin/sh', ['-c', 'ulimit -c 0; exec "$0" "$@"', process.execPath, CHILD, backend, how], { encoding: 'utf8', env });
      t.equal(run.signal, 'SIGABRT', 'the process aborted');
      const p = Number(run.stdout.split('\n')[0]);
      t.notMatch(run.stdout, /not reached/);
      const expected = `${CPYTHON.replace('{p}', hex(p)).replace('{tail}', hex(p + 16))}\n`;
      t.equal(run.stderr.slice(0, expected.length), expected, "CPython's text, exactly");
      t.match(run.stderr.slice(expected.length), /^----- Native stack trace -----/, "then Node's stack traces, as CPython's traceback");
    });
  }
}

t.test('the fatal text is the report, then the fatal error line naming the function and the fault', async (t) => {
  const error = new MemoryCorruptionError('ERR_PYMEM_BAD_ID', 16, '_PyMem_DebugRawRealloc', "bad ID: Allocated using API 'm', verified using API 'r'", 'REPORT\n\n', 'message');
  t.equal(fatalText(error), "REPORT\n\nFatal Python error: _PyMem_DebugRawRealloc: bad ID: Allocated using API 'm', verified using API 'r'\n\n");
});
