/**
 * pymem: CPython's memory manager for Node.js. See README.md for the layers and the API.
 */
import { loadNative } from './raw/native';

export { Heap, type HeapOptions } from './heap';
export { createHeap } from './create';
export { SharedHeap, attachHeap, type SharedHeapHandle } from './shared-heap';
export { defaultHeap } from './default-heap';
export { Domain, type Allocator, type DomainName } from './domains/domain';
export type { AllocatorName, CurrentAllocatorName } from './domains/allocators';
export type { ArenaAllocator } from './pymalloc/obmalloc';
export type { PymallocStats, SizeClassStats } from './pymalloc/stats';
export { SystemAllocator } from './domains/system';
export {
  InvalidPointerError, HeapCorruptionError, MemoryCorruptionError, MemoryError, RecursionError, BadImageError, type BadImageReason, type ErrorCode,
  type MemoryCorruptionCode, type ObjectErrorCode,
} from './errors';
export { Objects } from './objects/objects';
export { Tuple, type PyJS, type ToJSOptions } from './objects/slots';
export { ObjectHandle } from './objects/handle';
export {
  GarbageCollector, DEBUG_STATS, DEBUG_COLLECTABLE, DEBUG_UNCOLLECTABLE, type GCCallback, type GCPhase, type GCInfo, type GCGenerationStats,
} from './objects/gc';
export type { MemoryPressureCallback, MemoryPressureInfo, MemoryPressureStats } from './domains/pressure';
export type { HeapStats } from './stats';
export type { SegmentCounts } from './raw/stats';
export type { BackendName } from './raw/backend';
export type { BackendChoice } from './raw/open';
export { drawHeapMap } from './map/render';
export { ALIGNMENT, SEGMENT_SIZE, RAW_HUGE_THRESHOLD, DEFAULT_MAX_BYTES, MAX_MAX_BYTES, MIN_MAX_BYTES } from './config';

/** Whether the native addon loads in this process: its path, or why not. Loads it once. */
export function nativeAddon(): { available: true; path: string } | { available: false; reason: string } {
  const load = loadNative();
  return load.error === undefined ? { available: true, path: load.path } : { available: false, reason: load.error };
}
