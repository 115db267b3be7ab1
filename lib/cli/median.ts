/** The figure the bench reports for a set of measurements: their median (the upper one of an even count). */
export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

/** Each figure of a set of measurements (the rounds of one form), as its median over them. */
export function medians<T extends object>(samples: readonly T[]): T {
  const keys = Object.keys(samples[0]) as (keyof T & string)[];
  return Object.fromEntries(keys.map((key) => [key, median(samples.map((m) => m[key] as number))])) as T;
}
