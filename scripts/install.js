'use strict';
// npm's install step for pymem; it never fails the install. It keeps an addon that already loads (a
// bundled prebuild, or an earlier build), else builds one with node-gyp; when that fails too, pymem
// still installs and runs on its TypeScript fallback, and says so here and in heap.backendReason.
// `npm install --build-from-source` (npm_config_build_from_source=true) always builds.
const path = require('node:path');
const { buildNative } = require('./build-native');

const root = path.join(__dirname, '..');

function loadsAlready() {
  if (process.env.npm_config_build_from_source === 'true') return false;
  try {
    require('node-gyp-build')(root);
    return true;
  } catch {
    return false;
  }
}

if (!loadsAlready() && buildNative(root) !== 0) {
  console.warn(
    'pymem: the native addon could not be built (see above); pymem will run on its TypeScript fallback.\n' +
      'pymem: with a C/C++ compiler, make and Python installed, `npm rebuild pymem` builds it again.',
  );
}
