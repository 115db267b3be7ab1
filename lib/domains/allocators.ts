/**
 * Allocator control: the allocators a heap starts with, CPython's names for them (PYTHONMALLOC's, here
 * the `allocator` option and PYMEM_ALLOCATOR), and _PyMem_GetCurrentAllocatorName's answer.
 *
 *   name        RAW    MEM        OBJ
 *   pymalloc    raw    pymalloc   pymalloc     ('default' is this one)
 *   malloc      raw    raw        raw          ("malloc" is the raw allocator: the heap's C library)
 *
 *   *_debug     the same, each domain wrapped by debug hooks (lib/hooks/debug/hooks.ts); 'debug' is 'pymalloc_debug'
 *
 * Each domain gets its own function objects, so that a refused pointer's error names the domain the
 * caller used (heap.obj.free, not "pymalloc"). A name is answered when every domain holds exactly the
 * functions of one of the sets, as CPython compares its PyMemAllocatorEx structs.
 */
import { invalidArgValue } from '../errors';
import {
  pointerError, selfValidating, isU32, bigSize, callocIsNull, checkPointer, UNSERVABLE, type Allocator, type DomainName,
} from './domain';
import { SEGMENT_SIZE } from '../config';
import { committedBytes } from '../raw/stats';
import type { Pymalloc, ArenaAllocator } from '../pymalloc/obmalloc';
import type { RawBackend } from '../raw/backend';
import type { MemoryPressure } from './pressure';

export type AllocatorName = 'default' | 'pymalloc' | 'malloc' | 'debug' | 'pymalloc_debug' | 'malloc_debug';
const ALLOCATOR_NAMES: readonly string[] = ['default', 'pymalloc', 'malloc', 'debug', 'pymalloc_debug', 'malloc_debug'];

/**
 * The raw allocator as a domain's allocator: the backend's operations, its refusals thrown as errors.
 * A request that finds no memory gets the memory pressure response and one retry (lib/domains/pressure.ts),
 * unless pymalloc made it for a request of its own: that one responds instead, as a whole.
 *
 * Both of the heap's allocators validate their arguments as a domain does (selfValidating), so that a
 * domain calls them with nothing in between: each argument's isU32 test is the whole cost.
 */
export function rawAllocator(backend: RawBackend, domain: DomainName, pressure: MemoryPressure): Allocator {
  const realloc = `heap.${domain}.realloc`;
  const free = `heap.${domain}.free`;
  return selfValidating({
    malloc: (n) => {
      if (!isU32(n)) n = bigSize(n);
      const p = backend.malloc(n);
      return p !== 0 ? p : pressure.rawFailed(n, () => backend.malloc(n));
    },
    calloc: (nelem, elsize) => {
      if (callocIsNull(nelem, elsize)) return 0;
      const n = Math.min(nelem * elsize, UNSERVABLE);
      const p = backend.calloc(n);
      return p !== 0 ? p : pressure.rawFailed(n, () => backend.calloc(n));
    },
    realloc: (p, n) => {
      if (!isU32(p)) checkPointer(p, realloc);
      if (!isU32(n)) n = bigSize(n);
      let q = backend.realloc(p, n);
      if (q === 0) q = pressure.rawFailed(n, () => backend.realloc(p, n));
      if (q < 0) throw pointerError(realloc, p, -q);
      return q;
    },
    free: (p) => {
      if (!isU32(p)) checkPointer(p, free);
      const status = backend.free(p);
      if (status !== 0) throw pointerError(free, p, status);
    },
  });
}

/**
 * pymalloc as a domain's allocator (_PyObject_Malloc and friends). It repeats rawAllocator's shape on
 * purpose: closures of one function literal share V8's call feedback, so a single factory over "any
 * engine" would make every domain's hot call site polymorphic over pymalloc and both backends.
 */
export function pymallocAllocator(pm: Pymalloc, domain: DomainName, pressure: MemoryPressure): Allocator {
  const realloc = `heap.${domain}.realloc`;
  const free = `heap.${domain}.free`;
  return selfValidating({
    malloc: (n) => {
      if (!isU32(n)) n = bigSize(n);
      const p = pm.malloc(n);
      return p !== 0 ? p : pressure.retryNested(n, () => pm.malloc(n));
    },
    calloc: (nelem, elsize) => {
      if (callocIsNull(nelem, elsize)) return 0;
      const p = pm.calloc(nelem, elsize);
      return p !== 0 ? p : pressure.retryNested(nelem * elsize, () => pm.calloc(nelem, elsize));
    },
    realloc: (p, n) => {
      if (!isU32(p)) checkPointer(p, realloc);
      if (!isU32(n)) n = bigSize(n);
      let q = pm.realloc(p, n);
      if (q === 0) q = pressure.retryNested(n, () => pm.realloc(p, n));
      if (q < 0) throw pointerError(realloc, p, -q);
      return q;
    },
    free: (p) => {
      if (!isU32(p)) checkPointer(p, free);
      const status = pm.free(p);
      if (status !== 0) throw pointerError(free, p, status);
    },
  });
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

/**
 * The soft mark (createHeap's gcAtBytes) around an allocator: before each request, committed bytes
 * are compared with the mark, so that the collection it may run sees every structure whole (a list
 * whose array is being reallocated still points at the old one). pymalloc's own requests to the RAW
 * domain are not tested: the request that made them was.
 */
export function softMarkAllocator(inner: Allocator, u32: Uint32Array, total: number, mark: number, pressure: MemoryPressure): Allocator {
  const test = (): void => pressure.softMark(committedBytes(u32, total), mark);
  const { malloc, calloc, realloc, free } = inner;
  return {
    malloc: (n) => {
      test();
      return malloc(n);
    },
    calloc: (nelem, elsize) => {
      test();
      return calloc(nelem, elsize);
    },
    realloc: (p, n) => {
      test();
      return realloc(p, n);
    },
    free,
  };
}

/** The heap's two allocator sets, built once per heap. */
export interface AllocatorSets {
  raw: Allocator;
  pymalloc: Record<'mem' | 'obj', Allocator>;
  malloc: Record<'mem' | 'obj', Allocator>;
}

/** A resolved allocator name: the allocators the domains start with, and whether debug hooks wrap them. */
export interface AllocatorChoice {
  base: 'pymalloc' | 'malloc';
  debug: boolean;
}

/**
 * Resolves an allocator choice: the option if given, else PYMEM_ALLOCATOR (empty means default, as an
 * empty PYTHONMALLOC does). 'debug' is the default allocators with debug hooks, as PYTHONMALLOC=debug.
 */
export function resolveAllocatorName(option: unknown): AllocatorChoice {
  const fromEnv = option === undefined;
  const value = fromEnv ? process.env.PYMEM_ALLOCATOR || 'default' : option;
  const what = fromEnv ? 'environment variable PYMEM_ALLOCATOR' : 'option "allocator"';
  if (typeof value !== 'string' || !ALLOCATOR_NAMES.includes(value)) {
    throw invalidArgValue(what, value, `must be one of ${ALLOCATOR_NAMES.map((n) => `'${n}'`).join(', ')}`);
  }
  return { base: value.startsWith('malloc') ? 'malloc' : 'pymalloc', debug: value.endsWith('debug') };
}

function same(a: Allocator, b: Allocator): boolean {
  return a.malloc === b.malloc && a.calloc === b.calloc && a.realloc === b.realloc && a.free === b.free;
}

function setName(raw: Allocator, mem: Allocator, obj: Allocator, sets: AllocatorSets): 'pymalloc' | 'malloc' | null {
  if (!same(raw, sets.raw)) return null;
  for (const name of ['pymalloc', 'malloc'] as const) {
    if (same(mem, sets[name].mem) && same(obj, sets[name].obj)) return name;
  }
  return null;
}

export type CurrentAllocatorName = 'pymalloc' | 'malloc' | 'pymalloc_debug' | 'malloc_debug';

/**
 * _PyMem_GetCurrentAllocatorName: 'pymalloc' or 'malloc' when the domains' allocators are one of the heap's sets;
 * the same with '_debug' when each domain holds debug hooks around that set (`wrapped` gives what the
 * debug hooks installed in a domain wrap); null when they hold anything else.
 */
export function currentAllocatorName(
  allocators: Record<DomainName, Allocator>,
  sets: AllocatorSets,
  wrapped: (hooks: Allocator) => Allocator | undefined,
): CurrentAllocatorName | null {
  const { raw, mem, obj } = allocators;
  const plain = setName(raw, mem, obj, sets);
  if (plain !== null) return plain;
  const [wraw, wmem, wobj] = [wrapped(raw), wrapped(mem), wrapped(obj)];
  if (wraw === undefined || wmem === undefined || wobj === undefined) return null;
  const name = setName(wraw, wmem, wobj, sets);
  return name === null ? null : `${name}_debug`;
}
