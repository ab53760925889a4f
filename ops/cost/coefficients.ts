/** The measured work per client action (ops/cost/coefficients.json), as ops/cost/measure.ts writes it. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CANARY_FUNCTION, FUNCTION_NAMES } from '../../functions/catalog/functions.ts';

export const COEFFICIENTS_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'coefficients.json');

/** Room sizes the room-wide actions are measured in: the model interpolates between them and extrapolates past the last. */
export const MEASURED_ROOM_SIZES = [1, 100, 300] as const;

/**
 * What one action made AWS do, by series: `lambda.invocations.<function>`, `lambda.billedMs.<function>`,
 * `apigateway.MessageCount`, `apigateway.ConnectCount`, `dynamodb.reads|writes.<table>` (requests),
 * `dynamodb.readUnits|writeUnits.<table>` (request units, from the items' sizes), `logs.bytes`.
 */
export type ActionMeasurement = Readonly<Record<string, number>>;

/** The resources of a stage's plan that cost by the month, whatever the traffic. */
export interface FixedResources {
  readonly standardAlarms: number;
  /** Anomaly-detection alarms bill three metrics (the metric and its band). */
  readonly anomalyAlarms: number;
  readonly compositeAlarms: number;
  readonly dashboards: number;
  /** Keys the stack creates (the trail's); the operator's kms_key_arn is theirs. */
  readonly kmsKeys: number;
  readonly trails: number;
  /** Routes with per-route API Gateway metrics (detailed metrics), each billed as custom metrics. */
  readonly detailedMetricRoutes: number;
  readonly logRetentionDays: number;
  /** Runs a month of the canary's schedule (the EventBridge rules that invoke it). */
  readonly canaryRunsPerMonth: number;
  /** Secrets Manager secrets (the canary's client secret). */
  readonly secrets: number;
  /** Cognito app clients with the client-credentials grant, billed per client and per token request (the canary's). */
  readonly machineClients: number;
  /** How long a machine client's access token lives, in minutes (0 without one). */
  readonly machineTokenMinutes: number;
  /** Provisioned concurrency at its minimum, by catalog function: held all month, whatever the traffic. */
  readonly provisionedConcurrency: Readonly<Record<string, { readonly environments: number; readonly memoryMb: number }>>;
}

export interface Coefficients {
  readonly about: string;
  readonly measuredAt: { readonly commit: string; readonly date: string };
  /** The stage whose plan was measured: its fan-out threshold and shard size shape the large-room actions. */
  readonly stage: string;
  readonly actions: Readonly<Record<string, ActionMeasurement>>;
  readonly customMetricSeries: number;
  readonly fixed: Readonly<Record<string, FixedResources>>;
}

export function readCoefficients(file = COEFFICIENTS_FILE): Coefficients {
  return JSON.parse(readFileSync(file, 'utf8')) as Coefficients;
}

type PlanJson = { resource?: Record<string, Record<string, Record<string, unknown>>> };

/** The month prices are quoted for: 730 hours. */
export const MINUTES_PER_MONTH = 730 * 60;
const RATE_UNIT_MINUTES: Readonly<Record<string, number>> = { minute: 1, minutes: 1, hour: 60, hours: 60, day: 1440, days: 1440 };

/** Runs a month of an EventBridge schedule expression; only `rate(...)` ones, the kind the stacks write. */
export function runsPerMonth(expression: string): number {
  const rate = /^rate\((\d+) (\w+)\)$/.exec(expression);
  const unit = rate && RATE_UNIT_MINUTES[rate[2]!];
  if (!rate || !unit) throw new Error(`cannot count the runs of schedule ${expression}: only rate(N minute|minutes|hour|hours|day|days) is priced`);
  return MINUTES_PER_MONTH / (Number(rate[1]) * unit);
}

/** Counts a synthesized plan's fixed-cost resources. */
export function fixedResources(plan: PlanJson): FixedResources {
  const of = (type: string) => Object.values(plan.resource?.[type] ?? {});
  /** The resource a `${type.name.attribute}` reference in the plan points at. */
  const target = (reference: unknown, type: string): Record<string, unknown> => {
    const name = new RegExp(`\\$\\{${type}\\.([^.}]+)\\.`).exec(String(reference))?.[1];
    const resource = name === undefined ? undefined : plan.resource?.[type]?.[name];
    if (!resource) throw new Error(`the plan references no ${type} in ${String(reference)}`);
    return resource;
  };
  const functionOfAlias = (reference: unknown) => target(target(reference, 'aws_lambda_alias').function_name, 'aws_lambda_function') as { function_name: string; memory_size: number };
  const canaryRunsPerMonth = of('aws_cloudwatch_event_target')
    .filter((t) => functionOfAlias(t.arn).function_name.endsWith(`-${CANARY_FUNCTION}`))
    .reduce((runs, t) => runs + runsPerMonth(target(t.rule, 'aws_cloudwatch_event_rule').schedule_expression as string), 0);
  const machineClients = (of('aws_cognito_user_pool_client') as { allowed_oauth_flows?: string[]; access_token_validity?: number; token_validity_units?: { access_token?: string }[] }[])
    .filter((c) => c.allowed_oauth_flows?.includes('client_credentials'));
  const tokenMinutes = machineClients.map((c) => {
    // Cognito's default unit for access_token_validity is hours.
    const unit = c.token_validity_units?.[0]?.access_token ?? 'hours';
    return (c.access_token_validity ?? 1) * ({ minutes: 1, hours: 60, days: 1440 } as Record<string, number>)[unit]!;
  });
  const provisioned = of('aws_appautoscaling_target').filter((t) => t.scalable_dimension === 'lambda:function:ProvisionedConcurrency');
  const alarms = of('aws_cloudwatch_metric_alarm');
  const anomaly = alarms.filter((a) => a.threshold_metric_id !== undefined).length;
  const stage = of('aws_apigatewayv2_stage')[0] as { default_route_settings?: { detailed_metrics_enabled?: boolean } } | undefined;
  const routes = of('aws_apigatewayv2_route').length;
  const logGroups = of('aws_cloudwatch_log_group') as { retention_in_days?: number }[];
  return {
    standardAlarms: alarms.length - anomaly,
    anomalyAlarms: anomaly,
    compositeAlarms: of('aws_cloudwatch_composite_alarm').length,
    dashboards: of('aws_cloudwatch_dashboard').length,
    kmsKeys: of('aws_kms_key').length,
    trails: of('aws_cloudtrail').length,
    detailedMetricRoutes: stage?.default_route_settings?.detailed_metrics_enabled ? routes : 0,
    logRetentionDays: Math.max(0, ...logGroups.map((g) => g.retention_in_days ?? 0)),
    canaryRunsPerMonth,
    secrets: of('aws_secretsmanager_secret').length,
    machineClients: machineClients.length,
    machineTokenMinutes: tokenMinutes.length ? Math.min(...tokenMinutes) : 0,
    provisionedConcurrency: Object.fromEntries(
      provisioned.map((t) => {
        const fn = functionOfAlias(t.resource_id);
        const name = FUNCTION_NAMES.find((n) => fn.function_name.endsWith(`-${n}`));
        if (!name) throw new Error(`provisioned concurrency on ${fn.function_name}, which is not in the function catalog`);
        return [name, { environments: t.min_capacity as number, memoryMb: fn.memory_size }];
      }),
    ),
  };
}
