/** The shared naming check (test/support/naming.ts) accepts the convention and flags what breaks it. */
import { describe, expect, it } from 'vitest';
import { namingViolations } from '../support/naming.ts';

describe('naming check', () => {
  it('accepts wschat-<stage>-<part>, the AWS log group prefixes and the saved query folders', () => {
    expect(namingViolations('a', 'aws_dynamodb_table', { name: 'wschat-prod-messages' }, 'prod')).toEqual([]);
    expect(namingViolations('a', 'aws_lambda_function', { function_name: 'wschat-dev-send' }, 'dev')).toEqual([]);
    expect(namingViolations('a', 'aws_cloudwatch_log_group', { name: '/aws/lambda/wschat-dev-send' }, 'dev')).toEqual([]);
    expect(namingViolations('a', 'aws_cloudwatch_log_group', { name: '/aws/apigateway/wschat-dev-ws' }, 'dev')).toEqual([]);
    expect(namingViolations('a', 'aws_cloudwatch_query_definition', { name: 'wschat/dev/errors-by-route' }, 'dev')).toEqual([]);
    expect(namingViolations('a', 'aws_apigatewayv2_stage', { name: 'dev' }, 'dev')).toEqual([]);
    expect(namingViolations('a', 'aws_apigatewayv2_route', { route_key: 'send' }, 'dev')).toEqual([]);
  });

  it('flags another stage, a missing prefix, a bare prefix, a computed name and an unruled named type', () => {
    expect(namingViolations('a', 'aws_dynamodb_table', { name: 'wschat-dev-messages' }, 'prod')).not.toEqual([]);
    expect(namingViolations('a', 'aws_cognito_user_pool', { name: 'users' }, 'prod')).not.toEqual([]);
    expect(namingViolations('a', 'aws_sns_topic', { name: 'wschat-prod-' }, 'prod')).not.toEqual([]);
    expect(namingViolations('a', 'aws_cloudwatch_log_group', { name: '/aws/lambda/other-prod-send' }, 'prod')).not.toEqual([]);
    expect(namingViolations('a', 'aws_iam_role', {}, 'prod')).not.toEqual([]);
    expect(namingViolations('a', 'aws_s3_bucket_policy_new_type', { name: 'wschat-prod-x' }, 'prod')).not.toEqual([]);
  });
});
