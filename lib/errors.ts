/**
 * pymem's errors. Each carries a Node-style `code`; argument errors use Node's own codes and wording
 * (ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE, ERR_INVALID_ARG_VALUE), pymem's own start with ERR_PYMEM_.
 */
import { inspect } from 'node:util';

export type ErrorCode =
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_INVALID_RETURN_VALUE'
  | 'ERR_PYMEM_MIXED_ALLOCATORS'
  | 'ERR_PYMEM_INVALID_POINTER'
  | 'ERR_PYMEM_HEAP_CORRUPTION'
  | 'ERR_PYMEM_HEAP_CLOSED'
  | 'ERR_PYMEM_NATIVE_UNAVAILABLE'
  | 'ERR_PYMEM_RESERVE_FAILED'
  | 'ERR_PYMEM_NO_EXTERNAL_BUFFERS'
  | 'ERR_PYMEM_NO_MEMORY'
  | 'ERR_PYMEM_RECURSION'
  | 'ERR_PYMEM_BAD_IMAGE'
  | 'ERR_INVALID_STATE'
  | 'ERR_PYMEM_SHARED_UNSUPPORTED'
  | ObjectErrorCode
  | MemoryCorruptionCode;

/** What the objects layer (lib/objects/) found wrong with an object argument. */
export type ObjectErrorCode =
  | 'ERR_PYMEM_NOT_AN_OBJECT'
  | 'ERR_PYMEM_OBJECT_FREED'
  | 'ERR_PYMEM_NEGATIVE_REFCOUNT'
  | 'ERR_PYMEM_WRONG_TYPE'
  | 'ERR_PYMEM_INDEX_ERROR'
  | 'ERR_PYMEM_KEY_ERROR'
  | 'ERR_PYMEM_HANDLE_RELEASED';

/** What the debug hooks found wrong with a block (lib/hooks/debug/hooks.ts). */
export type MemoryCorruptionCode = 'ERR_PYMEM_BAD_ID' | 'ERR_PYMEM_BAD_LEADING_PAD' | 'ERR_PYMEM_BAD_TRAILING_PAD' | 'ERR_PYMEM_DOUBLE_FREE';

/** An offset as the messages show it: 0x1f000. */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function withCode<E extends Error>(error: E, code: ErrorCode): E & { code: ErrorCode } {
  return Object.assign(error, { code });
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name ? `an instance of ${name}` : inspect(value, { depth: 0 });
  }
  return `type ${typeof value} (${inspect(value)})`;
}

export function invalidArgType(name: string, expected: string, value: unknown): TypeError {
  return withCode(new TypeError(`The "${name}" argument must be of type ${expected}. Received ${describe(value)}`), 'ERR_INVALID_ARG_TYPE');
}

export function invalidArgValue(name: string, value: unknown, reason: string): TypeError {
  return withCode(new TypeError(`The ${name} ${reason}. Received ${inspect(value)}`), 'ERR_INVALID_ARG_VALUE');
}

export function outOfRange(name: string, range: string, value: unknown): RangeError {
  return withCode(new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${inspect(value)}`), 'ERR_OUT_OF_RANGE');
}

/** A user-supplied function (an allocator hook) returned something its contract rules out. */
export function invalidReturnValue(what: string, value: unknown, expected: string): TypeError {
  return withCode(new TypeError(`Expected ${what} to return ${expected}. Received ${inspect(value)}`), 'ERR_INVALID_RETURN_VALUE');
}

/**
 * Memory of one world handed to the other's free: a heap pointer to heap.system.free, or a Buffer from
 * heap.system.malloc to a domain's free. CPython leaves this undefined; here it is caught and changes nothing.
 */
export function mixedAllocators(message: string): TypeError {
  return withCode(new TypeError(message), 'ERR_PYMEM_MIXED_ALLOCATORS');
}

/** A C int argument (PyArg_ParseTuple's "i"). */
export function checkCInt(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw invalidArgType(name, 'number', value);
  if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) throw outOfRange(name, 'an integer >= -2^31 and < 2^31', value);
}

export function heapClosed(what: string): Error {
  return withCode(new Error(`${what}: the heap is closed; create a new heap with createHeap()`), 'ERR_PYMEM_HEAP_CLOSED');
}

/**
 * Makes each named method of `target` throw ERR_PYMEM_HEAP_CLOSED, by own properties that shadow the
 * class's: an open heap's objects keep their shape and their call sites, and no call tests a flag.
 */
export function closeMethods(target: object, names: readonly string[], prefix: string): void {
  for (const name of names) {
    Object.defineProperty(target, name, {
      value: () => {
        throw heapClosed(`${prefix}.${name}`);
      },
    });
  }
}

/** The methods a class's instances have, for closeMethods. */
export function methodNames(cls: { prototype: object }): string[] {
  return Object.getOwnPropertyNames(cls.prototype).filter((name) => name !== 'constructor');
}

/** Node's ERR_INVALID_STATE: the call is valid, but not in the state the object is in. */
export function invalidState(message: string): Error {
  return withCode(new Error(message), 'ERR_INVALID_STATE');
}

/** What a shared heap does not do yet, and why (lib/shared-heap.ts). */
export function sharedUnsupported(what: string, why: string): Error {
  return withCode(new Error(`${what} is not available on a shared heap: ${why}`), 'ERR_PYMEM_SHARED_UNSUPPORTED');
}

export function nativeUnavailable(message: string): Error {
  return withCode(new Error(message), 'ERR_PYMEM_NATIVE_UNAVAILABLE');
}

export function reserveFailed(message: string): Error {
  return withCode(new Error(message), 'ERR_PYMEM_RESERVE_FAILED');
}

/** Why a file is not a heap image this version can open (lib/image/format.ts checks each, in this order). */
export type BadImageReason =
  | 'unreadable'
  | 'not-an-image'
  | 'version'
  | 'header-checksum'
  | 'too-large'
  | 'truncated'
  | 'table-checksum'
  | 'table'
  | 'region-header'
  | 'region-checksum'
  | 'allocator';

/**
 * A file createHeap({ image }) cannot open: not an image, of another format or layout version,
 * truncated, damaged, or larger than a region can be. Thrown before anything is mapped or read into a
 * region; `reason` says which, the message names the file.
 */
export class BadImageError extends Error {
  readonly code = 'ERR_PYMEM_BAD_IMAGE' as const;

  constructor(
    readonly file: string,
    readonly reason: BadImageReason,
    detail: string,
  ) {
    super(`${file} is not a heap image this pymem can open (${reason}): ${detail}`);
    this.name = 'BadImageError';
  }
}

/**
 * A pointer the heap cannot have handed out to this caller: outside the region, misaligned, not the
 * start of a live block, already freed, or owned by another allocator. Thrown before anything changes.
 */
export class InvalidPointerError extends Error {
  readonly code = 'ERR_PYMEM_INVALID_POINTER' as const;

  /**
   * @param pointer the offending pointer
   * @param reason a stable key for programs: 'outside', 'misaligned', 'metadata', 'free-segment',
   *   'arena', 'not-live', 'inside-block', 'not-arena', 'raw-block', and for the object allocator's
   *   pools 'pool-header', 'not-block', 'free-pool', 'uncarved'
   */
  constructor(
    readonly pointer: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidPointerError';
  }
}

/** heap.check() found an invariant broken; `invariant` names it, the message says where. */
export class HeapCorruptionError extends Error {
  readonly code = 'ERR_PYMEM_HEAP_CORRUPTION' as const;

  constructor(
    readonly invariant: string,
    detail: string,
  ) {
    super(`heap check failed: ${invariant}: ${detail}`);
    this.name = 'HeapCorruptionError';
  }
}

/**
 * A debug hook's check failed when a block was freed or resized (CPython's _PyMem_DebugCheckAddress):
 * the API id, the leading pad or the trailing pad of the block was not what the hooks wrote, or the
 * block had already been freed. The block is left as it was (not freed, not resized) and the heap stays
 * usable. `report` holds CPython's dump of the block, as PYTHONMALLOC=debug prints it before its
 * fatal error.
 */
export class MemoryCorruptionError extends Error {
  constructor(
    readonly code: MemoryCorruptionCode,
    /** The pointer the caller passed. */
    readonly pointer: number,
    /** CPython's function that found it: '_PyMem_DebugRawFree' or '_PyMem_DebugRawRealloc'. */
    readonly cpythonFunction: string,
    /** The fault as CPython's fatal error names it: 'bad trailing pad byte', 'bad ID: ...'. */
    readonly fault: string,
    /** CPython's dump of the block (_PyObject_DebugDumpAddress) and the allocation traceback lines. */
    readonly report: string,
    message: string,
  ) {
    super(message);
    this.name = 'MemoryCorruptionError';
  }
}

/**
 * Python's MemoryError: the heap could not serve an object's memory. Raised by the layers above the
 * allocators (objects), where CPython raises MemoryError; nothing was allocated, nothing changed.
 */
export class MemoryError extends Error {
  readonly code = 'ERR_PYMEM_NO_MEMORY' as const;

  constructor(
    /** The bytes that could not be allocated. */
    readonly requested: number,
    message: string,
  ) {
    super(message);
    this.name = 'MemoryError';
  }
}

/**
 * Python's RecursionError: a walk over nested objects went deeper than CPython lets it (comparing
 * two structures nested more than 1,498 deep, as CPython 3.12's C recursion limit allows in top-level
 * code). Nothing changed.
 */
export class RecursionError extends Error {
  readonly code = 'ERR_PYMEM_RECURSION' as const;

  constructor(message: string) {
    super(message);
    this.name = 'RecursionError';
  }
}

/**
 * An object argument that is not what the operation needs: not an object of this heap
 * (ERR_PYMEM_NOT_AN_OBJECT), an object already deallocated (ERR_PYMEM_OBJECT_FREED), a decref below
 * zero (ERR_PYMEM_NEGATIVE_REFCOUNT), an object of another type or an unhashable key
 * (ERR_PYMEM_WRONG_TYPE, a TypeError as in Python), an index out of range (ERR_PYMEM_INDEX_ERROR, a
 * RangeError: Python's IndexError), a missing key (ERR_PYMEM_KEY_ERROR: KeyError), a handle already
 * released (ERR_PYMEM_HANDLE_RELEASED). Thrown before anything changes.
 */
export function objectError(code: ObjectErrorCode, message: string): Error {
  if (code === 'ERR_PYMEM_WRONG_TYPE' || code === 'ERR_PYMEM_NOT_AN_OBJECT') return withCode(new TypeError(message), code);
  return withCode(code === 'ERR_PYMEM_INDEX_ERROR' ? new RangeError(message) : new Error(message), code);
}
