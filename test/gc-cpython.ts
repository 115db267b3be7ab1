// heap.gc against CPython 3.12's gc module itself (test/fixtures/gc-cpython.json, made by
// scripts/fixtures/gc.py): which containers are tracked when made and after a young and a full
// collection, what collect() returns for each named cycle, the callbacks' phases and info, the
// DEBUG_STATS and DEBUG_COLLECTABLE lines, the error texts and the defaults. Each case here is built
// the way the script builds the case of the same name.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BACKENDS, heapOn } from './helpers/backends';
import { captureStderr } from './helpers/stderr';
import { cycles } from './helpers/cycles';
import type { GCInfo, Objects } from '../lib/index';

const FIXTURE = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'gc-cpython.json'), 'utf8')) as {
  python: string;
  tracking: Record<string, [boolean, boolean, boolean]>;
  cycles: Record<string, number>;
  callbacks: [string, [string, number][]][];
  debugLines: string[];
  errors: Record<string, string>;
  defaults: {
    threshold: number[];
    enabled: boolean;
    debug: number;
    flags: Record<string, number>;
    statsKeys: string[];
    countAfterFreeze: number[];
  };
};

/**
 * The tracking cases: each returns a new reference to the container, `tmp` registering the other
 * references it made so that they are dropped once it is built (as Python drops its temporaries).
 */
type Make = (o: Objects, tmp: (p: number) => number) => number;
const TRACKING: Record<string, Make> = {
  list: (o) => o.list(),
  'tuple of ints': (o, tmp) => o.tuple([tmp(o.int(1)), tmp(o.int(2))]),
  'tuple of a list': (o, tmp) => o.tuple([tmp(o.int(1)), tmp(o.list())]),
  'tuple of a tuple of ints': (o, tmp) => o.tuple([tmp(o.tuple([tmp(o.int(1)), tmp(o.int(2))]))]),
  'tuple of str and None': (o, tmp) => o.tuple([tmp(o.str('a')), o.None]),
  'empty dict': (o) => o.dict(),
  'dict of ints': (o, tmp) =>
    o.dict([
      [tmp(o.str('a')), tmp(o.int(1))],
      [tmp(o.str('b')), tmp(o.int(2))],
    ]),
  'dict of a list': (o, tmp) => o.dict([[tmp(o.str('a')), tmp(o.list())]]),
  'dict of the empty tuple': (o, tmp) => o.dict([[tmp(o.str('a')), tmp(o.tuple([]))]]),
  'dict of a tuple of ints': (o, tmp) => o.dict([[tmp(o.str('a')), tmp(o.tuple([tmp(o.int(1)), tmp(o.int(2))]))]]),
  'dict of a dict': (o, tmp) => o.dict([[tmp(o.int(1)), tmp(o.dict())]]),
  'dict keyed by a tuple of ints': (o, tmp) => o.dict([[tmp(o.tuple([tmp(o.int(1)), tmp(o.int(2))])), tmp(o.int(1))]]),
  'dict whose list value was replaced by an int': (o, tmp) => {
    const d = o.dict();
    const a = tmp(o.str('a'));
    o.dictSet(d, a, tmp(o.int(1)));
    o.dictSet(d, a, tmp(o.list()));
    o.dictSet(d, a, tmp(o.int(2)));
    return d;
  },
  'dict whose list entry was deleted': (o, tmp) => {
    const a = tmp(o.str('a'));
    const d = o.dict([
      [a, tmp(o.list())],
      [tmp(o.str('b')), tmp(o.int(1))],
    ]);
    o.dictDel(d, a);
    return d;
  },
};

function made(o: Objects, make: Make): number {
  const temporaries: number[] = [];
  const p = make(o, (q) => {
    temporaries.push(q);
    return q;
  });
  for (const q of temporaries) o.decref(q);
  return p;
}

t.test('the fixture is CPython 3.12 and has every case this test builds', async (t) => {
  t.match(FIXTURE.python, /^3\.12\./);
  t.same(Object.keys(FIXTURE.tracking), Object.keys(TRACKING));
  const heap = heapOn('fallback');
  t.same(Object.keys(FIXTURE.cycles), [...Object.keys(cycles(heap, 0)), 'live list survives']);
  heap.close();
});

for (const backend of BACKENDS) {
  t.test(`${backend}: heap.gc answers as CPython 3.12's gc module`, async (t) => {
    t.test('which containers are tracked, and which collections stop tracking them', async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      const gc = heap.gc;
      const start = heap.allocatedBlocks();
      for (const [name, make] of Object.entries(TRACKING)) {
        gc.collect();
        const p = made(o, make);
        const states = [gc.isTracked(p)];
        gc.collect(0);
        states.push(gc.isTracked(p));
        gc.collect(2);
        states.push(gc.isTracked(p));
        t.same(states, FIXTURE.tracking[name], name);
        o.decref(p);
      }
      gc.collect();
      heap.check();
      t.equal(heap.allocatedBlocks(), start, 'every case freed');
    });

    t.test('what collect() returns for each cycle', async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      const gc = heap.gc;
      const live = o.list();
      for (const [name, make] of Object.entries(cycles(heap, live))) {
        gc.collect();
        make();
        t.equal(gc.collect(), FIXTURE.cycles[name], name);
      }
      t.equal(o.listLen(live), FIXTURE.cycles['live list survives'], 'the live list holds what it held in CPython');
      heap.check();
    });

    t.test("the callbacks' phases and info, in CPython's order and with its keys", async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      const gc = heap.gc;
      const seen: [string, [string, number][]][] = [];
      const cb = (phase: string, info: GCInfo): void => {
        seen.push([phase, Object.entries(info)]);
      };
      gc.collect();
      gc.callbacks.push(cb);
      gc.collect(0);
      const l = o.list();
      o.listAppend(l, l);
      o.decref(l);
      gc.collect(2);
      gc.callbacks.splice(gc.callbacks.indexOf(cb), 1);
      t.same(seen, FIXTURE.callbacks);
    });

    t.test('DEBUG_STATS | DEBUG_COLLECTABLE print the lines CPython prints, numbers and address aside', async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      const gc = heap.gc;
      gc.collect();
      const l = o.list();
      o.listAppend(l, l);
      o.decref(l);
      gc.setDebug(FIXTURE.defaults.flags.DEBUG_STATS | FIXTURE.defaults.flags.DEBUG_COLLECTABLE);
      const lines = captureStderr(() => gc.collect(1)).split('\n');
      gc.setDebug(0);
      t.equal(lines.pop(), '', 'every line ends with a newline');
      t.equal(lines.length, FIXTURE.debugLines.length);
      FIXTURE.debugLines.forEach((line, i) => {
        const pattern = line
          .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
          .replace(/0x[0-9a-f]+/g, '0x[0-9a-f]+')
          .replace(/\d+/g, '\\d+');
        t.match(lines[i], new RegExp(`^${pattern}$`), line);
      });
      t.equal(lines[3], `gc: collectable <list 0x${l.toString(16)}>`, 'the address is the object’s offset');
    });

    t.test("CPython's error texts, defaults and flags", async (t) => {
      const heap = heapOn(backend);
      const gc = heap.gc;
      const calls: Record<string, () => unknown> = {
        'collect(3)': () => gc.collect(3),
        'collect(-1)': () => gc.collect(-1),
        'get_objects(3)': () => gc.getObjects(3),
        'get_objects(-2)': () => gc.getObjects(-2),
      };
      t.same(Object.keys(calls), Object.keys(FIXTURE.errors));
      for (const [name, call] of Object.entries(calls)) {
        const text = FIXTURE.errors[name].replace(/[()]/g, '\\$&');
        t.throws(call, { code: 'ERR_OUT_OF_RANGE', message: new RegExp(`\\(${text}\\)`) }, name);
      }
      const { defaults } = FIXTURE;
      t.same(gc.getThreshold(), defaults.threshold);
      t.equal(gc.isEnabled(), defaults.enabled);
      t.equal(gc.getDebug(), defaults.debug);
      t.equal(gc.DEBUG_STATS, defaults.flags.DEBUG_STATS);
      t.equal(gc.DEBUG_COLLECTABLE, defaults.flags.DEBUG_COLLECTABLE);
      t.equal(gc.DEBUG_UNCOLLECTABLE, defaults.flags.DEBUG_UNCOLLECTABLE);
      for (const refused of ['DEBUG_SAVEALL', 'DEBUG_LEAK']) {
        t.throws(() => gc.setDebug(defaults.flags[refused]), { code: 'ERR_OUT_OF_RANGE' }, `${refused}: there is no gc.garbage to save into`);
      }
      t.same(Object.keys(gc.getStats()[0]), defaults.statsKeys);
      heap.objects.list();
      gc.collect();
      gc.freeze();
      t.same(gc.getCount(), defaults.countAfterFreeze);
    });
  });
}
