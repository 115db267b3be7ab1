/**
 * Allocator control: the allocators a heap starts with, CPython's names for them (PYTHONMALLOC's, here
 * the `allocator` option and PYMEM_ALLOCATOR), and _PyMem_GetCurrentAllocatorName's answer.
 *
 *   name        RAW    MEM        OBJ
 *   pymalloc    raw    pymalloc   pymalloc     ('default' is this one)
 *   malloc      raw    raw        raw          ("malloc" is the raw allocator: the heap's C library)
 *
 * Each domain gets its own function objects, so that a refused pointer's error names the domain the
 * caller used (heap.obj.free, not "pymalloc"). A name is answered when every domain holds exactly the
 * functions of one of the sets, as CPython compares its PyMemAllocatorEx structs.
 */
import { invalidArgValue } from './errors';
import { pointerError, UNSERVABLE, type Allocator, type DomainName, type Domain } from './domains';
import { SEGMENT_SIZE } from './config';
import type { Pymalloc, ArenaAllocator } from './obmalloc';
import type { RawBackend } from './raw/backend';

export type AllocatorName = 'default' | 'pymalloc' | 'malloc' | 'debug' | 'pymalloc_debug' | 'malloc_debug';
const ALLOCATOR_NAMES: readonly string[] = ['default', 'pymalloc', 'malloc', 'debug', 'pymalloc_debug', 'malloc_debug'];

/** The raw allocator as a domain's allocator: the backend's operations, its refusals thrown as errors. */
export function rawAllocator(backend: RawBackend, domain: DomainName): Allocator {
  const realloc = `heap.${domain}.realloc`;
  const free = `heap.${domain}.free`;
  return {
    malloc: (n) => backend.malloc(n),
    calloc: (nelem, elsize) => {
      const n = nelem * elsize;
      return backend.calloc(n > UNSERVABLE ? UNSERVABLE : n);
    },
    realloc: (p, n) => {
      const q = backend.realloc(p, n);
      if (q < 0) throw pointerError(realloc, p, -q);
      return q;
    },
    free: (p) => {
      const status = backend.free(p);
      if (status !== 0) throw pointerError(free, p, status);
    },
  };
}

/**
 * pymalloc as a domain's allocator (_PyObject_Malloc and friends). It repeats rawAllocator's shape on
 * purpose: closures of one function literal share V8's call feedback, so a single factory over "any
 * engine" would make every domain's hot call site polymorphic over pymalloc and both backends.
 */
export function pymallocAllocator(pm: Pymalloc, domain: DomainName): Allocator {
  const realloc = `heap.${domain}.realloc`;
  const free = `heap.${domain}.free`;
  return {
    malloc: (n) => pm.malloc(n),
    calloc: (nelem, elsize) => pm.calloc(nelem, elsize),
    realloc: (p, n) => {
      const q = pm.realloc(p, n);
      if (q < 0) throw pointerError(realloc, p, -q);
      return q;
    },
    free: (p) => {
      const status = pm.free(p);
      if (status !== 0) throw pointerError(free, p, status);
    },
  };
}

/**
 * The default arena allocator (CPython's is mmap/munmap): one free segment of the region from the raw
 * allocator, 1 MiB-aligned, so no arena loses a pool to alignment. Requests larger than a segment get 0.
 */
export function segmentArenaAllocator(backend: RawBackend): ArenaAllocator {
  return {
    alloc: (size) => (size > 0 && size <= SEGMENT_SIZE ? backend.arenaAlloc() : 0),
    free: (ptr) => {
      const status = backend.arenaFree(ptr);
      if (status !== 0) throw pointerError('arena allocator free', ptr, status);
    },
  };
}

/** The heap's two allocator sets, built once per heap. */
export interface AllocatorSets {
  raw: Allocator;
  pymalloc: Record<'mem' | 'obj', Allocator>;
  malloc: Record<'mem' | 'obj', Allocator>;
}

/**
 * Resolves an allocator choice: the option if given, else PYMEM_ALLOCATOR (empty means default, as an
 * empty PYTHONMALLOC does). The *_debug names need debug hooks, which this version does not have.
 */
export function resolveAllocatorName(option: unknown): 'pymalloc' | 'malloc' {
  const fromEnv = option === undefined;
  const value = fromEnv ? process.env.PYMEM_ALLOCATOR || 'default' : option;
  const what = fromEnv ? 'environment variable PYMEM_ALLOCATOR' : 'option "allocator"';
  if (typeof value !== 'string' || !ALLOCATOR_NAMES.includes(value)) {
    throw invalidArgValue(what, value, `must be one of ${ALLOCATOR_NAMES.map((n) => `'${n}'`).join(', ')}`);
  }
  if (value.endsWith('debug')) {
    throw invalidArgValue(what, value, 'names an allocator with debug hooks, which this version of pymem does not have yet; use \'default\', \'pymalloc\' or \'malloc\'');
  }
  return value === 'malloc' ? 'malloc' : 'pymalloc';
}

function holds(domain: Domain, a: Allocator): boolean {
  const installed = domain.allocator;
  return installed.malloc === a.malloc && installed.calloc === a.calloc && installed.realloc === a.realloc && installed.free === a.free;
}

/** _PyMem_GetCurrentAllocatorName: 'pymalloc', 'malloc', or null when the domains hold anything else. */
export function currentAllocatorName(domains: Record<DomainName, Domain>, sets: AllocatorSets): 'pymalloc' | 'malloc' | null {
  if (!holds(domains.raw, sets.raw)) return null;
  for (const name of ['pymalloc', 'malloc'] as const) {
    if (holds(domains.mem, sets[name].mem) && holds(domains.obj, sets[name].obj)) return name;
  }
  return null;
}
