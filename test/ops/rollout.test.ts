/**
 * The rollout's decisions (ops/rollout/rollout.ts) in-process: its Lambda port runs on the local stack's own
 * alias emulation (FunctionTargets, the code behind the local control plane); its alarm port is a scripted list
 * of answers, the one stand-in here, because which alarm fires when is the input these tests vary (the drill,
 * test/drills/rollout.test.ts, fires real ones). Time is a counter the sleeps advance, so no test waits.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FunctionTargets } from '../../local/lambda/aliases.ts';
import { StackPlan } from '../../local/plan.ts';
import { ALARMS } from '../../dashboards/alarms.ts';
import { FUNCTION_NAMES } from '../../functions/catalog/functions.ts';
import { STAGE_NAMES, stackName } from '../../infra/config/stages.ts';
import { previousVersionOf, rollback, rollout, type AlarmWatch, type AliasControl, type RolloutOptions } from '../../ops/rollout/rollout.ts';
import { readRolloutTargets } from '../../ops/rollout/stage-plan.ts';
import { readPlan, stackDir } from '../support/plan.ts';

const FUNCTIONS = ['fn-a', 'fn-b'];

function targets(): FunctionTargets {
  const dir = mkdtempSync(path.join(tmpdir(), 'wschat-rollout-'));
  const resource = {
    aws_lambda_function: Object.fromEntries(FUNCTIONS.map((name) => [name, { function_name: name, publish: true }])),
    aws_lambda_alias: Object.fromEntries(
      FUNCTIONS.map((name) => [name, { name: 'live', function_name: `\${aws_lambda_function.${name}.function_name}`, function_version: `\${aws_lambda_function.${name}.version}` }]),
    ),
  };
  writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({ provider: { aws: [{ region: 'eu-west-1' }] }, resource }));
  return FunctionTargets.fromPlan(StackPlan.load(dir, { apiId: 'abc', variables: {} }));
}

/** The port over the emulation, as the local control plane serves it. */
function aliasesOf(t: FunctionTargets): AliasControl {
  return {
    listVersions: async (fn) => [...(t.publishedVersions(fn) ?? [])],
    getAlias: async (fn) => t.alias(fn, 'live'),
    updateAlias: async (fn, change) => void t.updateAlias(fn, 'live', change),
  };
}

/** Answers each DescribeAlarms with the next scripted list (the last one repeats); an Error is thrown. */
function scripted(...answers: (string[] | Error)[]): AlarmWatch & { calls: number } {
  const watch = {
    calls: 0,
    async firing() {
      const answer = answers[Math.min(watch.calls++, answers.length - 1)] as string[] | Error;
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return watch;
}

function options(overrides: Partial<RolloutOptions> = {}): RolloutOptions {
  let now = 0;
  return {
    functions: FUNCTIONS,
    alarms: ['page-1', 'canary'],
    stepPercent: 10,
    bakeMs: 10_000,
    pollMs: 1_000,
    sleep: async (ms) => void (now += ms),
    now: () => now,
    log: () => undefined,
    ...overrides,
  };
}

describe('rollout', () => {
  it('does nothing when every alias runs its newest version', async () => {
    const watch = scripted([]);
    expect(await rollout(aliasesOf(targets()), watch, options())).toEqual({ outcome: 'nothing-to-deploy' });
    expect(watch.calls).toBe(0);
  });

  it('weights the new version for the whole bake, then promotes it and records the previous version', async () => {
    const t = targets();
    t.publishVersion('fn-a');
    const weights: Record<string, number>[] = [];
    const watch: AlarmWatch = {
      async firing() {
        weights.push({ ...t.alias('fn-a', 'live').additionalVersionWeights });
        return [];
      },
    };
    const result = await rollout(aliasesOf(t), watch, options());
    expect(result).toEqual({ outcome: 'promoted', shifts: [{ functionName: 'fn-a', from: '1', to: '2' }] });
    // The check before the shift, then one poll a second for 10 s of bake (the last at its end).
    expect(weights[0]).toEqual({});
    expect(weights.slice(1)).toEqual(Array.from({ length: 11 }, () => ({ '2': 0.1 })));
    expect(t.alias('fn-a', 'live')).toMatchObject({ functionVersion: '2', additionalVersionWeights: {} });
    expect(previousVersionOf(t.alias('fn-a', 'live').description)).toBe('1');
    // fn-b had nothing new: untouched.
    expect(t.alias('fn-b', 'live')).toMatchObject({ functionVersion: '1', description: '' });
  });

  it('shifts every function back when an alarm fires during the bake', async () => {
    const t = targets();
    t.publishVersion('fn-a');
    t.publishVersion('fn-b');
    const result = await rollout(aliasesOf(t), scripted([], [], [], ['canary']), options());
    expect(result).toEqual({
      outcome: 'rolled-back',
      firing: ['canary'],
      shifts: [
        { functionName: 'fn-a', from: '1', to: '2' },
        { functionName: 'fn-b', from: '1', to: '2' },
      ],
    });
    for (const fn of FUNCTIONS) expect(t.alias(fn, 'live')).toMatchObject({ functionVersion: '1', additionalVersionWeights: {} });
  });

  it('shifts back when the alarms cannot be read during the bake', async () => {
    const t = targets();
    t.publishVersion('fn-a');
    const result = await rollout(aliasesOf(t), scripted([], new Error('CloudWatch DescribeAlarms could not be sent: ECONNRESET')), options());
    expect(result).toMatchObject({ outcome: 'rolled-back', firing: ['the alarms could not be read (CloudWatch DescribeAlarms could not be sent: ECONNRESET)'] });
    expect(t.alias('fn-a', 'live')).toMatchObject({ functionVersion: '1', additionalVersionWeights: {} });
  });

  it('refuses, moving nothing, during an incident, after an interrupted rollout, with no alarms or a bad step', async () => {
    const t = targets();
    t.publishVersion('fn-a');
    expect(await rollout(aliasesOf(t), scripted(['page-1']), options())).toEqual({ outcome: 'refused', reason: 'page alarms already in ALARM before the rollout: page-1' });
    expect(await rollout(aliasesOf(t), scripted([]), options({ alarms: [] }))).toMatchObject({ outcome: 'refused', reason: expect.stringMatching(/no alarms to watch/) });
    for (const stepPercent of [0, 101, 2.5]) {
      expect(await rollout(aliasesOf(t), scripted([]), options({ stepPercent }))).toMatchObject({ outcome: 'refused', reason: expect.stringMatching(/whole percentage from 1 to 100/) });
    }
    expect(t.alias('fn-a', 'live')).toMatchObject({ functionVersion: '1', additionalVersionWeights: {} });
    t.updateAlias('fn-a', 'live', { additionalVersionWeights: { '2': 0.1 } });
    expect(await rollout(aliasesOf(t), scripted([]), options())).toMatchObject({ outcome: 'refused', reason: expect.stringMatching(/fn-a: its alias already routes \{"2":0.1\}.*run npm run rollback first/) });
  });
});

describe('rollback', () => {
  it('removes a weight, returns a promoted alias to its recorded version once, and leaves the rest', async () => {
    const t = targets();
    t.publishVersion('fn-a');
    t.publishVersion('fn-b');
    await rollout(aliasesOf(t), scripted([]), options({ functions: ['fn-a'] }));
    t.updateAlias('fn-b', 'live', { additionalVersionWeights: { '2': 0.1 } });
    expect(await rollback(aliasesOf(t), FUNCTIONS, () => undefined)).toEqual([
      { functionName: 'fn-a', action: 'returned', from: '2', to: '1' },
      { functionName: 'fn-b', action: 'weight-removed', version: '1', removed: '2' },
    ]);
    expect(t.alias('fn-a', 'live')).toMatchObject({ functionVersion: '1', description: 'rolled back from version 2' });
    expect(t.alias('fn-b', 'live')).toMatchObject({ functionVersion: '1', additionalVersionWeights: {} });
    expect(await rollback(aliasesOf(t), FUNCTIONS, () => undefined)).toEqual([
      { functionName: 'fn-a', action: 'unchanged', reason: 'no previous version recorded; stays on 1' },
      { functionName: 'fn-b', action: 'unchanged', reason: 'no previous version recorded; stays on 1' },
    ]);
  });
});

describe.each(STAGE_NAMES)('what a rollout of %s acts on, read from its synthesized plan', (stage) => {
  const targets = readRolloutTargets(stackDir(stackName(stage)));

  it('is every function of the catalog', () => {
    expect([...targets.functions].sort()).toEqual(FUNCTION_NAMES.map((name) => `wschat-${stage}-${name}`).sort());
  });

  it("watches exactly the plan's metric alarms tagged severity page, the canary's among them", () => {
    const planned = Object.values(readPlan(stackName(stage)).resource.aws_cloudwatch_metric_alarm ?? {}) as { alarm_name: string; tags?: Record<string, string> }[];
    const paging = planned.filter((a) => a.tags?.severity === 'page').map((a) => a.alarm_name);
    expect([...targets.alarms].sort()).toEqual(paging.sort());
    const canary = ALARMS.find((a) => a.scheduledFunction !== undefined);
    expect(canary?.severity).toBe('page');
    expect(targets.alarms).toContain(`wschat-${stage}-${canary?.id}`);
  });
});
