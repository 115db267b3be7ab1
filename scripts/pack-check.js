'use strict';
// What the published package holds. `npm run pack:check [dir]` builds what `npm pack` would ship from
// the package in dir (default: the current directory) with its prepack step (compile and prebuild),
// lists the tarball with `npm pack --dry-run`, and checks it: every file matches the allow-list below,
// every file a user needs is there, and dist/ holds nothing stale (each compiled file has its source in
// lib/). It prints the files and the size, and exits 1 on any finding. `--no-prepack` checks the tree
// as it stands, for a second look after a prepack has run (the prebuild alone takes seconds).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

/**
 * Everything the tarball may hold: the compiled package (CommonJS, its ESM entry points, types, source
 * maps with their sources inline), the pymem command with the traces its workloads replay and the C
 * replayer its benchmark builds for the glibc baseline, the addon's
 * sources and build file for platforms without a prebuild, the prebuilds, the two install-time
 * scripts, and the documents. Tests, benchmarks, examples, the
 * TypeScript sources and build output stay out.
 */
const ALLOWED = [
  /^package\.json$/,
  /^(README|BENCHMARKS|CHANGELOG)\.md$/,
  /^LICENSE$/,
  /^binding\.gyp$/,
  /^native\/[a-z_]+\.(c|cc|h)$/,
  /^prebuilds\/[a-z0-9]+-[a-z0-9]+\/pymem\.node$/,
  /^scripts\/(install|build-native)\.js$/,
  /^bin\/pymem$/,
  /^bench\/traces\/[a-z_]+\.trace\.gz$/,
  /^bench\/glibc\/replay\.c$/,
  /^bench\/assemblyscript\/tlsf\.wasm$/,
  /^dist\/([a-z-]+\/)*[a-z-]+\.(js|mjs|d\.ts|js\.map)$/,
];

/** The files a user cannot do without, from package.json and binding.gyp, and this platform's prebuild. */
function requiredFiles(pkg, bindingGyp, platform = `${process.platform}-${process.arch}`) {
  const required = new Set(['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'binding.gyp', 'scripts/install.js', 'scripts/build-native.js', 'bench/glibc/replay.c']);
  required.add(`prebuilds/${platform}/pymem.node`);
  const add = (file) => required.add(path.posix.normalize(file));
  add(pkg.main);
  add(pkg.types);
  for (const bin of Object.values(pkg.bin)) add(bin);
  for (const conditions of Object.values(pkg.exports)) {
    for (const target of typeof conditions === 'string' ? [conditions] : Object.values(conditions)) add(target);
  }
  // The sources binding.gyp compiles, each quoted as 'native/x.c'; their headers match the allow-list.
  for (const [, source] of bindingGyp.matchAll(/'(native\/[^']+)'/g)) add(source);
  return [...required];
}

/**
 * Checks a file list (paths relative to the package) against the allow-list, the required files, and
 * the sources in `libDir`. Returns the findings, one line each; none means the package is as it should be.
 */
function checkPack(files, { pkg, bindingGyp, libDir, platform }) {
  const findings = [];
  const listed = new Set(files);
  for (const file of files) {
    if (!ALLOWED.some((pattern) => pattern.test(file))) findings.push(`${file}: not on the allow-list`);
    const compiled = /^dist\/(.+?)(\.js|\.d\.ts|\.js\.map)$/.exec(file);
    if (compiled && !fs.existsSync(path.join(libDir, `${compiled[1]}.ts`))) findings.push(`${file}: stale, lib/${compiled[1]}.ts does not exist`);
    const esm = /^(dist\/.+)\.mjs$/.exec(file);
    if (esm && !listed.has(`${esm[1]}.js`)) findings.push(`${file}: an ESM entry without ${esm[1]}.js`);
  }
  for (const file of requiredFiles(pkg, bindingGyp, platform)) if (!listed.has(file)) findings.push(`${file}: required, missing`);
  return findings;
}

/** One line on the tarball's size, from `npm pack --json`'s record. */
function sizeReport(record) {
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  const addon = record.files.filter((f) => f.path.startsWith('prebuilds/')).reduce((sum, f) => sum + f.size, 0);
  return `${record.filename}: ${kib(record.size)} packed, ${kib(record.unpackedSize)} unpacked, ${record.entryCount} files (prebuilds ${kib(addon)})`;
}

/** Runs a command in `cwd`, its stderr passed through; returns its stdout ('ignore': discards it). */
function run(cwd, command, args, stdout = 'pipe') {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', stdout, 'inherit'] });
  if (result.status !== 0) throw new Error(`pack:check: \`${command} ${args.join(' ')}\` in ${cwd} exited with status ${result.status}`);
  return result.stdout;
}

module.exports = { ALLOWED, requiredFiles, checkPack, sizeReport };

if (require.main === module) {
  const args = process.argv.slice(2);
  const dir = path.resolve(...args.filter((arg) => arg !== '--no-prepack').slice(0, 1)); // npm runs scripts in the package's root
  // prepack's build output would spoil the JSON on stdout, so it runs on its own first.
  if (!args.includes('--no-prepack')) run(dir, 'npm', ['run', 'prepack'], 'ignore');
  const [record] = JSON.parse(run(dir, 'npm', ['pack', '--dry-run', '--json', '--ignore-scripts']));
  const findings = checkPack(
    record.files.map((f) => f.path),
    {
      pkg: JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')),
      bindingGyp: fs.readFileSync(path.join(dir, 'binding.gyp'), 'utf8'),
      libDir: path.join(dir, 'lib'),
    },
  );
  for (const file of record.files) console.log(`${String(file.size).padStart(9)}  ${file.path}`);
  console.log(sizeReport(record));
  for (const finding of findings) console.error(`pack:check: ${finding}`);
  process.exit(findings.length === 0 ? 0 : 1);
}
