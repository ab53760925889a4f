import { describe, expect, it } from 'vitest';
import { bundleLimitBytes, COLD_START_TARGETS, coldStartRows, type ImportSample } from '../../bench/coldstart-report.ts';

const sample = (importMs: number, importCpuMs = importMs, readyMs = importMs + 40): ImportSample => ({ importMs, importCpuMs, readyMs });
const baseline = { imports: [sample(1, 1, 40), sample(3, 2, 60), sample(2, 1, 50)] };

describe('cold-start report', () => {
  it('takes the median of each measure and sets the start-to-ready time beside the minimal handler', () => {
    const [row] = coldStartRows(baseline, [
      {
        name: 'send',
        bundleBytes: 500_000,
        imports: [sample(90, 120, 140), sample(30, 40, 75), sample(60, 80, 100), sample(45, 60, 90), sample(300, 310, 400)],
        importsWithSourceMaps: [sample(70), sample(65), sample(80), sample(75), sample(72)],
      },
    ]);
    expect(row).toEqual({
      name: 'send',
      bundleBytes: 500_000,
      bundleLimitBytes: 600_000,
      importMs: 60,
      importCpuMs: 80,
      readyMs: 100,
      readyRatioToBaseline: 2,
      importWithSourceMapsMs: 72,
      bundleWithinTarget: true,
      timeWithinTarget: true,
    });
  });

  it('gives the authorizer the tighter bundle budget, and judges both targets inclusively', () => {
    expect(bundleLimitBytes('authorizer')).toBe(COLD_START_TARGETS.authorizerBytes);
    expect(bundleLimitBytes('join')).toBe(COLD_START_TARGETS.otherBytes);
    const atLimit = [sample(COLD_START_TARGETS.importInitMs)];
    const rows = coldStartRows(baseline, [
      { name: 'authorizer', bundleBytes: 150_000, imports: atLimit, importsWithSourceMaps: atLimit },
      { name: 'authorizer', bundleBytes: 150_001, imports: [sample(70.1)], importsWithSourceMaps: atLimit },
      { name: 'join', bundleBytes: 150_001, imports: atLimit, importsWithSourceMaps: atLimit },
    ]);
    expect(rows.map((r) => [r.bundleWithinTarget, r.timeWithinTarget])).toEqual([
      [true, true],
      [false, false],
      [true, true],
    ]);
  });

  it('judges the import time by the wall clock, not the CPU time', () => {
    const [row] = coldStartRows(baseline, [{ name: 'ping', bundleBytes: 1, imports: [sample(90, 20)], importsWithSourceMaps: [sample(90)] }]);
    expect(row?.timeWithinTarget).toBe(false);
  });

  it('refuses to judge a function, or a baseline, without samples', () => {
    expect(() => coldStartRows({ imports: [] }, [])).toThrow('no samples for the minimal handler');
    expect(() => coldStartRows(baseline, [{ name: 'who', bundleBytes: 1, imports: [sample(5)], importsWithSourceMaps: [] }])).toThrow(
      'no samples for who with --enable-source-maps',
    );
  });
});
