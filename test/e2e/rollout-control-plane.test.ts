/**
 * What a rollout needs from the local stack, through the real clients: Lambda's control plane (PublishVersion,
 * ListVersionsByFunction, GetAlias, UpdateAlias) with @aws-sdk/client-lambda, local IAM on it, the gateway
 * splitting a route's invocations by its alias's weights, and CloudWatch's DescribeAlarms (ops/rollout's adapter).
 */
import {
  GetAliasCommand,
  LambdaClient,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  UpdateAliasCommand,
} from '@aws-sdk/client-lambda';
import { describe, expect, it } from 'vitest';
import { functionAccessKeyId, OPERATOR_ACCESS_KEY_ID } from '../../local/iam.ts';
import { LOCAL_SECRET_ACCESS_KEY } from '../../local/lambda/service-environment.ts';
import { functionNameInPlan } from '../../local/plan-names.ts';
import { CloudWatchAlarms } from '../../ops/rollout/cloudwatch-alarms.ts';
import { readRolloutTargets } from '../../ops/rollout/stage-plan.ts';
import { bootDevStack, useStack } from '../support/local-stack.ts';
import { stackDir } from '../support/plan.ts';

const { stack, connect } = useStack(() => bootDevStack());

const credentials = (accessKeyId: string) => ({ accessKeyId, secretAccessKey: LOCAL_SECRET_ACCESS_KEY });
const lambdaAs = (accessKeyId: string) =>
  new LambdaClient({ region: stack.region, endpoint: stack.lambdaEndpoint, credentials: credentials(accessKeyId), maxAttempts: 1 });

describe('the Lambda control plane', () => {
  it('publishes versions, lists them, and moves an alias with weights, as the operator the plan grants it to', async () => {
    const lambda = lambdaAs(OPERATOR_ACCESS_KEY_ID);
    const fn = functionNameInPlan(stack.plan, 'who');
    const before = await lambda.send(new GetAliasCommand({ FunctionName: fn, Name: 'live' }));
    expect(before).toMatchObject({ Name: 'live', FunctionVersion: '1', AliasArn: `arn:aws:lambda:${stack.region}:000000000000:function:${fn}:live` });
    expect(before.Description).toContain(fn);
    expect(before.RoutingConfig).toBeUndefined();
    const published = await lambda.send(new PublishVersionCommand({ FunctionName: fn }));
    expect(published).toMatchObject({ Version: '2', FunctionArn: `arn:aws:lambda:${stack.region}:000000000000:function:${fn}:2` });
    const listed = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: fn }));
    expect(listed.Versions?.map((v) => v.Version)).toEqual(['$LATEST', '1', '2']);

    const weighted = await lambda.send(
      new UpdateAliasCommand({ FunctionName: fn, Name: 'live', FunctionVersion: '1', RoutingConfig: { AdditionalVersionWeights: { '2': 0.1 } }, RevisionId: before.RevisionId }),
    );
    expect(weighted).toMatchObject({ FunctionVersion: '1', RoutingConfig: { AdditionalVersionWeights: { '2': 0.1 } } });
    // A writer holding the old revision is refused: two rollouts cannot interleave on one alias.
    await expect(lambda.send(new UpdateAliasCommand({ FunctionName: fn, Name: 'live', FunctionVersion: '2', RevisionId: before.RevisionId }))).rejects.toMatchObject({
      name: 'PreconditionFailedException',
    });
    await expect(lambda.send(new UpdateAliasCommand({ FunctionName: fn, Name: 'live', FunctionVersion: '7' }))).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
    });
    const promoted = await lambda.send(new UpdateAliasCommand({ FunctionName: fn, Name: 'live', FunctionVersion: '2', RoutingConfig: { AdditionalVersionWeights: {} }, Description: 'previous version 1' }));
    expect(promoted).toMatchObject({ FunctionVersion: '2', Description: 'previous version 1' });
    expect(promoted.RoutingConfig).toBeUndefined();
    await expect(lambda.send(new GetAliasCommand({ FunctionName: fn, Name: 'blue' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it("refuses a function's own identity: its role grants no control-plane action", async () => {
    const fn = functionNameInPlan(stack.plan, 'ping');
    const lambda = lambdaAs(functionAccessKeyId(fn));
    await expect(lambda.send(new PublishVersionCommand({ FunctionName: fn }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(lambda.send(new UpdateAliasCommand({ FunctionName: fn, Name: 'live', FunctionVersion: '1' }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });
});

describe('weighted alias routing', () => {
  it("splits a route's invocations between the alias's version and the weighted one, and counts each by ExecutedVersion", async () => {
    const lambda = lambdaAs(OPERATOR_ACCESS_KEY_ID);
    const fn = functionNameInPlan(stack.plan, 'ping');
    const { Version: added } = await lambda.send(new PublishVersionCommand({ FunctionName: fn }));
    await lambda.send(new UpdateAliasCommand({ FunctionName: fn, Name: 'live', FunctionVersion: '1', RoutingConfig: { AdditionalVersionWeights: { [added as string]: 0.5 } } }));
    // Six connections of eight pings each: within the ping route's per-connection burst.
    const clients = await Promise.all(Array.from({ length: 6 }, (_, i) => connect(`rollout-split-${i}`)));
    for (const client of clients) for (let i = 0; i < 8; i++) await client.request({ action: 'ping' }, 'pong');
    const pings = 48;
    const served = (version: string) =>
      stack.metrics.stat({ namespace: 'AWS/Lambda', name: 'Invocations', dimensions: { FunctionName: fn, Resource: `${fn}:live`, ExecutedVersion: version } }, 'Sum', 0, Date.now() + 1) ?? 0;
    // A pong can reach the client before its invocation has ended and been counted.
    await expect.poll(() => served('1') + served(added as string)).toBe(pings);
    // Each version is picked with probability 0.5 per call: either missing from 48 calls has odds of 2^-47.
    expect(served('1')).toBeGreaterThan(0);
    expect(served(added as string)).toBeGreaterThan(0);
  });
});

describe('refusals of the local control plane and CloudWatch API', () => {
  const signed = { authorization: `AWS4-HMAC-SHA256 Credential=${OPERATOR_ACCESS_KEY_ID}/20261203/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0` };

  it('answers an UpdateAlias body that is not JSON with InvalidRequestContentException', async () => {
    const fn = functionNameInPlan(stack.plan, 'typing');
    const res = await fetch(`${stack.lambdaEndpoint}/2015-03-31/functions/${fn}/aliases/live`, { method: 'PUT', headers: signed, body: '{' });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toBe('InvalidRequestContentException');
  });

  it('answers another action, no alarm names or too many with CloudWatch\'s Query errors', async () => {
    const post = (body: string) => fetch(stack.cloudWatchEndpoint, { method: 'POST', headers: { ...signed, 'content-type': 'application/x-www-form-urlencoded' }, body });
    const other = await post('Action=PutMetricAlarm&Version=2010-08-01');
    expect(other.status).toBe(400);
    expect(await other.text()).toContain('<Code>InvalidAction</Code>');
    const none = await post('Action=DescribeAlarms&Version=2010-08-01');
    expect(await none.text()).toContain('<Code>InvalidParameterValue</Code>');
    const names = Array.from({ length: 101 }, (_, i) => `AlarmNames.member.${i + 1}=wschat-dev-a${i}`).join('&');
    const tooMany = await post(`Action=DescribeAlarms&Version=2010-08-01&${names}`);
    expect(tooMany.status).toBe(400);
    expect(await tooMany.text()).toContain('AlarmNames holds at most 100 names');
  });
});

describe('CloudWatch DescribeAlarms', () => {
  it("answers the rollout's adapter with the states of the plan's page alarms, and refuses an identity without the grant", async () => {
    const { alarms } = readRolloutTargets(stackDir('wschat-dev'));
    expect(alarms.length).toBeGreaterThan(0);
    const asOperator = new CloudWatchAlarms(stack.region, stack.cloudWatchEndpoint, credentials(OPERATOR_ACCESS_KEY_ID));
    const firingNow = [...stack.alarms.statuses.values()].filter((s) => s.kind === 'metric' && s.state === 'ALARM' && alarms.includes(s.name)).map((s) => s.name);
    expect(await asOperator.firing(alarms)).toEqual(firingNow);
    const asFunction = new CloudWatchAlarms(stack.region, stack.cloudWatchEndpoint, credentials(functionAccessKeyId(functionNameInPlan(stack.plan, 'ping'))));
    await expect(asFunction.firing(alarms)).rejects.toThrow(/DescribeAlarms failed: AccessDenied/);
  });
});
