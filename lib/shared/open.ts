/**
 * Opens a shared heap's backend in one thread, as lib/raw/open.ts opens a private heap's: 'auto' takes
 * the addon when it loads, else the fallback. An attaching thread asks for the backend the heap was
 * made with: the twins leave the same bytes, but the fallback's lock sleeps in Atomics.wait where the
 * C lock spins, and one heap runs one kind of lock.
 */
import { nativeUnavailable } from '../errors';
import { chooseBackend, type BackendChoice, type OpenedBackend } from '../raw/open';
import { loadNative, type NativeLoad } from '../raw/native';
import { LockedFallback, LockedNative, type SharedRegion } from './backends';

/** `given`: what loadNative() would answer, for a test to give a failed load. */
export function openSharedBackend(requested: BackendChoice, region: SharedRegion, given?: NativeLoad): OpenedBackend {
  const { choice, why } = chooseBackend(requested);
  if (choice === 'fallback') return { backend: new LockedFallback(region), reason: why, fellBack: false };
  const load = given ?? loadNative();
  if (load.error === undefined) {
    return { backend: new LockedNative(load.addon, region), reason: choice === 'native' ? why : `auto: native addon ${load.path}`, fellBack: false };
  }
  if (choice === 'native') throw nativeUnavailable(`the native backend is not available (${why}): ${load.error}`);
  return { backend: new LockedFallback(region), reason: `auto: the native addon is not available: ${load.error}`, fellBack: true };
}
