/**
 * JS handles: a JS object that owns one reference to a heap object and gives it back when V8 collects
 * the handle (FinalizationRegistry), or at once with release(). A pointer is a number, which V8 cannot
 * see as a reference; a handle is how a JS data structure can hold a heap object the way it holds any
 * other value, and let V8's collector decide when it is done with it.
 *
 * When V8 runs finalizers is up to V8: maybe long after the handle became unreachable, maybe never
 * (at exit). Use release() (or decref() without handles) where the memory must come back at a known
 * point; use handles where ownership is spread through JS structures and a later release is fine.
 */
import { objectError } from '../errors';

/** The owner of handles' references: drops one when a handle lets go. */
export interface HandleOwner {
  /** Py_DECREF of a reference a handle held; not called once the heap is closed. */
  drop(p: number): void;
  /** Whether the heap is closed (its region gone): a finalizer then has nothing to give back. */
  closed(): boolean;
}

export class ObjectHandle {
  #ptr: number;

  /** @internal made by heap.objects.handle() */
  constructor(
    ptr: number,
    private readonly owner: HandleOwner,
    private readonly registry: FinalizationRegistry<number>,
  ) {
    this.#ptr = ptr;
    registry.register(this, ptr, this);
  }

  /** The object's pointer, valid while the handle holds its reference. */
  get ptr(): number {
    if (this.#ptr === 0) throw objectError('ERR_PYMEM_HANDLE_RELEASED', 'handle.ptr: the handle was released; its object may be gone');
    return this.#ptr;
  }

  /** Whether release() was called. */
  get released(): boolean {
    return this.#ptr === 0;
  }

  /** Gives the reference back now (Py_DECREF); the finalizer will not. Releasing twice does nothing. */
  release(): void {
    const p = this.#ptr;
    if (p === 0) return;
    this.#ptr = 0;
    this.registry.unregister(this);
    if (!this.owner.closed()) this.owner.drop(p);
  }
}

/** The registry whose finalizer drops the reference of a handle V8 collected. */
export function handleRegistry(owner: HandleOwner): FinalizationRegistry<number> {
  return new FinalizationRegistry<number>((p) => {
    if (!owner.closed()) owner.drop(p);
  });
}
