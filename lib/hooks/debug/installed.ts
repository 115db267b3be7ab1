/**
 * The debug hooks one heap has installed (PyMem_SetupDebugHooks), remembered by the malloc function
 * of each set with the allocator it wraps: what allocatorName() needs to answer 'pymalloc_debug' or
 * 'malloc_debug' (_PyMem_GetCurrentAllocatorName compares the domains' structs in the same way), and
 * what keeps setup() from wrapping a domain twice.
 */
import { DOMAIN_NAMES, type Allocator, type Domain, type DomainName } from '../../domains/domain';
import type { MemoryCorruptionError } from '../../errors';
import { debugAllocator, type DebugContext } from './hooks';
import { abortWith } from './report';

export class InstalledDebugHooks {
  /** Each set of hooks installed, by its malloc function, with what it wraps. */
  private readonly sets = new Map<Allocator['malloc'], { hooks: Allocator; inner: Allocator }>();
  private readonly context: DebugContext;

  constructor(
    private readonly domains: Record<DomainName, Domain>,
    u8: Uint8Array,
    dv: DataView,
    /** createHeap's debugAbort: CPython's report and abort() instead of a thrown MemoryCorruptionError. */
    abort: boolean,
    /** The allocation traceback of block p, for the report (tracemalloc's, when it traces the block). */
    traceback: (p: number) => string,
  ) {
    const fault = abort
      ? abortWith
      : (error: MemoryCorruptionError): never => {
          throw error;
        };
    this.context = { u8, dv, fault, traceback };
  }

  /** Wraps each domain's allocator in debug hooks, leaving a domain that already holds this heap's alone. */
  setup(): void {
    for (const name of DOMAIN_NAMES) {
      const domain = this.domains[name];
      const inner = domain.allocator;
      if (this.wrapped(inner) !== undefined) continue;
      const hooks = debugAllocator(inner, name, this.context);
      this.sets.set(hooks.malloc, { hooks, inner });
      domain.allocator = hooks;
    }
  }

  /** What the debug hooks `a` wrap, when `a` is exactly one of this heap's sets of hooks; else undefined. */
  wrapped(a: Allocator): Allocator | undefined {
    const entry = this.sets.get(a.malloc);
    if (entry === undefined) return undefined;
    const { hooks } = entry;
    return hooks.calloc === a.calloc && hooks.realloc === a.realloc && hooks.free === a.free ? entry.inner : undefined;
  }
}
