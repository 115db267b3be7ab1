/**
 * tracemalloc's Python classes (Lib/tracemalloc.py, CPython 3.12), with camelCase names: Frame,
 * Traceback, Trace, Statistic, StatisticDiff, Snapshot, Filter, DomainFilter. Each toString() is
 * CPython's str() and util.inspect shows its repr(). Grouping, sorting, diffing and filtering follow
 * CPython's code step by step, so that statistics come out in the same order.
 *
 * A raw trace is what CPython's _tracemalloc._get_traces() returns for one block:
 *   [domain, size, frames, totalNframe]   frames: [filename, lineno][], most recent call first
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { invalidArgType } from '../../errors';
import { formatSize, pyRepr, signed } from './format';

export type RawFrame = readonly [filename: string, lineno: number];
export type RawTrace = readonly [domain: number, size: number, frames: readonly RawFrame[], totalNframe: number | null];

const REPR = inspect.custom;

/** Python's tuple comparison of two frames. */
function compareFrames(a: RawFrame, b: RawFrame): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] - b[1];
}

/** Python's tuple comparison of two frame tuples. */
function compareFrameLists(a: readonly RawFrame[], b: readonly RawFrame[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareFrames(a[i], b[i]);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/** A key that is equal for equal frame lists, for grouping in a Map (Python hashes the tuple). */
function framesKey(frames: readonly RawFrame[]): string {
  return JSON.stringify(frames);
}

/** Python's tuple repr: "()", "(x,)", "(x, y)". */
function tupleRepr(items: readonly unknown[]): string {
  const parts = items.map((item) => inspect(item));
  return parts.length === 1 ? `(${parts[0]},)` : `(${parts.join(', ')})`;
}

/**
 * A Python sequence (Traceback is a tuple, Snapshot.traces a list) over raw items, each seen through
 * wrap(): length, indexes (negative from the end; IndexError as a RangeError), slices with step 1
 * (as Array.slice), iteration.
 */
abstract class PySequence<R, T> implements Iterable<T> {
  constructor(
    protected readonly items: readonly R[],
    private readonly kind: 'tuple' | 'list',
  ) {}

  protected abstract wrap(item: R): T;

  get length(): number {
    return this.items.length;
  }

  at(index: number): T {
    const i = index < 0 ? this.items.length + index : index;
    if (!Number.isInteger(i) || i < 0 || i >= this.items.length) throw new RangeError(`${this.kind} index out of range`);
    return this.wrap(this.items[i]);
  }

  slice(start?: number, end?: number): T[] {
    return this.items.slice(start, end).map((item) => this.wrap(item));
  }

  *[Symbol.iterator](): Iterator<T> {
    for (const item of this.items) yield this.wrap(item);
  }
}

/** One frame of a traceback: a file name and a line number. */
export class Frame {
  constructor(readonly raw: RawFrame) {}

  get filename(): string {
    return this.raw[0];
  }

  get lineno(): number {
    return this.raw[1];
  }

  equals(other: Frame): boolean {
    return compareFrames(this.raw, other.raw) === 0;
  }

  toString(): string {
    return `${this.filename}:${this.lineno}`;
  }

  [REPR](): string {
    return `<Frame filename=${pyRepr(this.filename)} lineno=${this.lineno}>`;
  }
}

/** Lines of source files, read once each, for Traceback.format() (Python's linecache). */
const sourceLines = new Map<string, string[] | null>();

function sourceLine(filename: string, lineno: number): string {
  let lines = sourceLines.get(filename);
  if (lines === undefined) {
    try {
      lines = readFileSync(filename, 'utf8').split('\n');
    } catch {
      lines = null;
    }
    sourceLines.set(filename, lines);
  }
  return lines?.[lineno - 1]?.trim() ?? '';
}

/**
 * A sequence of Frames, oldest first (CPython reverses the most-recent-first frames it is given, since
 * 3.7). totalNframe is how many frames the stack had before it was cut to the traceback limit.
 */
export class Traceback extends PySequence<RawFrame, Frame> {
  /** @internal the grouping key */
  readonly key: string;

  constructor(
    frames: readonly RawFrame[],
    readonly totalNframe: number | null = null,
  ) {
    // Stored oldest first: traceback[0] is the oldest frame, traceback[-1] the most recent.
    super([...frames].reverse(), 'tuple');
    this.key = framesKey(this.items);
  }

  protected override wrap(frame: RawFrame): Frame {
    return new Frame(frame);
  }

  includes(frame: Frame): boolean {
    return this.items.some((f) => compareFrames(f, frame.raw) === 0);
  }

  equals(other: Traceback): boolean {
    return this.key === other.key;
  }

  /** Python's ordering of tracebacks: their oldest-first frame tuples. */
  compare(other: Traceback): number {
    return compareFrameLists(this.items, other.items);
  }

  /** str(): the oldest frame. */
  override toString(): string {
    return String(this.at(0));
  }

  [REPR](): string {
    const frames = tupleRepr([...this]);
    return this.totalNframe === null ? `<Traceback ${frames}>` : `<Traceback ${frames} total_nframe=${this.totalNframe}>`;
  }

  /**
   * Traceback.format(limit, most_recent_first): '  File "f", line n' for each frame, each followed by
   * its source line, stripped, when the file can be read. limit > 0 keeps the `limit` most recent
   * frames, limit < 0 drops the |limit| most recent.
   */
  format(limit: number | null = null, mostRecentFirst = false): string[] {
    let frames = limit === null ? [...this.items] : limit > 0 ? this.items.slice(-limit) : this.items.slice(0, limit);
    if (mostRecentFirst) frames = frames.reverse();
    const lines: string[] = [];
    for (const [filename, lineno] of frames) {
      lines.push(`  File "${filename}", line ${lineno}`);
      const line = sourceLine(filename, lineno);
      if (line) lines.push(`    ${line}`);
    }
    return lines;
  }
}

/** One traced block: its domain, size and traceback. */
export class Trace {
  constructor(readonly raw: RawTrace) {}

  get domain(): number {
    return this.raw[0];
  }

  get size(): number {
    return this.raw[1];
  }

  get traceback(): Traceback {
    return new Traceback(this.raw[2], this.raw[3]);
  }

  equals(other: Trace): boolean {
    return this.domain === other.domain && this.size === other.size && this.raw[3] === other.raw[3] && framesKey(this.raw[2]) === framesKey(other.raw[2]);
  }

  toString(): string {
    return `${this.traceback}: ${formatSize(this.size, false)}`;
  }

  [REPR](): string {
    return `<Trace domain=${this.domain} size=${formatSize(this.size, false)}, traceback=${inspect(this.traceback)}>`;
  }
}

/** Snapshot.traces: the raw traces seen as a sequence of Trace. */
export class Traces extends PySequence<RawTrace, Trace> {
  /** @internal */
  constructor(raw: readonly RawTrace[]) {
    super(raw, 'list');
  }

  /** The raw traces, as _get_traces() returns them. */
  get raw(): readonly RawTrace[] {
    return this.items;
  }

  protected override wrap(trace: RawTrace): Trace {
    return new Trace(trace);
  }

  includes(trace: Trace): boolean {
    return this.items.some((t) => new Trace(t).equals(trace));
  }

  override toString(): string {
    return `<Traces len=${this.length}>`;
  }

  [REPR](): string {
    return this.toString();
  }
}

/** Memory allocated at one traceback (or line, or file): total size and number of blocks. */
export class Statistic {
  constructor(
    readonly traceback: Traceback,
    public size: number,
    public count: number,
  ) {}

  toString(): string {
    const text = `${this.traceback}: size=${formatSize(this.size, false)}, count=${this.count}`;
    return this.count ? `${text}, average=${formatSize(this.size / this.count, false)}` : text;
  }

  [REPR](): string {
    return `<Statistic traceback=${inspect(this.traceback)} size=${this.size} count=${this.count}>`;
  }

  /** Python's sort key (size, count, traceback). */
  static compare(a: Statistic, b: Statistic): number {
    return a.size - b.size || a.count - b.count || a.traceback.compare(b.traceback);
  }
}

/** A Statistic between two snapshots: the new figures and their change. */
export class StatisticDiff {
  constructor(
    readonly traceback: Traceback,
    readonly size: number,
    readonly sizeDiff: number,
    readonly count: number,
    readonly countDiff: number,
  ) {}

  toString(): string {
    const text = `${this.traceback}: size=${formatSize(this.size, false)} (${formatSize(this.sizeDiff, true)}), count=${this.count} (${signed(this.countDiff)})`;
    return this.count ? `${text}, average=${formatSize(this.size / this.count, false)}` : text;
  }

  [REPR](): string {
    return `<StatisticDiff traceback=${inspect(this.traceback)} size=${this.size} (${signed(this.sizeDiff)}) count=${this.count} (${signed(this.countDiff)})>`;
  }

  /** Python's sort key (|size_diff|, size, |count_diff|, count, traceback). */
  static compare(a: StatisticDiff, b: StatisticDiff): number {
    return (
      Math.abs(a.sizeDiff) - Math.abs(b.sizeDiff) ||
      a.size - b.size ||
      Math.abs(a.countDiff) - Math.abs(b.countDiff) ||
      a.count - b.count ||
      a.traceback.compare(b.traceback)
    );
  }
}

/** Python's fnmatch.fnmatchcase: *, ?, [seq] and [!seq], matching the whole name. */
function fnmatch(name: string, pattern: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '!') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j++;
      if (j >= pattern.length) {
        re += '\\[';
      } else {
        let set = pattern.slice(i + 1, j).replace(/\\/g, '\\\\');
        if (set.startsWith('!')) set = `^${set.slice(1)}`;
        else if (set.startsWith('^')) set = `\\${set}`;
        re += `[${set}]`;
        i = j;
      }
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^(?:${re})$`, 's').test(name);
}

/** tracemalloc._normalize_filename: os.path.normcase (nothing on POSIX), and '.pyc' read as '.py'. */
function normalizeFilename(filename: string): string {
  return filename.endsWith('.pyc') ? filename.slice(0, -1) : filename;
}

/** What Snapshot.filterTraces() takes. */
export abstract class BaseFilter {
  constructor(readonly inclusive: boolean) {}

  /** @internal whether a raw trace passes: for an exclusive filter, whether it does not match. */
  abstract match(trace: RawTrace): boolean;
}

/** Filters traces by the file name (fnmatch pattern) and line of their frames, and their domain. */
export class Filter extends BaseFilter {
  readonly filenamePattern: string;

  constructor(
    inclusive: boolean,
    filenamePattern: string,
    readonly lineno: number | null = null,
    readonly allFrames = false,
    readonly domain: number | null = null,
  ) {
    super(inclusive);
    if (typeof filenamePattern !== 'string') throw invalidArgType('filenamePattern', 'string', filenamePattern);
    this.filenamePattern = normalizeFilename(filenamePattern);
  }

  private matchFrameImpl(filename: string, lineno: number): boolean {
    if (!fnmatch(normalizeFilename(filename), this.filenamePattern)) return false;
    return this.lineno === null || lineno === this.lineno;
  }

  /** @internal */
  matchFrame(filename: string, lineno: number): boolean {
    return this.matchFrameImpl(filename, lineno) !== !this.inclusive;
  }

  /** @internal frames most recent first, as in a raw trace */
  matchTraceback(frames: readonly RawFrame[]): boolean {
    if (this.allFrames) return frames.some(([f, l]) => this.matchFrameImpl(f, l)) ? this.inclusive : !this.inclusive;
    return this.matchFrame(frames[0][0], frames[0][1]);
  }

  match(trace: RawTrace): boolean {
    const res = this.matchTraceback(trace[2]);
    if (this.domain === null) return res;
    return this.inclusive ? res && trace[0] === this.domain : res || trace[0] !== this.domain;
  }
}

/** Filters traces by domain only. */
export class DomainFilter extends BaseFilter {
  constructor(
    inclusive: boolean,
    readonly domain: number,
  ) {
    super(inclusive);
  }

  match(trace: RawTrace): boolean {
    return (trace[0] === this.domain) !== !this.inclusive;
  }
}

export type KeyType = 'traceback' | 'filename' | 'lineno';

/** CPython raises ValueError; here a TypeError with Node's code for a bad argument value. */
function valueError(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: 'ERR_INVALID_ARG_VALUE' });
}

/** The snapshot file's tag (Snapshot.dump writes JSON where CPython pickles). */
const FILE_FORMAT = 'pymem-tracemalloc-snapshot';
const FILE_VERSION = 1;

/** The traces of every traced block at one moment, and the traceback limit they were taken with. */
export class Snapshot {
  readonly traces: Traces;

  constructor(
    traces: readonly RawTrace[],
    readonly tracebackLimit: number,
  ) {
    this.traces = new Traces(traces);
  }

  /**
   * Writes the snapshot to `path` as JSON (CPython pickles it): its traces, traceback limit, and any
   * other property set on it, as pickle keeps an instance's attributes.
   */
  dump(path: string): void {
    const { traces, tracebackLimit, ...attributes } = this;
    writeFileSync(path, `${JSON.stringify({ format: FILE_FORMAT, version: FILE_VERSION, tracebackLimit, traces: traces.raw, attributes })}\n`);
  }

  /** Reads a snapshot written by dump(). A file that is not one is ERR_PYMEM_SNAPSHOT_FORMAT. */
  static load(path: string): Snapshot {
    let data: { format?: unknown; version?: unknown; tracebackLimit: number; traces: RawTrace[]; attributes?: object };
    try {
      data = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== undefined) throw e;
      data = {} as typeof data;
    }
    if (data?.format !== FILE_FORMAT || data.version !== FILE_VERSION || !Array.isArray(data.traces)) {
      throw Object.assign(new Error(`${path} is not a tracemalloc snapshot written by Snapshot.dump() (format ${FILE_FORMAT} ${FILE_VERSION})`), { code: 'ERR_PYMEM_SNAPSHOT_FORMAT' });
    }
    return Object.assign(new Snapshot(data.traces, data.tracebackLimit), data.attributes);
  }

  /** A new snapshot of the traces that pass the filters (all of them when there are none). */
  filterTraces(filters: Iterable<BaseFilter>): Snapshot {
    if (filters === null || typeof filters !== 'object' || typeof filters[Symbol.iterator] !== 'function') {
      // CPython's TypeError, with JavaScript's name for the type.
      throw Object.assign(new TypeError(`filters must be a list of filters, not ${filters === null ? 'null' : typeof filters}`), { code: 'ERR_INVALID_ARG_TYPE' });
    }
    const list = [...filters];
    if (list.length === 0) return new Snapshot([...this.traces.raw], this.tracebackLimit);
    const include = list.filter((f) => f.inclusive);
    const exclude = list.filter((f) => !f.inclusive);
    const kept = this.traces.raw.filter((trace) => (include.length === 0 || include.some((f) => f.match(trace))) && exclude.every((f) => f.match(trace)));
    return new Snapshot(kept, this.tracebackLimit);
  }

  private groupBy(keyType: KeyType, cumulative: boolean): Map<string, Statistic> {
    // CPython's ValueError messages, word for word (its "cannot by used" included).
    if (keyType !== 'traceback' && keyType !== 'filename' && keyType !== 'lineno') {
      throw valueError(`unknown key_type: ${typeof keyType === 'string' ? pyRepr(keyType) : inspect(keyType)}`);
    }
    if (cumulative && keyType === 'traceback') throw valueError(`cumulative mode cannot by used with key type ${pyRepr(keyType)}`);
    const stats = new Map<string, Statistic>();
    const add = (traceback: Traceback, size: number) => {
      const stat = stats.get(traceback.key);
      if (stat === undefined) stats.set(traceback.key, new Statistic(traceback, size, 1));
      else {
        stat.size += size;
        stat.count += 1;
      }
    };
    const tracebacks = new Map<string, Traceback>();
    const grouped = (key: string, frames: () => RawFrame[]): Traceback => {
      let traceback = tracebacks.get(key);
      if (traceback === undefined) tracebacks.set(key, (traceback = new Traceback(frames())));
      return traceback;
    };
    for (const [, size, frames] of this.traces.raw) {
      if (!cumulative) {
        const key = framesKey(frames);
        add(grouped(key, () => (keyType === 'traceback' ? [...frames] : keyType === 'lineno' ? frames.slice(0, 1) : [[frames[0][0], 0]])), size);
      } else {
        for (const frame of frames) {
          add(grouped(framesKey([frame]), () => (keyType === 'lineno' ? [frame] : [[frame[0], 0]])), size);
        }
      }
    }
    return stats;
  }

  /** Statistics grouped by 'traceback', 'filename' or 'lineno', largest first (CPython's order). */
  statistics(keyType: KeyType, cumulative = false): Statistic[] {
    return [...this.groupBy(keyType, cumulative).values()].sort((a, b) => Statistic.compare(b, a));
  }

  /** The differences from `old`, grouped as statistics(), largest change first. */
  compareTo(old: Snapshot, keyType: KeyType, cumulative = false): StatisticDiff[] {
    const fresh = this.groupBy(keyType, cumulative);
    const previous = old.groupBy(keyType, cumulative);
    const diffs: StatisticDiff[] = [];
    for (const [key, stat] of fresh) {
      const before = previous.get(key);
      previous.delete(key);
      diffs.push(new StatisticDiff(stat.traceback, stat.size, stat.size - (before?.size ?? 0), stat.count, stat.count - (before?.count ?? 0)));
    }
    for (const stat of previous.values()) diffs.push(new StatisticDiff(stat.traceback, 0, -stat.size, 0, -stat.count));
    return diffs.sort((a, b) => StatisticDiff.compare(b, a));
  }
}
