/**
 * heap.objects: layer +3, CPython 3.12's objects in the heap. An object is a pointer (a region offset)
 * to a PyObject laid out as CPython lays it out (lib/objects/layout.ts); each type allocates with its
 * own policy (int.ts, float.ts, str.ts, bytes.ts) through the OBJ domain.
 *
 * References: every function that returns an object returns a new reference, which the caller gives
 * back with decref() (Py_DECREF); at zero the object is deallocated by its type's policy. Immortal
 * objects (None, True, False, the small ints, the one-character strings and bytes, interned strings)
 * ignore incref and decref, as in 3.12 (PEP 683).
 *
 * Every object argument is checked before anything changes: a pointer that holds no object, an object
 * already deallocated, a decref below zero, or an object of the wrong type is an error with a code.
 */
import { invalidArgType, objectError, outOfRange, hex, type ObjectErrorCode } from '../errors';
import { isU32 } from '../domains';
import {
  IMMORTAL, OB_REFCNT, OB_TYPE, NONE, TRUE, FALSE, TYPE_INFO, T_NONE, T_BOOL, T_INT, T_FLOAT, T_STR, T_BYTES,
  PYOBJECT_SIZE, FLOAT_SIZE,
} from './layout';
import { typeOf } from './header';
import { HASH_NONE, hashDouble } from './hash';
import {
  intFromNumber, intFromBigInt, intToSafeNumber, intToBigInt, intSizeof, intHash, intEquals, intEqualsDouble, intIsZero,
} from './int';
import { newFloat, floatValue, deallocFloat, clearFloatFreeList, inFloatFreeList } from './float';
import { strFromJS, strToJS, strSizeof, strHash, strEquals, isInterned, findInterned, addInterned } from './str';
import { bytesFromJS, bytesToJS, bytesSizeof, bytesHash, bytesEquals } from './bytes';
import { writeStatics } from './statics';
import type { ObjectMemory } from './memory';

/** What toJS() gives back: the JS value of a scalar object. */
export type ScalarJS = null | boolean | number | bigint | string | Uint8Array;

export interface ToJSOptions {
  /** Ints as bigint always; otherwise (the default) a number when it is a safe integer, else a bigint. */
  bigint?: boolean;
}

export class Objects {
  /** Py_None, Py_True, Py_False: immortal static objects. */
  readonly None = NONE;
  readonly True = TRUE;
  readonly False = FALSE;

  /** @internal the heap creates it on first use of heap.objects */
  constructor(
    private readonly m: ObjectMemory,
    private readonly maxBytes: number,
  ) {
    writeStatics(m);
  }

  /** An int: the cached object for -5..256, else a new one. A number must be an integer. */
  int(value: number | bigint): number {
    if (typeof value === 'bigint') return intFromBigInt(this.m, value);
    if (typeof value !== 'number') throw invalidArgType('value', 'number or bigint', value);
    if (Number.isSafeInteger(value)) return intFromNumber(this.m, value);
    if (!Number.isInteger(value)) throw outOfRange('value', 'an integer (Python\'s int() of a non-integral float truncates; round it first)', value);
    return intFromBigInt(this.m, BigInt(value));
  }

  /** A float: the most recently freed float when the freelist has one. */
  float(value: number): number {
    if (typeof value !== 'number') throw invalidArgType('value', 'number', value);
    return newFloat(this.m, value);
  }

  /** A str in the narrowest kind that holds its widest character; '' and one latin-1 character are singletons. */
  str(value: string): number {
    if (typeof value !== 'string') throw invalidArgType('value', 'string', value);
    return strFromJS(this.m, value);
  }

  /** A bytes object copying `value`; b'' and one byte are singletons. */
  bytes(value: Uint8Array): number {
    if (!(value instanceof Uint8Array)) throw invalidArgType('value', 'Uint8Array', value);
    return bytesFromJS(this.m, value);
  }

  /**
   * The object for a JS value: null and undefined are None, booleans True and False, an integral
   * number an int (but -0 a float, to keep its sign), any other number a float, a bigint an int, a
   * string a str, a Uint8Array (a Buffer too) bytes. Anything else is a TypeError and allocates nothing.
   */
  fromJS(value: unknown): number {
    switch (typeof value) {
      case 'undefined':
        return NONE;
      case 'boolean':
        return value ? TRUE : FALSE;
      case 'number':
        if (Object.is(value, -0) || !Number.isInteger(value)) return newFloat(this.m, value);
        return Number.isSafeInteger(value) ? intFromNumber(this.m, value) : intFromBigInt(this.m, BigInt(value));
      case 'bigint':
        return intFromBigInt(this.m, value);
      case 'string':
        return strFromJS(this.m, value);
      default:
        if (value === null) return NONE;
        if (value instanceof Uint8Array) return bytesFromJS(this.m, value);
        throw invalidArgType('value', 'null, undefined, boolean, number, bigint, string or Uint8Array', value);
    }
  }

  /** The JS value of an object: see fromJS. bytes come back as a copy. The reference is not consumed. */
  toJS(p: number, options: ToJSOptions = {}): ScalarJS {
    const type = this.objectType(p, 'toJS');
    if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'object', options);
    const u32 = this.m.u32;
    switch (type) {
      case T_NONE:
        return null;
      case T_BOOL:
        return !intIsZero(u32, p);
      case T_INT: {
        if (options.bigint) return intToBigInt(u32, p);
        return intToSafeNumber(u32, p) ?? intToBigInt(u32, p);
      }
      case T_FLOAT:
        return floatValue(this.m, p);
      case T_STR:
        return strToJS(this.m, p);
      default:
        return bytesToJS(this.m, p);
    }
  }

  /** Py_INCREF: no effect on an immortal object. */
  incref(p: number): void {
    this.objectType(p, 'incref');
    const at = (p + OB_REFCNT) >>> 2;
    const rc = this.m.u32[at];
    if (rc !== IMMORTAL) this.m.u32[at] = rc + 1;
  }

  /** Py_DECREF: no effect on an immortal object; at zero, the object is deallocated by its type's policy. */
  decref(p: number): void {
    const type = this.objectType(p, 'decref');
    const u32 = this.m.u32;
    const at = (p + OB_REFCNT) >>> 2;
    const rc = u32[at];
    if (rc === IMMORTAL) return;
    if (rc === 0) throw this.objectFault('ERR_PYMEM_NEGATIVE_REFCOUNT', 'decref', p, 'its reference count is already 0: one decref too many');
    u32[at] = rc - 1;
    if (rc === 1) this.dealloc(p, type);
  }

  /** The reference count (sys.getrefcount without its own temporary reference); 4294967295 when immortal. */
  refcount(p: number): number {
    this.objectType(p, 'refcount');
    return this.m.u32[(p + OB_REFCNT) >>> 2];
  }

  isImmortal(p: number): boolean {
    this.objectType(p, 'isImmortal');
    return this.m.u32[(p + OB_REFCNT) >>> 2] === IMMORTAL;
  }

  /** type(obj).__name__. */
  typeName(p: number): string {
    return TYPE_INFO[this.objectType(p, 'typeName')][0];
  }

  /** sys.getsizeof() of the equal object in CPython 3.12 on 64-bit. */
  sizeof(p: number): number {
    const type = this.objectType(p, 'sizeof');
    const u32 = this.m.u32;
    switch (type) {
      case T_NONE:
        return PYOBJECT_SIZE;
      case T_BOOL:
      case T_INT:
        return intSizeof(u32, p);
      case T_FLOAT:
        return FLOAT_SIZE;
      case T_STR:
        return strSizeof(u32, p);
      default:
        return bytesSizeof(u32, p);
    }
  }

  /**
   * PyObject_RichCompareBool(a, b, Py_EQ): the same object is equal to itself (a NaN float too, as in
   * `x in [x]`); numbers compare by value across bool, int and float, exactly (2**53 + 1 != 2.0**53);
   * str with str and bytes with bytes by content; str never equals bytes.
   */
  equals(a: number, b: number): boolean {
    const ta = this.objectType(a, 'equals');
    const tb = this.objectType(b, 'equals');
    if (a === b) return true;
    const m = this.m;
    if (isNumeric(ta) && isNumeric(tb)) {
      if (ta !== T_FLOAT && tb !== T_FLOAT) return intEquals(m.u32, a, b);
      if (ta === T_FLOAT && tb === T_FLOAT) return floatValue(m, a) === floatValue(m, b);
      return ta === T_FLOAT ? intEqualsDouble(m.u32, b, floatValue(m, a)) : intEqualsDouble(m.u32, a, floatValue(m, b));
    }
    if (ta !== tb) return false;
    if (ta === T_STR) return strEquals(m, a, b);
    return ta === T_BYTES && bytesEquals(m, a, b);
  }

  /** hash(obj) as CPython 3.12 computes it with PYTHONHASHSEED=0 (see lib/objects/hash.ts): a Py_hash_t. */
  hash(p: number): bigint {
    const type = this.objectType(p, 'hash');
    const m = this.m;
    switch (type) {
      case T_NONE:
        return HASH_NONE;
      case T_BOOL:
      case T_INT:
        return intHash(m.u32, p);
      case T_FLOAT:
        return hashDouble(floatValue(m, p), p);
      case T_STR:
        return strHash(m, p);
      default:
        return bytesHash(m, p);
    }
  }

  /**
   * sys.intern / PyUnicode_InternInPlace: takes the caller's reference to the str p and returns a
   * reference to the interned string equal to it: p itself, made immortal, when none was interned
   * before; else the earlier one, and p is decref'd. MemoryError (p untouched, still the caller's)
   * when the table cannot grow.
   */
  intern(p: number): number {
    const type = this.objectType(p, 'intern');
    if (type !== T_STR) throw this.objectFault('ERR_PYMEM_WRONG_TYPE', 'intern', p, `intern() argument must be str, not ${TYPE_INFO[type][0]}`);
    const m = this.m;
    if (isInterned(m.u32, p)) return p;
    const earlier = findInterned(m, p);
    if (earlier !== 0) {
      this.decref(p);
      return earlier;
    }
    addInterned(m, p);
    return p;
  }

  /** Whether p is interned. */
  isInterned(p: number): boolean {
    const type = this.objectType(p, 'isInterned');
    return type === T_STR && isInterned(this.m.u32, p);
  }

  /** Gives every object parked in a freelist back to the allocator (_PyGC_ClearAllFreeLists). */
  clearFreeLists(): void {
    clearFloatFreeList(this.m);
  }

  /** Whether p is a live object of this heap. */
  isObject(p: number): boolean {
    return isU32(p) && (p & 15) === 0 && p + PYOBJECT_SIZE <= this.maxBytes && typeOf(this.m.u32, p) >= 0;
  }

  /** tp_dealloc: ob_type cleared (so that a later use is caught), then the type's policy. */
  private dealloc(p: number, type: number): void {
    if (type === T_FLOAT) return deallocFloat(this.m, p);
    this.m.u32[(p + OB_TYPE) >>> 2] = 0;
    this.m.obj.free(p);
  }

  /** The type number of the object p, or the error that says why p is not a live object. */
  private objectType(p: number, fn: string): number {
    if (isU32(p) && p !== 0 && (p & 15) === 0 && p + PYOBJECT_SIZE <= this.maxBytes) {
      const type = typeOf(this.m.u32, p);
      if (type >= 0) return type;
      const field = this.m.u32[(p + OB_TYPE) >>> 2];
      if (inFloatFreeList(this.m.u32, p)) throw this.objectFault('ERR_PYMEM_OBJECT_FREED', fn, p, 'it is a deallocated float, parked in the float freelist');
      const pattern = field === this.m.u32[(p + OB_TYPE + 4) >>> 2] ? FILLS.get(field) : undefined;
      if (pattern !== undefined) throw this.objectFault(pattern[0], fn, p, pattern[1]);
      throw this.objectFault('ERR_PYMEM_NOT_AN_OBJECT', fn, p, `its type field (${hex(field)}) is no type of this heap: it was never an object, or was freed and reused`);
    }
    if (typeof p !== 'number') throw invalidArgType('p', 'number', p);
    if (p === 0) throw this.objectFault('ERR_PYMEM_NOT_AN_OBJECT', fn, p, 'it is NULL');
    throw this.objectFault('ERR_PYMEM_NOT_AN_OBJECT', fn, p, Number.isInteger(p) && p >= 0 && p % 16 !== 0 ? 'it is not 16-byte aligned' : "it is not an offset inside the heap's region");
  }

  private objectFault(code: ObjectErrorCode, fn: string, p: number, why: string): Error {
    const at = typeof p === 'number' && Number.isInteger(p) && p >= 0 ? hex(p) : String(p);
    return objectError(code, `heap.objects.${fn}(${at}): ${why}`);
  }
}

/** What a type field filled with a pattern says: deallocated (NULL, as the deallocators leave it) or a debug hooks' fill. */
const FILLS = new Map<number, [ObjectErrorCode, string]>([
  [0, ['ERR_PYMEM_OBJECT_FREED', 'its type field is NULL: the object was deallocated']],
  [0xdddddddd, ['ERR_PYMEM_OBJECT_FREED', "its type field holds the debug hooks' dead bytes (0xDD): the object was freed"]],
  [0xcdcdcdcd, ['ERR_PYMEM_NOT_AN_OBJECT', "its type field holds the debug hooks' clean bytes (0xCD): a block allocated but never made an object"]],
  [0xfdfdfdfd, ['ERR_PYMEM_NOT_AN_OBJECT', "its type field holds the debug hooks' forbidden bytes (0xFD): past the end of a block"]],
]);

function isNumeric(type: number): boolean {
  return type === T_BOOL || type === T_INT || type === T_FLOAT;
}
