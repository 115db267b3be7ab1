// Builds tlsf.wasm from tlsf.ts with the AssemblyScript compiler (a devDependency):
//   node bench/assemblyscript/build.mjs
// --runtime minimal: TLSF without the incremental collector (the bench frees every block itself);
// -O3 and --noAssert: the build AssemblyScript's users ship; --initialMemory 16: one MiB to start.
import { main } from 'assemblyscript/asc';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const { error, stderr } = await main(
  [path.join(here, 'tlsf.ts'), '-o', path.join(here, 'tlsf.wasm'), '-O3', '--runtime', 'minimal', '--noAssert', '--initialMemory', '16'],
  {},
);
if (error) {
  console.error(stderr.toString());
  process.exit(1);
}
console.log(`built ${path.join(here, 'tlsf.wasm')}`);
