// AssemblyScript's own heap (std/assembly/rt/tlsf.ts: TLSF in WebAssembly), exported as malloc, realloc
// and free for `pymem bench`'s assemblyscript contender. Built into tlsf.wasm by build.mjs; the bench
// loads the committed .wasm and needs no compiler.
//
// A failed allocation aborts in AssemblyScript's TLSF (there is no NULL), which the bench reports as
// the contender failing on that workload; the heap grows its memory as TLSF asks, up to 4 GiB.

export function malloc(size: usize): usize {
  return heap.alloc(size);
}

export function realloc(ptr: usize, size: usize): usize {
  return heap.realloc(ptr, size);
}

export function free(ptr: usize): void {
  heap.free(ptr);
}
