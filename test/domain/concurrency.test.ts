import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { forEachLimited } from '../../functions/app/concurrency.ts';

/** Runs forEachLimited with tasks that take a few ms each and records how many were in flight at once. */
async function observe(count: number, limit: number) {
  const items = Array.from({ length: count }, (_, i) => i);
  let inFlight = 0;
  let maxInFlight = 0;
  const started: number[] = [];
  const finished: number[] = [];
  await forEachLimited(items, limit, async (item) => {
    started.push(item);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await sleep(1 + (item % 3));
    inFlight--;
    finished.push(item);
  });
  return { items, maxInFlight, started, finished, inFlightAfter: inFlight };
}

describe('forEachLimited', () => {
  it('keeps exactly `limit` tasks in flight when there are more items', async () => {
    const run = await observe(20, 4);
    expect(run.maxInFlight).toBe(4);
    expect(run.inFlightAfter).toBe(0);
  });

  it('processes every item exactly once and starts them in order', async () => {
    const run = await observe(25, 3);
    expect(run.started).toEqual(run.items);
    expect([...run.finished].sort((a, b) => a - b)).toEqual(run.items);
  });

  it('runs everything at once when the limit exceeds the item count', async () => {
    const run = await observe(5, 32);
    expect(run.maxInFlight).toBe(5);
    expect(run.finished).toHaveLength(5);
  });

  it('runs strictly one after another with a limit of 1', async () => {
    const order: string[] = [];
    await forEachLimited(['a', 'b', 'c'], 1, async (item) => {
      order.push(`start ${item}`);
      await sleep(2);
      order.push(`end ${item}`);
    });
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('resolves for an empty list without calling the task', async () => {
    let calls = 0;
    await forEachLimited([], 8, async () => {
      calls++;
    });
    expect(calls).toBe(0);
  });

  it('waits for all tasks before resolving', async () => {
    let done = 0;
    await forEachLimited([5, 1, 3], 2, async (ms) => {
      await sleep(ms);
      done++;
    });
    expect(done).toBe(3);
  });

  it('rejects when a task rejects', async () => {
    await expect(
      forEachLimited([1, 2, 3], 2, async (n) => {
        if (n === 2) throw new Error('task 2 failed');
      }),
    ).rejects.toThrow('task 2 failed');
  });
});
