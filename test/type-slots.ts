// The type-slot table's switches (lib/objects/types.ts): each case calls its own type's entry of
// TYPE_SLOTS, with the arguments it was given, and a type number no type has is a HeapCorruptionError.
import t from 'tap';
import { HeapCorruptionError } from '../lib/index';
import { TYPE_COUNT, TYPE_INFO } from '../lib/objects/layout';
import { TYPE_SLOTS, deallocAtomOf, deallocContainerOf, traverseOf, toJSOf } from '../lib/objects/types';
import type { TypeSlots } from '../lib/objects/slots';

type SlotName = 'dealloc' | 'traverse' | 'toJS';
const ARGS = [{ core: true }, 4096, { visit: () => {} }, 7] as const;

/** The switches, each with the slot it calls, the types it serves and a call of it with ARGS. */
const SWITCHES: [name: string, slot: SlotName, serves: (s: TypeSlots, type: number) => boolean, call: (type: number) => unknown][] = [
  ['deallocAtomOf', 'dealloc', (_, type) => !TYPE_INFO[type][3], (type) => deallocAtomOf(type, ARGS[0] as never, ARGS[1])],
  ['deallocContainerOf', 'dealloc', (_, type) => TYPE_INFO[type][3], (type) => deallocContainerOf(type, ARGS[0] as never, ARGS[1])],
  ['traverseOf', 'traverse', (s) => s.traverse !== null, (type) => traverseOf(type, ARGS[0] as never, ARGS[1], ARGS[2], ARGS[3])],
  ['toJSOf', 'toJS', () => true, (type) => toJSOf(type, ARGS[0] as never, ARGS[1], ARGS[3] as never)],
];

for (const [name, slot, serves, call] of SWITCHES) {
  t.test(`${name} calls the ${slot} slot of the type it is given`, async (t) => {
    let served = 0;
    for (let type = 0; type < TYPE_COUNT; type++) {
      if (!serves(TYPE_SLOTS[type], type)) {
        t.throws(() => call(type), HeapCorruptionError, `${TYPE_INFO[type][0]} is not served by ${name}`);
        continue;
      }
      served++;
      const entry = TYPE_SLOTS[type] as { -readonly [K in SlotName]: unknown };
      const original = entry[slot];
      const seen: unknown[][] = [];
      entry[slot] = (...args: unknown[]) => {
        seen.push(args);
        return `from ${type}`;
      };
      try {
        t.equal(call(type), `from ${type}`, `${TYPE_INFO[type][0]}: its own slot's answer, passed back`);
      } finally {
        entry[slot] = original;
      }
      t.equal(seen.length, 1, `${TYPE_INFO[type][0]}: its slot called once`);
      t.same(seen[0].slice(0, 2), ARGS.slice(0, 2), `${TYPE_INFO[type][0]}: with the arguments given`);
    }
    t.ok(served > 0, `${name} serves some type`);
  });
}

t.test('a type number no type has is a HeapCorruptionError naming it', async (t) => {
  for (const [name, , , call] of SWITCHES) {
    for (const type of [-1, TYPE_COUNT, 2 ** 26]) {
      t.throws(() => call(type), { code: 'ERR_PYMEM_HEAP_CORRUPTION', invariant: 'object.type', message: new RegExp(`type number ${type}, which is no type of this heap`) }, `${name}(${type})`);
    }
  }
});
