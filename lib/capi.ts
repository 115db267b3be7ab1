/**
 * `pymem/capi`: CPython's memory API by its C names, over the default heap (defaultHeap()), so C code
 * can be ported line by line. Functions return 0 where CPython returns NULL; pointers are the heap's
 * offsets. Where CPython takes a type (PyMem_New(T, n)), pass its size in bytes or a typed-array
 * constructor (Float64Array counts 8). As in CPython, an unknown domain gives PyMem_GetAllocator an
 * allocator of nulls and makes PyMem_SetAllocator do nothing.
 */
import { defaultHeap } from './default-heap';
import { invalidArgType, outOfRange } from './errors';
import { isPtrFreed } from './hooks/debug/layout';
import type { Allocator, DomainName } from './domains/domain';
import type { ArenaAllocator } from './pymalloc/obmalloc';

/** PyMemAllocatorDomain. */
export const PYMEM_DOMAIN_RAW = 0;
export const PYMEM_DOMAIN_MEM = 1;
export const PYMEM_DOMAIN_OBJ = 2;
const DOMAINS: readonly DomainName[] = ['raw', 'mem', 'obj'];

function domainName(domain: number): DomainName | undefined {
  return Number.isInteger(domain) ? DOMAINS[domain] : undefined;
}

export const PyMem_RawMalloc = (n: number): number => defaultHeap().raw.malloc(n);
export const PyMem_RawCalloc = (nelem: number, elsize: number): number => defaultHeap().raw.calloc(nelem, elsize);
export const PyMem_RawRealloc = (p: number, n: number): number => defaultHeap().raw.realloc(p, n);
export const PyMem_RawFree = (p: number): void => defaultHeap().raw.free(p);

export const PyMem_Malloc = (n: number): number => defaultHeap().mem.malloc(n);
export const PyMem_Calloc = (nelem: number, elsize: number): number => defaultHeap().mem.calloc(nelem, elsize);
export const PyMem_Realloc = (p: number, n: number): number => defaultHeap().mem.realloc(p, n);
export const PyMem_Free = (p: number): void => defaultHeap().mem.free(p);

export const PyObject_Malloc = (n: number): number => defaultHeap().obj.malloc(n);
export const PyObject_Calloc = (nelem: number, elsize: number): number => defaultHeap().obj.calloc(nelem, elsize);
export const PyObject_Realloc = (p: number, n: number): number => defaultHeap().obj.realloc(p, n);
export const PyObject_Free = (p: number): void => defaultHeap().obj.free(p);

/** A C type's stand-in: its size in bytes, or a typed-array constructor. */
export type CType = number | { readonly BYTES_PER_ELEMENT: number };

function sizeOf(type: CType): number {
  const size = typeof type === 'number' ? type : type?.BYTES_PER_ELEMENT;
  if (typeof size !== 'number') throw invalidArgType('type', 'number or typed-array constructor', type);
  if (!Number.isSafeInteger(size) || size < 1) throw outOfRange('type', 'a size in bytes >= 1', size);
  return size;
}

/** PyMem_New(T, n): n elements of T from the MEM domain; 0 when n * sizeof(T) overflows (CPython's guard) or fails. */
export function PyMem_New(type: CType, n: number): number {
  const size = sizeOf(type);
  if (typeof n === 'number' && Number.isSafeInteger(n) && n > Number.MAX_SAFE_INTEGER / size) return 0;
  return defaultHeap().mem.malloc(n * size);
}

/** PyMem_Resize(p, T, n): the C macro assigns p; here the new pointer is returned (0 on failure, p intact). */
export function PyMem_Resize(p: number, type: CType, n: number): number {
  const size = sizeOf(type);
  if (typeof n === 'number' && Number.isSafeInteger(n) && n > Number.MAX_SAFE_INTEGER / size) return 0;
  return defaultHeap().mem.realloc(p, n * size);
}

/** PyMem_Del is PyMem_Free. */
export const PyMem_Del = PyMem_Free;
/** The upper-case macro spellings. */
export const PyMem_NEW = PyMem_New;
export const PyMem_RESIZE = PyMem_Resize;
export const PyMem_DEL = PyMem_Free;

const NULL_ALLOCATOR = { malloc: null, calloc: null, realloc: null, free: null };

/** PyMem_GetAllocator(domain): a copy of the domain's functions; all null for an unknown domain. */
export function PyMem_GetAllocator(domain: number): Allocator | typeof NULL_ALLOCATOR {
  const name = domainName(domain);
  return name === undefined ? { ...NULL_ALLOCATOR } : defaultHeap().getAllocator(name);
}

/** PyMem_SetAllocator(domain, allocator): installs a domain's functions; an unknown domain is ignored. */
export function PyMem_SetAllocator(domain: number, allocator: Allocator): void {
  const name = domainName(domain);
  if (name !== undefined) defaultHeap().setAllocator(name, allocator);
}

export const PyObject_GetArenaAllocator = (): ArenaAllocator => defaultHeap().getArenaAllocator();
export const PyObject_SetArenaAllocator = (allocator: ArenaAllocator): void => defaultHeap().setArenaAllocator(allocator);

/** _PyMem_GetCurrentAllocatorName(): 'pymalloc', 'malloc', 'pymalloc_debug', 'malloc_debug', or null. */
export const _PyMem_GetCurrentAllocatorName = (): string | null => defaultHeap().allocatorName();
/** _Py_GetAllocatedBlocks(), sys.getallocatedblocks(). */
export const _Py_GetAllocatedBlocks = (): number => defaultHeap().allocatedBlocks();

/** PyMem_SetupDebugHooks(): the debug hooks in the default heap's three domains; calling it twice is harmless. */
export const PyMem_SetupDebugHooks = (): void => defaultHeap().setupDebugHooks();
/** _PyMem_IsPtrFreed(ptr): whether the pointer's value is NULL or a debug-hook pattern (0xCDCDCDCD, ...). */
export const _PyMem_IsPtrFreed = (ptr: number): boolean => isPtrFreed(ptr);
/** _PyObject_IsFreed(op): the pointer, or the type pointer at op + 8, is NULL or a debug-hook pattern. */
export const _PyObject_IsFreed = (op: number): boolean => defaultHeap().isFreed(op);

/** PyTraceMalloc_Track(domain, ptr, size) on the default heap's tracemalloc: 0, or -2 when it is not tracing. */
export const PyTraceMalloc_Track = (domain: number, ptr: number, size: number): number => defaultHeap().tracemalloc.track(domain, ptr, size);
/** PyTraceMalloc_Untrack(domain, ptr): 0, or -2 when not tracing. */
export const PyTraceMalloc_Untrack = (domain: number, ptr: number): number => defaultHeap().tracemalloc.untrack(domain, ptr);

// Objects (layer +3, heap.objects of the default heap). Where CPython returns NULL with MemoryError
// set, these throw MemoryError; Py_None, Py_True and Py_False are functions, the default heap being
// made on first use.
export const Py_None = (): number => defaultHeap().objects.None;
export const Py_True = (): number => defaultHeap().objects.True;
export const Py_False = (): number => defaultHeap().objects.False;
/** Py_INCREF(op), Py_DECREF(op): immortal objects are left alone; at zero the object is deallocated. */
export const Py_INCREF = (op: number): void => defaultHeap().objects.incref(op);
export const Py_DECREF = (op: number): void => defaultHeap().objects.decref(op);
/** Py_XINCREF(op), Py_XDECREF(op): as Py_INCREF and Py_DECREF, and nothing for NULL (0). */
export const Py_XINCREF = (op: number): void => {
  if (op !== 0) Py_INCREF(op);
};
export const Py_XDECREF = (op: number): void => {
  if (op !== 0) Py_DECREF(op);
};
/** Py_NewRef(op): a new reference to op (Py_INCREF, then op). */
export const Py_NewRef = (op: number): number => {
  Py_INCREF(op);
  return op;
};
/** Py_REFCNT(op): the reference count; 4294967295 for an immortal object. */
export const Py_REFCNT = (op: number): number => defaultHeap().objects.refcount(op);
/** PyLong_FromLongLong(v): an int (the cached one for -5..256). */
export const PyLong_FromLongLong = (v: number | bigint): number => defaultHeap().objects.int(v);
/** PyFloat_FromDouble(v): a float (from the freelist when it has one). */
export const PyFloat_FromDouble = (v: number): number => defaultHeap().objects.float(v);
/** PyUnicode_FromString(s): a str (JS strings are UTF-16, where CPython's argument is UTF-8). */
export const PyUnicode_FromString = (s: string): number => defaultHeap().objects.str(s);
/** PyUnicode_InternFromString(s): the interned str equal to s. */
export const PyUnicode_InternFromString = (s: string): number => {
  const objects = defaultHeap().objects;
  return objects.intern(objects.str(s));
};
/** PyBytes_FromStringAndSize(data): a bytes object copying data. */
export const PyBytes_FromStringAndSize = (data: Uint8Array): number => defaultHeap().objects.bytes(data);
/** PyObject_Hash(op): hash(op), a bigint. */
export const PyObject_Hash = (op: number): bigint => defaultHeap().objects.hash(op);
