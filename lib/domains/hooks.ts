/**
 * A set of hooks installed over the three domains' allocators, as tracemalloc and setNoMemory install
 * theirs (PyMem_SetAllocator over what PyMem_GetAllocator returned): what each domain held before,
 * put back by uninstall(), and what each hook wraps, for a reader that looks through such hooks to the
 * allocator underneath (heap.save() records that one's name, which hooks would otherwise hide).
 */
import { DOMAIN_NAMES, type Allocator, type Domain, type DomainName } from './domain';

export class DomainHooks {
  /** Per domain, the allocator before the hooks and the hooks installed over it; null when not installed. */
  private installed: { saved: Record<DomainName, Allocator>; hooks: Record<DomainName, Allocator> } | null = null;

  constructor(private readonly domains: Record<DomainName, Domain>) {}

  /** Installs `hook(inner, domain)` over each domain's allocator; nothing when installed already. */
  install(hook: (inner: Allocator, domain: Domain) => Allocator): void {
    if (this.installed !== null) return;
    const saved = {} as Record<DomainName, Allocator>;
    const hooks = {} as Record<DomainName, Allocator>;
    for (const name of DOMAIN_NAMES) {
      saved[name] = this.domains[name].allocator;
      hooks[name] = hook(saved[name], this.domains[name]);
      this.domains[name].allocator = hooks[name];
    }
    this.installed = { saved, hooks };
  }

  /** Puts each domain's allocator from before back; nothing when not installed. */
  uninstall(): void {
    if (this.installed === null) return;
    for (const name of DOMAIN_NAMES) this.domains[name].allocator = this.installed.saved[name];
    this.installed = null;
  }

  /** What these hooks wrap in domain `name`, when `a` holds exactly their functions; else undefined. */
  innerOf(name: DomainName, a: Allocator): Allocator | undefined {
    const hooks = this.installed?.hooks[name];
    if (hooks === undefined || hooks.malloc !== a.malloc || hooks.calloc !== a.calloc || hooks.realloc !== a.realloc || hooks.free !== a.free) return undefined;
    return this.installed!.saved[name];
  }
}
