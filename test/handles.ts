// heap.objects.handle(p) on both backends: a handle owns one reference, gives it back with release()
// or when V8 collects it (an explicit V8 collection, with --expose-gc set at run time as in
// test/binding.ts), and neither way touches a heap that was closed meanwhile.
import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BACKENDS, heapOn } from './helpers/backends';
import type { Heap, ObjectHandle } from '../lib/index';

setFlagsFromString('--expose-gc');
const v8gc = runInNewContext('gc') as () => void;

/** Runs V8's collector and lets finalizers run, until `done()` or `rounds` rounds. */
async function collectUntil(done: () => boolean, rounds = 100): Promise<boolean> {
  for (let i = 0; i < rounds && !done(); i++) {
    v8gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return done();
}

/** Makes n handles, each of a new list holding a str, that nothing keeps: garbage for V8. */
function dropHandles(heap: Heap, n: number, seen?: FinalizationRegistry<number>): void {
  const o = heap.objects;
  for (let i = 0; i < n; i++) {
    const s = o.str(`item ${i}`);
    const h = o.handle(o.list([s]));
    o.decref(s);
    seen?.register(h, i);
  }
}

for (const backend of BACKENDS) {
  t.test(backend, async (t) => {
    t.test('release() gives the reference back, once', async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      const start = heap.allocatedBlocks();
      const l = o.list();
      const h = o.handle(l);
      t.equal(h.ptr, l);
      t.equal(o.refcount(l), 1, 'the handle took the caller’s reference; it made none of its own');
      t.notOk(h.released);
      h.release();
      t.ok(h.released);
      t.notOk(o.isObject(l), 'the list was freed');
      t.throws(() => h.ptr, { code: 'ERR_PYMEM_HANDLE_RELEASED', message: /^handle\.ptr: the handle was released/ });
      h.release();
      o.clearFreeLists();
      t.equal(heap.allocatedBlocks(), start, 'releasing twice does nothing');

      const kept = o.str('kept');
      o.incref(kept);
      const h2 = o.handle(kept);
      h2.release();
      t.equal(o.refcount(kept), 1, 'incref first to keep a reference of your own');
      o.decref(kept);
      t.throws(() => o.handle(8), { code: 'ERR_PYMEM_NOT_AN_OBJECT', message: /^heap\.objects\.handle\(0x8\)/ });
      t.throws(() => o.handle(kept), { code: 'ERR_PYMEM_OBJECT_FREED' });
      heap.check();
    });

    t.test('V8 collecting a handle gives its reference back; handles still reachable keep theirs', async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      const start = heap.allocatedBlocks();
      const kept: ObjectHandle[] = [];
      for (let i = 0; i < 10; i++) kept.push(o.handle(o.list()));
      dropHandles(heap, 1000);
      t.ok(heap.allocatedBlocks() >= start + 2000, 'the lists and strs are live while their handles are');
      // Freed lists park in their freelist: blocks are counted with it emptied.
      const live = (): number => {
        o.clearFreeLists();
        return heap.allocatedBlocks() - start;
      };
      t.ok(await collectUntil(() => live() === 10), 'the 1,000 dropped handles were collected and their objects freed');
      for (const h of kept) t.equal(o.refcount(h.ptr), 1, 'a reachable handle kept its reference');
      heap.check();
      // A released handle's finalizer is gone: collecting it later drops nothing twice.
      for (const h of kept.splice(0)) h.release();
      t.equal(live(), 0);
      await collectUntil(() => false, 5);
      t.equal(live(), 0, 'nothing dropped twice after V8 collected the released handles');
      heap.check();
    });

    t.test('handles outliving their heap: release() and the finalizer have nothing to give back', async (t) => {
      const heap = heapOn(backend);
      const o = heap.objects;
      const h = o.handle(o.list());
      let finalized = 0;
      const seen = new FinalizationRegistry<number>(() => finalized++);
      dropHandles(heap, 100, seen);
      heap.close();
      h.release();
      t.ok(h.released, 'release() after close() does nothing but mark the handle');
      t.ok(await collectUntil(() => finalized === 100), 'V8 collected the 100 handles of the closed heap, their finalizers without an error');
    });
  });
}
