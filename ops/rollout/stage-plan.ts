/**
 * What a rollout acts on, read from the stage's synthesized plan (the configuration the pipeline just applied),
 * never re-typed: the functions (every aws_lambda_function) and the alarms it watches (every metric alarm tagged
 * severity "page", the canary's `canary-failing` among them).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface RolloutTargets {
  readonly region: string;
  readonly functions: readonly string[];
  readonly alarms: readonly string[];
}

type Resources = Record<string, Record<string, Record<string, unknown>>>;

/** A name the plan spells out; one computed at apply time cannot be known from the plan. */
function literal(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.includes('${')) throw new Error(`${what} is not a literal name in the plan: ${JSON.stringify(value)}`);
  return value;
}

export function readRolloutTargets(stackDir: string): RolloutTargets {
  const file = path.join(stackDir, 'cdk.tf.json');
  let json: { resource?: Resources; provider?: { aws?: { region?: string }[] } };
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as typeof json;
  } catch (error) {
    throw new Error(`cannot read the synthesized plan ${file}: ${(error as Error).message}. Run npm run synth.`);
  }
  const region = json.provider?.aws?.[0]?.region;
  if (!region) throw new Error(`${file}: the aws provider has no region`);
  const functions = Object.entries(json.resource?.aws_lambda_function ?? {}).map(([id, fn]) => literal(fn.function_name, `aws_lambda_function.${id}.function_name`));
  const alarms = Object.entries(json.resource?.aws_cloudwatch_metric_alarm ?? {})
    .filter(([, alarm]) => (alarm.tags as Record<string, string> | undefined)?.severity === 'page')
    .map(([id, alarm]) => literal(alarm.alarm_name, `aws_cloudwatch_metric_alarm.${id}.alarm_name`));
  return { region, functions, alarms };
}
