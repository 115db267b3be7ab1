// The layers are folders, and each imports only from the layers below it (or from its own): checked on
// the sources, import by import, type imports included, with no import circles anywhere in lib/.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PACKAGE_ROOT } from '../lib/raw/native';

/** The layers from the bottom up, by the paths (under lib/) their modules have. */
export const LAYERS: readonly [name: string, paths: readonly string[]][] = [
  ['foundation', ['config.ts', 'errors.ts', 'thread.ts']],
  ['raw', ['raw/']],
  ['pymalloc', ['pymalloc/']],
  ['shared', ['shared/']],
  ['domains', ['domains/']],
  ['hooks', ['hooks/']],
  ['objects', ['objects/']],
  ['trace', ['trace/']],
  ['image', ['image/']],
  ['heap', ['heap.ts', 'shared-heap.ts', 'create.ts', 'stats.ts', 'default-heap.ts', 'capi.ts']],
  ['map', ['map/']],
  ['api', ['index.ts']],
  ['cli', ['cli/']],
];

const LIB = path.join(PACKAGE_ROOT, 'lib');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const file = path.join(dir, e.name);
    return e.isDirectory() ? sources(file) : e.name.endsWith('.ts') ? [path.relative(LIB, file)] : [];
  });
}

function layerOf(file: string): number {
  return LAYERS.findIndex(([, paths]) => paths.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p)));
}

/** The modules of lib/ that `file` imports (relative specifiers, resolved to lib/-relative .ts paths). */
function importsOf(file: string, all: Set<string>): string[] {
  const text = readFileSync(path.join(LIB, file), 'utf8');
  const found: string[] = [];
  for (const [, spec] of text.matchAll(/(?:from|import\(|require\()\s*'(\.{1,2}\/[^']+)'/g)) {
    const base = path.normalize(path.join(path.dirname(file), spec));
    const target = [`${base}.ts`, path.join(base, 'index.ts')].find((c) => all.has(c));
    if (target !== undefined) found.push(target);
  }
  return found;
}

const files = sources(LIB);
const all = new Set(files);
const graph = new Map(files.map((f) => [f, importsOf(f, all)]));

t.test('every module of lib/ belongs to a layer', async (t) => {
  t.same(files.filter((f) => layerOf(f) < 0), []);
});

/** Each import that runs up, in words. */
function upwardImports(graph: Map<string, string[]>): string[] {
  const upward: string[] = [];
  for (const [file, targets] of graph) {
    for (const target of targets) {
      if (layerOf(target) > layerOf(file)) upward.push(`lib/${file} (${LAYERS[layerOf(file)][0]}) imports lib/${target} (${LAYERS[layerOf(target)][0]})`);
    }
  }
  return upward;
}

/** Every import circle found by a depth-first walk, as its files in order. */
function circles(graph: Map<string, string[]>): string[] {
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const target of graph.get(file) ?? []) {
      if (state.get(target) === 'open') found.push(stack.slice(stack.indexOf(target)).concat(target).map((f) => `lib/${f}`).join(' -> '));
      else if (!state.has(target)) visit(target);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

t.test('a layer imports only from the layers below it, or from itself', async (t) => {
  t.same(upwardImports(graph), []);
});

t.test('no import circles', async (t) => {
  t.same(circles(graph), []);
});

t.test('the checks find an import that runs up, and a circle', async (t) => {
  t.ok(graph.get('heap.ts')!.includes('domains/domain.ts'), 'imports are read: the heap imports the domains');
  const bad = new Map([
    ['raw/tlsf.ts', ['domains/domain.ts']],
    ['domains/domain.ts', ['raw/tlsf.ts']],
  ]);
  t.same(upwardImports(bad), ['lib/raw/tlsf.ts (raw) imports lib/domains/domain.ts (domains)']);
  t.same(circles(bad), ['lib/raw/tlsf.ts -> lib/domains/domain.ts -> lib/raw/tlsf.ts']);
});
