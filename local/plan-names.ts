/**
 * The deployed names of catalog entries (functions, tables, alarms), found in the plan by the catalog id infra
 * tags each with, never rebuilt from the naming rule: a renamed resource or another prefix cannot fool them.
 */
import type { PlanResource, StackPlan } from './plan.ts';

function onlyTagged(plan: StackPlan, type: string, key: string, value: string): PlanResource {
  const found = plan.tagged(type, key, value);
  if (found.length !== 1) throw new Error(`the plan has ${found.length} ${type} tagged ${key}=${value}, not one`);
  return found[0] as PlanResource;
}

/** A function of functions/catalog/functions.ts, by its catalog name (tag `function`). */
export function functionNameInPlan(plan: StackPlan, catalogName: string): string {
  return plan.resolve(String(onlyTagged(plan, 'aws_lambda_function', 'function', catalogName).config.function_name));
}

/** A table of functions/catalog/tables.ts, by its key (tag `table`). */
export function tableNameInPlan(plan: StackPlan, key: string): string {
  return plan.resolve(String(onlyTagged(plan, 'aws_dynamodb_table', 'table', key).config.name));
}

/**
 * An alarm of dashboards/alarms.ts, by its id (tag `alarm`). A per-function or per-table alarm has one instance
 * per resource: `dimension` is the deployed name of the one wanted, as its metrics' dimensions carry it.
 */
export function alarmNameInPlan(plan: StackPlan, alarmId: string, dimension?: string): string {
  const alarms = plan.tagged('aws_cloudwatch_metric_alarm', 'alarm', alarmId).map((alarm) => plan.resolve(alarm.config));
  const matching = dimension === undefined ? alarms : alarms.filter((alarm) => dimensionValues(alarm).includes(dimension));
  if (matching.length !== 1) {
    throw new Error(`the plan has ${matching.length} alarms tagged alarm=${alarmId}${dimension ? ` on ${dimension}` : ''}, not one`);
  }
  return String(matching[0]?.alarm_name);
}

/** The dimension values of an alarm's metric, or of its metric queries' metrics. */
function dimensionValues(alarm: PlanResource['config']): string[] {
  const queries = (alarm.metric_query ?? []) as { metric?: { dimensions?: Record<string, unknown> } }[];
  const dimensions = [alarm.dimensions as Record<string, unknown> | undefined, ...queries.map((q) => q.metric?.dimensions)];
  return dimensions.flatMap((d) => Object.values(d ?? {}).map(String));
}
