/**
 * The local stack's budget of function environments across functions (local/lambda/environment-budget.ts): at the
 * budget, a new environment reclaims the least recently used idle one of another function, and never makes an
 * invocation wait when every environment is busy. Real worker threads, invoked through the Invoke API.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EnvironmentBudget, type ReclaimablePool } from '../../local/lambda/environment-budget.ts';
import { localLambdaClient, useStack } from '../support/local-stack.ts';
import { addFunction, bootEditedStack, GATED_HANDLER } from '../support/plan-copy.ts';

const BUDGET = 2;
const { stack } = useStack(() =>
  bootEditedStack(
    (plan, dir) => {
      for (const id of ['first', 'second', 'third']) addFunction(plan, dir, { id, source: GATED_HANDLER, timeout: 60 });
    },
    // Reclaims at once: the default waits for 10 s of idleness, which the tests below would have to sleep out.
    { environmentBudget: { limit: BUDGET, reclaimAfterIdleMs: 0 } },
  ),
);

let lambda: LambdaClient;
beforeAll(() => {
  lambda = localLambdaClient(stack);
});

const decoder = new TextDecoder();
const gateFile = () => path.join(mkdtempSync(path.join(tmpdir(), 'wschat-budget-')), 'open');
async function invoke(id: string, gate: string): Promise<unknown> {
  const out = await lambda.send(new InvokeCommand({ FunctionName: `wschat-dev-${id}`, Payload: JSON.stringify({ gate }) }));
  return JSON.parse(decoder.decode(out.Payload));
}
/** Runs one invocation of `id` to completion. */
function runOnce(id: string): Promise<unknown> {
  const gate = gateFile();
  writeFileSync(gate, '');
  return invoke(id, gate);
}
const coldStarts = (id: string) => stack.coldStarts()[`wschat-dev-${id}`] ?? 0;

describe('the environment budget', () => {
  it('reclaims the least recently used idle environment of another function at the budget', async () => {
    expect(await runOnce('first')).toBe('released');
    expect(await runOnce('second')).toBe('released');
    expect(stack.environmentCount()).toBe(BUDGET);
    // Positive control: under the budget's pressure nothing is reclaimed while no new environment is needed.
    expect(await runOnce('first')).toBe('released');
    expect(coldStarts('first')).toBe(1);

    // A third function needs an environment: second's has been idle longest (first ran after it).
    expect(await runOnce('third')).toBe('released');
    await expect.poll(() => stack.environmentCount()).toBe(BUDGET);
    expect(await runOnce('first')).toBe('released');
    expect(coldStarts('first')).toBe(1);
    expect(await runOnce('second')).toBe('released');
    expect(coldStarts('second')).toBe(2);
  });

  it('never makes an invocation wait for another function: with every environment busy it goes over the budget', async () => {
    const gates = ['first', 'second', 'third'].map(() => gateFile());
    const holding = () => stack.printed.filter((line) => gates.some((gate) => line.includes(`HOLDING ${gate}`))).length;
    const running = ['first', 'second', 'third'].map((id, i) => invoke(id, gates[i] as string));
    await expect.poll(holding).toBe(3);
    expect(stack.environmentCount()).toBe(3);
    for (const gate of gates) writeFileSync(gate, '');
    expect(await Promise.all(running)).toEqual(['released', 'released', 'released']);
  });
});

describe('the budget on its own', () => {
  const pool = (environments: number, idleSince: number | undefined) => {
    const reclaimed: number[] = [];
    const p: ReclaimablePool & { reclaimed: number[] } = {
      environments,
      reclaimed,
      oldestIdleSince: () => idleSince,
      reclaimOldestIdle: () => void reclaimed.push(idleSince as number),
    };
    return p;
  };

  it('reclaims nothing below the limit', () => {
    const budget = new EnvironmentBudget({ limit: 4, reclaimAfterIdleMs: 0 });
    const a = pool(3, 10);
    budget.add(a);
    budget.makeRoom();
    expect(a.reclaimed).toEqual([]);
  });

  it('reclaims the oldest idle environment across pools at the limit, and skips pools with none idle', () => {
    const budget = new EnvironmentBudget({ limit: 4, reclaimAfterIdleMs: 0 });
    const busy = pool(2, undefined);
    const newer = pool(1, 20);
    const older = pool(1, 10);
    for (const p of [busy, newer, older]) budget.add(p);
    budget.makeRoom();
    expect(older.reclaimed).toEqual([10]);
    expect(newer.reclaimed).toEqual([]);
  });

  it('reclaims only an environment idle for reclaimAfterIdleMs: functions taking turns do not evict each other', () => {
    let now = 1_000;
    const budget = new EnvironmentBudget({ limit: 2, reclaimAfterIdleMs: 100 }, () => now);
    const a = pool(1, 950);
    const b = pool(1, 980);
    budget.add(a);
    budget.add(b);
    budget.makeRoom();
    expect([...a.reclaimed, ...b.reclaimed]).toEqual([]);
    // Positive control: once the oldest has been idle long enough, it goes.
    now = 1_050;
    budget.makeRoom();
    expect(a.reclaimed).toEqual([950]);
    expect(b.reclaimed).toEqual([]);
  });

  it('refuses a budget that is not a positive whole number, and a negative idle time', () => {
    for (const limit of [0, -1, 1.5, Number.NaN]) expect(() => new EnvironmentBudget({ limit })).toThrow(/whole number ≥ 1/);
    expect(() => new EnvironmentBudget({ reclaimAfterIdleMs: -1 })).toThrow(/reclaimAfterIdleMs must be ≥ 0/);
  });
});
