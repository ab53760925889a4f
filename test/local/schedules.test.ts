/**
 * The local stack's schedules come from the plan: the rule's expression, its target, and the permission that lets
 * EventBridge invoke the target. Alarms fed by a scheduled function are left unevaluated when schedules do not run.
 */
import { describe, expect, it } from 'vitest';
import { CANARY_VARIABLES, IDENTITY_VARIABLES, ATTACHMENT_CORS_VARIABLE } from '../../infra/config/variables.ts';
import { readAlarms } from '../../local/observability/alarm-evaluator.ts';
import { StackPlan } from '../../local/plan.ts';
import { ratePeriodMs, readSchedules, runSchedules, scheduledEvent, type PlanSchedule } from '../../local/schedules.ts';
import { editedPlanDir, resourceOf } from '../support/plan-copy.ts';
import { stackDir } from '../support/plan.ts';

const VARIABLES = {
  [IDENTITY_VARIABLES.issuer]: 'https://issuer.invalid/',
  [IDENTITY_VARIABLES.audience]: 'wschat',
  [IDENTITY_VARIABLES.jwksUrl]: 'https://issuer.invalid/jwks',
  [ATTACHMENT_CORS_VARIABLE]: JSON.stringify(['http://127.0.0.1:8080']),
  [CANARY_VARIABLES.tokenEndpoint]: 'https://issuer.invalid/oauth2/token',
  [CANARY_VARIABLES.clientId]: 'canary',
  [CANARY_VARIABLES.clientSecret]: 'secret',
  [CANARY_VARIABLES.scope]: 'wschat/canary',
};

const load = (dir = stackDir('wschat-dev')) => StackPlan.load(dir, { apiId: 'abcdefghij', variables: VARIABLES });

describe('rate expressions', () => {
  it('read as AWS writes them: singular for 1, plural otherwise', () => {
    expect(ratePeriodMs('rate(1 minute)')).toBe(60_000);
    expect(ratePeriodMs('rate(5 minutes)')).toBe(300_000);
    expect(ratePeriodMs('rate(2 hours)')).toBe(7_200_000);
    expect(ratePeriodMs('rate(1 day)')).toBe(86_400_000);
  });

  it.each(['rate(1 minutes)', 'rate(5 minute)', 'rate(0 minutes)', 'cron(0 12 * * ? *)', 'rate(1 second)'])('refuses %s', (expression) => {
    expect(() => ratePeriodMs(expression)).toThrow(`schedule expression "${expression}" is not a rate`);
  });
});

describe("the dev plan's schedules", () => {
  it('are the canary every minute, read from the plan', () => {
    const plan = load();
    expect(readSchedules(plan)).toEqual([
      {
        ruleName: 'wschat-dev-canary-schedule',
        ruleArn: `arn:aws:events:${plan.region}:000000000000:rule/wschat-dev-canary-schedule`,
        expression: 'rate(1 minute)',
        periodMs: 60_000,
        functionName: 'wschat-dev-canary',
        // The target is the live alias: a rollout's weights apply to the canary's runs too.
        qualifier: 'live',
      },
    ]);
    const [schedule] = readSchedules(plan);
    expect(scheduledEvent(schedule!, plan.region, new Date('2026-12-03T10:00:00.123Z'))).toMatchObject({
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      time: '2026-12-03T10:00:00Z',
      resources: [schedule!.ruleArn],
      detail: {},
    });
  });

  it('are refused without the permission that lets EventBridge invoke the target from the rule', () => {
    const dir = editedPlanDir((plan) => {
      resourceOf(plan, 'aws_lambda_permission', 'schedule-permission').source_arn = 'arn:aws:events:us-east-1:000000000000:rule/another';
    });
    expect(() => readSchedules(load(dir))).toThrow('no aws_lambda_permission lets events.amazonaws.com invoke it from that rule');
  });

  it('feed the canary alarm, which is not evaluated where schedules do not run', () => {
    const plan = load();
    const canaryAlarm = (schedulesRun: boolean) => readAlarms(plan, { schedulesRun }).find((a) => a.name === 'wschat-dev-canary-failing');
    expect(canaryAlarm(false)).toMatchObject({ notLocal: expect.stringContaining('runs without schedules') });
    expect(canaryAlarm(true)).toMatchObject({ treatMissingData: 'breaching' });
    expect(canaryAlarm(true)).not.toHaveProperty('notLocal', expect.anything());
  });
});

describe('running schedules', () => {
  const schedule: PlanSchedule = { ruleName: 'r', ruleArn: 'arn:aws:events:us-east-1:000000000000:rule/r', expression: 'rate(1 minute)', periodMs: 60_000, functionName: 'f' };

  it('fires at once and every scaled period, but never beside a run still in flight', async () => {
    const releases: (() => void)[] = [];
    let invocations = 0;
    // 600x: a minute is 100 ms.
    const stop = runSchedules([schedule], 'us-east-1', 600, () => {
      invocations++;
      return new Promise<void>((resolve) => releases.push(resolve));
    }, () => undefined);
    try {
      expect(invocations).toBe(1);
      // Several periods pass while the first run is held: none of them starts another.
      await new Promise((resolve) => setTimeout(resolve, 450));
      expect(invocations).toBe(1);
      // Positive control: once it ends, the next period's run starts.
      releases.shift()?.();
      await expect.poll(() => invocations, { timeout: 5000 }).toBe(2);
    } finally {
      stop();
      for (const release of releases) release();
    }
  });

  it('reports a failed invocation and keeps the schedule going', async () => {
    const errors: string[] = [];
    let invocations = 0;
    const stop = runSchedules([schedule], 'us-east-1', 600, async () => {
      invocations++;
      throw new Error(`throttled ${invocations}`);
    }, (s, error) => errors.push(`${s.functionName}: ${(error as Error).message}`));
    try {
      await expect.poll(() => errors.length, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
      expect(errors.slice(0, 2)).toEqual(['f: throttled 1', 'f: throttled 2']);
    } finally {
      stop();
    }
  });
});
