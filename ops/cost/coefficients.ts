/** The measured work per client action (ops/cost/coefficients.json), as ops/cost/measure.ts writes it. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** Counts a synthesized plan's fixed-cost resources. */
export function fixedResources(plan: PlanJson): FixedResources {
  const of = (type: string) => Object.values(plan.resource?.[type] ?? {});
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
  };
}
