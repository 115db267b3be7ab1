/**
 * tracemalloc's interned tracebacks, as CPython's tracemalloc interns frames and tracebacks in hash
 * tables (tracemalloc_filenames, tracemalloc_tracebacks): equal tracebacks are one entry, equal frames
 * one tuple, equal file names one string.
 *
 * A traceback is found without building a key: each file V8 names gets a record (whether it is
 * pymem's, its name as shown, a frame id per line), each frame a small integer id, and the tracebacks
 * form a trie over frame ids, the last node holding one entry per total frame count. Cost per traced
 * allocation: per site one Map lookup by V8's file string (the same string object each time, its hash
 * cached) and one by line, per kept frame one child lookup by id; nothing is allocated once the
 * traceback has been seen. Names are mapped through source maps first when Node has them.
 */
import type { RawFrame } from './snapshot';
import { isOwnFile, mappedFrame, readable, siteFile, UNKNOWN_FRAMES } from './stack';

/** An interned traceback: frames most recent first, and the stack's depth when it was taken. */
export interface TracebackEntry {
  readonly frames: readonly RawFrame[];
  readonly total: number;
}

/** A file as shown: its frame id per line. */
interface ShownFile {
  readonly name: string;
  readonly lines: Map<number, number>;
}

/** A file as V8 names it: pymem's own or not, and how it is shown without source maps (once a frame of it is kept). */
interface SourceFile {
  readonly file: string;
  readonly own: boolean;
  shown: ShownFile | null;
}

/** A trie node: the tracebacks that continue with each frame id, and those that end here, by total. */
interface Node {
  readonly next: Map<number, Node>;
  readonly ends: Map<number, TracebackEntry>;
}

const newNode = (): Node => ({ next: new Map(), ends: new Map() });

export class Tracebacks {
  private root = newNode();
  private sources = new Map<string, SourceFile>();
  private shownFiles = new Map<string, ShownFile>();
  /** Frame tuples by id. */
  private frames: RawFrame[] = [];
  /** The path of frame ids of the traceback being interned (at most nframe long). */
  private path: number[] = [];
  private unknown: TracebackEntry | undefined;
  /** Every interned traceback, for the memory estimate. */
  readonly entries: TracebackEntry[] = [];

  /** The shown file names, each once (the memory estimate counts them). */
  names(): IterableIterator<string> {
    return this.shownFiles.keys();
  }

  /** Forgets every traceback, frame and file. */
  clear(): void {
    this.root = newNode();
    this.sources = new Map();
    this.shownFiles = new Map();
    this.frames = [];
    this.unknown = undefined;
    this.entries.length = 0;
  }

  /**
   * The interned traceback of `sites` (most recent first, pymem's own left out): at most `limit`
   * frames, and how many of the sites were the caller's. No frame: CPython's ("<unknown>", 0), total 1.
   */
  intern(sites: readonly NodeJS.CallSite[], limit: number): TracebackEntry {
    const mapping = process.sourceMapsEnabled;
    const path = this.path;
    let kept = 0;
    let total = 0;
    let node = this.root;
    for (const site of sites) {
      const source = this.source(siteFile(site));
      if (source.own) continue;
      total++;
      if (kept === limit) continue;
      let id: number;
      if (mapping) {
        const [name, line] = mappedFrame(site);
        id = this.frameId(this.shown(name), line);
      } else {
        id = this.frameId((source.shown ??= this.shown(readable(source.file))), site.getLineNumber() ?? 0);
      }
      path[kept++] = id;
      let child = node.next.get(id);
      if (child === undefined) node.next.set(id, (child = newNode()));
      node = child;
    }
    if (kept === 0) return (this.unknown ??= this.add(UNKNOWN_FRAMES, 1));
    return node.ends.get(total) ?? this.end(node, kept, total);
  }

  private end(node: Node, kept: number, total: number): TracebackEntry {
    const frames: RawFrame[] = [];
    for (let i = 0; i < kept; i++) frames.push(this.frames[this.path[i]]);
    const entry = this.add(Object.freeze(frames), total);
    node.ends.set(total, entry);
    return entry;
  }

  private add(frames: readonly RawFrame[], total: number): TracebackEntry {
    const entry = { frames, total };
    this.entries.push(entry);
    return entry;
  }

  private source(file: string): SourceFile {
    let source = this.sources.get(file);
    if (source === undefined) this.sources.set(file, (source = { file, own: isOwnFile(file), shown: null }));
    return source;
  }

  private shown(name: string): ShownFile {
    let shown = this.shownFiles.get(name);
    if (shown === undefined) this.shownFiles.set(name, (shown = { name, lines: new Map() }));
    return shown;
  }

  private frameId(file: ShownFile, line: number): number {
    let id = file.lines.get(line);
    if (id === undefined) {
      id = this.frames.length;
      this.frames.push(Object.freeze([file.name, line] as const));
      file.lines.set(line, id);
    }
    return id;
  }
}
