'use strict';
// Builds the addon (binding.gyp, native/) in the current directory with node-gyp: `npm run build:native`,
// the install step, and the tests' variant builds. Extra arguments go to `node-gyp rebuild`.
//
// Offline wherever Node's headers are installed beside it (Debian's nodejs, the official tarballs):
// npm passes its `nodedir` setting to node-gyp, but node-gyp run any other way would try to download
// the headers, so when no nodedir is set and the local headers exist, they are named explicitly.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

/**
 * The command that runs `node-gyp rebuild ...args`, as [file, ...argv]. node-gyp is a local install,
 * else the one npm runs scripts with, else whatever `node-gyp` the PATH holds.
 */
function rebuildCommand(args = [], { env = process.env, execPath = process.execPath, resolve = require.resolve, exists = fs.existsSync } = {}) {
  let gyp;
  try {
    gyp = [execPath, resolve('node-gyp/bin/node-gyp.js')];
  } catch {
    gyp = env.npm_config_node_gyp ? [execPath, env.npm_config_node_gyp] : ['node-gyp'];
  }
  const prefix = path.resolve(path.dirname(execPath), '..');
  const local = !env.npm_config_nodedir && exists(path.join(prefix, 'include', 'node', 'node_api.h'));
  return [...gyp, 'rebuild', ...(local ? [`--nodedir=${prefix}`] : []), ...args];
}

/** Runs the rebuild in `cwd` with stdio inherited; returns its exit status (1 when it could not start). */
function buildNative(cwd, args = [], options = {}) {
  const [file, ...argv] = rebuildCommand(args, options);
  return spawnSync(file, argv, { cwd, stdio: 'inherit', env: options.env }).status ?? 1;
}

module.exports = { rebuildCommand, buildNative };

if (require.main === module) process.exit(buildNative(process.cwd(), process.argv.slice(2)));
