/** The connections bench's verdict (issue #20): every round, both ratios, at most 1.2x; an unreadable round judges nothing. */
import { describe, expect, it } from 'vitest';
import { IDLE_MEMORY_TARGET, idleMemoryVerdict } from '../../bench/connections-verdict.ts';

const round = (rss: number, heap: number, measurable = true) => ({ rss, heap, measurable });

describe('idleMemoryVerdict', () => {
  it('is issue #20\'s target, 1.2x', () => {
    expect(IDLE_MEMORY_TARGET).toBe(1.2);
  });

  it('passes when every round meets the target on both ratios, the target itself included', () => {
    expect(idleMemoryVerdict([round(1.15, 1.2), round(1.2, 1.1), round(0.9, 1.0)])).toBe('PASS');
  });

  it('fails when one round of three misses on RSS, although the median meets it', () => {
    expect(idleMemoryVerdict([round(1.15, 1.1), round(1.19, 1.1), round(1.5, 1.1)])).toBe('FAIL');
  });

  it('fails when the heap ratio misses in one round while RSS meets it in all', () => {
    expect(idleMemoryVerdict([round(1.1, 1.1), round(1.1, 1.21), round(1.1, 1.1)])).toBe('FAIL');
  });

  it('is inconclusive when a round could not be measured, whatever the others say', () => {
    expect(idleMemoryVerdict([round(1.1, 1.1), round(-0.4, 1.1, false)])).toBe('INCONCLUSIVE');
    expect(idleMemoryVerdict([])).toBe('INCONCLUSIVE');
  });
});
