/**
 * tracemalloc's frames from the JavaScript stack: the file name and line of each caller, most recent
 * first, pymem's own frames left out, as CPython's traceback_get_frames() walks Python frames and not
 * C ones. Positions are mapped through source maps when Node has them (--enable-source-maps), so a
 * TypeScript caller is named by its .ts line, as Error.stack names it.
 *
 * Cost: one V8 stack capture of at most nframe + OWN_FRAMES frames per traced allocation, and a
 * source-map lookup per frame when maps are on: a few microseconds. Nothing runs when not tracing.
 */
import * as path from 'node:path';
import { findSourceMap, type SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { RawFrame } from './snapshot';

/** The directory of pymem's compiled (or source) modules: frames in it are pymem's own. */
const OWN_DIR = path.dirname(__dirname) + path.sep;
/**
 * pymem's frames between the caller and the capture (the capture, the tracer, the hook, the domain,
 * a capi function, an object allocator): captured on top of nframe so that they do not eat into it.
 */
const OWN_FRAMES = 12;
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
function readable(file: string): string {
  return file.startsWith('file://') ? fileURLToPath(file) : file;
}

function sitesOnly(_error: Error, sites: NodeJS.CallSite[]): NodeJS.CallSite[] {
  return sites;
}

/**
 * The caller's frames, most recent first, at most `limit`, and how many frames the capture saw; the
 * frames are fresh arrays (the tracer interns them).
 */
export function captureFrames(limit: number): { frames: RawFrame[]; total: number } {
  const savedPrepare = Error.prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  Error.prepareStackTrace = sitesOnly;
  Error.stackTraceLimit = limit + OWN_FRAMES;
  const holder = {} as { stack: NodeJS.CallSite[] };
  Error.captureStackTrace(holder, captureFrames);
  // V8 formats the stack when it is first read: read it before putting the formatter back.
  const sites = holder.stack;
  Error.prepareStackTrace = savedPrepare;
  Error.stackTraceLimit = savedLimit;
  const frames: RawFrame[] = [];
  let total = 0;
  const mapping = process.sourceMapsEnabled;
  for (const site of sites) {
    const file = readable(site.getFileName() ?? '<unknown>');
    if (file.startsWith(OWN_DIR)) continue;
    total++;
    if (frames.length === limit) continue;
    const line = site.getLineNumber() ?? 0;
    frames.push(mapping ? mapped(file, line, site.getColumnNumber() ?? 0) : [file, line]);
  }
  return { frames, total };
}
