// Run in a child process by test/loader.ts: creates a heap as a user would and prints what it got.
// PYMEM_TEST_MAX_BYTES sets the region's size (default 2 MiB).
import { createHeap, nativeAddon } from '../../lib/index';

const maxBytes = Number(process.env.PYMEM_TEST_MAX_BYTES ?? 2 << 20);
const native = nativeAddon();
try {
  const heap = createHeap({ maxBytes });
  const p = heap.raw.malloc(100);
  heap.check();
  console.log(JSON.stringify({ backend: heap.backend, reason: heap.backendReason, works: p > 0, native }));
} catch (e) {
  const error = e as Error & { code?: string };
  console.log(JSON.stringify({ code: error.code, message: error.message, native }));
}
