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
import { DOMAIN_NAMES, type Allocator, type Domain, type DomainName } from '../domains/domain';

export class NoMemoryHooks {
  private count = 0;
  private start = 0;
  private stop = 0;
  /** The domains' allocators from before the hooks; null when they are not installed. */
  private saved: Record<DomainName, Allocator> | null = null;

  constructor(private readonly domains: Record<DomainName, Domain>) {}

  /** set_nomemory(start, stop): arguments already checked as C ints. */
  set(start: number, stop: number): void {
    this.count = 0;
    this.start = start;
    this.stop = stop;
    if (this.saved !== null) return;
    const saved = {} as Record<DomainName, Allocator>;
    for (const name of DOMAIN_NAMES) {
      saved[name] = this.domains[name].allocator;
      this.domains[name].allocator = this.hook(saved[name]);
    }
    this.saved = saved;
  }

  /** remove_mem_hooks(): harmless when they are not installed. */
  remove(): void {
    if (this.saved === null) return;
    for (const name of DOMAIN_NAMES) this.domains[name].allocator = this.saved[name];
    this.saved = null;
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
