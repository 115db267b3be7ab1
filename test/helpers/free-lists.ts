/**
 * The free-list lines sys._debugmallocstats() prints when every freelist is empty, written out from
 * CPython's format ("%48s " of "%d free %ss * %zd bytes each", then '=' and the value in 21 columns):
 * dict, float, list, then tuples of each length 1..20.
 */
function line(name: string, size: number): string {
  return `${`0 free ${name}s * ${size} bytes each`.padStart(48)} =${'0'.padStart(21)}\n`;
}

export const EMPTY_FREE_LISTS =
  line('PyDictObject', 48) + line('PyFloatObject', 24) + line('PyListObject', 40) + Array.from({ length: 20 }, (_, i) => line(`${i + 1}-sized PyTupleObject`, 24 + 8 * (i + 1))).join('');
