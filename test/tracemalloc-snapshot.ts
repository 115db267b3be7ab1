// tracemalloc's classes against CPython 3.12's answers (test/fixtures/tracemalloc-cpython.json, made by
// scripts/fixtures/tracemalloc-snapshot.py): test_tracemalloc.py's TestSnapshot, TestFilters and
// TestTraceback cases, with their exact strings.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { Snapshot, Filter, DomainFilter, Traceback, Frame, Trace, Statistic, type RawTrace, type BaseFilter, type KeyType } from '../lib/hooks/tracemalloc/index';
import { formatSize, pyFixed } from '../lib/hooks/tracemalloc/format';

interface Texts {
  str: string[];
  repr: string[];
}
const CPYTHON = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'tracemalloc-cpython.json'), 'utf8')) as {
  raw1: RawTrace[];
  raw2: RawTrace[];
  statistics: Record<string, [Texts, Texts]>;
  compare: Record<string, Texts>;
  filters: { filters: unknown[][]; traces: RawTrace[] }[];
  match: [boolean, string, number | null, string, number, boolean, string][];
  format: [number | null, boolean, string[]][];
  sizes: [number, string, string][];
  reprs: Record<string, string>;
  ties: { raw: RawTrace[]; statistics: Texts; compare: Texts };
};
const texts = (items: object[]): Texts => ({ str: items.map(String), repr: items.map((x) => inspect(x)) });
const snapshots = () => [new Snapshot(CPYTHON.raw1, 2), new Snapshot(CPYTHON.raw2, 2)] as const;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pymem-snapshot-'));
t.teardown(() => fs.rmSync(scratch, { recursive: true, force: true }));

t.test('statistics by traceback, file and line, cumulative or not: the same list in the same order', async (t) => {
  const [snap1, snap2] = snapshots();
  for (const [name, [one, two]] of Object.entries(CPYTHON.statistics)) {
    const [key, cumulative] = name.split(' ') as [KeyType, string?];
    t.same(texts(snap1.statistics(key, cumulative !== undefined)), one, `${name}: snapshot 1`);
    t.same(texts(snap2.statistics(key, cumulative !== undefined)), two, `${name}: snapshot 2`);
    t.same(texts(snap2.compareTo(snap1, key, cumulative !== undefined)), CPYTHON.compare[name], `${name}: compareTo`);
  }
  t.throws(() => snap1.statistics('function' as KeyType), { code: 'ERR_INVALID_ARG_VALUE', message: "unknown key_type: 'function'" });
  t.throws(() => snap1.statistics(3 as unknown as KeyType), { message: 'unknown key_type: 3' });
  t.throws(() => snap1.statistics('traceback', true), { code: 'ERR_INVALID_ARG_VALUE', message: "cumulative mode cannot by used with key type 'traceback'" });
});

t.test('ties: equal sizes and counts ordered by traceback, a prefix first', async (t) => {
  const ties = new Snapshot(CPYTHON.ties.raw, 2);
  t.same(texts(ties.statistics('traceback')), CPYTHON.ties.statistics);
  t.same(texts(ties.compareTo(ties, 'traceback')), CPYTHON.ties.compare);
});

t.test('filterTraces: inclusive, exclusive, all frames, domains', async (t) => {
  const [snap1] = snapshots();
  const make = ([kind, ...args]: unknown[]): BaseFilter =>
    kind === 'F' ? new Filter(...(args as ConstructorParameters<typeof Filter>)) : new DomainFilter(...(args as ConstructorParameters<typeof DomainFilter>));
  for (const { filters, traces } of CPYTHON.filters) {
    const filtered = snap1.filterTraces(filters.map(make));
    t.same(filtered.traces.raw, traces, JSON.stringify(filters));
    t.equal(filtered.tracebackLimit, 2);
  }
  t.not(snap1.filterTraces([]).traces.raw, snap1.traces.raw, 'no filters: a copy');
  t.throws(() => snap1.filterTraces(3 as unknown as BaseFilter[]), { code: 'ERR_INVALID_ARG_TYPE', message: 'filters must be a list of filters, not number' });
  t.throws(() => snap1.filterTraces(null as unknown as BaseFilter[]), { message: 'filters must be a list of filters, not null' });
  t.same(snap1.filterTraces(new Set([new DomainFilter(true, 2)])).traces.length, 1, 'any iterable of filters');
});

t.test('Filter: attributes, and frame matching with fnmatch rules and .pyc', async (t) => {
  const f = new Filter(true, 'abc.pyc', 3, true, 5);
  t.same([f.inclusive, f.filenamePattern, f.lineno, f.allFrames, f.domain], [true, 'abc.py', 3, true, 5]);
  const d = new Filter(false, 'x.py');
  t.same([d.lineno, d.allFrames, d.domain], [null, false, null]);
  t.throws(() => new Filter(true, 3 as unknown as string), { code: 'ERR_INVALID_ARG_TYPE' });
  let wrong = 0;
  for (const [inclusive, pattern, lineno, name, line, expected, normalized] of CPYTHON.match) {
    const filter = new Filter(inclusive, pattern, lineno);
    if (filter.matchFrame(name, line) !== expected || filter.filenamePattern !== normalized) {
      wrong++;
      t.fail(`Filter(${inclusive}, ${pattern}, ${lineno}) on ${name}:${line}: CPython says ${expected}`);
    }
  }
  t.equal(wrong, 0, `${CPYTHON.match.length} cases as CPython decides them`);
});

t.test('Traceback.format with limits and order; reprs and strs', async (t) => {
  const tb = new Traceback([['a.py', 2], ['b.py', 4], ['c.py', 6]], 7);
  for (const [limit, mostRecentFirst, lines] of CPYTHON.format) t.same(tb.format(limit, mostRecentFirst), lines, `format(${limit}, ${mostRecentFirst})`);
  const [snap1] = snapshots();
  const r = CPYTHON.reprs;
  t.equal(inspect(tb.at(0)), r.frame);
  t.equal(inspect(new Frame(["it's.py", 1])), r.frame_quote);
  t.equal(inspect(tb), r.traceback);
  t.equal(inspect(new Traceback([])), r.traceback_empty);
  t.equal(inspect(new Traceback([], 0)), r.traceback_empty_total);
  t.equal(inspect(new Traceback([['a.py', 1]])), r.traceback_one);
  t.equal(inspect(snap1.traces.at(0)), r.trace);
  t.equal(String(snap1.traces.at(0)), r.trace_str);
  t.equal(inspect(snap1.traces), r.traces);
  t.equal(String(snap1.traces), r.traces);
  t.equal(String(tb), r.traceback_str);
  t.equal(String(new Statistic(new Traceback([['a.py', 1]]), 0, 0)), r.statistic_no_count, 'no average without blocks');
  t.equal(inspect(new Frame(['a\\b\n\t\r\x01\'".py', 1])), r.frame_escapes, 'repr escapes as Python does');
});

t.test('source lines: a frame in a readable file shows its line, stripped', async (t) => {
  const file = path.join(scratch, 'src.js');
  fs.writeFileSync(file, 'first\n    const block = heap.obj.malloc(64);   \n');
  t.same(new Traceback([[file, 2], [file, 9]]).format(), [`  File "${file}", line 9`, `  File "${file}", line 2`, '    const block = heap.obj.malloc(64);']);
});

t.test('sequences: length, indexes, slices, membership, equality, iteration', async (t) => {
  const [snap1] = snapshots();
  const traces = snap1.traces;
  t.equal(traces.length, 6);
  t.same(traces.slice(0, 2).map(String), [String(traces.at(0)), String(traces.at(1))], 'test_slices');
  t.equal(String(traces.at(-1)), '<unknown>:0: 7 B');
  t.throws(() => traces.at(6), RangeError);
  t.ok(traces.includes(new Trace([3, 7, [['<unknown>', 0]], 1])));
  t.notOk(traces.includes(new Trace([3, 7, [['<unknown>', 0]], 2])));
  t.same([...traces].map((tr) => tr.domain), [0, 0, 0, 1, 2, 3]);
  const tb = traces.at(0).traceback;
  t.same([tb.length, tb.totalNframe, String(tb.at(0)), String(tb.at(-1))], [2, 3, 'b.py:4', 'a.py:2'], 'oldest first');
  t.same(tb.slice(0, 2).map(String), ['b.py:4', 'a.py:2']);
  t.same([...tb].map((f) => [f.filename, f.lineno]), [['b.py', 4], ['a.py', 2]]);
  t.ok(tb.includes(new Frame(['a.py', 2])) && !tb.includes(new Frame(['a.py', 3])));
  t.ok(tb.equals(new Traceback([['a.py', 2], ['b.py', 4]])) && new Frame(['a.py', 2]).equals(tb.at(1)));
  t.throws(() => tb.at(2), { message: 'tuple index out of range' });
});

t.test('dump and load: the same traces, limit and attributes; a file that is not a snapshot', async (t) => {
  const [, snap2] = snapshots();
  const file = path.join(scratch, 'snap.json');
  Object.assign(snap2, { testAttr: 'new' });
  snap2.dump(file);
  const loaded = Snapshot.load(file) as Snapshot & { testAttr?: string };
  t.same(loaded.traces.raw, snap2.traces.raw);
  t.equal(loaded.tracebackLimit, 2);
  t.equal(loaded.testAttr, 'new', 'test_snapshot_save_attr');
  fs.writeFileSync(file, 'not json');
  t.throws(() => Snapshot.load(file), { code: 'ERR_PYMEM_SNAPSHOT_FORMAT', message: /is not a tracemalloc snapshot/ });
  fs.writeFileSync(file, '{"format": "something else"}');
  t.throws(() => Snapshot.load(file), { code: 'ERR_PYMEM_SNAPSHOT_FORMAT' });
  t.throws(() => Snapshot.load(path.join(scratch, 'missing.json')), { code: 'ENOENT' });
});

t.test("_format_size and printf's %.Nf, ties to even", async (t) => {
  for (const [size, plain, sign] of CPYTHON.sizes) {
    t.equal(formatSize(size, false), plain, `${size}`);
    t.equal(formatSize(size, true), sign, `${size}, signed`);
  }
  t.same([pyFixed(0.125, 2), pyFixed(-2.5, 0), pyFixed(1.5, 0), pyFixed(0.1, 1)], ['0.12', '-2', '2', '0.1']);
});
