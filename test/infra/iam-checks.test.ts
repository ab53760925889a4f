/** The shared IAM checks (test/support/iam.ts) find what they are meant to find, and accept what they should. */
import { describe, expect, it } from 'vitest';
import type { TableGrant } from '../../functions/catalog/functions.ts';
import { TABLE_KEYS, type TableKey } from '../../functions/catalog/tables.ts';
import {
  dynamodbViolations,
  manageConnectionsViolations,
  managedPolicyViolations,
  trustedService,
  trustPolicyViolations,
  wildcardActionViolations,
  wildcardResourceViolations,
  type Statement,
} from '../support/iam.ts';

describe('IAM checks catch bad policies', () => {
  const arns = Object.fromEntries(TABLE_KEYS.map((k) => [k, `\${aws_dynamodb_table.t_${k}.arn}`])) as Record<TableKey, string>;
  const post = '${aws_apigatewayv2_api.api.execution_arn}/dev/POST/@connections/*';
  const doc = (...Statement: Statement[]) => ({ Version: '2012-10-17', Statement });
  const grants: readonly TableGrant[] = [
    { table: 'memberships', actions: ['DeleteItem', 'Query'], indexes: ['byConnection'] },
    { table: 'connections', actions: ['DeleteItem'] },
  ];
  const good = [
    { Effect: 'Allow', Action: ['dynamodb:DeleteItem', 'dynamodb:Query'], Resource: [arns.memberships, `${arns.memberships}/index/byConnection`] },
    { Effect: 'Allow', Action: ['dynamodb:DeleteItem'], Resource: [arns.connections] },
  ];

  it('accepts a least-privilege document', () => {
    const document = doc(...good, { Effect: 'Allow', Action: ['xray:PutTraceSegments'], Resource: '*' }, { Effect: 'Allow', Action: ['execute-api:ManageConnections'], Resource: post });
    expect(wildcardActionViolations(document)).toEqual([]);
    expect(wildcardResourceViolations(document)).toEqual([]);
    expect(manageConnectionsViolations(document, [post])).toEqual([]);
    expect(dynamodbViolations(document, grants, arns)).toEqual([]);
  });

  it('flags wildcard actions', () => {
    expect(wildcardActionViolations(doc({ Effect: 'Allow', Action: ['dynamodb:*'], Resource: arns.rooms }))).not.toEqual([]);
    expect(wildcardActionViolations(doc({ Effect: 'Allow', Action: '*', Resource: arns.rooms }))).not.toEqual([]);
    expect(wildcardActionViolations(doc({ Effect: 'Allow', Action: ['dynamodb:Get*'], Resource: arns.rooms }))).not.toEqual([]);
    expect(wildcardActionViolations(doc({ Effect: 'Allow', NotAction: ['iam:*'], Resource: arns.rooms }))).not.toEqual([]);
  });

  it('flags Resource "*" outside X-Ray', () => {
    expect(wildcardResourceViolations(doc({ Effect: 'Allow', Action: ['dynamodb:GetItem'], Resource: '*' }))).not.toEqual([]);
    expect(wildcardResourceViolations(doc({ Effect: 'Allow', Action: ['xray:PutTraceSegments', 'logs:PutLogEvents'], Resource: ['*'] }))).not.toEqual([]);
    expect(wildcardResourceViolations(doc({ Effect: 'Allow', Action: ['logs:PutLogEvents'], NotResource: 'x' }))).not.toEqual([]);
  });

  it('flags ManageConnections on another resource, missing or unexpected', () => {
    const wide = doc({ Effect: 'Allow', Action: ['execute-api:ManageConnections'], Resource: '${aws_apigatewayv2_api.api.execution_arn}/*' });
    expect(manageConnectionsViolations(wide, [post])).not.toEqual([]);
    const otherStage = doc({ Effect: 'Allow', Action: ['execute-api:ManageConnections'], Resource: post.replace('/dev/', '/prod/') });
    expect(manageConnectionsViolations(otherStage, [post])).not.toEqual([]);
    const invoke = doc({ Effect: 'Allow', Action: ['execute-api:Invoke'], Resource: post });
    expect(manageConnectionsViolations(invoke, undefined)).not.toEqual([]);
    expect(manageConnectionsViolations(doc(...good), [post])).not.toEqual([]);
    expect(manageConnectionsViolations(doc({ Effect: 'Allow', Action: ['execute-api:ManageConnections'], Resource: post }), undefined)).not.toEqual([]);
  });

  it('flags DynamoDB grants beyond, short of, or outside the catalog', () => {
    const extraAction = doc({ ...good[0]!, Action: ['dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:PutItem'] }, good[1]!);
    expect(dynamodbViolations(extraAction, grants, arns)).not.toEqual([]);
    const missingAction = doc({ ...good[0]!, Action: ['dynamodb:Query'] }, good[1]!);
    expect(dynamodbViolations(missingAction, grants, arns)).not.toEqual([]);
    const otherTable = doc(...good, { Effect: 'Allow', Action: ['dynamodb:GetItem'], Resource: [arns.rooms] });
    expect(dynamodbViolations(otherTable, grants, arns)).not.toEqual([]);
    const allIndexes = doc({ ...good[0]!, Resource: [arns.memberships, `${arns.memberships}/index/*`] }, good[1]!);
    expect(dynamodbViolations(allIndexes, grants, arns)).not.toEqual([]);
    const noIndex = doc({ ...good[0]!, Resource: [arns.memberships] }, good[1]!);
    expect(dynamodbViolations(noIndex, grants, arns)).not.toEqual([]);
    const missingTable = doc(good[0]!);
    expect(dynamodbViolations(missingTable, grants, arns)).not.toEqual([]);
    const literalArn = doc(...good, { Effect: 'Allow', Action: ['dynamodb:DeleteItem'], Resource: ['arn:aws:dynamodb:us-east-1:1:table/x'] });
    expect(dynamodbViolations(literalArn, grants, arns)).not.toEqual([]);
  });

  const trust = (Principal: unknown, extra: Record<string, unknown> = {}) => ({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal, Action: 'sts:AssumeRole', ...extra }],
  });

  it('accepts a trust policy for exactly one service, and reads which one', () => {
    const lambda = trust({ Service: 'lambda.amazonaws.com' });
    expect(trustPolicyViolations(lambda, 'lambda.amazonaws.com')).toEqual([]);
    expect(trustedService(lambda)).toBe('lambda.amazonaws.com');
  });

  it('flags trust policies for another or several principals, wildcards, other actions or extra statements', () => {
    expect(trustPolicyViolations(trust({ Service: 'apigateway.amazonaws.com' }), 'lambda.amazonaws.com')).not.toEqual([]);
    expect(trustPolicyViolations(trust({ Service: ['lambda.amazonaws.com', 'ec2.amazonaws.com'] }), 'lambda.amazonaws.com')).not.toEqual([]);
    expect(trustPolicyViolations(trust('*'), 'lambda.amazonaws.com')).not.toEqual([]);
    expect(trustPolicyViolations(trust({ AWS: 'arn:aws:iam::123456789012:root' }), 'lambda.amazonaws.com')).not.toEqual([]);
    expect(trustPolicyViolations(trust({ Service: 'lambda.amazonaws.com' }, { Action: 'sts:*' }), 'lambda.amazonaws.com')).not.toEqual([]);
    const twoStatements = { Version: '2012-10-17', Statement: [...trust({ Service: 'lambda.amazonaws.com' }).Statement, ...trust('*').Statement] };
    expect(trustPolicyViolations(twoStatements, 'lambda.amazonaws.com')).not.toEqual([]);
    expect(trustedService(trust({ Service: ['lambda.amazonaws.com', 'ec2.amazonaws.com'] }))).toBeUndefined();
  });

  it('allows the API Gateway logging policy only on a role API Gateway assumes, and no other managed policy', () => {
    const pushToLogs = 'arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs';
    expect(managedPolicyViolations(pushToLogs, 'apigateway.amazonaws.com')).toEqual([]);
    expect(managedPolicyViolations(pushToLogs, 'lambda.amazonaws.com')).not.toEqual([]);
    expect(managedPolicyViolations(pushToLogs, undefined)).not.toEqual([]);
    expect(managedPolicyViolations('arn:aws:iam::aws:policy/AdministratorAccess', 'apigateway.amazonaws.com')).not.toEqual([]);
    expect(managedPolicyViolations('arn:aws:iam::123456789012:policy/anything', 'lambda.amazonaws.com')).not.toEqual([]);
  });
});

