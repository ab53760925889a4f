import { AppautoscalingPolicy } from '@cdktf/provider-aws/lib/appautoscaling-policy/index.js';
import { AppautoscalingScheduledAction } from '@cdktf/provider-aws/lib/appautoscaling-scheduled-action/index.js';
import { AppautoscalingTarget } from '@cdktf/provider-aws/lib/appautoscaling-target/index.js';
import type { LambdaAlias } from '@cdktf/provider-aws/lib/lambda-alias/index.js';
import { Construct } from 'constructs';
import type { FunctionName } from '../../functions/catalog/functions.ts';
import { resourceName, type ProvisionedConcurrency, type StageConfig } from '../config/stages.ts';

/** Application Auto Scaling's names for Lambda provisioned concurrency. */
const PROVISIONED_CONCURRENCY_DIMENSION = 'lambda:function:ProvisionedConcurrency';
const PROVISIONED_UTILIZATION_METRIC = 'LambdaProvisionedConcurrencyUtilization';

export interface ProvisionedConcurrencyProps {
  readonly stage: StageConfig;
  readonly aliases: Record<FunctionName, LambdaAlias>;
}

/**
 * Provisioned concurrency on the `live` alias of the functions the stage names, owned by Application Auto Scaling:
 * a scalable target holds it between min and max, a target-tracking policy follows the alias's utilization, and
 * scheduled actions move the bounds for known peaks. No aws_lambda_provisioned_concurrency_config: Application
 * Auto Scaling sets the alias's provisioned concurrency itself, and a config beside it would fight every change.
 */
export class ProvisionedConcurrencyScaling extends Construct {
  constructor(scope: Construct, id: string, props: ProvisionedConcurrencyProps) {
    super(scope, id);
    const { stage, aliases } = props;
    for (const [name, settings] of Object.entries(stage.concurrency.provisioned) as [FunctionName, ProvisionedConcurrency][]) {
      const alias = aliases[name];
      const fnScope = new Construct(this, name);
      const target = new AppautoscalingTarget(fnScope, 'target', {
        serviceNamespace: 'lambda',
        scalableDimension: PROVISIONED_CONCURRENCY_DIMENSION,
        resourceId: `function:${alias.functionName}:${alias.name}`,
        minCapacity: settings.min,
        maxCapacity: settings.max,
        // Scheduled actions rewrite the bounds at each peak: Terraform would otherwise put them back on every apply.
        ...(settings.schedules?.length ? { lifecycle: { ignoreChanges: ['min_capacity', 'max_capacity'] } } : {}),
        dependsOn: [alias],
      });
      new AppautoscalingPolicy(fnScope, 'utilization', {
        name: resourceName(stage, `${name}-provisioned-utilization`),
        policyType: 'TargetTrackingScaling',
        serviceNamespace: target.serviceNamespace,
        scalableDimension: target.scalableDimension,
        resourceId: target.resourceId,
        targetTrackingScalingPolicyConfiguration: {
          targetValue: settings.targetUtilization,
          predefinedMetricSpecification: { predefinedMetricType: PROVISIONED_UTILIZATION_METRIC },
        },
      });
      let previous: AppautoscalingScheduledAction | undefined;
      for (const schedule of settings.schedules ?? []) {
        previous = new AppautoscalingScheduledAction(fnScope, `schedule-${schedule.name}`, {
          name: resourceName(stage, `${name}-${schedule.name}`),
          serviceNamespace: target.serviceNamespace,
          scalableDimension: target.scalableDimension,
          resourceId: target.resourceId,
          schedule: schedule.schedule,
          timezone: 'UTC',
          scalableTargetAction: { minCapacity: String(schedule.min), maxCapacity: String(schedule.max) },
          // One at a time: Application Auto Scaling refuses concurrent changes to one target's scheduled actions.
          dependsOn: previous ? [previous] : undefined,
        });
      }
    }
  }
}
