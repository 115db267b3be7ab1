/** The figure the bench reports for a set of measurements: their median (the upper one of an even count). */
export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}
