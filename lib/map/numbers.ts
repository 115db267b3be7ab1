/** How the pymem command writes numbers: counts with thousands separators, bytes in MiB. */

/** 1,234,567 (rounded to a whole number). */
export const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/** 12.3 MiB */
export const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
