/** The statistics the benchmarks print, in one place so their figures mean the same thing. */

/** Nearest-rank percentile (CloudWatch's pNN): the smallest value with at least p% of values at or below it. */
export function percentile(values: ArrayLike<number>, p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** The middle value; for an even count, the mean of the two middle ones. */
export function median(values: ArrayLike<number>): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = Float64Array.from(values).sort();
  return ((sorted[Math.floor((sorted.length - 1) / 2)] as number) + (sorted[Math.ceil((sorted.length - 1) / 2)] as number)) / 2;
}
