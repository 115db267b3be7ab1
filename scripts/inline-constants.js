'use strict';
// Folds the layout constants into the compiled code: run by `npm run compile` after tsc.
//
// tsc's CommonJS output reads every imported constant as a property of the module's exports object
// (`obmalloc_layout_1.POOL_COUNT`). V8 folds such a load into a constant only in code it compiles for
// one context (on-stack replacement); everywhere else the allocator's hot paths pay a map check and a
// load for each of their dozen offsets per call. Writing the number in place of the load, as a C
// compiler does with a #define, took pymalloc's malloc/free pair from 10.2 to 7.7 ns (paired runs).
//
// Only the modules listed here are folded: each holds `export const` numbers and nothing that changes
// after it loads (a test checks that they declare no `export let`). Each literal keeps its name in a
// comment and is padded to the length of the load it replaces, so that tsc's source maps and stack
// traces keep pointing at the right line and column.
const fs = require('node:fs');
const path = require('node:path');

/** The modules whose numeric exports are folded, as paths under dist/ without .js. */
const FOLDED = ['config', 'raw/layout', 'pymalloc/layout', 'objects/layout', 'hooks/debug/layout'];

function jsFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const file = path.join(dir, e.name);
    return e.isDirectory() ? jsFiles(file) : e.name.endsWith('.js') ? [file] : [];
  });
}

/** A numeric export as source text: negative numbers in parentheses, so `x - -1` cannot become `x --1`. */
function literal(value) {
  return value < 0 ? `(${value})` : String(value);
}

/**
 * The text for `load` (e.g. `obmalloc_layout_1.POOL_COUNT`) of `name`: the literal and its name in a
 * comment, padded inside the comment to the load's length; without the comment when that is too long;
 * the bare literal when even that is longer than the load (a short alias and a long number).
 */
function replacement(load, name, value) {
  const lit = literal(value);
  for (const [open, close] of [[`${lit} /* ${name} `, '*/'], [`${lit}/*${name}`, '*/'], [lit, '']]) {
    const pad = load.length - open.length - close.length;
    if (pad >= 0) return open + ' '.repeat(pad) + close;
  }
  return lit;
}

/** Rewrites every .js file under `dist`; returns how many loads it folded. */
function inlineConstants(dist, folded = FOLDED) {
  const constants = new Map(
    folded.map((name) => {
      const file = path.join(dist, `${name}.js`);
      const numbers = Object.entries(require(file)).filter(([, v]) => typeof v === 'number');
      return [file, new Map(numbers)];
    }),
  );
  let count = 0;
  for (const file of jsFiles(dist)) {
    const original = fs.readFileSync(file, 'utf8');
    let source = original;
    const imports = [...source.matchAll(/^const (\w+) = require\("(\.{1,2}\/[^"]+)"\);$/gm)];
    for (const [, alias, request] of imports) {
      const values = constants.get(path.resolve(path.dirname(file), `${request}.js`));
      if (values === undefined) continue;
      // `alias.NAME` not followed by `=` (an assignment would be a bug the compiler had let through).
      source = source.replace(new RegExp(`\\b${alias}\\.(\\w+)\\b(?!\\s*=[^=])`, 'g'), (load, name) => {
        const value = values.get(name);
        if (value === undefined) return load;
        count++;
        return replacement(load, name, value);
      });
    }
    if (source !== original) fs.writeFileSync(file, source);
  }
  return count;
}

module.exports = { inlineConstants, FOLDED };

if (require.main === module) {
  const folded = inlineConstants(path.join(__dirname, '..', 'dist'));
  // On stderr: npm pack --json prints lifecycle scripts' stdout into its JSON.
  process.stderr.write(`inline-constants: ${folded} constant loads folded into dist/\n`);
}
