// A scratch copy of parts of the package (for builds and installs in isolation), using our node_modules.
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import * as path from 'node:path';
import { PACKAGE_ROOT } from '../../lib/raw/native';

/** Copies `entries` of the package into `dir` (created) and links its node_modules; returns `dir`. */
export function copyPackage(dir: string, entries: readonly string[]): string {
  mkdirSync(dir);
  for (const entry of entries) cpSync(path.join(PACKAGE_ROOT, entry), path.join(dir, entry), { recursive: true });
  symlinkSync(path.join(PACKAGE_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}
