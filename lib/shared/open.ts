/**
 * Opens a shared heap's backend in one thread, as lib/raw/open.ts opens a private heap's and by the same
 * choice (openWith): 'auto' takes the addon when it loads, else the fallback. An attaching thread asks
 * for the backend the heap was made with: the twins leave the same bytes, but the fallback's lock sleeps
 * in Atomics.wait where the C lock spins, and one heap runs one kind of lock.
 */
import { openWith, type BackendChoice, type OpenedBackend } from '../raw/open';
import type { NativeLoad } from '../raw/native';
import { LockedFallback, LockedNative, type SharedRegion } from './backends';

/** `given`: what loadNative() would answer, for a test to give a failed load. */
export function openSharedBackend(requested: BackendChoice, region: SharedRegion, given?: NativeLoad): OpenedBackend {
  return openWith(requested, { fallback: () => new LockedFallback(region), native: (addon) => new LockedNative(addon, region) }, given);
}
