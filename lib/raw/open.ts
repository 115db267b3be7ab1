/**
 * Chooses and opens a heap's backend. 'auto' (the default) takes the native addon when it loads and
 * can expose its region, else the fallback, and records why; PYMEM_BACKEND=native|fallback overrides
 * 'auto'; asking for 'native' where it cannot run is an error that says why. When 'auto' falls back,
 * createHeap() emits one warning per process (warnFallback) saying why and how to build the addon:
 * npm hides the install script's output, so this is where a user learns of it.
 */
import { invalidArgValue, nativeUnavailable, reserveFailed } from '../errors';
import { FallbackBackend } from './fallback';
import { loadNative, openNativeRegion, NativeBackend, type NativeAddon, type NativeLoad } from './native';
import type { ImageSegments, RawBackend } from './backend';

export type BackendChoice = 'auto' | 'native' | 'fallback';

export interface OpenedBackend {
  backend: RawBackend;
  /** Why this backend runs, in words. */
  reason: string;
  /** 'auto' wanted native and could not have it. */
  fellBack: boolean;
}

/** The code of the warning 'auto' emits when it falls back; PYMEM_NO_FALLBACK_WARNING=1 silences it. */
export const FALLBACK_WARNING = 'PYMEM_FALLBACK';

let warned = false;

/** Says that 'auto' fell back, and why; once per process, as Node says each of its deprecations once. */
export function warnFallback(reason: string): void {
  if (warned || process.env.PYMEM_NO_FALLBACK_WARNING === '1') return;
  warned = true;
  process.emitWarning(
    `pymem runs on its TypeScript fallback, ${reason.replace(/^auto: /, '')}. \`npm rebuild pymem\` builds the addon ` +
      "(it needs a C++ compiler, make and Python); PYMEM_NO_FALLBACK_WARNING=1, or backend: 'fallback', silences this warning.",
    { type: 'Warning', code: FALLBACK_WARNING },
  );
}

/** The fallback over a fresh region or an image's; a region the process cannot reserve is ERR_PYMEM_RESERVE_FAILED. */
function openFallback(maxBytes: number, image: ImageSegments | undefined): FallbackBackend {
  try {
    return new FallbackBackend(maxBytes, image);
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_PYMEM_BAD_IMAGE') throw e;
    throw reserveFailed(`cannot reserve a ${maxBytes}-byte region for the fallback backend: ${(e as Error).message}`);
  }
}

/** The backend to run: `requested`, unless it is 'auto' and PYMEM_BACKEND says otherwise; and why, in words. */
export function chooseBackend(requested: BackendChoice): { choice: BackendChoice; why: string } {
  const env = process.env.PYMEM_BACKEND;
  if (requested !== 'auto' || env === undefined || env === '' || env === 'auto') return { choice: requested, why: `backend '${requested}' was requested` };
  if (env !== 'native' && env !== 'fallback') {
    throw invalidArgValue('environment variable PYMEM_BACKEND', env, "must be 'native', 'fallback' or 'auto'");
  }
  return { choice: env, why: `PYMEM_BACKEND=${env}` };
}

/** How to make each backend over one region: a private heap's (below), or a shared heap's thread's (lib/shared/open.ts). */
export interface BackendMakers {
  fallback(): RawBackend;
  native(addon: NativeAddon): RawBackend;
}

/**
 * Opens the backend `requested`, as the header says, with `make`'s constructors. `given` stands for
 * loadNative()'s answer, for a test to give a failed load.
 */
export function openWith(requested: BackendChoice, make: BackendMakers, given?: NativeLoad): OpenedBackend {
  const { choice, why } = chooseBackend(requested);
  if (choice === 'fallback') return { backend: make.fallback(), reason: why, fellBack: false };
  const load = given ?? loadNative();
  if (load.error !== undefined) {
    if (choice === 'native') throw nativeUnavailable(`the native backend is not available (${why}): ${load.error}`);
    return { backend: make.fallback(), reason: `auto: the native addon is not available: ${load.error}`, fellBack: true };
  }
  try {
    return { backend: make.native(load.addon), reason: choice === 'native' ? why : `auto: native addon ${load.path}`, fellBack: false };
  } catch (e) {
    const error = e as Error & { code?: string };
    if (error.code !== 'ERR_PYMEM_NO_EXTERNAL_BUFFERS') throw e;
    if (choice === 'native') throw nativeUnavailable(`the native backend cannot run here (${why}): ${error.message}`);
    return { backend: make.fallback(), reason: `auto: the native addon cannot run here: ${error.message}`, fellBack: true };
  }
}

/** Opens the backend `requested` over a fresh region of maxBytes, or over an image's segments. */
export function openBackend(requested: BackendChoice, maxBytes: number, image?: ImageSegments): OpenedBackend {
  return openWith(requested, { fallback: () => openFallback(maxBytes, image), native: (addon) => new NativeBackend(addon, openNativeRegion(addon, maxBytes, image)) });
}
