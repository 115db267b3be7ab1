/**
 * The bench's measurements, each in a node process of its own. The child is always the compiled
 * script, dist/cli/NAME.js, whether the bench runs from dist/ (the package) or from the sources
 * under a TypeScript loader (the tests, after `npm run compile`): a loader costs a child 1-2 s to
 * start where plain node takes about 0.1 s, and the bench starts hundreds of children. They run
 * with node's default flags and no more than `nodeOptions`, so that every measurement runs under
 * the same flags whatever this process was started with (an inspector's port, say, or a loader):
 * NODE_OPTIONS is not passed on, nor NODE_V8_COVERAGE, under which V8 counts every block it runs
 * and the code measured would be slower than a user's (a parent under c8 or tap sets it).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

/** The package's root, from lib/cli (sources) and dist/cli (compiled) alike. */
export const ROOT = path.resolve(__dirname, '..', '..');

/** Runs dist/cli/NAME.js with `args`; its stdout is one JSON line, parsed. A failure says which child and why. */
export function runChild<T>(name: string, args: string[], what: string, nodeOptions: string[] = []): T {
  const script = path.join(ROOT, 'dist', 'cli', `${name}.js`);
  if (!existsSync(script)) throw new Error(`${what} cannot run: ${script} is missing (npm run compile builds it)`);
  const { NODE_OPTIONS: _options, NODE_V8_COVERAGE: _coverage, ...env } = process.env;
  const run = spawnSync(process.execPath, [...nodeOptions, script, ...args], { encoding: 'utf8', env });
  if (run.status !== 0) throw new Error(`${what} failed (status ${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}
