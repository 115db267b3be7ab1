/**
 * tracemalloc's frames from the JavaScript stack: the file name and line of each caller, most recent
 * first, pymem's own frames left out, as CPython's traceback_get_frames() walks Python frames and not
 * C ones. Positions are mapped through source maps when Node has them (--enable-source-maps), so a
 * TypeScript caller is named by its .ts line, as Error.stack names it.
 *
 * Cost: one V8 stack capture of nframe + OWN_FRAMES frames per traced allocation (more only when
 * pymem's own frames fill that margin, as a deep fromJS does): measured here, 3.1 us for 9 frames and
 * 6.7 us for 33, the capture alone, which is why it starts below the domain's method (V8 leaves out
 * the frames above it) rather than taking pymem's frames and dropping them. What the tracer reads of
 * each site is a file name (V8's own string, the same each time) and a line; it interns by them
 * without building a string (lib/hooks/tracemalloc/intern.ts). Source maps, when on, cost a lookup per
 * frame. Nothing runs when not tracing.
 */
import * as path from 'node:path';
import { findSourceMap, type SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { RawFrame } from './snapshot';

/** The directory of pymem's compiled (or source) modules: frames in it are pymem's own. */
const OWN_DIR = path.resolve(__dirname, '..', '..') + path.sep;
/**
 * pymem's frames that can lie between the caller and the domain's method, captured on top of nframe so
 * that they do not eat into it, then dropped: up to 6 today (a capi function, heap.objects' method, a
 * conversion, the type's constructor, a container helper, ObjectMemory.alloc), and room for 2 more.
 */
const OWN_FRAMES = 8;
/** CPython's traceback for a stack with no frame: one frame ("<unknown>", 0). */
export const UNKNOWN_FRAMES: readonly RawFrame[] = Object.freeze([Object.freeze(['<unknown>', 0] as const)]);

const sourceMaps = new Map<string, SourceMap | undefined>();

function mapped(file: string, line: number, column: number): [string, number] {
  let map = sourceMaps.get(file);
  if (!sourceMaps.has(file)) sourceMaps.set(file, (map = findSourceMap(file)));
  if (map === undefined) return [file, line];
  const entry = map.findEntry(line - 1, column - 1) as { originalSource?: string; originalLine?: number };
  if (entry.originalSource === undefined || entry.originalLine === undefined) return [file, line];
  return [readable(entry.originalSource), entry.originalLine + 1];
}

/** A file name as CPython would show it: a path, not a file: URL. */
export function readable(file: string): string {
  return file.startsWith('file://') ? fileURLToPath(file) : file;
}

function sitesOnly(_error: Error, sites: NodeJS.CallSite[]): NodeJS.CallSite[] {
  return sites;
}

/** V8's call sites below the most recent call of `boundary`, at most `count`. */
function sitesBelow(boundary: (...args: never[]) => unknown, count: number): NodeJS.CallSite[] {
  const savedPrepare = Error.prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  Error.prepareStackTrace = sitesOnly;
  Error.stackTraceLimit = count;
  const holder = {} as { stack: NodeJS.CallSite[] };
  Error.captureStackTrace(holder, boundary);
  // V8 formats the stack when it is first read: read it before putting the formatter back.
  const sites = holder.stack;
  Error.prepareStackTrace = savedPrepare;
  Error.stackTraceLimit = savedLimit;
  return sites;
}

/** Whether each file V8 names is pymem's own, asked once per file. */
const ownFiles = new Map<string, boolean>();

/** Whether a call site lies in pymem's own modules (a file name V8 gives, as given). */
export function isOwnFile(file: string): boolean {
  let own = ownFiles.get(file);
  if (own === undefined) ownFiles.set(file, (own = readable(file).startsWith(OWN_DIR)));
  return own;
}

/** The file name V8 gives for a site, '<unknown>' when it gives none. */
export function siteFile(site: NodeJS.CallSite): string {
  return site.getFileName() ?? '<unknown>';
}

/**
 * V8's call sites below `boundary` (the domain method or API function the caller called), most recent
 * first: nframe + OWN_FRAMES of them, pymem's own included, or more when pymem's own frames fill that
 * margin. The tracer reads file names and lines from them (lib/hooks/tracemalloc/intern.ts).
 */
export function captureSites(limit: number, boundary: (...args: never[]) => unknown): NodeJS.CallSite[] {
  // The boundary is not on the stack when a caller called the hooks themselves (taken with
  // getAllocator()): then everything is taken, and pymem's frames dropped one by one.
  const capture = (count: number): NodeJS.CallSite[] => {
    const below = sitesBelow(boundary, count);
    return below.length > 0 ? below : sitesBelow(captureSites, count + 8);
  };
  let count = limit + OWN_FRAMES;
  let sites = capture(count);
  // More of pymem's frames than the margin (heap.objects.fromJS recursing into a deep structure) can
  // push the caller's out of the capture: then capture again, deeper, until they are in or the stack ends.
  while (sites.length >= count && ownSites(sites) > count - limit) {
    count *= 2;
    sites = capture(count);
  }
  return sites;
}

function ownSites(sites: NodeJS.CallSite[]): number {
  let own = 0;
  for (const site of sites) if (isOwnFile(siteFile(site))) own++;
  return own;
}

/** A site's frame through the source maps Node has (process.sourceMapsEnabled): its file and line as mapped. */
export function mappedFrame(site: NodeJS.CallSite): [file: string, line: number] {
  return mapped(readable(siteFile(site)), site.getLineNumber() ?? 0, site.getColumnNumber() ?? 0);
}

