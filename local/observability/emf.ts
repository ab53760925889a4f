/** Reads CloudWatch Embedded Metric Format blobs (what Powertools Metrics prints) into the metric store. */
import type { MetricStore } from './metric-store.ts';

interface EmfBlob {
  _aws?: {
    Timestamp?: number;
    CloudWatchMetrics?: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
  };
  [key: string]: unknown;
}

/** Records every metric of an EMF line; false when the line is not EMF. */
export function ingestEmf(line: string, store: MetricStore): boolean {
  if (!line.includes('"_aws"')) return false;
  let blob: EmfBlob;
  try {
    blob = JSON.parse(line) as EmfBlob;
  } catch {
    return false;
  }
  const directives = blob._aws?.CloudWatchMetrics;
  if (!directives) return false;
  const t = blob._aws?.Timestamp ?? Date.now();
  for (const directive of directives) {
    for (const dimensionSet of directive.Dimensions.length ? directive.Dimensions : [[]]) {
      const dimensions = Object.fromEntries(dimensionSet.map((key) => [key, String(blob[key])]));
      for (const { Name } of directive.Metrics) {
        const value = blob[Name];
        for (const v of Array.isArray(value) ? value : [value]) {
          if (typeof v === 'number') store.put(directive.Namespace, Name, dimensions, v, t);
        }
      }
    }
  }
  return true;
}
