/**
 * Fault injection for out-of-memory paths: CPython's _testcapi.set_nomemory(start, stop) and
 * remove_mem_hooks() (Modules/_testcapi/mem.c, after Victor Stinner's pyfailmalloc). Hooks on the
 * three domains count every allocation call from set_nomemory on (malloc, calloc and realloc; free is
 * not counted) and make calls number start + 1 up to and including number stop return NULL; stop <= 0
 * means no end. Calls the allocators make themselves count too, as in CPython: pymalloc's requests
 * of more than 512 bytes go to the RAW domain, so PyObject_Malloc(1000) is two calls.
 *
 * The hooks are installed once, over whatever the domains hold; calling setNoMemory again only resets
 * the count and the range. removeMemHooks() puts back what the domains held when they were installed.
 */
import type { Allocator, Domain, DomainName } from '../domains/domain';
import { DomainHooks } from '../domains/hooks';

export class NoMemoryHooks {
  private count = 0;
  private start = 0;
  private stop = 0;
  /** @internal the hooks set() installs over the domains, with what they wrap. */
  readonly hooks: DomainHooks;

  constructor(domains: Record<DomainName, Domain>) {
    this.hooks = new DomainHooks(domains);
  }

  /** set_nomemory(start, stop): arguments already checked as C ints. */
  set(start: number, stop: number): void {
    this.count = 0;
    this.start = start;
    this.stop = stop;
    this.hooks.install((inner) => this.hook(inner));
  }

  /** remove_mem_hooks(): harmless when they are not installed. */
  remove(): void {
    this.hooks.uninstall();
  }

  /** fm_nomemory: counts one allocation call; true when it must fail. */
  private noMemory(): boolean {
    const count = ++this.count;
    return count > this.start && (this.stop <= 0 || count <= this.stop);
  }

  private hook(inner: Allocator): Allocator {
    const { malloc, calloc, realloc, free } = inner;
    return {
      malloc: (n) => (this.noMemory() ? 0 : malloc(n)),
      calloc: (nelem, elsize) => (this.noMemory() ? 0 : calloc(nelem, elsize)),
      realloc: (p, n) => (this.noMemory() ? 0 : realloc(p, n)),
      free,
    };
  }
}
