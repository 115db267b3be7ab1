/**
 * Chooses and opens a heap's backend. 'auto' (the default) takes the native addon when it loads and
 * can expose its region, else the fallback, and records why; PYMEM_BACKEND=native|fallback overrides
 * 'auto'; asking for 'native' where it cannot run is an error that says why.
 */
import { invalidArgValue, nativeUnavailable, reserveFailed } from '../errors';
import { FallbackBackend } from './fallback';
import { loadNative, NativeBackend } from './native';
import type { RawBackend } from './backend';

export type BackendChoice = 'auto' | 'native' | 'fallback';

export interface OpenedBackend {
  backend: RawBackend;
  /** Why this backend runs, in words. */
  reason: string;
}

function openFallback(maxBytes: number, reason: string): OpenedBackend {
  let backend: FallbackBackend;
  try {
    backend = new FallbackBackend(maxBytes);
  } catch (e) {
    throw reserveFailed(`cannot reserve a ${maxBytes}-byte region for the fallback backend: ${(e as Error).message}`);
  }
  return { backend, reason };
}

export function openBackend(requested: BackendChoice, maxBytes: number): OpenedBackend {
  let choice = requested;
  let why = `backend '${requested}' was requested`;
  const env = process.env.PYMEM_BACKEND;
  if (requested === 'auto' && env !== undefined && env !== '' && env !== 'auto') {
    if (env !== 'native' && env !== 'fallback') {
      throw invalidArgValue('environment variable PYMEM_BACKEND', env, "must be 'native', 'fallback' or 'auto'");
    }
    choice = env;
    why = `PYMEM_BACKEND=${env}`;
  }
  if (choice === 'fallback') return openFallback(maxBytes, why);

  const load = loadNative();
  if (load.error !== undefined) {
    if (choice === 'native') throw nativeUnavailable(`the native backend is not available (${why}): ${load.error}`);
    return openFallback(maxBytes, `auto: the native addon is not available: ${load.error}`);
  }
  try {
    return { backend: new NativeBackend(load.addon, maxBytes), reason: choice === 'native' ? why : `auto: native addon ${load.path}` };
  } catch (e) {
    const error = e as Error & { code?: string };
    if (error.code !== 'ERR_PYMEM_NO_EXTERNAL_BUFFERS') throw e;
    if (choice === 'native') throw nativeUnavailable(`the native backend cannot run here (${why}): ${error.message}`);
    return openFallback(maxBytes, `auto: the native addon cannot run here: ${error.message}`);
  }
}
