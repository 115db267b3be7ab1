/**
 * fromJS and toJS: JS values to objects and back. Scalars map one to one (see heap.objects.fromJS);
 * an array becomes a list, a plain object or a Map a dict, a Tuple a tuple. A JS object met twice
 * becomes one heap object referenced twice, and a cycle in the input is an error (a heap structure
 * built from it could never be freed by reference counting). When conversion fails part-way, every
 * object made so far is released: nothing stays allocated. toJS rebuilds shared and cyclic heap
 * structures as shared and cyclic JS ones.
 *
 * Both walk with a stack of their own rather than the JS call stack, so any depth converts (CPython's
 * json module and its C converters are bounded by the recursion limit; the heap is not the place
 * where a deep structure should fail). fromJS shares the key strings of one conversion: a key met
 * again is the same str object, as CPython's json decoder memoizes object keys, so a million records
 * of three fields hold three key strings, not three million.
 */
import { invalidArgType, invalidArgValue } from '../errors';
import { T_TUPLE, T_LIST, T_DICT, NONE, TRUE, FALSE, TYPE_GC_BITS } from './layout';
import { liveType } from './header';
import { intFromNumber, intFromBigInt } from './int';
import { newFloat } from './float';
import { strFromJS } from './str';
import { bytesFromJS } from './bytes';
import { tupleFromItems } from './tuple';
import { listFromItems } from './list';
import { allocDict, dictSet } from './dict';
import { toJSOf } from './types';
import { Rebuild, Tuple, type PyJS, type ToJSOptions } from './slots';
import type { Engine } from './engine';

const CONVERTIBLE = 'null, undefined, boolean, number, bigint, string, Uint8Array, array, Map, Tuple or plain object';

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** One conversion (heap.objects.fromJS): a new reference to the object made of value. */
export function fromJS(engine: Engine, value: unknown): number {
  return new FromJS(engine).convert(value);
}

/** What convert() returns for a container it has begun: its object is made when its items are. */
const PENDING = -1;

/**
 * A JS container being converted: its items in order (a dict's as key, value, key, value, ...), the
 * next one to convert, and the references made for those converted so far.
 */
interface Building {
  value: object;
  kind: typeof T_TUPLE | typeof T_LIST | typeof T_DICT;
  items: unknown[];
  next: number;
  made: number[];
}

/** One conversion: the JS containers being converted (a cycle), those done (shared), and the keys met. */
class FromJS {
  private readonly done = new Map<object, number>();
  private readonly open = new Set<object>();
  /** The json decoder's memo: one str per key string, holding a reference of its own until the end. */
  private readonly keys = new Map<string, number>();
  private readonly stack: Building[] = [];

  constructor(private readonly engine: Engine) {}

  convert(root: unknown): number {
    const engine = this.engine;
    const stack = this.stack;
    let done = false;
    try {
      const p = this.walk(root);
      done = true;
      return p;
    } finally {
      // On failure, every reference made so far goes, the innermost container's first.
      if (!done) for (let f = stack.length - 1; f >= 0; f--) for (const q of stack[f].made) engine.drop(q);
      stack.length = 0;
      for (const q of this.keys.values()) engine.drop(q);
      this.keys.clear();
    }
  }

  /** The conversion proper: depth first, each container made once its items are. */
  private walk(root: unknown): number {
    const engine = this.engine;
    const stack = this.stack;
    const first = this.begin(root);
    if (first !== PENDING) return first;
    for (;;) {
      const top = stack[stack.length - 1];
      if (top.next < top.items.length) {
        const i = top.next++;
        const item = top.items[i];
        const p = top.kind === T_DICT && (i & 1) === 0 && typeof item === 'string' ? this.key(item) : this.begin(item);
        if (p !== PENDING) top.made.push(p);
        continue;
      }
      const p = this.build(top);
      stack.pop();
      // The container took its own references to the items; ours go.
      for (const q of top.made) engine.drop(q);
      this.open.delete(top.value);
      this.done.set(top.value, p);
      if (stack.length === 0) return p;
      stack[stack.length - 1].made.push(p);
    }
  }

  /** A new reference to a dict key's str: the memo's, or a new one the memo keeps too. */
  private key(text: string): number {
    const known = this.keys.get(text);
    if (known !== undefined) {
      this.engine.incref(known);
      return known;
    }
    const p = strFromJS(this.engine.m, text);
    this.engine.incref(p);
    this.keys.set(text, p);
    return p;
  }

  /** A new reference to a scalar's object or a container done already; PENDING when a container is begun. */
  private begin(value: unknown): number {
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
    if (Array.isArray(value)) this.stack.push({ value, kind: T_LIST, items: value, next: 0, made: [] });
    else if (value instanceof Tuple) this.stack.push({ value, kind: T_TUPLE, items: value.items as unknown[], next: 0, made: [] });
    else this.stack.push({ value, kind: T_DICT, items: (value instanceof Map ? [...value] : Object.entries(value)).flat(), next: 0, made: [] });
    return PENDING;
  }

  /** The container of a Building whose items are all made; on failure nothing of it stays. */
  private build({ kind, made }: Building): number {
    const engine = this.engine;
    const m = engine.m;
    if (kind === T_TUPLE) return tupleFromItems(m, made, (q) => engine.incref(q));
    if (kind === T_LIST) return listFromItems(m, made, (q) => engine.incref(q), (q) => engine.drop(q));
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

/**
 * The JS value of p (a checked object); shared and cyclic containers stay shared and cyclic. Each
 * type's toJS slot gives an atom's value, or a container's Rebuild, which this walk feeds with its
 * items' values from a stack of its own. A container is memoized once its value exists: a list or a
 * dict when it is begun, a tuple when its items are done.
 *
 * An atom's value is its slot's answer at once: the walk, its stacks and its memo are made only for
 * a container, so reading a number or a string back allocates nothing but the value.
 */
export function toJS(engine: Engine, root: number, options: ToJSOptions, memo?: Map<number, PyJS>): PyJS {
  const type = liveType(engine.m.u32, root);
  if (((TYPE_GC_BITS >>> type) & 1) === 0) return toJSOf(type, engine.m, root, options) as PyJS;
  return walk(engine, root, options, memo ?? new Map<number, PyJS>());
}

/** toJS's walk over a container and everything it holds. */
function walk(engine: Engine, root: number, options: ToJSOptions, memo: Map<number, PyJS>): PyJS {
  const m = engine.m;
  const u32 = m.u32;
  const stack: Rebuild[] = [];
  const pointers: number[] = [];

  /** p's JS value, or its Rebuild, pushed. */
  const begin = (p: number): PyJS | Rebuild => {
    const type = liveType(u32, p);
    if (((TYPE_GC_BITS >>> type) & 1) === 0) return toJSOf(type, m, p, options);
    const seen = memo.get(p);
    if (seen !== undefined) return seen;
    const rebuild = toJSOf(type, m, p, options) as Rebuild;
    if (rebuild.early !== undefined) memo.set(p, rebuild.early);
    stack.push(rebuild);
    pointers.push(p);
    return rebuild;
  };

  let value = begin(root);
  for (;;) {
    if (!(value instanceof Rebuild)) {
      if (stack.length === 0) return value;
      stack[stack.length - 1].put(value);
    }
    const top = stack[stack.length - 1];
    const child = top.next();
    if (child !== 0) {
      value = begin(child);
      continue;
    }
    stack.pop();
    value = top.done();
    memo.set(pointers.pop() as number, value);
  }
}
