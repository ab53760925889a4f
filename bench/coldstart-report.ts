/** The cold-start benchmark's arithmetic, apart from its processes so it is tested without timing anything. */
import { median } from './statistics.ts';

/** Issue #20's targets; a kilobyte is 1,000 bytes (the stricter reading). */
export const COLD_START_TARGETS = {
  authorizerBytes: 150_000,
  otherBytes: 600_000,
  importInitMs: 70,
} as const;

/** The function whose bundle has the tighter budget: it runs on every handshake. */
const AUTHORIZER = 'authorizer';

/** What one fresh process reports after importing a bundle. */
export interface ImportSample {
  /** Wall-clock time of the import (the module's top level included: Lambda's Init). */
  readonly importMs: number;
  /** CPU time of the process during the import, every thread. */
  readonly importCpuMs: number;
  /** From the process's start to the handler being ready: what a cold start costs before the first invocation. */
  readonly readyMs: number;
}

export interface ColdStartSamples {
  /** The catalog name (the plan's `function` tag). */
  readonly name: string;
  readonly bundleBytes: number;
  /** One per fresh process. */
  readonly imports: readonly ImportSample[];
  /** The same with NODE_OPTIONS=--enable-source-maps. */
  readonly importsWithSourceMaps: readonly ImportSample[];
}

/** Medians of a function's samples, judged against the targets and the minimal handler of the same run. */
export interface ColdStartRow {
  readonly name: string;
  readonly bundleBytes: number;
  readonly bundleLimitBytes: number;
  readonly importMs: number;
  readonly importCpuMs: number;
  readonly readyMs: number;
  /** readyMs over the minimal handler's. */
  readonly readyRatioToBaseline: number;
  readonly importWithSourceMapsMs: number;
  readonly bundleWithinTarget: boolean;
  /** The import + init target judges the wall clock, as a cold start is felt. */
  readonly timeWithinTarget: boolean;
}

export function bundleLimitBytes(name: string): number {
  return name === AUTHORIZER ? COLD_START_TARGETS.authorizerBytes : COLD_START_TARGETS.otherBytes;
}

function requiredMedian(samples: readonly ImportSample[], pick: (s: ImportSample) => number, what: string): number {
  const m = median(samples.map(pick));
  if (m === undefined) throw new Error(`no samples for ${what}`);
  return m;
}

/** One row per function, in the order given, each beside the minimal handler's medians of the same run. */
export function coldStartRows(baseline: Pick<ColdStartSamples, 'imports'>, functions: readonly ColdStartSamples[]): ColdStartRow[] {
  const baselineReadyMs = requiredMedian(baseline.imports, (s) => s.readyMs, 'the minimal handler');
  return functions.map((f) => {
    const importMs = requiredMedian(f.imports, (s) => s.importMs, f.name);
    const readyMs = requiredMedian(f.imports, (s) => s.readyMs, f.name);
    const limit = bundleLimitBytes(f.name);
    return {
      name: f.name,
      bundleBytes: f.bundleBytes,
      bundleLimitBytes: limit,
      importMs,
      importCpuMs: requiredMedian(f.imports, (s) => s.importCpuMs, f.name),
      readyMs,
      readyRatioToBaseline: readyMs / baselineReadyMs,
      importWithSourceMapsMs: requiredMedian(f.importsWithSourceMaps, (s) => s.importMs, `${f.name} with --enable-source-maps`),
      bundleWithinTarget: f.bundleBytes <= limit,
      timeWithinTarget: importMs <= COLD_START_TARGETS.importInitMs,
    };
  });
}
