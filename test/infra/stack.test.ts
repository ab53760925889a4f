/**
 * Assertions on the synthesized plan (cdk.tf.json) of every stage's stack. Expectations come from the catalogs
 * (functions/catalog/*) and the stage config, so adding a route, function or table is checked without editing
 * this file; spec-level constants (runtime, architecture, selection expression, ...) are spelled out literally.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../functions/catalog/env.ts';
import { FUNCTION_NAMES, FUNCTIONS, ROUTES, type FunctionName, type TableGrant } from '../../functions/catalog/functions.ts';
import { TABLE_KEYS, TABLES, tableEnvVar, type TableKey, type TableSchema } from '../../functions/catalog/tables.ts';
import { STAGES, stackName, type StageName } from '../../infra/config/stages.ts';
import { readPlan, stackDir, type Plan } from '../support/plan.ts';

// The plan is untyped JSON; resources are read as loose records.
type Res = Record<string, any>;
type LoosePlan = Omit<Plan, 'resource'> & { resource: Record<string, Record<string, Res>> };

const STAGE_NAMES = Object.keys(STAGES) as StageName[];

/** `${type.id.attr}`, a Terraform reference as cdktf renders it. */
function ref(type: string, id: string, attr: string): string {
  return `\${${type}.${id}.${attr}}`;
}

function entries(plan: Plan, type: string): [string, Res][] {
  return Object.entries(plan.resource[type] ?? {}) as [string, Res][];
}

/** The one resource of `type` matching `predicate`; fails when there are none or several. */
function single(plan: Plan, type: string, predicate: (r: Res) => boolean, what: string): [string, Res] {
  const matches = entries(plan, type).filter(([, r]) => predicate(r));
  expect(matches.map(([id]) => id), `exactly one ${type} for ${what}`).toHaveLength(1);
  return matches[0]!;
}

/** Physical name of a stage's resource: `wschat-<stage>-<part>` (spelled out, not via infra's helper). */
function physical(stage: StageName, part: string): string {
  return `wschat-${stage}-${part}`;
}

/** Logical ids of the resources of one stack, keyed by catalog entry. */
interface StackModel {
  readonly stage: StageName;
  readonly plan: LoosePlan;
  readonly apiId: string;
  readonly functionIds: Record<FunctionName, string>;
  readonly tableIds: Record<TableKey, string>;
}

function model(stage: StageName): StackModel {
  const plan = readPlan(stackName(stage)) as LoosePlan;
  const [apiId] = single(plan, 'aws_apigatewayv2_api', () => true, 'the stage');
  const functionIds = Object.fromEntries(
    FUNCTION_NAMES.map((name) => [
      name,
      single(plan, 'aws_lambda_function', (r) => r.function_name === physical(stage, name), `function ${name}`)[0],
    ]),
  ) as Record<FunctionName, string>;
  const tableIds = Object.fromEntries(
    TABLE_KEYS.map((key) => [key, single(plan, 'aws_dynamodb_table', (r) => r.name === physical(stage, key), `table ${key}`)[0]]),
  ) as Record<TableKey, string>;
  return { stage, plan, apiId, functionIds, tableIds };
}

function asArray<T>(value: T | readonly T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? [...(value as T[])] : [value as T];
}

/** Every string in a JSON value with its path, skipping cdktf's `//` metadata. */
function* strings(value: unknown, at = ''): Generator<[string, string]> {
  if (typeof value === 'string') yield [at, value];
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* strings(v, `${at}[${i}]`);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) if (k !== '//') yield* strings(v, at ? `${at}.${k}` : k);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// IAM policy checks: pure functions returning violations, so they are tested against bad documents too.
// ---------------------------------------------------------------------------------------------------------------

interface Statement {
  Effect?: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
}

function statementsOf(document: unknown): Statement[] {
  const statement = (document as { Statement?: Statement | Statement[] } | null)?.Statement;
  return asArray(statement);
}

/** No action contains `*` (service:* or `*`), and no NotAction (which allows everything else). */
function wildcardActionViolations(document: unknown): string[] {
  const violations: string[] = [];
  for (const st of statementsOf(document)) {
    if (st.NotAction !== undefined) violations.push(`NotAction ${JSON.stringify(st.NotAction)}`);
    if (asArray(st.Action).length === 0) violations.push(`statement without Action: ${JSON.stringify(st)}`);
    for (const action of asArray(st.Action)) if (action.includes('*')) violations.push(`wildcard action ${action}`);
  }
  return violations;
}

/** Resource "*" only on the X-Ray statement (its trace APIs have no resource-level permissions); no NotResource. */
function wildcardResourceViolations(document: unknown): string[] {
  const violations: string[] = [];
  for (const st of statementsOf(document)) {
    if (st.NotResource !== undefined) violations.push(`NotResource ${JSON.stringify(st.NotResource)}`);
    if (asArray(st.Resource).length === 0) violations.push(`statement without Resource: ${JSON.stringify(st)}`);
    if (!asArray(st.Resource).includes('*')) continue;
    const nonXray = asArray(st.Action).filter((action) => !action.startsWith('xray:'));
    if (nonXray.length > 0) violations.push(`Resource "*" for ${nonXray.join(', ')}`);
  }
  return violations;
}

/**
 * execute-api: only ManageConnections, only on `<api execution_arn>/<stage>/POST/@connections/*`, and only
 * (and always) when the catalog says the function manages connections.
 */
function manageConnectionsViolations(document: unknown, postArn: string, expected: boolean): string[] {
  const violations: string[] = [];
  let granted = false;
  for (const st of statementsOf(document)) {
    const actions = asArray(st.Action).filter((a) => a.toLowerCase().startsWith('execute-api:'));
    if (actions.length === 0) continue;
    if (actions.length !== asArray(st.Action).length) violations.push(`execute-api mixed with other actions: ${asArray(st.Action).join(', ')}`);
    for (const action of actions) if (action !== 'execute-api:ManageConnections') violations.push(`unexpected ${action}`);
    const resources = asArray(st.Resource);
    if (resources.length !== 1 || resources[0] !== postArn) violations.push(`ManageConnections on ${JSON.stringify(st.Resource)}, not ${postArn}`);
    granted = true;
  }
  if (granted !== expected) violations.push(expected ? 'ManageConnections missing' : 'ManageConnections granted but not in the catalog');
  return violations;
}

/**
 * DynamoDB: per granted table, the actions on the table ARN are exactly the catalog grant; index ARNs only for the
 * grant's indexes (which must exist on the table), with actions within the grant; nothing on any other resource.
 */
function dynamodbViolations(document: unknown, grants: readonly TableGrant[], tableArns: Record<TableKey, string>): string[] {
  const violations: string[] = [];
  const keyByArn = new Map(Object.entries(tableArns).map(([key, arn]) => [arn, key as TableKey]));
  const grantByKey = new Map(grants.map((grant) => [grant.table, grant]));
  const actionsOn = new Map<string, Set<string>>();
  for (const st of statementsOf(document)) {
    const actions = asArray(st.Action);
    const dynamo = actions.filter((a) => a.toLowerCase().startsWith('dynamodb:'));
    if (dynamo.length === 0) continue;
    if (dynamo.length !== actions.length) violations.push(`dynamodb mixed with other actions: ${actions.join(', ')}`);
    for (const resource of asArray(st.Resource)) {
      const set = actionsOn.get(resource) ?? new Set<string>();
      for (const action of dynamo) set.add(action);
      actionsOn.set(resource, set);
    }
  }
  for (const [resource, actions] of actionsOn) {
    const match = /^(\$\{aws_dynamodb_table\.[^}]+\.arn\})(?:\/index\/([^/]+))?$/.exec(resource);
    const key = match ? keyByArn.get(match[1]!) : undefined;
    if (!match || !key) {
      violations.push(`dynamodb ${[...actions].join(', ')} on ${resource}, which is no table of this stack`);
      continue;
    }
    const grant = grantByKey.get(key);
    if (!grant) {
      violations.push(`dynamodb ${[...actions].join(', ')} on table ${key}, which the catalog does not grant`);
      continue;
    }
    const allowed = new Set(grant.actions.map((a) => `dynamodb:${a}`));
    const index = match[2];
    if (index === undefined) {
      const got = [...actions].sort();
      const want = [...allowed].sort();
      if (got.join() !== want.join()) violations.push(`table ${key}: ${got.join(', ')} instead of ${want.join(', ')}`);
    } else {
      if (!(grant.indexes ?? []).includes(index)) violations.push(`index ${key}/${index} is not granted`);
      const schema: TableSchema = TABLES[key];
      if (!(schema.indexes ?? []).some((i) => i.name === index)) violations.push(`index ${key}/${index} does not exist`);
      for (const action of actions) if (!allowed.has(action)) violations.push(`index ${key}/${index}: ${action} is not granted`);
    }
  }
  for (const grant of grants) {
    const tableArn = tableArns[grant.table];
    if (!actionsOn.has(tableArn)) violations.push(`granted table ${grant.table} has no statement`);
    for (const index of grant.indexes ?? []) {
      const onIndex = actionsOn.get(`${tableArn}/index/${index}`);
      if (!onIndex) violations.push(`granted index ${grant.table}/${index} has no statement`);
      else if (grant.actions.includes('Query') && !onIndex.has('dynamodb:Query')) violations.push(`no Query on ${grant.table}/${index}`);
    }
  }
  return violations;
}

// ---------------------------------------------------------------------------------------------------------------

describe.each(STAGE_NAMES)('stack %s', (stage) => {
  const m = model(stage);
  const { plan, apiId, functionIds, tableIds } = m;
  const config = STAGES[stage];
  const api = plan.resource.aws_apigatewayv2_api![apiId]!;
  const apiRef = (attr: string) => ref('aws_apigatewayv2_api', apiId, attr);
  const fnRef = (name: FunctionName, attr: string) => ref('aws_lambda_function', functionIds[name], attr);
  const tableArns = Object.fromEntries(TABLE_KEYS.map((k) => [k, ref('aws_dynamodb_table', tableIds[k], 'arn')])) as Record<TableKey, string>;
  const [authorizerId, authorizer] = single(plan, 'aws_apigatewayv2_authorizer', () => true, 'the API');
  const [stageId, apiStage] = single(plan, 'aws_apigatewayv2_stage', () => true, 'the API');
  const connectionsEndpoint = `https://${apiRef('id')}.execute-api.${config.region}.amazonaws.com/${stage}`;

  describe('WebSocket API', () => {
    it('is a WEBSOCKET API selecting routes by $request.body.action', () => {
      expect(api.protocol_type).toBe('WEBSOCKET');
      expect(api.route_selection_expression).toBe('$request.body.action');
      expect(api.name).toBe(physical(stage, 'ws'));
    });

    it('has one route per ROUTES entry, each with an AWS_PROXY integration targeting its function', () => {
      const routes = entries(plan, 'aws_apigatewayv2_route');
      expect(routes.map(([, r]) => r.route_key).sort()).toEqual(ROUTES.map((r) => r.routeKey).sort());
      expect(entries(plan, 'aws_apigatewayv2_integration')).toHaveLength(ROUTES.length);
      for (const { routeKey, function: name } of ROUTES) {
        const [, route] = single(plan, 'aws_apigatewayv2_route', (r) => r.route_key === routeKey, `route ${routeKey}`);
        expect(route.api_id, routeKey).toBe(apiRef('id'));
        const target = /^integrations\/\$\{aws_apigatewayv2_integration\.([^.}]+)\.id\}$/.exec(String(route.target));
        expect(target, `${routeKey} target ${route.target}`).not.toBeNull();
        const integration = plan.resource.aws_apigatewayv2_integration?.[target![1]!];
        expect(integration, `${routeKey} integration`).toBeDefined();
        expect(integration!.api_id).toBe(apiRef('id'));
        expect(integration!.integration_type, routeKey).toBe('AWS_PROXY');
        expect(integration!.integration_uri, routeKey).toBe(fnRef(name, 'invoke_arn'));
      }
    });

    it('authorizes $connect (only) with the REQUEST authorizer reading route.request.querystring.token', () => {
      expect(authorizer.api_id).toBe(apiRef('id'));
      expect(authorizer.authorizer_type).toBe('REQUEST');
      expect(authorizer.identity_sources).toEqual(['route.request.querystring.token']);
      expect(authorizer.authorizer_uri).toBe(fnRef('authorizer', 'invoke_arn'));
      for (const [, route] of entries(plan, 'aws_apigatewayv2_route')) {
        if (route.route_key === '$connect') {
          expect(route.authorization_type).toBe('CUSTOM');
          expect(route.authorizer_id).toBe(ref('aws_apigatewayv2_authorizer', authorizerId, 'id'));
        } else {
          expect(route.authorizer_id, route.route_key).toBeUndefined();
          expect([undefined, 'NONE'], route.route_key).toContain(route.authorization_type);
        }
      }
    });

    it('lets API Gateway invoke each route function and the authorizer, scoped by source ARN', () => {
      const permissions = entries(plan, 'aws_lambda_permission');
      expect(permissions).toHaveLength(ROUTES.length + 1);
      for (const [id, p] of permissions) {
        expect(p.action, id).toBe('lambda:InvokeFunction');
        expect(p.principal, id).toBe('apigateway.amazonaws.com');
        expect(String(p.source_arn ?? ''), id).toMatch(new RegExp(`^${apiRef('execution_arn').replace(/[$.{}]/g, '\\$&')}/.+`));
      }
      for (const { routeKey, function: name } of ROUTES) {
        single(
          plan,
          'aws_lambda_permission',
          (p) => p.function_name === fnRef(name, 'function_name') && p.source_arn === `${apiRef('execution_arn')}/${stage}/${routeKey}`,
          `route ${routeKey}`,
        );
      }
      single(
        plan,
        'aws_lambda_permission',
        (p) =>
          p.function_name === fnRef('authorizer', 'function_name') &&
          p.source_arn === `${apiRef('execution_arn')}/authorizers/${ref('aws_apigatewayv2_authorizer', authorizerId, 'id')}`,
        'the authorizer',
      );
      // Statement ids are unique per function's resource policy.
      const keys = permissions.map(([, p]) => `${p.function_name}#${p.statement_id}`);
      expect(new Set(keys).size).toBe(keys.length);
    });

    it('deploys after every route and redeploys when one changes', () => {
      const [deploymentId, deployment] = single(plan, 'aws_apigatewayv2_deployment', () => true, 'the API');
      expect(deployment.api_id).toBe(apiRef('id'));
      const routeIds = entries(plan, 'aws_apigatewayv2_route').map(([id]) => id);
      expect([...(deployment.depends_on ?? [])].sort()).toEqual(routeIds.map((id) => `aws_apigatewayv2_route.${id}`).sort());
      for (const id of routeIds) expect(String(deployment.triggers?.redeployment)).toContain(`aws_apigatewayv2_route.${id}.target`);
      expect(apiStage.deployment_id).toBe(ref('aws_apigatewayv2_deployment', deploymentId, 'id'));
    });

    it('has a stage with JSON access logs into a retained log group and default throttling', () => {
      expect(apiStage.name).toBe(stage);
      expect(apiStage.api_id).toBe(apiRef('id'));
      const logs = /^\$\{aws_cloudwatch_log_group\.([^.}]+)\.arn\}$/.exec(String(apiStage.access_log_settings?.destination_arn));
      expect(logs, 'access log destination').not.toBeNull();
      const logGroup = plan.resource.aws_cloudwatch_log_group?.[logs![1]!];
      expect(logGroup?.retention_in_days).toBe(config.logRetentionDays);
      const format = JSON.parse(String(apiStage.access_log_settings.format)) as Record<string, string>;
      expect(format).toMatchObject({ requestId: '$context.requestId', routeKey: '$context.routeKey', status: '$context.status' });
      const throttle = apiStage.default_route_settings;
      expect(throttle?.throttling_rate_limit).toBe(config.throttle.rateLimit);
      expect(throttle?.throttling_burst_limit).toBe(config.throttle.burstLimit);
      expect(throttle.throttling_rate_limit).toBeGreaterThan(0);
      expect(throttle.throttling_burst_limit).toBeGreaterThanOrEqual(throttle.throttling_rate_limit);
    });

    it('outputs websocket_url and connections_endpoint', () => {
      expect(plan.output?.websocket_url).toMatchObject({ value: ref('aws_apigatewayv2_stage', stageId, 'invoke_url') });
      expect(plan.output?.connections_endpoint).toMatchObject({ value: connectionsEndpoint });
    });
  });

  describe('functions', () => {
    it('has exactly one function per catalog entry', () => {
      expect(entries(plan, 'aws_lambda_function')).toHaveLength(FUNCTION_NAMES.length);
    });

    it.each(FUNCTION_NAMES)('%s runs nodejs22.x on arm64 with active tracing, from a bundle inside the stack', (name) => {
      const fn = plan.resource.aws_lambda_function![functionIds[name]]!;
      expect(fn.runtime).toBe('nodejs22.x');
      expect(fn.architectures).toEqual(['arm64']);
      expect(fn.tracing_config).toEqual({ mode: 'Active' });
      expect(fn.timeout).toBe(FUNCTIONS[name].timeoutSeconds);
      expect(fn.memory_size).toBe(FUNCTIONS[name].memoryMb);
      expect(path.isAbsolute(fn.filename), fn.filename).toBe(false);
      expect(existsSync(path.join(stackDir(stackName(stage)), fn.filename)), fn.filename).toBe(true);
      expect(fn.source_code_hash).toBeTruthy();
    });

    it.each(FUNCTION_NAMES)('%s logs to its own /aws/lambda log group, with retention, created first', (name) => {
      const fn = plan.resource.aws_lambda_function![functionIds[name]]!;
      const [logGroupId, logGroup] = single(
        plan,
        'aws_cloudwatch_log_group',
        (g) => g.name === `/aws/lambda/${physical(stage, name)}`,
        `function ${name}`,
      );
      expect(logGroup.retention_in_days).toBe(config.logRetentionDays);
      expect(fn.logging_config?.log_group).toBe(ref('aws_cloudwatch_log_group', logGroupId, 'name'));
      expect(fn.depends_on).toContain(`aws_cloudwatch_log_group.${logGroupId}`);
    });

    it.each(FUNCTION_NAMES)('%s has environment variables for exactly the tables it is granted', (name) => {
      const variables = (plan.resource.aws_lambda_function![functionIds[name]]!.environment?.variables ?? {}) as Record<string, string>;
      const granted = [...new Set(FUNCTIONS[name].tables.map((g) => g.table))];
      const tableVars = Object.entries(variables).filter(
        ([key, value]) => key.endsWith('_TABLE') || value.includes('aws_dynamodb_table.'),
      );
      expect(Object.fromEntries(tableVars)).toEqual(
        Object.fromEntries(granted.map((key) => [tableEnvVar(key), ref('aws_dynamodb_table', tableIds[key], 'name')])),
      );
      expect(variables[ENV.stage]).toBe(stage);
      if (FUNCTIONS[name].manageConnections) expect(variables[ENV.connectionsEndpoint]).toBe(connectionsEndpoint);
      else expect(variables[ENV.connectionsEndpoint]).toBeUndefined();
    });

    it('gives only the authorizer the identity settings, and only as variables', () => {
      for (const name of FUNCTION_NAMES) {
        const variables = (plan.resource.aws_lambda_function![functionIds[name]]!.environment?.variables ?? {}) as Record<string, string>;
        const identity = { [ENV.jwtIssuer]: variables[ENV.jwtIssuer], [ENV.jwtAudience]: variables[ENV.jwtAudience], [ENV.jwksUrl]: variables[ENV.jwksUrl] };
        expect(identity, name).toEqual(
          name === 'authorizer'
            ? { [ENV.jwtIssuer]: '${var.jwt_issuer}', [ENV.jwtAudience]: '${var.jwt_audience}', [ENV.jwksUrl]: '${var.jwks_url}' }
            : { [ENV.jwtIssuer]: undefined, [ENV.jwtAudience]: undefined, [ENV.jwksUrl]: undefined },
        );
      }
    });

    it('gives each function its own role, assumable by Lambda only, with one inline policy', () => {
      const roleIds = new Set<string>();
      for (const name of FUNCTION_NAMES) {
        const fn = plan.resource.aws_lambda_function![functionIds[name]]!;
        const roleId = /^\$\{aws_iam_role\.([^.}]+)\.arn\}$/.exec(String(fn.role))?.[1];
        expect(roleId, `${name} role ${fn.role}`).toBeDefined();
        roleIds.add(roleId!);
        const trust = JSON.parse(plan.resource.aws_iam_role![roleId!]!.assume_role_policy as string) as { Statement: Res[] };
        expect(trust.Statement).toEqual([{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }]);
        single(plan, 'aws_iam_role_policy', (p) => p.role === ref('aws_iam_role', roleId!, 'id'), `${name}'s role`);
      }
      expect(roleIds.size).toBe(FUNCTION_NAMES.length);
      expect(entries(plan, 'aws_iam_role')).toHaveLength(FUNCTION_NAMES.length);
      expect(entries(plan, 'aws_iam_role_policy')).toHaveLength(FUNCTION_NAMES.length);
      expect(entries(plan, 'aws_iam_role_policy_attachment')).toEqual([]);
    });
  });

  describe('tables', () => {
    it('has exactly the catalog tables', () => {
      expect(entries(plan, 'aws_dynamodb_table').map(([, t]) => t.name).sort()).toEqual(TABLE_KEYS.map((k) => physical(stage, k)).sort());
    });

    it.each(TABLE_KEYS)('%s is on-demand, encrypted, keyed and indexed as the catalog says', (key) => {
      const table = plan.resource.aws_dynamodb_table![tableIds[key]]!;
      const schema: TableSchema = TABLES[key];
      expect(table.billing_mode).toBe('PAY_PER_REQUEST');
      expect(table.server_side_encryption).toEqual({ enabled: true });
      expect(table.hash_key).toBe(schema.hashKey.name);
      expect(table.range_key).toBe(schema.rangeKey?.name);
      const gsis = (table.global_secondary_index ?? []) as Res[];
      expect(gsis.map((g) => [g.name, g.hash_key, g.range_key])).toEqual(
        (schema.indexes ?? []).map((i) => [i.name, i.hashKey.name, i.rangeKey?.name]),
      );
      const keyAttributes = [schema.hashKey, schema.rangeKey, ...(schema.indexes ?? []).flatMap((i) => [i.hashKey, i.rangeKey])];
      const expected = new Map(keyAttributes.filter((a) => a !== undefined).map((a) => [a.name, a.type]));
      expect(Object.fromEntries((table.attribute as Res[]).map((a) => [a.name, a.type]))).toEqual(Object.fromEntries(expected));
    });

    it.each(TABLE_KEYS)('%s has TTL and point-in-time recovery as the catalog says', (key) => {
      const table = plan.resource.aws_dynamodb_table![tableIds[key]]!;
      const schema: TableSchema = TABLES[key];
      if (schema.ttlAttribute) expect(table.ttl).toEqual({ attribute_name: schema.ttlAttribute, enabled: true });
      else expect(table.ttl?.enabled ?? false).toBe(false);
      expect(table.point_in_time_recovery).toEqual({ enabled: schema.pointInTimeRecovery });
    });

    it('keeps point-in-time recovery on messages and a byConnection index on memberships', () => {
      const tables = plan.resource.aws_dynamodb_table!;
      expect(tables[tableIds.messages]!.point_in_time_recovery).toEqual({ enabled: true });
      expect(tables[tableIds.memberships]!.global_secondary_index).toContainEqual(
        expect.objectContaining({ name: 'byConnection', hash_key: 'connectionId' }),
      );
    });

    it('sets deletion protection as the stage config says', () => {
      for (const key of TABLE_KEYS) {
        expect(plan.resource.aws_dynamodb_table![tableIds[key]]!.deletion_protection_enabled, key).toBe(config.deletionProtection);
      }
    });
  });

  describe('IAM policies', () => {
    const policies = entries(plan, 'aws_iam_role_policy').map(([id, p]) => {
      const roleId = /^\$\{aws_iam_role\.([^.}]+)\.id\}$/.exec(String(p.role))?.[1];
      const name = FUNCTION_NAMES.find((n) => plan.resource.aws_lambda_function![functionIds[n]]!.role === ref('aws_iam_role', roleId ?? '?', 'arn'));
      return { id, name, document: JSON.parse(p.policy as string) as unknown };
    });
    const postArn = `${apiRef('execution_arn')}/${stage}/POST/@connections/*`;

    it('every policy belongs to a catalog function and is a 2012-10-17 Allow-only document', () => {
      expect(policies.length).toBeGreaterThan(0);
      for (const { id, name, document } of policies) {
        expect(name, `${id} is attached to no catalog function's role`).toBeDefined();
        expect((document as Res).Version, id).toBe('2012-10-17');
        for (const st of statementsOf(document)) expect(st.Effect, id).toBe('Allow');
      }
    });

    it('has no wildcard actions', () => {
      for (const { id, document } of policies) expect(wildcardActionViolations(document), id).toEqual([]);
    });

    it('has no Resource "*" except on the X-Ray statement', () => {
      for (const { id, document } of policies) expect(wildcardResourceViolations(document), id).toEqual([]);
    });

    it(`grants execute-api:ManageConnections only on this stage's POST @connections, to the catalog's functions`, () => {
      expect(postArn).toContain(`/${stage}/POST/@connections/*`);
      for (const { id, name, document } of policies) {
        expect(manageConnectionsViolations(document, postArn, FUNCTIONS[name!].manageConnections), id).toEqual([]);
      }
    });

    it("grants each function exactly its catalog DynamoDB actions, on its granted tables' (and indexes') ARNs only", () => {
      for (const { id, name, document } of policies) {
        expect(dynamodbViolations(document, FUNCTIONS[name!].tables, tableArns), `${id} (${name})`).toEqual([]);
      }
    });

    it('lets each function write to its own log group and send traces', () => {
      for (const { name, document } of policies) {
        const [logGroupId] = single(plan, 'aws_cloudwatch_log_group', (g) => g.name === `/aws/lambda/${physical(stage, name!)}`, name!);
        const statements = statementsOf(document);
        expect(statements, name).toContainEqual({
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: `${ref('aws_cloudwatch_log_group', logGroupId, 'arn')}:*`,
        });
        expect(statements, name).toContainEqual({ Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' });
        const logs = statements.filter((st) => asArray(st.Action).some((a) => a.startsWith('logs:')));
        expect(logs, name).toHaveLength(1);
      }
    });
  });

  describe('variables, outputs and provider', () => {
    it('takes the identity provider settings as string variables without defaults', () => {
      for (const name of ['jwt_issuer', 'jwt_audience', 'jwks_url']) {
        const variable = plan.variable?.[name] as Res | undefined;
        expect(variable, name).toBeDefined();
        expect(variable!.type, name).toBe('string');
        expect(variable, name).not.toHaveProperty('default');
      }
    });

    it('embeds no literal issuer, audience, key set, key or token', () => {
      const suspicious: string[] = [];
      for (const [at, value] of strings(plan)) {
        if (/^(variable|output)\.[^.]+\.description$/.test(at)) continue;
        // Documentation links (runbooks, the console dashboard) are the only URLs a plan may spell out.
        const links = [config.observability.runbookBaseUrl, `https://${config.region}.console.aws.amazon.com/`];
        const urls = value.match(/https?:\/\/[^\s"]+/g) ?? [];
        for (const url of urls) {
          if (!/^https?:\/\/\$\{/.test(url) && !links.some((link) => url.startsWith(link))) suspicious.push(`${at}: URL ${url}`);
        }
        if (/-----BEGIN|PRIVATE KEY|"kty"|\.well-known|jwks\.json|cognito-idp|eyJ[\w-]{8,}/i.test(value)) suspicious.push(`${at}: ${value}`);
      }
      expect(suspicious).toEqual([]);
      expect(plan.variable).not.toHaveProperty('jwt_issuer.default');
    });

    it('has the aws provider only, pinned, in the stage region, with service and stage default tags and no credentials', () => {
      expect(Object.keys(plan.provider ?? {})).toEqual(['aws']);
      const providers = plan.provider!.aws as Res[];
      expect(providers).toHaveLength(1);
      const aws = providers[0]!;
      expect(aws.region).toBe(config.region);
      expect(aws.default_tags?.[0]?.tags).toMatchObject({ service: 'wschat', stage });
      for (const key of ['access_key', 'secret_key', 'token', 'profile', 'skip_credentials_validation', 'skip_requesting_account_id', 'skip_metadata_api_check']) {
        expect(aws, key).not.toHaveProperty(key);
      }
      const required = plan.terraform?.required_providers as Record<string, { source: string; version: string }>;
      expect(Object.keys(required)).toEqual(['aws']);
      expect(['aws', 'hashicorp/aws', 'registry.terraform.io/hashicorp/aws']).toContain(required.aws!.source);
      expect(required.aws!.version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(Object.keys(plan.resource).filter((type) => !type.startsWith('aws_'))).toEqual([]);
      expect(plan).not.toHaveProperty('data');
      expect(plan).not.toHaveProperty('module');
    });

    it('uses a local backend with a relative state path', () => {
      expect(plan.terraform?.backend).toEqual({ local: { path: 'terraform.tfstate' } });
    });
  });
});

describe('stages compared', () => {
  const dev = model('dev');
  const prod = model('prod');
  const retentions = (m: StackModel) => entries(m.plan, 'aws_cloudwatch_log_group').map(([, g]) => g.retention_in_days as number);

  it('prod protects every table from deletion', () => {
    for (const key of TABLE_KEYS) expect(prod.plan.resource.aws_dynamodb_table![prod.tableIds[key]]!.deletion_protection_enabled, key).toBe(true);
  });

  it('every log group has a valid retention, and prod keeps logs longer than dev', () => {
    const valid = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
    for (const m of [dev, prod]) {
      expect(retentions(m).length).toBe(FUNCTION_NAMES.length + 1);
      for (const days of retentions(m)) expect(valid, m.stage).toContain(days);
    }
    expect(Math.min(...retentions(prod))).toBeGreaterThan(Math.max(...retentions(dev)));
  });

  it('every stage has its own stack with its own resource names', () => {
    expect(dev.plan.resource.aws_apigatewayv2_api![dev.apiId]!.name).not.toBe(prod.plan.resource.aws_apigatewayv2_api![prod.apiId]!.name);
  });
});

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
    expect(manageConnectionsViolations(document, post, true)).toEqual([]);
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
    expect(manageConnectionsViolations(wide, post, true)).not.toEqual([]);
    const otherStage = doc({ Effect: 'Allow', Action: ['execute-api:ManageConnections'], Resource: post.replace('/dev/', '/prod/') });
    expect(manageConnectionsViolations(otherStage, post, true)).not.toEqual([]);
    const invoke = doc({ Effect: 'Allow', Action: ['execute-api:Invoke'], Resource: post });
    expect(manageConnectionsViolations(invoke, post, false)).not.toEqual([]);
    expect(manageConnectionsViolations(doc(...good), post, true)).not.toEqual([]);
    expect(manageConnectionsViolations(doc({ Effect: 'Allow', Action: ['execute-api:ManageConnections'], Resource: post }), post, false)).not.toEqual([]);
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
});
