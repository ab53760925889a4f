import { BudgetsBudget } from '@cdktf/provider-aws/lib/budgets-budget/index.js';
import type { SnsTopicPolicy } from '@cdktf/provider-aws/lib/sns-topic-policy/index.js';
import { TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { resourceName, type StageConfig } from '../config/stages.ts';
import { BUDGET_VARIABLE } from '../config/variables.ts';

/** When the ticket targets hear about spend: 80% of the amount actually spent, or 100% forecast for the month. */
export const BUDGET_NOTIFICATIONS = [
  { notificationType: 'ACTUAL', threshold: 80 },
  { notificationType: 'FORECASTED', threshold: 100 },
] as const;

export interface CostBudgetProps {
  readonly stage: StageConfig;
  /** The ticket-severity alarm topic, whose policy must let AWS Budgets publish before a notification names it. */
  readonly ticketTargets: { readonly topicArn: string; readonly policy: SnsTopicPolicy };
}

/**
 * A monthly AWS Budgets cost budget for the stage, scoped by its `cost-center` tag (each stage has its own), that
 * notifies the people tickets go to. Budgets reads tags only once they are activated as cost allocation tags
 * (docs/operations.md#budgets).
 */
export class CostBudget extends Construct {
  constructor(scope: Construct, id: string, { stage, ticketTargets }: CostBudgetProps) {
    super(scope, id);
    const amount = new TerraformVariable(this, BUDGET_VARIABLE, {
      type: 'number',
      default: stage.cost.monthlyBudgetUsd,
      description: `Monthly AWS Budgets amount in USD for the ${stage.name} stage (cost-center ${stage.tags['cost-center']}); docs/capacity.md estimates it from traffic`,
      validation: [
        {
          condition: `\${var.${BUDGET_VARIABLE} > 0}`,
          errorMessage: `${BUDGET_VARIABLE} must be a positive amount of USD per month.`,
        },
      ],
    });
    amount.overrideLogicalId(BUDGET_VARIABLE);
    new BudgetsBudget(this, 'monthly', {
      name: resourceName(stage, 'monthly-cost'),
      budgetType: 'COST',
      limitAmount: `\${format("%.2f", var.${BUDGET_VARIABLE})}`,
      limitUnit: 'USD',
      timeUnit: 'MONTHLY',
      // "user:" is how Budgets names a user-defined cost allocation tag; the value follows "$".
      costFilter: [{ name: 'TagKeyValue', values: [`user:cost-center$${stage.tags['cost-center']}`] }],
      notification: BUDGET_NOTIFICATIONS.map(({ notificationType, threshold }) => ({
        comparisonOperator: 'GREATER_THAN',
        notificationType,
        threshold,
        thresholdType: 'PERCENTAGE',
        subscriberSnsTopicArns: [ticketTargets.topicArn],
      })),
      dependsOn: [ticketTargets.policy],
    });
  }
}
