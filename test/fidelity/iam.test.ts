/**
 * IAM on the local stack: every DynamoDB and @connections call a function makes is checked against the policies
 * the plan attaches to its role, and refused as AWS refuses it. Here the plan copy drops one grant
 * (dynamodb:PutItem on the messages table from the send function's policy).
 */
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { functionAccessKeyId, Iam, OPERATOR_ACCESS_KEY_ID } from '../../local/iam.ts';
import { StackPlan } from '../../local/plan.ts';
import { bootEditedStack, resourceOf } from '../support/plan-copy.ts';
import { useStack } from '../support/local-stack.ts';

const fn = (part: string) => `wschat-dev-${part}`;
const table = (part: string) => stack.tables.find((t) => t.endsWith(`-${part}`)) as string;
const tableArn = (part: string) => `arn:aws:dynamodb:${stack.region}:000000000000:table/${table(part)}`;

function dynamoAs(functionName: string | undefined): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: stack.functionsDynamoEndpoint,
    region: stack.region,
    maxAttempts: 1,
    credentials: { accessKeyId: functionName ? functionAccessKeyId(functionName) : 'a-developer', secretAccessKey: 'x' },
  });
}

function connectionsAs(functionName: string): ApiGatewayManagementApiClient {
  return connectionsWithKey(functionAccessKeyId(functionName));
}

function connectionsWithKey(accessKeyId: string): ApiGatewayManagementApiClient {
  return new ApiGatewayManagementApiClient({
    endpoint: `http://127.0.0.1:${stack.port}/${stack.stage}`,
    region: stack.region,
    maxAttempts: 1,
    credentials: { accessKeyId, secretAccessKey: 'x' },
  });
}

const { stack, connect } = useStack(() =>
  bootEditedStack((plan) => {
    const policy = resourceOf(plan, 'aws_iam_role_policy', 'send');
    const document = JSON.parse(String(policy.policy)) as { Statement: { Action: string[]; Resource: string | string[] }[] };
    const onMessages = document.Statement.find((s) => [s.Resource].flat().some((r) => r.includes('tables_messages')));
    if (!onMessages?.Action.includes('dynamodb:PutItem')) throw new Error('the send policy no longer grants PutItem on messages');
    onMessages.Action = onMessages.Action.filter((action) => action !== 'dynamodb:PutItem');
    policy.policy = JSON.stringify(document);
  }),
);

describe('a function missing a grant', () => {
  it('fails the send with AccessDenied naming the action, while granted calls go through', async () => {
    const alice = await connect('alice');
    // join, history and the send's own reads are granted: they work.
    await alice.request({ action: 'join', room: 'iam' }, 'joined');
    const error = await alice.request({ action: 'send', room: 'iam', text: 'hi', clientMsgId: 'm-1' }, 'error');
    expect(error).toMatchObject({ type: 'error', code: 'INTERNAL', retryable: false });
    expect(alice.ofType('ack')).toHaveLength(0);
    const role = stack.iam.principalOf(functionAccessKeyId(fn('send')))?.roleName;
    expect(role).toBe('wschat-dev-send-fn');
    const denied = stack.printed.find((line) => line.startsWith(`${fn('send')} `) && line.includes('AccessDeniedException'));
    expect(denied).toContain(
      `User: arn:aws:sts::000000000000:assumed-role/${role}/${fn('send')} is not authorized to perform: dynamodb:PutItem on resource: ${tableArn('messages')} because no identity-based policy allows the dynamodb:PutItem action`,
    );
  });
});

describe('DynamoDB calls', () => {
  it('answers a denied call with HTTP 400 AccessDeniedException in AWS wording', async () => {
    // The connect function may read the connections table (slot takeover) but no other.
    const error = (await dynamoAs(fn('connect'))
      .send(new GetItemCommand({ TableName: table('messages'), Key: { room: { S: 'x' }, seq: { N: '1' } } }))
      .catch((e: unknown) => e)) as Error & { $metadata: { httpStatusCode: number } };
    expect(error.name).toBe('AccessDeniedException');
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toBe(
      `User: arn:aws:sts::000000000000:assumed-role/wschat-dev-connect-fn/${fn('connect')} is not authorized to perform: ` +
        `dynamodb:GetItem on resource: ${tableArn('messages')} because no identity-based policy allows the dynamodb:GetItem action`,
    );
  });

  it('checks a Query on an index against the index ARN', async () => {
    const query = (indexName?: string) =>
      dynamoAs(fn('disconnect')).send(
        new QueryCommand({
          TableName: table('memberships'),
          IndexName: indexName,
          KeyConditionExpression: 'connectionId = :c',
          ExpressionAttributeValues: { ':c': { S: 'nobody' } },
        }),
      );
    // The disconnect function's grant names memberships/index/byConnection: allowed.
    expect((await query('byConnection')).Items).toEqual([]);
    const who = await dynamoAs(fn('who'))
      .send(new QueryCommand({ TableName: table('memberships'), IndexName: 'byConnection', KeyConditionExpression: 'connectionId = :c', ExpressionAttributeValues: { ':c': { S: 'x' } } }))
      .catch((e: unknown) => e as Error);
    expect((who as Error).message).toContain(`dynamodb:Query on resource: ${tableArn('memberships')}/index/byConnection`);
  });

  it('lets callers that are not functions through (the runtime, tests, a developer)', async () => {
    await dynamoAs(undefined).send(
      new PutItemCommand({ TableName: table('connections'), Item: { connectionId: { S: 'dev-probe' }, userId: { S: 'dev' } } }),
    );
    const item = await dynamoAs(undefined).send(new GetItemCommand({ TableName: table('connections'), Key: { connectionId: { S: 'dev-probe' } } }));
    expect(item.Item?.userId?.S).toBe('dev');
  });
});

describe('@connections calls', () => {
  it('answers 403 ForbiddenException to a function without execute-api:ManageConnections', async () => {
    const error = (await connectionsAs(fn('authorizer'))
      .send(new PostToConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAA==', Data: Buffer.from('{}') }))
      .catch((e: unknown) => e)) as Error & { $metadata: { httpStatusCode: number } };
    expect(error.name).toBe('ForbiddenException');
    expect(error.$metadata.httpStatusCode).toBe(403);
    expect(error.message).toContain('execute-api:ManageConnections on resource: arn:aws:execute-api:');
  });

  it('allows POST where the policy grants POST/@connections/* but not GET', async () => {
    // A granted POST to an unknown connection gets past IAM to the 410.
    const gone = (await connectionsAs(fn('send'))
      .send(new PostToConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAA==', Data: Buffer.from('{}') }))
      .catch((e: unknown) => e)) as Error;
    expect(gone.name).toBe('GoneException');
    const get = (await connectionsAs(fn('send'))
      .send(new GetConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAA==' }))
      .catch((e: unknown) => e)) as Error;
    expect(get.name).toBe('ForbiddenException');
    expect(get.message).toMatch(/\/dev\/GET\/@connections\/AAAAAAAAAAAAAA==/);
  });
});

describe("$connect's lookups", () => {
  it('lets the connect function GET a connection (is a slot holder still open?), never POST to or DELETE it', async () => {
    const connectFn = connectionsAs(fn('connect'));
    const failure = (call: Promise<unknown>) => call.then(() => new Error('allowed'), (e: unknown) => e as Error);
    await connect('iam-lookup');
    // The open connection's id, from the slot its $connect claimed.
    const { Items = [] } = await dynamoAs(undefined).send(
      new QueryCommand({ TableName: table('slots'), KeyConditionExpression: 'userId = :u', ExpressionAttributeValues: { ':u': { S: 'iam-lookup' } } }),
    );
    const open = Items[0]?.connectionId?.S;
    expect(open).toBeDefined();
    const found = await connectFn.send(new GetConnectionCommand({ ConnectionId: open }));
    expect(found.$metadata.httpStatusCode).toBe(200);
    expect((await failure(connectFn.send(new GetConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAA==' })))).name).toBe('GoneException');
    for (const call of [
      () => connectFn.send(new PostToConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAA==', Data: Buffer.from('{}') })),
      () => connectFn.send(new DeleteConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAA==' })),
    ]) {
      const refused = await failure(call());
      expect(refused.name).toBe('ForbiddenException');
      expect(refused.message).toContain(`assumed-role/wschat-dev-connect-fn/${fn('connect')} is not authorized to perform: execute-api:ManageConnections`);
    }
  });
});

describe('@connections callers IAM does not know', () => {
  const unknownConnection = '/dev/@connections/AAAAAAAAAAAAAA==';

  it('answers an unsigned request 403 Missing Authentication Token, as API Gateway does', async () => {
    for (const method of ['POST', 'GET', 'DELETE']) {
      const res = await fetch(`http://127.0.0.1:${stack.port}${unknownConnection}`, { method, body: method === 'POST' ? '{}' : undefined });
      expect(res.status).toBe(403);
      expect(res.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
      expect(await res.json()).toEqual({ message: 'Missing Authentication Token' });
    }
  });

  it('answers a request signed with a key no identity holds 403 UnrecognizedClientException', async () => {
    const error = (await connectionsWithKey('a-developer')
      .send(new DeleteConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAA==' }))
      .catch((e: unknown) => e)) as Error & { $metadata: { httpStatusCode: number } };
    expect(error.name).toBe('UnrecognizedClientException');
    expect(error.$metadata.httpStatusCode).toBe(403);
  });

  it("lets the operator identity GET and DELETE a connection (the plan's operator policy), never POST to it", async () => {
    const operator = connectionsWithKey(OPERATOR_ACCESS_KEY_ID);
    const failure = (call: Promise<unknown>) => call.then(() => new Error('allowed'), (e: unknown) => e as Error);
    // Allowed calls get past IAM to the connection, which is gone.
    expect((await failure(operator.send(new GetConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAA==' })))).name).toBe('GoneException');
    expect((await failure(operator.send(new DeleteConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAA==' })))).name).toBe('GoneException');
    const post = await failure(operator.send(new PostToConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAA==', Data: Buffer.from('{}') })));
    expect(post.name).toBe('ForbiddenException');
    expect(post.message).toContain('assumed-role/wschat-dev-operator/operator is not authorized to perform: execute-api:ManageConnections');
  });
});

describe('policy evaluation', () => {
  function iamOf(resources: Record<string, Record<string, unknown>>): Iam {
    const dir = mkdtempSync(path.join(tmpdir(), 'wschat-iam-'));
    const plan = {
      provider: { aws: [{ region: 'eu-west-1' }] },
      resource: {
        aws_lambda_function: { f: { function_name: 'f', role: '${aws_iam_role.r.arn}' } },
        aws_iam_role: { r: { name: 'r' } },
        ...resources,
      },
    };
    writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify(plan));
    return Iam.fromPlan(StackPlan.load(dir, { apiId: 'abc', variables: {} }));
  }
  const policy = (...Statement: unknown[]) => ({
    aws_iam_role_policy: { p: { role: '${aws_iam_role.r.id}', policy: JSON.stringify({ Statement }) } },
  });
  const key = functionAccessKeyId('f');

  it('lets an explicit Deny win over an Allow, with AWS wording', () => {
    const iam = iamOf(policy({ Effect: 'Allow', Action: 'dynamodb:*', Resource: '*' }, { Effect: 'Deny', Action: 'dynamodb:DeleteItem', Resource: '*' }));
    expect(iam.check(key, 'dynamodb:GetItem', 'arn:t')).toBeUndefined();
    expect(iam.check(key, 'dynamodb:DeleteItem', 'arn:t')?.message).toMatch(/with an explicit deny in an identity-based policy$/);
  });

  it('honours NotAction and NotResource', () => {
    const iam = iamOf(policy({ Effect: 'Allow', NotAction: 'dynamodb:Scan', NotResource: 'arn:secret' }));
    expect(iam.check(key, 'dynamodb:Query', 'arn:t')).toBeUndefined();
    expect(iam.check(key, 'dynamodb:Scan', 'arn:t')).toBeDefined();
    expect(iam.check(key, 'dynamodb:Query', 'arn:secret')).toBeDefined();
  });

  it('knows the managed policies it can enforce and refuses to boot on any other', () => {
    const attach = (arn: string) => ({ aws_iam_role_policy_attachment: { a: { role: '${aws_iam_role.r.name}', policy_arn: arn } } });
    const basic = iamOf(attach('arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'));
    expect(basic.check(key, 'logs:PutLogEvents', 'arn:aws:logs:x')).toBeUndefined();
    expect(basic.check(key, 'dynamodb:GetItem', 'arn:t')).toBeDefined();
    expect(() => iamOf(attach('arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess'))).toThrow(
      /managed policy arn:aws:iam::aws:policy\/AmazonDynamoDBFullAccess is unknown to the local stack/,
    );
  });

  it('refuses to boot on a Condition it cannot evaluate, and on a policy that is not JSON', () => {
    expect(() => iamOf(policy({ Effect: 'Allow', Action: '*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'true' } } }))).toThrow(
      /Condition cannot be evaluated locally/,
    );
    expect(() => iamOf({ aws_iam_role_policy: { p: { role: '${aws_iam_role.r.id}', policy: '{nope' } } })).toThrow(/policy is not JSON/);
  });

  it('does not check keys that are not a function’s', () => {
    const iam = iamOf(policy());
    expect(iam.check('AKIADEVELOPER', 'dynamodb:DeleteTable', 'arn:t')).toBeUndefined();
    expect(iam.check(key, 'dynamodb:DeleteTable', 'arn:t')?.message).toMatch(/assumed-role\/r\/f is not authorized/);
  });
});
