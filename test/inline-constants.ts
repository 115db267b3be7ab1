// scripts/inline-constants.js, which `npm run compile` runs after tsc: the layout constants are
// literals in the compiled allocator, each named in a comment, with every line where it was.
import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { PACKAGE_ROOT } from '../lib/raw/native';
import * as obmallocLayout from '../lib/pymalloc/layout';

const { inlineConstants, FOLDED } = require('../scripts/inline-constants.js') as {
  inlineConstants(dist: string, folded?: string[]): number;
  FOLDED: string[];
};

t.test('the folded modules hold constants only: no export can change after the module loads', async (t) => {
  for (const name of FOLDED) {
    const source = readFileSync(path.join(PACKAGE_ROOT, 'lib', `${name}.ts`), 'utf8');
    t.notMatch(source, /^export (let|var) /m, `lib/${name}.ts declares no mutable export`);
  }
});

t.test("dist/pymalloc/obmalloc.js reads none of pymalloc's numeric offsets from the layout module", async (t) => {
  const compiled = readFileSync(path.join(PACKAGE_ROOT, 'dist', 'pymalloc', 'obmalloc.js'), 'utf8');
  const loads = [...compiled.matchAll(/layout_1\.(\w+)/g)].map((m) => m[1]);
  const numeric = loads.filter((name) => typeof (obmallocLayout as Record<string, unknown>)[name] === 'number');
  t.same(numeric, [], 'every numeric load was folded');
  t.ok(loads.includes('BLOCK_START'), 'a typed array stays a load');
  t.match(compiled, `${obmallocLayout.POOL_OVERHEAD} /* POOL_OVERHEAD */`, 'the literal is as long as the load it replaced');
});

t.test('folding, on a compiled tree of its own', async (t) => {
  const dist = t.testdir({
    'consts.js': '"use strict";\nexports.A = 48;\nexports.NEG = -1;\nexports.BIG = 1234567890;\nexports.NAME = "x";\nexports.f = () => 1;\n',
    sub: {
      'user.js': [
        '"use strict";',
        'const consts_1 = require("../consts");',
        'const other_1 = require("./other");',
        'const k = require("../consts");',
        'exports.big = [k.BIG, consts_1.BIG, k.A];',
        'exports.sum = consts_1.A + consts_1.NEG - consts_1.NEG;',
        'exports.kept = [consts_1.NAME, (0, consts_1.f)(), other_1.A, consts_1.MISSING];',
        'consts_1.A = 2;',
        'exports.same = consts_1.A === 48;',
        '',
      ].join('\n'),
      'other.js': '"use strict";\nexports.A = 7;\n',
      'untouched.js': '"use strict";\nexports.B = 1;\n',
    },
  });
  mkdirSync(path.join(dist, 'empty'));
  writeFileSync(path.join(dist, 'notes.txt'), 'consts_1.A');
  t.equal(inlineConstants(dist, ['consts']), 7, 'seven loads of numbers folded');
  const user = readFileSync(path.join(dist, 'sub', 'user.js'), 'utf8').split('\n');
  t.equal(user.length, 10, 'no line added or removed');
  t.equal(user[4], 'exports.big = [1234567890, 1234567890  , 48 ];', 'without the name where it does not fit, and longer than a load shorter than the number');
  t.equal(user[5], 'exports.sum = 48 /* A */ + (-1)/*NEG */ - (-1)/*NEG */;', 'a negative number keeps its sign in parentheses');
  t.equal(user[6], 'exports.kept = [consts_1.NAME, (0, consts_1.f)(), other_1.A, consts_1.MISSING];', 'strings, functions, other modules and unknown names stay loads');
  t.equal(user[7], 'consts_1.A = 2;', 'an assignment is not a load');
  t.equal(user[8], 'exports.same = 48 /* A */ === 48;', 'a comparison is a load');
  t.equal(readFileSync(path.join(dist, 'notes.txt'), 'utf8'), 'consts_1.A', 'only .js files are read');
  const mod = require(path.join(dist, 'sub', 'user.js'));
  t.same([mod.sum, mod.same, mod.big], [48, true, [1234567890, 1234567890, 48]], 'the folded code computes what it did');
});

t.test('the command folds the package\'s dist/ once: run again, it finds nothing left to fold', async (t) => {
  const run = spawnSync(process.execPath, [path.join(PACKAGE_ROOT, 'scripts', 'inline-constants.js')], { encoding: 'utf8' });
  t.equal(run.status, 0, run.stderr);
  t.equal(run.stderr, 'inline-constants: 0 constant loads folded into dist/\n');
  t.equal(run.stdout, '', 'nothing on stdout, which npm pack --json shares');
});
