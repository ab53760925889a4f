import { describe, expect, it } from 'vitest';
import { median, percentile } from '../../bench/statistics.ts';

describe('bench statistics', () => {
  it('takes the nearest-rank percentile, as CloudWatch does, whatever the input order', () => {
    const values = [50, 10, 40, 20, 30];
    expect(percentile(values, 50)).toBe(30);
    expect(percentile(values, 99)).toBe(50);
    expect(percentile(values, 20)).toBe(10);
    expect(percentile(values, 0)).toBe(10);
    expect(percentile([7], 99)).toBe(7);
  });

  it('sorts numerically, not as text', () => {
    expect(percentile([9, 100, 20], 50)).toBe(20);
    expect(median([9, 100, 20])).toBe(20);
  });

  it('takes the middle value, or the mean of the two middle ones for an even count', () => {
    expect(median([1.81, 2.49, 1.75])).toBe(1.81);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('has no statistic for no values', () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(median([])).toBeUndefined();
  });
});
