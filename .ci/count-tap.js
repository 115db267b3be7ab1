'use strict';
// Reads raw TAP (tap --reporter=tap) and prints "N passed, N failed", counting test cases: the leaf
// subtests, that is each `t.test(...)` with no subtest of its own (a test file that dies before defining
// any counts as one failed case). Exits 1 when any failed. Usage: node .ci/count-tap.js FILE
const fs = require('node:fs');

const lines = fs.readFileSync(process.argv[2], 'utf8').split('\n');
const open = []; // subtests not yet closed: { indent, parent }
let passed = 0;
let failed = 0;
for (const line of lines) {
  const indent = line.length - line.trimStart().length;
  const text = line.trimStart();
  if (text.startsWith('# Subtest: ')) {
    if (open.length > 0) open[open.length - 1].parent = true;
    open.push({ indent, parent: false });
    continue;
  }
  const point = /^(not )?ok \d+/.exec(text);
  const top = open[open.length - 1];
  if (!point || !top || top.indent !== indent) continue; // an assertion inside a subtest
  open.pop();
  if (top.parent) continue;
  if (point[1]) failed++;
  else passed++;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
