/**
 * The provisioned-concurrency construct on its own, synthesized in this process: the scheduled actions for known
 * peaks, which no configured stage has yet, and the bounds Terraform then leaves to them.
 */
import { LambdaAlias } from '@cdktf/provider-aws/lib/lambda-alias/index.js';
import { Testing } from 'cdktf';
import { describe, expect, it } from 'vitest';
import type { FunctionName } from '../../functions/catalog/functions.ts';
import { STAGES, type StageConfig } from '../../infra/config/stages.ts';
import { ProvisionedConcurrencyScaling } from '../../infra/constructs/concurrency.ts';

type Resources = Record<string, Record<string, Record<string, any>>>;

function synth(provisioned: StageConfig['concurrency']['provisioned']): Resources {
  const stage: StageConfig = { ...STAGES.dev, concurrency: { ...STAGES.dev.concurrency, provisioned } };
  const json = Testing.synthScope((scope) => {
    const send = new LambdaAlias(scope, 'send-alias', { name: 'live', functionName: 'wschat-dev-send', functionVersion: '1' });
    new ProvisionedConcurrencyScaling(scope, 'provisioned', { stage, aliases: { send } as Record<FunctionName, LambdaAlias> });
  });
  return (JSON.parse(json) as { resource: Resources }).resource;
}

describe('provisioned concurrency scaling', () => {
  it('adds a scheduled action per known peak on the same scalable target, and leaves the bounds they move to them', () => {
    const resources = synth({
      send: {
        min: 5,
        max: 50,
        targetUtilization: 0.7,
        schedules: [
          { name: 'evening-peak', schedule: 'cron(0 18 * * ? *)', min: 40, max: 100 },
          { name: 'after-peak', schedule: 'cron(0 23 * * ? *)', min: 5, max: 50 },
        ],
      },
    });
    const targets = Object.values(resources.aws_appautoscaling_target ?? {});
    expect(targets).toHaveLength(1);
    expect(targets[0]).toMatchObject({ resource_id: 'function:${aws_lambda_alias.send-alias.function_name}:${aws_lambda_alias.send-alias.name}' });
    expect(targets[0]!.lifecycle).toEqual({ ignore_changes: ['min_capacity', 'max_capacity'] });
    const actions = Object.values(resources.aws_appautoscaling_scheduled_action ?? {}).sort((a, b) => a.schedule.localeCompare(b.schedule));
    expect(actions.map((a) => [a.name, a.schedule, a.timezone, a.scalable_target_action])).toEqual([
      ['wschat-dev-send-evening-peak', 'cron(0 18 * * ? *)', 'UTC', { min_capacity: '40', max_capacity: '100' }],
      ['wschat-dev-send-after-peak', 'cron(0 23 * * ? *)', 'UTC', { min_capacity: '5', max_capacity: '50' }],
    ]);
    for (const action of actions) expect(action.resource_id).toMatch(/^\$\{aws_appautoscaling_target\.[^.]+\.resource_id\}$/);
    // Created one after the other: Application Auto Scaling refuses concurrent changes to one target.
    expect(actions[0]!.depends_on).toBeUndefined();
    expect(actions[1]!.depends_on).toEqual([expect.stringMatching(/^aws_appautoscaling_scheduled_action\..*evening-peak/)]);
  });

  it('lets Terraform own the bounds of a target without scheduled actions', () => {
    const resources = synth({ send: { min: 5, max: 50, targetUtilization: 0.7 } });
    const [target] = Object.values(resources.aws_appautoscaling_target ?? {});
    expect(target).toMatchObject({ min_capacity: 5, max_capacity: 50 });
    expect(target!.lifecycle).toBeUndefined();
    expect(resources.aws_appautoscaling_scheduled_action).toBeUndefined();
  });
});
