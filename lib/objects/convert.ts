/**
 * fromJS and toJS: JS values to objects and back. Scalars map one to one (see heap.objects.fromJS);
 * an array becomes a list, a plain object or a Map a dict, a Tuple a tuple. A JS object met twice
 * becomes one heap object referenced twice, and a cycle in the input is an error (a heap structure
 * built from it could never be freed by reference counting). When conversion fails part-way, every
 * object made so far is released: nothing stays allocated. toJS rebuilds shared and cyclic heap
 * structures as shared and cyclic JS ones.
 */
import { invalidArgType, invalidArgValue } from '../errors';
import { T_NONE, T_BOOL, T_INT, T_FLOAT, T_STR, T_BYTES, T_TUPLE, T_LIST, NONE, TRUE, FALSE } from './layout';
import { typeOf } from './header';
import { intFromNumber, intFromBigInt, intToSafeNumber, intToBigInt, intIsZero } from './int';
import { newFloat, floatValue } from './float';
import { strFromJS, strToJS } from './str';
import { bytesFromJS, bytesToJS } from './bytes';
import { tupleFromItems, tupleSize, tupleItem } from './tuple';
import { listFromItems, listSize, listSlot } from './list';
import { allocDict, dictSet, dictEntries } from './dict';
import type { Engine } from './engine';

/** A JS stand-in for a Python tuple: fromJS makes a tuple of it, toJS gives one back for a tuple. */
export class Tuple {
  readonly items: readonly unknown[];

  constructor(items: Iterable<unknown>) {
    this.items = Object.freeze([...items]);
  }
}

/** What toJS() gives back. */
export type PyJS = null | boolean | number | bigint | string | Uint8Array | PyJS[] | Tuple | Map<PyJS, PyJS> | { [key: string]: PyJS };

export interface ToJSOptions {
  /** Ints as bigint always; otherwise (the default) a number when it is a safe integer, else a bigint. */
  bigint?: boolean;
  /** Dicts as Maps always; otherwise (the default) a plain object when every key is a str, else a Map. */
  maps?: boolean;
}

const CONVERTIBLE = 'null, undefined, boolean, number, bigint, string, Uint8Array, array, Map, Tuple or plain object';

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** One conversion: the JS objects being converted (a cycle) and those done (shared). */
export function fromJS(engine: Engine, value: unknown): number {
  return new FromJS(engine).convert(value);
}

class FromJS {
  private readonly done = new Map<object, number>();
  private readonly open = new Set<object>();

  constructor(private readonly engine: Engine) {}

  /** A new reference to the object for value. */
  convert(value: unknown): number {
    const m = this.engine.m;
    switch (typeof value) {
      case 'undefined':
        return NONE;
      case 'boolean':
        return value ? TRUE : FALSE;
      case 'number':
        if (Object.is(value, -0) || !Number.isInteger(value)) return newFloat(m, value);
        return Number.isSafeInteger(value) ? intFromNumber(m, value) : intFromBigInt(m, BigInt(value));
      case 'bigint':
        return intFromBigInt(m, value);
      case 'string':
        return strFromJS(m, value);
      case 'object':
        if (value === null) return NONE;
        if (value instanceof Uint8Array) return bytesFromJS(m, value);
        if (Array.isArray(value) || value instanceof Tuple || value instanceof Map || isPlainObject(value)) return this.container(value);
    }
    throw invalidArgType('value', CONVERTIBLE, value);
  }

  private container(value: object): number {
    const seen = this.done.get(value);
    if (seen !== undefined) {
      this.engine.incref(seen);
      return seen;
    }
    if (this.open.has(value)) throw invalidArgValue('argument "value"', value, 'contains a cycle (an object that contains itself), which reference counting could never free');
    this.open.add(value);
    const made: number[] = [];
    try {
      const p = this.build(value, made);
      this.done.set(value, p);
      return p;
    } finally {
      // The container took its own references to the items; ours go (all of them, on failure).
      for (const q of made) this.engine.drop(q);
      this.open.delete(value);
    }
  }

  private build(value: object, made: number[]): number {
    const engine = this.engine;
    const m = engine.m;
    if (Array.isArray(value) || value instanceof Tuple) {
      for (const item of Array.isArray(value) ? value : value.items) made.push(this.convert(item));
      return value instanceof Tuple ? tupleFromItems(m, made, (q) => engine.incref(q)) : listFromItems(m, made, (q) => engine.incref(q), (q) => engine.drop(q));
    }
    const pairs: [unknown, unknown][] = value instanceof Map ? [...value] : Object.entries(value);
    for (const [key, item] of pairs) {
      made.push(this.convert(key));
      made.push(this.convert(item));
    }
    // An unhashable key fails here, before a dict is made (a dict dropped would stay parked on its freelist).
    for (let i = 0; i < made.length; i += 2) engine.hash(made[i]);
    const d = allocDict(m);
    try {
      for (let i = 0; i < made.length; i += 2) dictSet(engine, d, made[i], made[i + 1]);
    } catch (error) {
      engine.drop(d);
      throw error;
    }
    return d;
  }
}

/** The JS value of p (a checked object); shared and cyclic containers stay shared and cyclic. */
export function toJS(engine: Engine, p: number, options: ToJSOptions, memo = new Map<number, PyJS>()): PyJS {
  const m = engine.m;
  const u32 = m.u32;
  switch (typeOf(u32, p)) {
    case T_NONE:
      return null;
    case T_BOOL:
      return !intIsZero(u32, p);
    case T_INT:
      return options.bigint ? intToBigInt(u32, p) : (intToSafeNumber(u32, p) ?? intToBigInt(u32, p));
    case T_FLOAT:
      return floatValue(m, p);
    case T_STR:
      return strToJS(m, p);
    case T_BYTES:
      return bytesToJS(m, p);
  }
  const seen = memo.get(p);
  if (seen !== undefined) return seen;
  if (typeOf(u32, p) === T_TUPLE) {
    // A Tuple is frozen when made, so it is memoized after its items: a tuple reached again through a
    // cycle (which must pass through a list or dict) is rebuilt once more there, and the cycle ends
    // at the list or dict, which are memoized before their items.
    const items: PyJS[] = [];
    for (let i = 0; i < tupleSize(u32, p); i++) items.push(toJS(engine, tupleItem(u32, p, i), options, memo));
    const tuple = new Tuple(items);
    memo.set(p, tuple);
    return tuple;
  }
  if (typeOf(u32, p) === T_LIST) {
    const out: PyJS[] = [];
    memo.set(p, out);
    for (let i = 0; i < listSize(u32, p); i++) out.push(toJS(engine, u32[listSlot(u32, p, i) >>> 2], options, memo));
    return out;
  }
  const entries = dictEntries(m, p);
  if (!options.maps && entries.every(([key]) => typeOf(u32, key) === T_STR)) {
    const out: { [key: string]: PyJS } = {};
    memo.set(p, out);
    for (const [key, value] of entries) out[strToJS(m, key)] = toJS(engine, value, options, memo);
    return out;
  }
  const out = new Map<PyJS, PyJS>();
  memo.set(p, out);
  for (const [key, value] of entries) out.set(toJS(engine, key, options, memo), toJS(engine, value, options, memo));
  return out;
}
