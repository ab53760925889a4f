/**
 * The plan's EventBridge schedules: each `aws_cloudwatch_event_rule` with a schedule expression invokes its
 * `aws_cloudwatch_event_target` functions, provided an `aws_lambda_permission` lets events.amazonaws.com do so
 * from that rule (without one, EventBridge's invocations fail on AWS). Periods shrink with the time scale.
 */
import { randomUUID } from 'node:crypto';
import { parseFunctionIdentifier, type FunctionTarget } from './lambda/aliases.ts';
import { LOCAL_ACCOUNT_ID, type StackPlan } from './plan.ts';

export interface PlanSchedule {
  readonly ruleName: string;
  readonly ruleArn: string;
  readonly expression: string;
  readonly periodMs: number;
  readonly functionName: string;
  /** The alias (or version) the target's ARN names: EventBridge invokes through it, weights and all. */
  readonly qualifier?: string;
}

const UNIT_MS: Readonly<Record<string, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** A `rate(<n> <unit>)` expression's period; cron expressions are not run locally (none of the plan's is one). */
export function ratePeriodMs(expression: string): number {
  const match = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression.trim());
  const value = Number(match?.[1]);
  if (!match || !(value >= 1) || (value === 1) !== !expression.trim().endsWith('s)')) {
    throw new Error(`schedule expression "${expression}" is not a rate(<n> minute|minutes|hour|hours|day|days) the local stack runs`);
  }
  return value * (UNIT_MS[match[2] as string] as number);
}

export function readSchedules(plan: StackPlan): PlanSchedule[] {
  const permissions = plan.resources('aws_lambda_permission').map((p) => plan.resolve(p.config) as Record<string, unknown>);
  return plan.resources('aws_cloudwatch_event_target').map((target) => {
    const rule = plan.byAddress(plan.referencedAddress(String(target.config.rule)));
    const ruleName = plan.resolve(String(rule.config.name));
    const expression = rule.config.schedule_expression;
    if (typeof expression !== 'string') throw new Error(`${rule.address} has no schedule expression: the local stack runs schedules only`);
    const fn = plan.byAddress(plan.referencedAddress(String(target.config.arn)));
    const functionName = plan.resolve(String(fn.config.function_name));
    const ruleArn = plan.resolve(`\${${rule.address}.arn}`);
    const permitted = permissions.some(
      (p) => p.principal === 'events.amazonaws.com' && p.action === 'lambda:InvokeFunction' && p.function_name === functionName && p.source_arn === ruleArn,
    );
    if (!permitted) throw new Error(`${rule.address} targets ${functionName}, but no aws_lambda_permission lets events.amazonaws.com invoke it from that rule`);
    const { qualifier } = parseFunctionIdentifier(plan.resolve(String(target.config.arn)));
    return { ruleName, ruleArn, expression, periodMs: ratePeriodMs(expression), functionName, ...(qualifier === undefined ? {} : { qualifier }) };
  });
}

/** An EventBridge scheduled event, as the target function receives it. */
export function scheduledEvent(schedule: PlanSchedule, region: string, now = new Date()): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_ACCOUNT_ID,
    time: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [schedule.ruleArn],
    detail: {},
  };
}

/**
 * Runs each schedule now and then every period (scaled), asynchronously. A run still in flight when its next one
 * is due is not joined by another: on AWS a scheduled function whose timeout is shorter than its period (the
 * canary's, 45 s of 60) never overlaps itself, but compressed periods are shorter than uncompressed runs, and
 * piled-up runs would only slow each other down on one machine. Returns a stop function.
 */
export function runSchedules(
  schedules: readonly PlanSchedule[],
  region: string,
  timeScale: number,
  invoke: (target: FunctionTarget, event: Record<string, unknown>) => Promise<unknown>,
  onError: (schedule: PlanSchedule, error: unknown) => void,
): () => void {
  const timers = schedules.map((schedule) => {
    let running = false;
    const fire = () => {
      if (running) return;
      running = true;
      invoke({ functionName: schedule.functionName, qualifier: schedule.qualifier }, scheduledEvent(schedule, region))
        .catch((error: unknown) => onError(schedule, error))
        .finally(() => {
          running = false;
        });
    };
    fire();
    return setInterval(fire, schedule.periodMs / timeScale);
  });
  return () => {
    for (const timer of timers) clearInterval(timer);
  };
}
