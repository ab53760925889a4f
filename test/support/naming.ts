/**
 * The one naming convention (`wschat-<stage>-<part>`) checked on every named resource, by the infra suite on the
 * synthesized plan and by the terraform suite on planned values.
 */

/** The attribute holding a resource type's own physical name, for every named type the stacks use. */
export const NAME_ATTRIBUTES: Readonly<Record<string, string>> = {
  aws_apigatewayv2_api: 'name',
  aws_apigatewayv2_authorizer: 'name',
  aws_appautoscaling_policy: 'name',
  aws_appautoscaling_scheduled_action: 'name',
  aws_budgets_budget: 'name',
  aws_cloudtrail: 'name',
  aws_cloudwatch_composite_alarm: 'alarm_name',
  aws_cloudwatch_dashboard: 'dashboard_name',
  aws_cloudwatch_event_rule: 'name',
  aws_cloudwatch_log_group: 'name',
  aws_cloudwatch_metric_alarm: 'alarm_name',
  aws_cloudwatch_query_definition: 'name',
  aws_cognito_user_pool: 'name',
  aws_cognito_user_pool_client: 'name',
  aws_cognito_resource_server: 'name',
  aws_cognito_user_pool_domain: 'domain',
  aws_dynamodb_table: 'name',
  aws_iam_policy: 'name',
  aws_iam_role: 'name',
  aws_lambda_function: 'function_name',
  // Bucket names are global: the stack names a prefix and S3 appends a unique suffix.
  aws_s3_bucket: 'bucket_prefix',
  aws_secretsmanager_secret: 'name',
  aws_sns_topic: 'name',
  aws_sqs_queue: 'name',
  aws_xray_group: 'group_name',
  aws_xray_sampling_rule: 'rule_name',
};

/** Types with a `name` that is not a physical resource name of the convention, and why. */
export const NAME_EXEMPT: Readonly<Record<string, string>> = {
  aws_apigatewayv2_stage: 'the stage name is the path of the WebSocket URL',
  aws_iam_role_policy: "an inline policy's name is scoped to its role",
  aws_lambda_alias: "an alias's name is scoped to its function (every function's is live)",
  aws_route53_record: "a DNS record's name is the operator's host name (the custom_domain_name variable)",
};

/** What a name of `type` must start with in `stage`: AWS-prescribed log group prefixes, Logs Insights folders. */
function prefixesFor(type: string, stage: string): string[] {
  const base = `wschat-${stage}-`;
  if (type === 'aws_cloudwatch_log_group') return [`/aws/lambda/${base}`, `/aws/apigateway/${base}`];
  // Saved queries show as folders in the console: wschat/<stage>/<query>.
  if (type === 'aws_cloudwatch_query_definition') return [`wschat/${stage}/`];
  return [base];
}

/** Violations of the naming convention by one resource's values (synthesized config or planned `after`). */
export function namingViolations(address: string, type: string, values: Record<string, unknown>, stage: string): string[] {
  const attribute = NAME_ATTRIBUTES[type];
  if (!attribute) {
    if ('name' in values && !(type in NAME_EXEMPT)) return [`${address}: ${type} has a name but no naming rule (add it to test/support/naming.ts)`];
    return [];
  }
  const name = values[attribute];
  if (typeof name !== 'string') return [`${address}: ${attribute} is ${JSON.stringify(name)}, not a literal name`];
  const prefixes = prefixesFor(type, stage);
  if (!prefixes.some((prefix) => name.startsWith(prefix) && name.length > prefix.length)) {
    return [`${address}: ${attribute} "${name}" does not start with ${prefixes.join(' or ')}`];
  }
  return [];
}
