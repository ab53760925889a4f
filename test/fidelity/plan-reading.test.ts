/** How the local stack reads the plan's throttles and async invoke configs, and the errors a bad plan gets. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readApiModel } from '../../local/gateway/api-model.ts';
import { FunctionTargets } from '../../local/lambda/aliases.ts';
import { LambdaInvokeApi, readAsyncConfigs } from '../../local/lambda/invoke-api.ts';
import { StackPlan } from '../../local/plan.ts';
import { alarmNameInPlan, functionNameInPlan, tableNameInPlan } from '../../local/plan-names.ts';

function planOf(resource: Record<string, unknown>): StackPlan {
  const dir = mkdtempSync(path.join(tmpdir(), 'wschat-plan-reading-'));
  writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({ provider: { aws: [{ region: 'eu-west-1' }] }, resource }));
  return StackPlan.load(dir, { apiId: 'abc', variables: {} });
}

const functions = {
  aws_lambda_function: { a: { function_name: 'fn-a' }, b: { function_name: 'fn-b' } },
};

describe('event invoke configs', () => {
  const config = (extra: Record<string, unknown>) =>
    planOf({ ...functions, aws_lambda_function_event_invoke_config: { c: { function_name: '${aws_lambda_function.a.function_name}', ...extra } } });

  it('reads retries, event age and a function destination', () => {
    const configs = readAsyncConfigs(
      config({ maximum_retry_attempts: 1, maximum_event_age_in_seconds: 120, destination_config: { on_failure: { destination: '${aws_lambda_function.b.arn}' } } }),
    );
    expect(configs.get('fn-a')).toEqual({
      maximumRetryAttempts: 1,
      maximumEventAgeMs: 120_000,
      onFailure: { kind: 'function', name: 'fn-b' },
      onSuccess: undefined,
    });
  });

  it('reads a queue destination by its ARN', () => {
    const configs = readAsyncConfigs(config({ destination_config: { on_failure: { destination: 'arn:aws:sqs:eu-west-1:000000000000:dlq' } } }));
    expect(configs.get('fn-a')?.onFailure).toEqual({ kind: 'queue', arn: 'arn:aws:sqs:eu-west-1:000000000000:dlq' });
  });

  it('rejects out-of-range settings and destinations it cannot run, naming them', () => {
    expect(() => readAsyncConfigs(config({ maximum_retry_attempts: 3 }))).toThrow(/maximum_retry_attempts must be 0, 1 or 2, got 3/);
    expect(() => readAsyncConfigs(config({ maximum_event_age_in_seconds: 30 }))).toThrow(/maximum_event_age_in_seconds must be 60 to 21600/);
    expect(() =>
      readAsyncConfigs(config({ destination_config: { on_failure: { destination: 'arn:aws:sns:eu-west-1:000000000000:topic' } } })),
    ).toThrow(/on_failure destination arn:aws:sns:eu-west-1:000000000000:topic is neither a Lambda function nor an SQS queue; the local stack runs no SNS/);
  });

  it('refuses a destination function the plan does not define', () => {
    const plan = config({ destination_config: { on_failure: { destination: 'arn:aws:lambda:eu-west-1:000000000000:function:ghost' } } });
    const api = new LambdaInvokeApi({
      region: 'eu-west-1',
      pools: new Map(),
      targets: FunctionTargets.fromPlan(plan),
      asyncConfigs: readAsyncConfigs(plan),
      timeScale: 1,
      log: () => undefined,
      sendToQueue: () => 'no queues in this test',
    });
    expect(() => api.verifyAsyncConfigs()).toThrow(/the event invoke config of fn-a names function fn-a, which the plan does not define/);
  });
});

describe('versions and aliases', () => {
  const published = { aws_lambda_function: { a: { function_name: 'fn-a', publish: true }, b: { function_name: 'fn-b' } } };
  const alias = (extra: Record<string, unknown> = {}) => ({
    aws_lambda_alias: {
      live: { name: 'live', function_name: '${aws_lambda_function.a.function_name}', function_version: '${aws_lambda_function.a.version}', ...extra },
    },
  });

  it('resolves an alias to the version it points at, a published version to itself, and anything else to nothing', () => {
    const targets = FunctionTargets.fromPlan(planOf({ ...published, ...alias() }));
    expect(targets.resolve({ functionName: 'fn-a', qualifier: 'live' })).toEqual({ functionName: 'fn-a', qualifier: 'live', executedVersion: '1', alias: 'live' });
    expect(targets.resolve({ functionName: 'fn-a', qualifier: '1' })).toEqual({ functionName: 'fn-a', qualifier: '1', executedVersion: '1' });
    expect(targets.resolve({ functionName: 'fn-a' })).toEqual({ functionName: 'fn-a', qualifier: '$LATEST', executedVersion: '$LATEST' });
    expect(targets.resolve({ functionName: 'fn-b', qualifier: '1' })).toBeUndefined();
    expect(targets.resolve({ functionName: 'fn-b', qualifier: 'live' })).toBeUndefined();
    expect(targets.resolve({ functionName: 'fn-c' })).toBeUndefined();
  });

  it('refuses an alias of a version the plan does not publish, and weights on a version it does not publish', () => {
    const unpublished = { aws_lambda_alias: { live: { name: 'live', function_name: '${aws_lambda_function.b.function_name}', function_version: '${aws_lambda_function.b.version}' } } };
    expect(() => FunctionTargets.fromPlan(planOf({ ...published, ...unpublished }))).toThrow(/points at version \$LATEST of fn-b, which the plan does not publish/);
    expect(() => FunctionTargets.fromPlan(planOf({ ...published, ...alias({ routing_config: { additional_version_weights: { '2': 0.1 } } }) }))).toThrow(
      /routing_config weighs a version the plan does not publish/,
    );
  });

  it('publishes further versions and moves the alias as UpdateAlias does, refusing what Lambda refuses', () => {
    const targets = FunctionTargets.fromPlan(planOf({ ...published, ...alias({ description: 'plan' }) }));
    expect(targets.publishVersion('fn-a')).toBe('2');
    expect(targets.publishedVersions('fn-a')).toEqual(['1', '2']);
    const first = targets.alias('fn-a', 'live');
    expect(first).toMatchObject({ functionVersion: '1', additionalVersionWeights: {}, description: 'plan' });
    const moved = targets.updateAlias('fn-a', 'live', { functionVersion: '2', description: 'previous version 1', revisionId: first.revisionId });
    expect(moved).toMatchObject({ functionVersion: '2', description: 'previous version 1' });
    expect(moved.revisionId).not.toBe(first.revisionId);
    expect(() => targets.updateAlias('fn-a', 'live', { functionVersion: '1', revisionId: first.revisionId })).toThrow(/Revision Id provided does not match/);
    expect(() => targets.updateAlias('fn-a', 'live', { functionVersion: '3' })).toThrow(/only point at a published version of fn-a; 3 is not one/);
    expect(() => targets.updateAlias('fn-a', 'live', { functionVersion: '$LATEST' })).toThrow(/\$LATEST is not one/);
    expect(() => targets.updateAlias('fn-a', 'live', { additionalVersionWeights: { '2': 0.1 } })).toThrow(/must differ from the alias's version/);
    expect(() => targets.updateAlias('fn-a', 'live', { functionVersion: '1', additionalVersionWeights: { '2': 1.5 } })).toThrow(/between 0.0 and 1.0/);
    expect(() => targets.alias('fn-a', 'blue')).toThrow(/Alias not found: fn-a:blue/);
    expect(() => targets.publishVersion('fn-c')).toThrow(/Function not found: fn-c/);
  });

  it("picks each invocation's version by the alias's additional version weight", () => {
    // A scripted random source: the first two draws fall under the 0.25 weight, the next two above it.
    const draws = [0.1, 0.2, 0.3, 0.9];
    const targets = FunctionTargets.fromPlan(planOf({ ...published, ...alias() }), () => draws.shift() as number);
    targets.publishVersion('fn-a');
    targets.updateAlias('fn-a', 'live', { additionalVersionWeights: { '2': 0.25 } });
    const picked = Array.from({ length: 4 }, () => targets.resolve({ functionName: 'fn-a', qualifier: 'live' })?.executedVersion);
    expect(picked).toEqual(['2', '2', '1', '1']);
    // A version invoked by number runs itself, whatever the alias's weights.
    expect(targets.resolve({ functionName: 'fn-a', qualifier: '2' })?.executedVersion).toBe('2');
  });

  it("routes an integration and the authorizer to the qualifier their URI names: an alias's invoke ARN", () => {
    const api = readApiModel(
      planOf({
        ...published,
        ...alias(),
        aws_apigatewayv2_api: { api: { protocol_type: 'WEBSOCKET', route_selection_expression: '$request.body.action' } },
        aws_apigatewayv2_stage: { stage: { name: 'dev' } },
        aws_apigatewayv2_authorizer: { auth: { authorizer_uri: '${aws_lambda_alias.live.invoke_arn}', identity_sources: [] } },
        aws_apigatewayv2_integration: {
          viaAlias: { integration_type: 'AWS_PROXY', integration_uri: '${aws_lambda_alias.live.invoke_arn}' },
          unqualified: { integration_type: 'AWS_PROXY', integration_uri: '${aws_lambda_function.b.invoke_arn}' },
        },
        aws_apigatewayv2_route: {
          connect: { route_key: '$connect', target: 'integrations/${aws_apigatewayv2_integration.viaAlias.id}', authorization_type: 'CUSTOM', authorizer_id: '${aws_apigatewayv2_authorizer.auth.id}' },
          other: { route_key: '$default', target: 'integrations/${aws_apigatewayv2_integration.unqualified.id}' },
        },
      }),
    );
    expect(api.routes.get('$connect')).toMatchObject({ functionName: 'fn-a', qualifier: 'live', authorizer: { functionName: 'fn-a', qualifier: 'live' } });
    expect(api.routes.get('$default')).toEqual({ routeKey: '$default', functionName: 'fn-b', authorizer: undefined });
  });
});

describe('stage throttles', () => {
  const api = (stage: Record<string, unknown>) =>
    readApiModel(
      planOf({
        ...functions,
        aws_apigatewayv2_api: { api: { protocol_type: 'WEBSOCKET', route_selection_expression: '$request.body.action' } },
        aws_apigatewayv2_integration: { i: { integration_type: 'AWS_PROXY', integration_uri: '${aws_lambda_function.a.invoke_arn}' } },
        aws_apigatewayv2_route: { r: { route_key: 'send', target: 'integrations/${aws_apigatewayv2_integration.i.id}' } },
        aws_apigatewayv2_stage: { s: { name: 'dev', ...stage } },
      }),
    );

  it('reads the default and per-route throttles', () => {
    const model = api({
      default_route_settings: { throttling_rate_limit: 100, throttling_burst_limit: 200 },
      route_settings: [{ route_key: 'send', throttling_rate_limit: 5, throttling_burst_limit: 10 }],
    });
    expect(model.throttle).toEqual({ rateLimit: 100, burstLimit: 200 });
    expect(model.routeThrottles?.get('send')).toEqual({ rateLimit: 5, burstLimit: 10 });
    expect(api({}).throttle).toBeUndefined();
  });

  it('rejects route settings for a route the plan lacks, and negative limits', () => {
    expect(() => api({ route_settings: [{ route_key: 'shout', throttling_rate_limit: 1 }] })).toThrow(/route_settings name route shout/);
    expect(() => api({ default_route_settings: { throttling_rate_limit: -1 } })).toThrow(/default_route_settings: throttling limits must be numbers >= 0/);
  });
});

describe('catalog names looked up by tag', () => {
  const fn = (name: string, catalog: string) => ({ function_name: name, tags: { function: catalog } });
  const alarm = (name: string, id: string, extra: Record<string, unknown>) => ({ alarm_name: name, tags: { severity: 'page', alarm: id }, ...extra });
  const plan = planOf({
    aws_lambda_function: { p: fn('prefix-ping', 'ping'), s: fn('prefix-send', 'send'), untagged: { function_name: 'prefix-who' } },
    aws_dynamodb_table: { m: { name: 'prefix-memberships', tags: { table: 'memberships' } } },
    aws_cloudwatch_metric_alarm: {
      ep: alarm('errors-on-ping', 'lambda-errors', { dimensions: { FunctionName: '${aws_lambda_function.p.function_name}' } }),
      es: alarm('errors-on-send', 'lambda-errors', { dimensions: { FunctionName: '${aws_lambda_function.s.function_name}' } }),
      t: alarm('throttles-on-memberships', 'dynamodb-throttles', {
        metric_query: [{ id: 'm1', metric: { dimensions: { TableName: '${aws_dynamodb_table.m.name}' } } }, { id: 'e1', expression: 'm1' }],
      }),
      api: alarm('api-errors', 'api-execution-errors', { dimensions: { ApiId: 'abc', Stage: 'dev' } }),
    },
  });

  it('finds a function and a table by their catalog name, whatever they are called', () => {
    expect(functionNameInPlan(plan, 'ping')).toBe('prefix-ping');
    expect(tableNameInPlan(plan, 'memberships')).toBe('prefix-memberships');
  });

  it('finds an alarm by its catalog id, and the instance whose metric (or metric query) names the resource', () => {
    expect(alarmNameInPlan(plan, 'api-execution-errors')).toBe('api-errors');
    expect(alarmNameInPlan(plan, 'lambda-errors', 'prefix-send')).toBe('errors-on-send');
    expect(alarmNameInPlan(plan, 'dynamodb-throttles', 'prefix-memberships')).toBe('throttles-on-memberships');
  });

  it('refuses a name it cannot pin to one resource', () => {
    expect(() => functionNameInPlan(plan, 'who')).toThrow('the plan has 0 aws_lambda_function tagged function=who, not one');
    expect(() => alarmNameInPlan(plan, 'lambda-errors')).toThrow('the plan has 2 alarms tagged alarm=lambda-errors, not one');
    expect(() => alarmNameInPlan(plan, 'lambda-errors', 'prefix-who')).toThrow('the plan has 0 alarms tagged alarm=lambda-errors on prefix-who, not one');
  });
});
