/**
 * A small CloudWatch: datapoints by namespace, name and exact dimension set, queried with CloudWatch's
 * statistics (Sum, Average, Minimum, Maximum, SampleCount, pNN, PR(n:m)) over a time window.
 */
export type Dimensions = Readonly<Record<string, string>>;

export interface MetricKey {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Dimensions;
}

/** Times and values in two packed number arrays: 16 bytes a datapoint instead of an object each. */
interface Series extends MetricKey {
  readonly times: number[];
  readonly values: number[];
}

/** Runs once per datapoint: no sort and no intermediate arrays for the usual zero or one dimension. */
function keyOf(namespace: string, name: string, dimensions: Dimensions): string {
  const names = Object.keys(dimensions);
  if (names.length > 1) names.sort();
  let key = `${namespace}|${name}|`;
  for (const dimension of names) key += `${dimension}=${dimensions[dimension]},`;
  return key;
}

/** The first index whose time is >= t in ascending times. */
function firstAtOrAfter(times: readonly number[], t: number): number {
  let low = 0;
  let high = times.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((times[middle] as number) < t) low = middle + 1;
    else high = middle;
  }
  return low;
}

export function statistic(values: readonly number[], stat: string): number | undefined {
  if (values.length === 0) return undefined;
  switch (stat) {
    case 'Sum':
      return values.reduce((a, b) => a + b, 0);
    case 'Average':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'Minimum':
      return Math.min(...values);
    case 'Maximum':
      return Math.max(...values);
    case 'SampleCount':
      return values.length;
  }
  // Percentile rank PR(lower:upper): the percentage of values above lower and at most upper, either bound optional
  // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html, read 2026-12-03).
  const percentRank = /^PR\((\d+(?:\.\d+)?)?:(\d+(?:\.\d+)?)?\)$/.exec(stat);
  if (percentRank) {
    const lower = percentRank[1] === undefined ? -Infinity : Number(percentRank[1]);
    const upper = percentRank[2] === undefined ? Infinity : Number(percentRank[2]);
    return (100 * values.filter((v) => v > lower && v <= upper).length) / values.length;
  }
  const percentile = /^p(\d+(?:\.\d+)?)$/.exec(stat);
  if (!percentile) throw new Error(`unsupported statistic ${stat}`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((Number(percentile[1]) / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

export class MetricStore {
  private readonly series = new Map<string, Series>();
  /** Counts clear() calls, so recorders know when the series they found were dropped. */
  private generation = 0;

  /**
   * @param retentionMs datapoints older than this are dropped: the store serves alarm windows and the
   * dashboard's recent periods, not history.
   */
  constructor(private readonly retentionMs = 40 * 60 * 1000) {}

  put(namespace: string, name: string, dimensions: Dimensions, value: number, t = Date.now()): void {
    if (!Number.isFinite(value)) return;
    this.append(this.seriesOf(namespace, name, dimensions), value, t);
  }

  /**
   * Records one namespace and dimension set by metric name, for a caller that records the same few series on a hot
   * path (the gateway's MessageCount, once per `@connections` post): each series is found once, not by building
   * and hashing its key for every datapoint.
   */
  recorder(namespace: string, dimensions: Dimensions): (name: string, value: number, t?: number) => void {
    const fixed = { ...dimensions };
    let found = new Map<string, Series>();
    let generation = this.generation;
    return (name, value, t = Date.now()) => {
      if (!Number.isFinite(value)) return;
      // clear() starts new series; the ones found before it are no longer the store's.
      if (generation !== this.generation) {
        found = new Map();
        generation = this.generation;
      }
      let series = found.get(name);
      if (!series) found.set(name, (series = this.seriesOf(namespace, name, fixed)));
      this.append(series, value, t);
    };
  }

  private seriesOf(namespace: string, name: string, dimensions: Dimensions): Series {
    const key = keyOf(namespace, name, dimensions);
    let series = this.series.get(key);
    if (!series) {
      series = { namespace, name, dimensions: { ...dimensions }, times: [], values: [] };
      this.series.set(key, series);
    }
    return series;
  }

  private append(series: Series, value: number, t: number): void {
    // Times stay sorted so windows are found by binary search; EMF timestamps from workers may arrive a little late.
    const at = series.times.length === 0 || t >= (series.times.at(-1) as number) ? series.times.length : firstAtOrAfter(series.times, t + 1);
    if (at === series.times.length) {
      series.times.push(t);
      series.values.push(value);
    } else {
      series.times.splice(at, 0, t);
      series.values.splice(at, 0, value);
    }
    // Drop old points in batches rather than on every write.
    if (series.times.length % 1000 === 0) {
      const horizon = t - this.retentionMs;
      const firstKept = firstAtOrAfter(series.times, horizon);
      if (firstKept > 0) {
        series.times.splice(0, firstKept);
        series.values.splice(0, firstKept);
      }
    }
  }

  /** The statistic over [from, to); undefined when no datapoint fell in the window (missing data). */
  stat(key: MetricKey, stat: string, from: number, to: number): number | undefined {
    const series = this.series.get(keyOf(key.namespace, key.name, key.dimensions));
    if (!series) return undefined;
    return statistic(series.values.slice(firstAtOrAfter(series.times, from), firstAtOrAfter(series.times, to)), stat);
  }

  /** One value per period, oldest first, for the `periods` periods ending at `now`. */
  history(key: MetricKey, stat: string, periodMs: number, periods: number, now = Date.now()): (number | undefined)[] {
    return Array.from({ length: periods }, (_, i) => {
      const end = now - (periods - 1 - i) * periodMs;
      return this.stat(key, stat, end - periodMs, end);
    });
  }

  /** Datapoints held across all series. */
  get datapoints(): number {
    let count = 0;
    for (const series of this.series.values()) count += series.times.length;
    return count;
  }

  /** Forgets every datapoint. */
  clear(): void {
    this.series.clear();
    this.generation++;
  }

  keys(): MetricKey[] {
    return [...this.series.values()].map(({ namespace, name, dimensions }) => ({ namespace, name, dimensions }));
  }
}
