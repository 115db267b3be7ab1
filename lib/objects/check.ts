/**
 * heap.check() for the objects layer: the type records, every static object, the float freelist and
 * the interned table, read from the region without writing a byte. Throws HeapCorruptionError naming
 * the first invariant broken. Linear in the statics, the freelist and the table; for tests and debugging.
 */
import { hex } from '../errors';
import {
  OB_REFCNT, OBJ_MAGIC, OBJ_MAGIC_VALUE, TYPE_INFO, TYPE_GC_BITS, TP_BASICSIZE, TP_ITEMSIZE, TP_NAME, GC_HEAD, HEAD_NEXT, HEAD_PREV,
  HEAD_FLAGS, HEAD_REFS, GC_PERMANENT, GC_UNREACHABLE, GC_COLLECTING, GC_ENABLED, typeRecord, genHead,
} from './layout';
import { typeOf } from './header';
import { objectsCorrupt as fail } from './invariants';
import { TYPE_SLOTS } from './types';

/** heap.check()'s part for layer +3: nothing when the region holds no objects (their state never written). */
export function checkObjectLayer(u32: Uint32Array, limit: number): void {
  if (u32[OBJ_MAGIC >>> 2] === OBJ_MAGIC_VALUE) checkObjects(u32, limit);
}

export function checkObjects(u32: Uint32Array, limit: number): void {
  const u8 = new Uint8Array(u32.buffer);
  const at = (offset: number): number => u32[offset >>> 2];

  TYPE_INFO.forEach(([name, basicsize, itemsize], type) => {
    const record = typeRecord(type);
    let stored = '';
    for (let i = record + TP_NAME; u8[i] !== 0; i++) stored += String.fromCharCode(u8[i]);
    if (stored !== name || at(record + TP_BASICSIZE) !== basicsize || at(record + TP_ITEMSIZE) !== itemsize) {
      fail('type.record', `the type record at ${hex(record)} reads '${stored}' (${at(record + TP_BASICSIZE)}, ${at(record + TP_ITEMSIZE)}), not '${name}'`);
    }
  });
  // Each type's statics, freelists and tables (its check slot), then the collector's lists.
  for (const slots of TYPE_SLOTS) slots.check(u8, u32, limit);
  checkCollector(u32, limit);
}

/**
 * The collector's lists, outside a collection: each circular and doubly linked from its head, every
 * element a live container on no other list, with no collection state left in its GC head; the
 * unreachable list empty; the flags 0 or 1.
 */
function checkCollector(u32: Uint32Array, limit: number): void {
  const at = (offset: number): number => u32[offset >>> 2];
  if (at(GC_COLLECTING) > 1 || at(GC_ENABLED) > 1) fail('gc.state', `collecting ${at(GC_COLLECTING)}, enabled ${at(GC_ENABLED)}: each must be 0 or 1`);
  const seen = new Set<number>();
  const heads: [number, string][] = [[genHead(0), 'generation 0'], [genHead(1), 'generation 1'], [genHead(2), 'generation 2'], [GC_PERMANENT, 'the permanent generation'], [GC_UNREACHABLE, 'the unreachable list']];
  for (const [head, name] of heads) {
    let before = head;
    for (let h = at(head + HEAD_NEXT); h !== head; before = h, h = at(h + HEAD_NEXT)) {
      const p = h + GC_HEAD;
      if (h % 16 !== 0 || p + 16 > limit || seen.has(h)) fail('gc.link', `${name} links to ${hex(h)} after ${hex(before)}: not a GC head, or one already listed`);
      const type = typeOf(u32, p);
      if (((TYPE_GC_BITS >>> type) & 1) !== 1 || at(p + OB_REFCNT) === 0) fail('gc.object', `${name} holds ${hex(p)}, which is no live container`);
      if (at(h + HEAD_PREV) !== before) fail('gc.link', `the ${TYPE_INFO[type][0]} at ${hex(p)} in ${name} links back to ${hex(at(h + HEAD_PREV))}, not ${hex(before)}`);
      if (at(h + HEAD_FLAGS) !== 0 || at(h + HEAD_REFS) !== 0) fail('gc.state', `the ${TYPE_INFO[type][0]} at ${hex(p)} keeps a collection's state outside a collection`);
      seen.add(h);
    }
    if (at(head + HEAD_PREV) !== before) fail('gc.link', `the head of ${name} links back to ${hex(at(head + HEAD_PREV))}, not its last element ${hex(before)}`);
    if (head === GC_UNREACHABLE && before !== head) fail('gc.state', 'the unreachable list holds objects outside a collection');
  }
}
