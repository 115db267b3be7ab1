/**
 * Layer +3 attached to a heap: where its parts are made and joined, once, and what the heap asks of
 * it (its share of check(), close() and memory pressure's actions), each answered from its own bytes.
 *
 *   heap.objects.*  -> Objects (checks arguments) -> Engine -> TYPE_SLOTS[type] -> ObjectMemory.alloc
 *                      -> the OBJ domain's functions (hooks see every object) -> pymalloc
 *   heap.gc.*       -> GarbageCollector -> tp_traverse and, through the Engine, tp_clear
 *   a container's allocation (gcLink) -> ObjectMemory.automatic = this layer -> collect_generations
 *
 * Made on first use of heap.objects or heap.gc, when it writes the static objects into the region: a
 * heap that never uses objects pays nothing for them.
 */
import { closeMethods, methodNames } from '../errors';
import { ObjectMemory, type AutomaticCollection } from './memory';
import { Objects } from './objects';
import { GarbageCollector } from './gc';
import type { Domain } from '../domains/domain';
import type { Tracemalloc } from '../hooks/tracemalloc/tracer';

const OBJECTS_METHODS = methodNames(Objects);
const GC_METHODS = methodNames(GarbageCollector);

export class ObjectLayer implements AutomaticCollection {
  readonly objects: Objects;
  readonly gc: GarbageCollector;

  /**
   * `obj` and `mem` are the domains objects come from (PyObject_Malloc's and PyMem_Malloc's);
   * `releaseMemory` gives empty arenas and segments back, at the end of every full collection.
   */
  constructor(buffer: ArrayBuffer, maxBytes: number, obj: Domain, mem: Domain, tracer: Tracemalloc, private readonly releaseMemory: () => void) {
    const m = new ObjectMemory(buffer, obj, mem, tracer, this);
    this.objects = new Objects(m, maxBytes);
    this.gc = new GarbageCollector(m, this.objects.engine, () => this.afterFullCollection(), (p, fn) => this.objects.checked(p, fn, 'heap.gc'));
  }

  /** AutomaticCollection: a container's allocation found generation 0 past its threshold. */
  collectGenerations(): void {
    this.gc.collectGenerations();
  }

  /** Memory pressure's full collection, unless one is running: whether it ran. */
  collect(): boolean {
    return this.gc.collectIfIdle();
  }

  /** The soft mark's collection: only while automatic collection is enabled. */
  softCollect(): boolean {
    return this.gc.isEnabled() && this.collect();
  }

  /** The freelists cleared, as memory pressure asks. */
  clearFreeLists(): void {
    this.objects.clearFreeLists();
  }

  /** Every method of heap.objects and heap.gc throws ERR_PYMEM_HEAP_CLOSED from now on. */
  close(): void {
    closeMethods(this.objects, OBJECTS_METHODS, 'heap.objects');
    closeMethods(this.gc, GC_METHODS, 'heap.gc');
  }

  /** The end of a full collection: the freelists cleared (_PyGC_ClearAllFreeLists), then memory given back. */
  private afterFullCollection(): void {
    this.objects.clearFreeLists();
    this.releaseMemory();
  }
}
