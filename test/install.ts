// The install step: it keeps an addon that loads, builds one when there is none, and never fails the
// install, whatever the machine lacks. Each case runs scripts/install.js in a scratch copy of the package.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { copyPackage } from './helpers/package-copy';

const { rebuildCommand, buildNative } = require('../scripts/build-native.js') as {
  rebuildCommand(args: string[], options: object): string[];
  buildNative(cwd: string, args: string[], options: object): number;
};

const scratch = mkdtempSync(path.join(tmpdir(), 'pymem-install-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of what the package ships for building. */
const packageCopy = (name: string): string => copyPackage(path.join(scratch, name), ['package.json', 'binding.gyp', 'native', 'scripts']);

function install(dir: string, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [path.join(dir, 'scripts', 'install.js')], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } });
}

const addon = (dir: string): string => path.join(dir, 'build', 'Release', 'pymem.node');

t.test('the node-gyp command, on every kind of machine', async (t) => {
  const headers = (p: string) => p === '/opt/node/include/node/node_api.h';
  const none = () => {
    throw new Error('not installed');
  };
  const base = { execPath: '/opt/node/bin/node', exists: headers };
  t.same(rebuildCommand([], { ...base, env: {}, resolve: () => '/app/node_modules/node-gyp/bin/node-gyp.js' }), ['/opt/node/bin/node', '/app/node_modules/node-gyp/bin/node-gyp.js', 'rebuild', '--nodedir=/opt/node'], 'a local node-gyp, local headers named');
  t.same(rebuildCommand(['--debug'], { ...base, env: { npm_config_node_gyp: '/npm/node-gyp.js', npm_config_nodedir: '/usr' }, resolve: none }), ['/opt/node/bin/node', '/npm/node-gyp.js', 'rebuild', '--debug'], "npm's node-gyp and npm's nodedir");
  t.same(rebuildCommand([], { execPath: '/opt/node/bin/node', exists: () => false, env: {}, resolve: none }), ['node-gyp', 'rebuild'], 'the PATH, no local headers');
  t.equal(buildNative(scratch, [], { env: { PATH: '/nonexistent' }, resolve: none }), 1, 'no node-gyp anywhere: a failed build, not an exception');
  // npm passes its config as npm_config_* variables, and node-gyp takes a gyp variable from them:
  // `npm rebuild pymem --pymem_no_external_buffers=1` reaches node-gyp through the build's environment.
  const fake = path.join(scratch, 'fake-node-gyp.js');
  const seen = path.join(scratch, 'node-gyp-saw.json');
  writeFileSync(fake, `require('fs').writeFileSync(${JSON.stringify(seen)}, JSON.stringify({ argv: process.argv.slice(2), gyp: process.env.npm_config_pymem_no_external_buffers }));\n`);
  t.equal(buildNative(scratch, ['--jobs=1'], { env: { ...process.env, npm_config_node_gyp: fake, npm_config_nodedir: '/usr', npm_config_pymem_no_external_buffers: '1' }, resolve: none }), 0);
  t.same(JSON.parse(readFileSync(seen, 'utf8')), { argv: ['rebuild', '--jobs=1'], gyp: '1' });
});

t.test('with no addon, the install step builds one', async (t) => {
  const dir = packageCopy('fresh');
  const run = install(dir);
  t.equal(run.status, 0);
  t.ok(existsSync(addon(dir)), 'build/Release/pymem.node');
  const built = statSync(addon(dir)).mtimeMs;
  t.equal(install(dir).status, 0);
  t.equal(statSync(addon(dir)).mtimeMs, built, 'an addon that loads is kept, not rebuilt');
});

t.test('with no C compiler, the install still succeeds and says pymem runs on the fallback', async (t) => {
  const dir = packageCopy('nocompiler');
  const run = install(dir, { CC: '/bin/false', CXX: '/bin/false', npm_config_build_from_source: 'true' });
  t.equal(run.status, 0, 'the install does not fail');
  t.notOk(existsSync(addon(dir)), 'no addon');
  t.match(run.stderr, 'pymem: the native addon could not be built (see above); pymem will run on its TypeScript fallback.');
  t.match(run.stderr, '`npm rebuild pymem` builds it again');
});
