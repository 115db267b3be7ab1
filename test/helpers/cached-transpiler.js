'use strict';
// ts-node's transpiler for the tests (tsconfig.json's "ts-node" section): TypeScript's own
// transpileModule, as ts-node's transpile-only mode runs it, with its output cached on disk by
// content. A test run starts a few hundred node processes that load the same sources; ts-node alone
// transpiled every file again in each, about 1.5 s of CPU a process, where a cached file is one read.
// The source maps go through ts-node as before, so stack traces and coverage are unchanged.
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const CACHE = path.join(__dirname, '..', '..', 'node_modules', '.cache', 'pymem-transpiled');

exports.create = function create({ service, nodeModuleEmitKind }) {
  const ts = require(service.projectLocalResolveHelper('typescript', true));
  // module node16: a .ts file of this CommonJS package comes out as CommonJS, import() kept as it is.
  const compilerOptions = { ...service.config.options };
  const salt = `${ts.version}\n${nodeModuleEmitKind}\n${JSON.stringify(compilerOptions)}\n`;
  return {
    transpile(input, { fileName }) {
      const key = crypto.createHash('sha256').update(salt).update(fileName).update('\0').update(input).digest('hex');
      const file = path.join(CACHE, `${key}.json`);
      try {
        return JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch {
        const { outputText, sourceMapText } = ts.transpileModule(input, { fileName, compilerOptions, reportDiagnostics: false });
        const output = { outputText, sourceMapText };
        fs.mkdirSync(CACHE, { recursive: true });
        // Written aside and renamed: processes running at once never read half a file.
        const aside = `${file}.${process.pid}`;
        fs.writeFileSync(aside, JSON.stringify(output));
        fs.renameSync(aside, file);
        return output;
      }
    },
  };
};
