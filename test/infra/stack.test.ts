/**
 * Assertions on the synthesized plan (cdk.tf.json) of every stage's stack. Expectations come from the catalogs
 * (functions/catalog/*) and the stage config, so adding a route, function or table is checked without editing
 * this file; spec-level constants (runtime, architecture, selection expression, ...) are spelled out literally.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALARMS, type AlarmDefinition } from '../../dashboards/alarms.ts';
import { CANARY_ENV, ENV } from '../../functions/catalog/env.ts';
import { CANARY_ROOM, FRAME_FUNCTIONS, FUNCTION_NAMES, FUNCTIONS, ROUTES, type FunctionName, type FunctionSpec } from '../../functions/catalog/functions.ts';
import { TABLE_KEYS, TABLES, tableEnvVar, type TableKey, type TableSchema } from '../../functions/catalog/tables.ts';
import { STAGE_NAMES, STAGES, stackName, type StageConfig, type StageName } from '../../infra/config/stages.ts';
import {
  asArray,
  dynamodbViolations,
  manageConnectionsViolations,
  managedPolicyViolations,
  statementsOf,
  trustedService,
  trustPolicyViolations,
  wildcardActionViolations,
  wildcardResourceViolations,
} from '../support/iam.ts';
import { namingViolations } from '../support/naming.ts';
import { readPlan, stackDir, type Plan } from '../support/plan.ts';

// The plan is untyped JSON; resources are read as loose records.
type Res = Record<string, any>;
type LoosePlan = Omit<Plan, 'resource'> & { resource: Record<string, Record<string, Res>> };

/** The deployment variables each optional feature declares (spelled out, not via infra's constants). */
const IDENTITY_VARIABLE_NAMES = ['jwt_audience', 'jwt_issuer', 'jwks_url'];
const CANARY_VARIABLE_NAMES = ['canary_client_id', 'canary_client_secret', 'canary_scope', 'canary_token_endpoint'];
const KMS_VARIABLE = 'kms_key_arn';
const DOMAIN_VARIABLES = ['custom_domain_certificate_arn', 'custom_domain_name'];
const PUSH_TO_LOGS = 'arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs';

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
  /** The `live` alias of each function. */
  readonly aliasIds: Record<FunctionName, string>;
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
  const aliasIds = Object.fromEntries(
    FUNCTION_NAMES.map((name) => [
      name,
      single(plan, 'aws_lambda_alias', (r) => r.function_name === ref('aws_lambda_function', functionIds[name], 'function_name'), `alias of ${name}`)[0],
    ]),
  ) as Record<FunctionName, string>;
  const tableIds = Object.fromEntries(
    TABLE_KEYS.map((key) => [key, single(plan, 'aws_dynamodb_table', (r) => r.name === physical(stage, key), `table ${key}`)[0]]),
  ) as Record<TableKey, string>;
  return { stage, plan, apiId, functionIds, aliasIds, tableIds };
}

/** Every string in a JSON value with its path, skipping cdktf's `//` metadata. */
function* strings(value: unknown, at = ''): Generator<[string, string]> {
  if (typeof value === 'string') yield [at, value];
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* strings(v, `${at}[${i}]`);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) if (k !== '//') yield* strings(v, at ? `${at}.${k}` : k);
  }
}

describe.each(STAGE_NAMES)('stack %s', (stage) => {
  const m = model(stage);
  const { plan, apiId, functionIds, aliasIds, tableIds } = m;
  const config: StageConfig = STAGES[stage];
  const api = plan.resource.aws_apigatewayv2_api![apiId]!;
  const apiRef = (attr: string) => ref('aws_apigatewayv2_api', apiId, attr);
  const fnRef = (name: FunctionName, attr: string) => ref('aws_lambda_function', functionIds[name], attr);
  const aliasRef = (name: FunctionName, attr: string) => ref('aws_lambda_alias', aliasIds[name], attr);
  const tableArns = Object.fromEntries(TABLE_KEYS.map((k) => [k, ref('aws_dynamodb_table', tableIds[k], 'arn')])) as Record<TableKey, string>;
  const [authorizerId, authorizer] = single(plan, 'aws_apigatewayv2_authorizer', () => true, 'the API');
  const [stageId, apiStage] = single(plan, 'aws_apigatewayv2_stage', () => true, 'the API');
  // With a custom domain the execute-api endpoint is disabled, so @connections is called on the domain's root.
  const connectionsEndpoint = config.customDomain
    ? 'https://${var.custom_domain_name}'
    : `https://${apiRef('id')}.execute-api.${config.region}.amazonaws.com/${stage}`;
  const envOf = (name: FunctionName) => (plan.resource.aws_lambda_function![functionIds[name]]!.environment?.variables ?? {}) as Record<string, string>;
  const kmsRef = '${var.kms_key_arn}';

  describe('WebSocket API', () => {
    it('is a WEBSOCKET API selecting routes by $request.body.action', () => {
      expect(api.protocol_type).toBe('WEBSOCKET');
      expect(api.route_selection_expression).toBe('$request.body.action');
      expect(api.name).toBe(physical(stage, 'ws'));
    });

    it("has one route per ROUTES entry, each with an AWS_PROXY integration targeting its function's live alias", () => {
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
        expect(integration!.integration_uri, routeKey).toBe(aliasRef(name, 'invoke_arn'));
      }
    });

    it('authorizes $connect (only) with the REQUEST authorizer reading route.request.querystring.token', () => {
      expect(authorizer.api_id).toBe(apiRef('id'));
      expect(authorizer.authorizer_type).toBe('REQUEST');
      expect(authorizer.identity_sources).toEqual(['route.request.querystring.token']);
      expect(authorizer.authorizer_uri).toBe(aliasRef('authorizer', 'invoke_arn'));
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

    it("lets API Gateway invoke each route function's and the authorizer's live alias (only), scoped by source ARN", () => {
      // The other principal is EventBridge, for the scheduled functions (next test).
      const permissions = entries(plan, 'aws_lambda_permission').filter(([, p]) => p.principal !== 'events.amazonaws.com');
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
          (p) =>
            p.function_name === aliasRef(name, 'function_name') &&
            p.qualifier === aliasRef(name, 'name') &&
            p.source_arn === `${apiRef('execution_arn')}/${stage}/${routeKey}`,
          `route ${routeKey}`,
        );
      }
      single(
        plan,
        'aws_lambda_permission',
        (p) =>
          p.function_name === aliasRef('authorizer', 'function_name') &&
          p.qualifier === aliasRef('authorizer', 'name') &&
          p.source_arn === `${apiRef('execution_arn')}/authorizers/${ref('aws_apigatewayv2_authorizer', authorizerId, 'id')}`,
        'the authorizer',
      );
      // Statement ids are unique per function's resource policy.
      const keys = permissions.map(([, p]) => `${p.function_name}#${p.statement_id}`);
      expect(new Set(keys).size).toBe(keys.length);
    });

    it('lets EventBridge invoke each scheduled function (the canary) on its catalog schedule, from its own rule only', () => {
      const scheduled = FUNCTION_NAMES.filter((name) => (FUNCTIONS[name] as { schedule?: string }).schedule);
      expect(scheduled).toEqual(['canary']);
      const fromEvents = entries(plan, 'aws_lambda_permission').filter(([, p]) => p.principal === 'events.amazonaws.com');
      expect(fromEvents).toHaveLength(scheduled.length);
      for (const name of scheduled) {
        const [ruleId, rule] = single(plan, 'aws_cloudwatch_event_rule', (r) => r.name === physical(stage, `${name}-schedule`), name);
        expect(rule.schedule_expression).toBe((FUNCTIONS[name] as { schedule?: string }).schedule);
        // The live alias, as every caller invokes.
        single(plan, 'aws_cloudwatch_event_target', (t) => t.rule === ref('aws_cloudwatch_event_rule', ruleId, 'name') && t.arn === aliasRef(name, 'arn'), name);
        single(
          plan,
          'aws_lambda_permission',
          (p) =>
            p.principal === 'events.amazonaws.com' &&
            p.action === 'lambda:InvokeFunction' &&
            p.function_name === aliasRef(name, 'function_name') &&
            p.qualifier === aliasRef(name, 'name') &&
            p.source_arn === ref('aws_cloudwatch_event_rule', ruleId, 'arn'),
          name,
        );
      }
    });

    it('deploys after every route and redeploys when one changes', () => {
      const [deploymentId, deployment] = single(plan, 'aws_apigatewayv2_deployment', () => true, 'the API');
      expect(deployment.api_id).toBe(apiRef('id'));
      const routeIds = entries(plan, 'aws_apigatewayv2_route').map(([id]) => id);
      expect([...(deployment.depends_on ?? [])].sort()).toEqual(routeIds.map((id) => `aws_apigatewayv2_route.${id}`).sort());
      for (const id of routeIds) expect(String(deployment.triggers?.redeployment)).toContain(`aws_apigatewayv2_route.${id}.target`);
      expect(apiStage.deployment_id).toBe(ref('aws_apigatewayv2_deployment', deploymentId, 'id'));
    });

    it('has a stage with JSON access logs into a retained log group, default throttling and the metrics choice', () => {
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
      expect(throttle.detailed_metrics_enabled).toBe(config.detailedMetrics);
    });

    it('throttles the routes the stage config names with their own limits, and no others', () => {
      const configured = Object.entries(config.throttle.routes ?? {});
      const settings = (apiStage.route_settings ?? []) as Res[];
      expect(settings.map((r) => r.route_key).sort()).toEqual(configured.map(([key]) => key).sort());
      for (const [routeKey, limits] of configured) {
        expect(ROUTES.map((r) => r.routeKey), routeKey).toContain(routeKey);
        expect(settings.find((r) => r.route_key === routeKey), routeKey).toEqual({
          route_key: routeKey,
          throttling_rate_limit: limits!.rateLimit,
          throttling_burst_limit: limits!.burstLimit,
          detailed_metrics_enabled: config.detailedMetrics,
        });
      }
    });

    it('deploys the stage after the account logging role only when this stack manages that role', () => {
      const accounts = entries(plan, 'aws_api_gateway_account');
      if (config.manageApiGatewayAccount) {
        expect(accounts).toHaveLength(1);
        expect(apiStage.depends_on).toEqual([`aws_api_gateway_account.${accounts[0]![0]}`]);
      } else {
        expect(accounts).toEqual([]);
        expect(apiStage.depends_on).toBeUndefined();
      }
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

    it('tags each function with its catalog name, which tools reading the plan look it up by', () => {
      for (const name of FUNCTION_NAMES) expect(plan.resource.aws_lambda_function![functionIds[name]]!.tags, name).toEqual({ function: name });
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
      const variables = envOf(name);
      const granted = [...new Set(FUNCTIONS[name].tables.map((g) => g.table))];
      const tableVars = Object.entries(variables).filter(
        ([key, value]) => key.endsWith('_TABLE') || value.includes('aws_dynamodb_table.'),
      );
      expect(Object.fromEntries(tableVars)).toEqual(
        Object.fromEntries(granted.map((key) => [tableEnvVar(key), ref('aws_dynamodb_table', tableIds[key], 'name')])),
      );
      expect(variables[ENV.stage]).toBe(stage);
      const spec: FunctionSpec = FUNCTIONS[name];
      if (spec.manageConnections || spec.looksUpConnections) expect(variables[ENV.connectionsEndpoint]).toBe(connectionsEndpoint);
      else expect(variables[ENV.connectionsEndpoint]).toBeUndefined();
    });

    it('gives the identity settings to the authorizer only', () => {
      for (const name of FUNCTION_NAMES) {
        if (name === 'authorizer') continue;
        const variables = envOf(name);
        expect([variables[ENV.jwtIssuer], variables[ENV.jwtAudience], variables[ENV.jwksUrl]], name).toEqual([undefined, undefined, undefined]);
      }
    });

    it("gives the send function the stage's fan-out concurrency, and no other function any", () => {
      for (const name of FUNCTION_NAMES) {
        expect(envOf(name).FANOUT_CONCURRENCY, name).toBe(FUNCTIONS[name].manageConnections ? String(config.fanout.concurrency) : undefined);
        expect(envOf(name).SEND_RATE_LIMIT, name).toBe(name === 'send' ? String(config.sendRate.maxSends) : undefined);
        expect(envOf(name).SEND_RATE_WINDOW_MS, name).toBe(name === 'send' ? String(config.sendRate.windowMs) : undefined);
      }
    });

    it("gives the send function, the only one that writes messages, the stage's message retention in seconds", () => {
      for (const name of FUNCTION_NAMES) {
        expect(envOf(name)[ENV.messageRetentionSeconds], name).toBe(name === 'send' ? String(config.messageRetentionDays * 24 * 60 * 60) : undefined);
      }
      expect(plan.resource.aws_dynamodb_table![tableIds.messages]!.ttl).toEqual({ attribute_name: 'expiresAt', enabled: true });
    });

    it("gives join the stage's rooms per connection and users per room, typing its typing cut-off, and no other function any", () => {
      for (const name of FUNCTION_NAMES) {
        const variables = envOf(name);
        const join = name === 'join' ? [String(config.limits.roomsPerConnection), String(config.limits.membersPerRoom)] : [undefined, undefined];
        expect([variables[ENV.roomsPerConnection], variables[ENV.membersPerRoom]], name).toEqual(join);
        expect(variables[ENV.typingMaxMembers], name).toBe(name === 'typing' ? String(config.limits.typingMaxMembers) : undefined);
      }
    });

    it("tells every function that broadcasts where large rooms go: the fan-out function's live alias, threshold and shard size", () => {
      for (const name of FUNCTION_NAMES) {
        const variables = envOf(name);
        const expected = FUNCTIONS[name].broadcasts
          ? [`${physical(stage, 'fanout')}:live`, String(config.fanout.asyncThreshold), String(config.fanout.shardSize)]
          : [undefined, undefined, undefined];
        expect([variables[ENV.fanoutFunction], variables[ENV.fanoutAsyncThreshold], variables[ENV.fanoutShardSize]], name).toEqual(expected);
      }
    });

    it('gives each function its own role, assumable by Lambda only, with one inline policy and no managed ones', () => {
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
      expect(entries(plan, 'aws_iam_role_policy')).toHaveLength(FUNCTION_NAMES.length);
      const attached = entries(plan, 'aws_iam_role_policy_attachment').map(([, a]) => /^\$\{aws_iam_role\.([^.}]+)\.name\}$/.exec(String(a.role))?.[1]);
      for (const roleId of roleIds) expect(attached, roleId).not.toContain(roleId);
    });
  });

  describe('asynchronous fan-out', () => {
    const [queueId, queue] = single(plan, 'aws_sqs_queue', () => true, 'the fan-out dead letters');
    const queueArn = ref('aws_sqs_queue', queueId, 'arn');

    it("keeps failed shards in an encrypted dead-letter queue only as long as a redrive needs: the age alarm's hour, a weekend's ticket response and a day", () => {
      expect(queue.name).toBe(physical(stage, 'fanout-dead-letters'));
      expect(queue.message_retention_seconds).toBe(3600 + 72 * 3600 + 24 * 3600);
      if (config.customerManagedKey) expect(queue.kms_master_key_id).toBe(kmsRef);
      else expect(queue.sqs_managed_sse_enabled).toBe(true);
    });

    it('retries a failed shard invoked through the live alias twice, for at most 15 minutes, then sends it to the dead-letter queue', () => {
      const [, invokeConfig] = single(plan, 'aws_lambda_function_event_invoke_config', () => true, 'the fan-out function');
      expect(invokeConfig).toMatchObject({
        function_name: aliasRef('fanout', 'function_name'),
        qualifier: aliasRef('fanout', 'name'),
        maximum_retry_attempts: 2,
        maximum_event_age_in_seconds: 900,
        destination_config: { on_failure: { destination: queueArn } },
      });
    });

    it("lets the functions that broadcast invoke the fan-out function's live alias (not $LATEST), and the fan-out function send to its queue", () => {
      for (const name of FUNCTION_NAMES) {
        const [, policy] = single(plan, 'aws_iam_role_policy', (p) => p.role === ref('aws_iam_role', String(plan.resource.aws_lambda_function![functionIds[name]]!.role).split('.')[1]!, 'id'), name);
        const statements = statementsOf(JSON.parse(policy.policy as string));
        const invoke = statements.filter((st) => asArray(st.Action).includes('lambda:InvokeFunction'));
        expect(invoke, name).toEqual(FUNCTIONS[name].broadcasts ? [{ Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: aliasRef('fanout', 'arn') }] : []);
        const sqs = statements.filter((st) => asArray(st.Action).some((a) => String(a).startsWith('sqs:')));
        expect(sqs, name).toEqual(name === 'fanout' ? [{ Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: queueArn }] : []);
      }
    });

    it('has no route to the fan-out function: only Lambda invokes it', () => {
      const targets = entries(plan, 'aws_apigatewayv2_integration').map(([, i]) => i.integration_uri);
      expect(targets).not.toContain(fnRef('fanout', 'invoke_arn'));
      expect(targets).not.toContain(aliasRef('fanout', 'invoke_arn'));
    });

    it('outputs what npm run redrive needs', () => {
      expect(plan.output?.fanout_dead_letter_queue_url).toMatchObject({ value: ref('aws_sqs_queue', queueId, 'url') });
      expect(plan.output?.fanout_function_name).toMatchObject({ value: `${aliasRef('fanout', 'function_name')}:${aliasRef('fanout', 'name')}` });
    });
  });

  describe('concurrency', () => {
    it("reserves each function's concurrency from the stage budget", () => {
      for (const name of FUNCTION_NAMES) {
        expect(plan.resource.aws_lambda_function![functionIds[name]]!.reserved_concurrent_executions, name).toBe(config.concurrency.reserved[name]);
      }
    });

    it('provisions the live alias of exactly the functions the stage names, scaled by Application Auto Scaling on utilization', () => {
      const provisioned = Object.entries(config.concurrency.provisioned) as [FunctionName, { min: number; max: number; targetUtilization: number }][];
      expect(entries(plan, 'aws_appautoscaling_target')).toHaveLength(provisioned.length);
      expect(entries(plan, 'aws_appautoscaling_policy')).toHaveLength(provisioned.length);
      expect(entries(plan, 'aws_lambda_provisioned_concurrency_config')).toHaveLength(0);
      for (const [name, settings] of provisioned) {
        const resourceId = `function:${aliasRef(name, 'function_name')}:${aliasRef(name, 'name')}`;
        const [targetId, target] = single(plan, 'aws_appautoscaling_target', (t) => t.resource_id === resourceId, `${name}'s scalable target`);
        expect(target, name).toMatchObject({
          service_namespace: 'lambda',
          scalable_dimension: 'lambda:function:ProvisionedConcurrency',
          min_capacity: settings.min,
          max_capacity: settings.max,
        });
        expect(settings.max, `${name} provisions within its reservation`).toBeLessThanOrEqual(config.concurrency.reserved[name]);
        const [, policy] = single(plan, 'aws_appautoscaling_policy', (p) => p.resource_id === ref('aws_appautoscaling_target', targetId, 'resource_id'), `${name}'s policy`);
        expect(policy, name).toMatchObject({
          name: physical(stage, `${name}-provisioned-utilization`),
          policy_type: 'TargetTrackingScaling',
          service_namespace: ref('aws_appautoscaling_target', targetId, 'service_namespace'),
          scalable_dimension: ref('aws_appautoscaling_target', targetId, 'scalable_dimension'),
          target_tracking_scaling_policy_configuration: {
            target_value: settings.targetUtilization,
            predefined_metric_specification: { predefined_metric_type: 'LambdaProvisionedConcurrencyUtilization' },
          },
        });
      }
    });
  });

  describe('versions and aliases', () => {
    it('publishes a version of every function on each change, and points one alias, live, at it', () => {
      for (const name of FUNCTION_NAMES) {
        expect(plan.resource.aws_lambda_function![functionIds[name]]!.publish, name).toBe(true);
        expect(plan.resource.aws_lambda_alias![aliasIds[name]], name).toMatchObject({ name: 'live', function_version: fnRef(name, 'version') });
      }
      expect(entries(plan, 'aws_lambda_alias')).toHaveLength(FUNCTION_NAMES.length);
    });

    it('leaves the alias to the rollout after creation: Terraform ignores its version, weights and description', () => {
      for (const name of FUNCTION_NAMES) {
        expect(plan.resource.aws_lambda_alias![aliasIds[name]]!.lifecycle?.ignore_changes, name).toEqual(['function_version', 'routing_config', 'description']);
        // Never weighted by the plan: a routing_config there would be ignored after the first apply anyway.
        expect(plan.resource.aws_lambda_alias![aliasIds[name]]!.routing_config, name).toBeUndefined();
      }
    });

    it('invokes no function unqualified: nothing in the plan names a function invoke ARN, and every permission and invoke config names the alias', () => {
      const planText = JSON.stringify(plan.resource);
      for (const name of FUNCTION_NAMES) {
        expect(planText, name).not.toContain(fnRef(name, 'invoke_arn'));
        expect(planText, name).not.toContain(fnRef(name, 'qualified_invoke_arn'));
      }
      for (const type of ['aws_lambda_permission', 'aws_lambda_function_event_invoke_config']) {
        for (const [id, resource] of entries(plan, type)) expect(String(resource.qualifier), `${type}.${id}`).toMatch(/^\$\{aws_lambda_alias\.[^.}]+\.name\}$/);
      }
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
      expect(table.server_side_encryption).toEqual(config.customerManagedKey ? { enabled: true, kms_key_arn: kmsRef } : { enabled: true });
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

    it.each(TABLE_KEYS)('%s has TTL as the catalog says, and point-in-time recovery where both catalog and stage ask for it', (key) => {
      const table = plan.resource.aws_dynamodb_table![tableIds[key]]!;
      const schema: TableSchema = TABLES[key];
      if (schema.ttlAttribute) expect(table.ttl).toEqual({ attribute_name: schema.ttlAttribute, enabled: true });
      else expect(table.ttl?.enabled ?? false).toBe(false);
      expect(table.point_in_time_recovery).toEqual({ enabled: schema.pointInTimeRecovery && config.pointInTimeRecovery });
    });

    it('keeps a byConnection index on memberships', () => {
      const tables = plan.resource.aws_dynamodb_table!;
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

    it(`grants execute-api:ManageConnections only on this stage's POST and DELETE @connections to the functions that post, and GET alone to those that look connections up`, () => {
      expect(postArn).toContain(`/${stage}/POST/@connections/*`);
      const deleteArn = postArn.replace('/POST/', '/DELETE/');
      const getArn = postArn.replace('/POST/', '/GET/');
      for (const { id, name, document } of policies) {
        const spec: FunctionSpec = FUNCTIONS[name!];
        const expected = spec.manageConnections ? [postArn, deleteArn] : spec.looksUpConnections ? [getArn] : undefined;
        expect(manageConnectionsViolations(document, expected), id).toEqual([]);
      }
      // The functions that post are the frame routes, the fan-out function and $disconnect (a leave's presence).
      expect(FUNCTION_NAMES.filter((name) => FUNCTIONS[name].manageConnections && !FRAME_FUNCTIONS.has(name)).sort()).toEqual(['disconnect', 'fanout']);
      // $connect asks whether the holders of a user's full slots are still open, and posts nothing.
      expect(FUNCTION_NAMES.filter((name) => (FUNCTIONS[name] as FunctionSpec).looksUpConnections)).toEqual(['connect']);
    });

    it("gives operators one policy: GET and DELETE on this stage's @connections (never POST), the slots query, an erasure's scans and deletes, and a rollout's aliases and alarms", () => {
      const [, operator] = single(plan, 'aws_iam_policy', (p) => p.name === physical(stage, 'operator'), 'operator policy');
      const [bucketId] = single(plan, 'aws_s3_bucket', (b) => (b.tags as Record<string, string> | undefined)?.bucket === 'attachments', 'attachment bucket');
      expect(JSON.parse(String(operator.policy))).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['execute-api:ManageConnections'],
            Resource: [postArn.replace('/POST/', '/GET/'), postArn.replace('/POST/', '/DELETE/')],
          },
          { Effect: 'Allow', Action: ['dynamodb:Query', 'dynamodb:DeleteItem'], Resource: tableArns.slots },
          {
            Effect: 'Allow',
            Action: ['dynamodb:Scan', 'dynamodb:DeleteItem'],
            Resource: [tableArns.messages, tableArns.attachments, tableArns.memberships, tableArns.presence, tableArns.roles, tableArns.connections],
          },
          // Raising a room's seq counter past an erased message; no other write, no PutItem anywhere.
          { Effect: 'Allow', Action: ['dynamodb:UpdateItem'], Resource: tableArns.rooms },
          { Effect: 'Allow', Action: ['s3:DeleteObject'], Resource: `\${aws_s3_bucket.${bucketId}.arn}/rooms/*` },
          // A rollout or rollback by hand: versions and aliases of this stage's functions, and its metric alarms.
          {
            Effect: 'Allow',
            Action: ['lambda:PublishVersion', 'lambda:ListVersionsByFunction', 'lambda:GetAlias', 'lambda:UpdateAlias'],
            Resource: FUNCTION_NAMES.flatMap((name) => [fnRef(name, 'arn'), `${fnRef(name, 'arn')}:*`]),
          },
          {
            Effect: 'Allow',
            Action: ['cloudwatch:DescribeAlarms'],
            Resource: `arn:aws:cloudwatch:${config.region}:*:alarm:${physical(stage, '*')}`,
          },
        ],
      });
    });

    it("grants each function exactly its catalog DynamoDB actions, on its granted tables' (and indexes') ARNs only", () => {
      for (const { id, name, document } of policies) {
        expect(dynamodbViolations(document, FUNCTIONS[name!].tables, tableArns), `${id} (${name})`).toEqual([]);
      }
    });

    it("lets the canary, and no other function, read the canary's secret, that secret only (and decrypt it with the stage key)", () => {
      const [secretId] = single(plan, 'aws_secretsmanager_secret', () => true, 'the canary');
      const secretArn = ref('aws_secretsmanager_secret', secretId, 'arn');
      for (const { name, document } of policies) {
        const statements = statementsOf(document);
        const secrets = statements.filter((st) => asArray(st.Action).some((a) => a.startsWith('secretsmanager:')));
        const kms = statements.filter((st) => asArray(st.Action).includes('kms:Decrypt'));
        if (name === 'canary') {
          expect(secrets, name).toEqual([{ Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: secretArn }]);
          expect(kms, name).toEqual(config.customerManagedKey ? [{ Effect: 'Allow', Action: ['kms:Decrypt'], Resource: '${var.kms_key_arn}' }] : []);
          // Its grants beside logs and traces are the secret's: no table, no @connections, no invoke.
          expect(statements.length, name).toBe(2 + secrets.length + kms.length);
        } else {
          expect(secrets, name).toEqual([]);
        }
      }
      expect(envOf('canary')[CANARY_ENV.secretArn]).toBe(secretArn);
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

    it('lets every role be assumed by exactly one AWS service: Lambda for functions, API Gateway for its logging role', () => {
      const functionRoles = new Set(FUNCTION_NAMES.map((name) => String(plan.resource.aws_lambda_function![functionIds[name]]!.role)));
      const roles = entries(plan, 'aws_iam_role');
      expect(roles.length).toBe(FUNCTION_NAMES.length + (config.manageApiGatewayAccount ? 1 : 0));
      for (const [id, role] of roles) {
        const service = functionRoles.has(ref('aws_iam_role', id, 'arn')) ? 'lambda.amazonaws.com' : 'apigateway.amazonaws.com';
        expect(trustPolicyViolations(JSON.parse(role.assume_role_policy as string), service), id).toEqual([]);
      }
    });

    it('attaches only allowed AWS managed policies, each to a role trusted by its service, and defines no policies of its own but the operators\'', () => {
      for (const [id, attachment] of entries(plan, 'aws_iam_role_policy_attachment')) {
        const roleId = /^\$\{aws_iam_role\.([^.}]+)\.name\}$/.exec(String(attachment.role))?.[1];
        const role = plan.resource.aws_iam_role?.[roleId ?? ''];
        expect(role, `${id} attaches to ${attachment.role}`).toBeDefined();
        const service = trustedService(JSON.parse(role!.assume_role_policy as string));
        expect(managedPolicyViolations(String(attachment.policy_arn), service), id).toEqual([]);
      }
      expect(entries(plan, 'aws_iam_role_policy_attachment')).toHaveLength(config.manageApiGatewayAccount ? 1 : 0);
      // The operators' policy (its document is pinned above) is attached to their own principals, outside the stack.
      expect(entries(plan, 'aws_iam_policy').map(([, p]) => p.name)).toEqual([physical(stage, 'operator')]);
      expect(entries(plan, 'aws_iam_policy_attachment')).toEqual([]);
    });
  });

  describe('identity', () => {
    const authorizerEnv = () => envOf('authorizer');
    const pools = entries(plan, 'aws_cognito_user_pool');
    // The chat app's client; the canary's machine client is the one with a secret (below).
    const clients = entries(plan, 'aws_cognito_user_pool_client').filter(([, c]) => c.generate_secret !== true);
    const machineClients = entries(plan, 'aws_cognito_user_pool_client').filter(([, c]) => c.generate_secret === true);

    if (config.identityProvider === 'external') {
      it('trusts the issuer named by the jwt_* variables, and creates no user pool', () => {
        expect(pools).toEqual([]);
        expect(clients).toEqual([]);
        expect(authorizerEnv()).toMatchObject({
          [ENV.jwtIssuer]: '${var.jwt_issuer}',
          [ENV.jwtAudience]: '${var.jwt_audience}',
          [ENV.jwksUrl]: '${var.jwks_url}',
        });
      });

      it("takes the canary's token endpoint, client and scope from validated variables, its secret marked sensitive", () => {
        expect(machineClients).toEqual([]);
        for (const name of CANARY_VARIABLE_NAMES) {
          const variable = plan.variable?.[name] as Res | undefined;
          expect(variable, name).toBeDefined();
          expect(variable!.validation?.[0]?.condition, name).toContain(`var.${name}`);
          expect(variable!.validation?.[0]?.error_message, name).toMatch(new RegExp(`^${name} .+\\.$`));
        }
        expect((plan.variable!.canary_client_secret as Res).sensitive).toBe(true);
        expect((plan.variable!.canary_token_endpoint as Res).validation[0].condition).toContain('^https://');
        expect(authorizerEnv()).toMatchObject({ [CANARY_ENV.clientId]: '${var.canary_client_id}', [CANARY_ENV.scope]: '${var.canary_scope}', [CANARY_ENV.room]: CANARY_ROOM });
        expect(envOf('canary')).toMatchObject({ [CANARY_ENV.tokenEndpoint]: '${var.canary_token_endpoint}', [CANARY_ENV.clientId]: '${var.canary_client_id}' });
        // The secret reaches the function through Secrets Manager only, never its environment.
        expect(Object.values(envOf('canary')).join(' ')).not.toContain('canary_client_secret');
        const [, version] = single(plan, 'aws_secretsmanager_secret_version', () => true, 'the canary');
        expect(version.secret_string).toBe('${var.canary_client_secret}');
      });

      it('takes the issuer settings as validated string variables without defaults', () => {
        for (const name of IDENTITY_VARIABLE_NAMES) {
          const variable = plan.variable?.[name] as Res | undefined;
          expect(variable, name).toBeDefined();
          expect(variable!.type, name).toBe('string');
          expect(variable, name).not.toHaveProperty('default');
          expect(variable!.validation?.[0]?.condition, name).toContain(`var.${name}`);
          expect(variable!.validation?.[0]?.error_message, name).toMatch(new RegExp(`^${name} .+\\.$`));
        }
        expect((plan.variable!.jwks_url as Res).validation[0].condition).toContain('^https://');
      });
    } else {
      it("creates one Cognito user pool and public app client named by the convention, and trusts their ID tokens", () => {
        expect(pools).toHaveLength(1);
        expect(clients).toHaveLength(1);
        const [poolId, pool] = pools[0]!;
        const [clientId, client] = clients[0]!;
        expect(pool.name).toBe(physical(stage, 'users'));
        expect(pool.deletion_protection).toBe(config.deletionProtection ? 'ACTIVE' : 'INACTIVE');
        expect(pool.admin_create_user_config).toEqual({ allow_admin_create_user_only: true });
        expect(client.user_pool_id).toBe(ref('aws_cognito_user_pool', poolId, 'id'));
        expect(client.generate_secret).toBe(false);
        expect(client.explicit_auth_flows).not.toContain('ALLOW_USER_PASSWORD_AUTH');
        const issuer = `https://cognito-idp.${config.region}.amazonaws.com/${ref('aws_cognito_user_pool', poolId, 'id')}`;
        expect(authorizerEnv()).toMatchObject({
          [ENV.jwtIssuer]: issuer,
          [ENV.jwtAudience]: ref('aws_cognito_user_pool_client', clientId, 'id'),
          [ENV.jwksUrl]: `${issuer}/.well-known/jwks.json`,
        });
        expect(plan.output?.cognito_user_pool_id).toMatchObject({ value: ref('aws_cognito_user_pool', poolId, 'id') });
        expect(plan.output?.cognito_client_id).toMatchObject({ value: ref('aws_cognito_user_pool_client', clientId, 'id') });
      });

      it('declares no issuer variables', () => {
        for (const name of [...IDENTITY_VARIABLE_NAMES, ...CANARY_VARIABLE_NAMES]) expect(plan.variable ?? {}, name).not.toHaveProperty(name);
      });

      it("creates the canary's machine client: client-credentials only, for its own resource server's one scope, accepted by the authorizer", () => {
        expect(machineClients).toHaveLength(1);
        const [poolId] = pools[0]!;
        const [clientId, client] = machineClients[0]!;
        const [serverId, server] = single(plan, 'aws_cognito_resource_server', () => true, 'the pool');
        expect(server.user_pool_id).toBe(ref('aws_cognito_user_pool', poolId, 'id'));
        expect(server.scope).toEqual([expect.objectContaining({ scope_name: 'canary' })]);
        const scope = `${String(server.identifier)}/canary`;
        expect(client).toMatchObject({
          name: physical(stage, 'canary'),
          user_pool_id: ref('aws_cognito_user_pool', poolId, 'id'),
          allowed_oauth_flows: ['client_credentials'],
          allowed_oauth_flows_user_pool_client: true,
          allowed_oauth_scopes: [scope],
          explicit_auth_flows: [],
        });
        expect(client.depends_on).toContain(`aws_cognito_resource_server.${serverId}`);
        const [domainId] = single(plan, 'aws_cognito_user_pool_domain', (d) => d.user_pool_id === ref('aws_cognito_user_pool', poolId, 'id'), 'the pool');
        expect(authorizerEnv()).toMatchObject({ [CANARY_ENV.clientId]: ref('aws_cognito_user_pool_client', clientId, 'id'), [CANARY_ENV.scope]: scope, [CANARY_ENV.room]: CANARY_ROOM });
        expect(envOf('canary')).toMatchObject({
          [CANARY_ENV.clientId]: ref('aws_cognito_user_pool_client', clientId, 'id'),
          [CANARY_ENV.scope]: scope,
          [CANARY_ENV.tokenEndpoint]: `https://${ref('aws_cognito_user_pool_domain', domainId, 'domain')}.auth.${config.region}.amazoncognito.com/oauth2/token`,
        });
        const [, version] = single(plan, 'aws_secretsmanager_secret_version', () => true, 'the canary');
        expect(version.secret_string).toBe(ref('aws_cognito_user_pool_client', clientId, 'client_secret'));
      });
    }
  });

  describe('encryption at rest', () => {
    const logGroups = entries(plan, 'aws_cloudwatch_log_group');

    it(config.customerManagedKey ? 'encrypts every table and log group with the kms_key_arn key' : 'keeps AWS-managed keys everywhere', () => {
      expect(logGroups.length).toBe(FUNCTION_NAMES.length + 1);
      for (const [id, group] of logGroups) expect(group.kms_key_id, id).toBe(config.customerManagedKey ? kmsRef : undefined);
      for (const key of TABLE_KEYS) {
        expect(plan.resource.aws_dynamodb_table![tableIds[key]]!.server_side_encryption?.kms_key_arn, key).toBe(config.customerManagedKey ? kmsRef : undefined);
      }
      if (config.customerManagedKey) {
        const variable = plan.variable?.[KMS_VARIABLE] as Res;
        expect(variable.type).toBe('string');
        expect(variable).not.toHaveProperty('default');
        expect(variable.validation[0].condition).toContain(`:kms:${config.region}:`);
      } else {
        expect(plan.variable ?? {}).not.toHaveProperty(KMS_VARIABLE);
      }
    });
  });

  describe('custom domain', () => {
    const domains = entries(plan, 'aws_apigatewayv2_domain_name');
    const mappings = entries(plan, 'aws_apigatewayv2_api_mapping');

    if (config.customDomain) {
      it('serves the stage on the custom_domain_name host with the custom_domain_certificate_arn certificate', () => {
        expect(domains).toHaveLength(1);
        const [domainId, domain] = domains[0]!;
        expect(domain.domain_name).toBe('${var.custom_domain_name}');
        expect(domain.domain_name_configuration).toEqual({
          certificate_arn: '${var.custom_domain_certificate_arn}',
          endpoint_type: 'REGIONAL',
          security_policy: 'TLS_1_2',
        });
        expect(mappings.map(([, m]) => m)).toEqual([
          { '//': expect.anything(), api_id: apiRef('id'), domain_name: ref('aws_apigatewayv2_domain_name', domainId, 'id'), stage: ref('aws_apigatewayv2_stage', stageId, 'id') },
        ]);
        expect(plan.output?.custom_domain_url).toMatchObject({ value: `wss://${ref('aws_apigatewayv2_domain_name', domainId, 'domain_name')}` });
        expect(plan.output?.custom_domain_dns_target).toMatchObject({
          value: {
            name: `\${aws_apigatewayv2_domain_name.${domainId}.domain_name_configuration[0].target_domain_name}`,
            hosted_zone_id: `\${aws_apigatewayv2_domain_name.${domainId}.domain_name_configuration[0].hosted_zone_id}`,
          },
        });
      });

      it('validates the host name and that the certificate is in the stage region', () => {
        for (const name of DOMAIN_VARIABLES) expect(plan.variable?.[name], name).not.toHaveProperty('default');
        expect((plan.variable!.custom_domain_certificate_arn as Res).validation[0].condition).toContain(`:acm:${config.region}:`);
        expect((plan.variable!.custom_domain_name as Res).validation[0].condition).toContain('var.custom_domain_name');
      });
    } else {
      it('has no custom domain, mapping, variables or outputs', () => {
        expect(domains).toEqual([]);
        expect(mappings).toEqual([]);
        for (const name of DOMAIN_VARIABLES) expect(plan.variable ?? {}, name).not.toHaveProperty(name);
        expect(plan.output ?? {}).not.toHaveProperty('custom_domain_url');
      });
    }
  });

  describe('account API Gateway logging role', () => {
    const accounts = entries(plan, 'aws_api_gateway_account');

    if (config.manageApiGatewayAccount) {
      it('sets the account role to one this stack creates, with the AWS managed logging policy attached first', () => {
        expect(accounts).toHaveLength(1);
        const [, account] = accounts[0]!;
        const [roleId, role] = single(plan, 'aws_iam_role', (r) => r.name === physical(stage, 'apigw-logs'), 'the account logging role');
        expect(account.cloudwatch_role_arn).toBe(ref('aws_iam_role', roleId, 'arn'));
        expect(account.reset_on_delete).toBe(true);
        expect(trustedService(JSON.parse(role.assume_role_policy as string))).toBe('apigateway.amazonaws.com');
        const [attachmentId, attachment] = single(plan, 'aws_iam_role_policy_attachment', () => true, 'the logging role');
        expect(attachment).toMatchObject({ role: ref('aws_iam_role', roleId, 'name'), policy_arn: PUSH_TO_LOGS });
        expect(account.depends_on).toEqual([`aws_iam_role_policy_attachment.${attachmentId}`]);
      });
    } else {
      it('leaves the account setting alone', () => {
        expect(accounts).toEqual([]);
        expect(entries(plan, 'aws_iam_role_policy_attachment')).toEqual([]);
      });
    }
  });

  describe('names', () => {
    it('names every resource wschat-<stage>-<part> (under the AWS log group prefixes)', () => {
      const violations = Object.entries(plan.resource).flatMap(([type, resources]) =>
        Object.entries(resources).flatMap(([id, values]) => namingViolations(`${type}.${id}`, type, values, stage)),
      );
      expect(violations).toEqual([]);
    });
  });

  describe('variables, outputs and provider', () => {
    it('requires exactly the deployment values its configuration needs (every other variable has a default)', () => {
      const required = Object.entries(plan.variable ?? {})
        .filter(([, v]) => !('default' in (v as Res)))
        .map(([name]) => name)
        .sort();
      const expected = [
        // Every stage: the browser origins the attachment bucket's CORS admits.
        'attachment_cors_origins',
        ...(config.identityProvider === 'external' ? [...IDENTITY_VARIABLE_NAMES, ...CANARY_VARIABLE_NAMES] : []),
        ...(config.customerManagedKey ? [KMS_VARIABLE] : []),
        ...(config.customDomain ? DOMAIN_VARIABLES : []),
      ].sort();
      expect(required).toEqual(expected);
    });

    it('outputs every table name', () => {
      expect(plan.output?.table_names).toMatchObject({
        value: Object.fromEntries(TABLE_KEYS.map((key) => [key, ref('aws_dynamodb_table', tableIds[key], 'name')])),
      });
    });

    it('embeds no literal issuer, audience, key set, key, token or account-specific ARN', () => {
      const suspicious: string[] = [];
      // The stack's own user pool is the one issuer it may spell out, built from the pool's id.
      const ownIssuer = new RegExp(`^https://cognito-idp\\.${config.region}\\.amazonaws\\.com/\\$\\{aws_cognito_user_pool\\.[^}]+\\.id\\}(/\\.well-known/jwks\\.json)?$`);
      for (const [at, value] of strings(plan)) {
        // Descriptions and validation rules describe values; they hold none.
        if (/^(variable|output)\.[^.]+\.description$|^variable\.[^.]+\.validation\[/.test(at)) continue;
        if (ownIssuer.test(value)) continue;
        // Documentation links (runbooks, the console dashboard) are the only URLs a plan may spell out.
        const links = [config.observability.runbookBaseUrl, `https://${config.region}.console.aws.amazon.com/`];
        const urls = value.match(/https?:\/\/[^\s"]+/g) ?? [];
        for (const url of urls) {
          if (!/^https?:\/\/\$\{/.test(url) && !links.some((link) => url.startsWith(link))) suspicious.push(`${at}: URL ${url}`);
        }
        if (/-----BEGIN|PRIVATE KEY|"kty"|\.well-known|jwks\.json|cognito-idp|eyJ[\w-]{8,}/i.test(value)) suspicious.push(`${at}: ${value}`);
        // Key, certificate and role ARNs of an account are deployment values: variables, or references.
        if (/arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:/.test(value)) suspicious.push(`${at}: ARN ${value}`);
      }
      expect(suspicious).toEqual([]);
    });

    it('has the aws provider only, pinned, in the stage region, with service and stage default tags and no credentials', () => {
      expect(Object.keys(plan.provider ?? {})).toEqual(['aws']);
      const providers = plan.provider!.aws as Res[];
      expect(providers).toHaveLength(1);
      const aws = providers[0]!;
      expect(aws.region).toBe(config.region);
      expect(aws.default_tags?.[0]?.tags).toEqual({ service: 'wschat', stage, 'managed-by': 'terraform', ...config.tags });
      expect(Object.keys(config.tags).sort()).toEqual(['cost-center', 'owner']);
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

    it('uses a local backend with a relative state path when no state bucket is configured', () => {
      expect(plan.terraform?.backend).toEqual({ local: { path: 'terraform.tfstate' } });
    });
  });
});

describe('stages compared', () => {
  const dev = model('dev');
  const prod = model('prod');
  const retentions = (m: StackModel) => entries(m.plan, 'aws_cloudwatch_log_group').map(([, g]) => g.retention_in_days as number);

  const alarmThresholds = (m: StackModel, id: string) =>
    entries(m.plan, 'aws_cloudwatch_metric_alarm')
      .filter(([, a]) => a.tags?.alarm === id)
      .map(([, a]) => a.threshold as number);

  it('prod provisions the connect path (authorizer, $connect) and send; dev provisions nothing', () => {
    const provisioned = (stage: StageName) =>
      entries(readPlan(stackName(stage)), 'aws_appautoscaling_target')
        .map(([, t]) => /aws_lambda_alias\.functions_([a-z]+)_alias_/.exec(String(t.resource_id))?.[1])
        .sort();
    expect(provisioned('prod')).toEqual(['authorizer', 'connect', 'send']);
    expect(provisioned('dev')).toEqual([]);
  });

  it('watches and charts each provisioned alias by FunctionName and Resource (name:live) where there is one: prod', () => {
    const alarmsOn = (stage: StageName) =>
      entries(readPlan(stackName(stage)), 'aws_cloudwatch_metric_alarm')
        .filter(([, a]) => String(a.tags.alarm).startsWith('provisioned-concurrency-'))
        .map(([, a]) => `${a.tags.alarm} ${a.dimensions.FunctionName}|${a.dimensions.Resource}`)
        .sort();
    const fn = (name: string) => `\${aws_lambda_function.functions_${name}_function_`;
    const prod = alarmsOn('prod');
    expect(prod).toHaveLength(6);
    for (const name of ['authorizer', 'connect', 'send']) {
      for (const id of ['provisioned-concurrency-spillover', 'provisioned-concurrency-utilization']) {
        expect(prod.filter((line) => line.startsWith(`${id} ${fn(name)}`) && line.endsWith('.function_name}:live')), `${id} ${name}`).toHaveLength(1);
      }
    }
    expect(alarmsOn('dev')).toEqual([]);
    const sections = (stage: StageName) => {
      const [, dashboard] = single(readPlan(stackName(stage)), 'aws_cloudwatch_dashboard', () => true, 'the dashboard');
      return [...String(dashboard.dashboard_body).matchAll(/## Provisioned concurrency: ([a-z]+:live)/g)].map((m) => m[1]);
    };
    expect(sections('prod')).toEqual(['authorizer:live', 'connect:live', 'send:live']);
    expect(sections('dev')).toEqual([]);
  });

  it('prod protects every table and its user pool from deletion; dev protects nothing', () => {
    for (const key of TABLE_KEYS) {
      expect(prod.plan.resource.aws_dynamodb_table![prod.tableIds[key]]!.deletion_protection_enabled, key).toBe(true);
      expect(dev.plan.resource.aws_dynamodb_table![dev.tableIds[key]]!.deletion_protection_enabled, key).toBe(false);
    }
    expect(entries(prod.plan, 'aws_cognito_user_pool').map(([, p]) => p.deletion_protection)).toEqual(['ACTIVE']);
  });

  it('prod keeps point-in-time recovery on rooms, roles and messages; dev, whose data is disposable, on no table', () => {
    for (const key of ['rooms', 'roles', 'messages'] as const) {
      expect(prod.plan.resource.aws_dynamodb_table![prod.tableIds[key]]!.point_in_time_recovery, key).toEqual({ enabled: true });
    }
    for (const key of TABLE_KEYS) expect(dev.plan.resource.aws_dynamodb_table![dev.tableIds[key]]!.point_in_time_recovery, key).toEqual({ enabled: false });
  });

  it('dev trusts an external issuer (the local runtime is one); prod creates its own Cognito user pool', () => {
    expect(Object.keys(dev.plan.variable ?? {})).toEqual(expect.arrayContaining(IDENTITY_VARIABLE_NAMES));
    expect(entries(dev.plan, 'aws_cognito_user_pool')).toEqual([]);
    expect(entries(prod.plan, 'aws_cognito_user_pool')).toHaveLength(1);
    for (const name of IDENTITY_VARIABLE_NAMES) expect(prod.plan.variable ?? {}, name).not.toHaveProperty(name);
  });

  it('prod alone encrypts with a customer-managed key, serves a custom domain and records per-route metrics', () => {
    expect(Object.keys(prod.plan.variable ?? {})).toEqual(expect.arrayContaining([KMS_VARIABLE, ...DOMAIN_VARIABLES]));
    for (const name of [KMS_VARIABLE, ...DOMAIN_VARIABLES]) expect(dev.plan.variable ?? {}, name).not.toHaveProperty(name);
    const metrics = (m: StackModel) => single(m.plan, 'aws_apigatewayv2_stage', () => true, m.stage)[1].default_route_settings.detailed_metrics_enabled;
    expect([metrics(dev), metrics(prod)]).toEqual([false, true]);
  });

  it("renders each stage's alarm threshold overrides, so dev and prod alarm differently where configured", () => {
    for (const m of [dev, prod]) {
      const overrides = Object.entries((STAGES[m.stage] as StageConfig).observability.alarmThresholds ?? {});
      for (const [id, threshold] of overrides) {
        const rendered = alarmThresholds(m, id);
        expect(rendered.length, `${m.stage} ${id}`).toBeGreaterThan(0);
        for (const value of rendered) expect(value, `${m.stage} ${id}`).toBe(threshold);
      }
    }
    const overridden = new Set([dev, prod].flatMap((m) => Object.keys((STAGES[m.stage] as StageConfig).observability.alarmThresholds ?? {})));
    expect(overridden.size).toBeGreaterThan(0);
    for (const id of overridden) {
      const catalog = (ALARMS as readonly AlarmDefinition[]).find((a) => a.id === id);
      expect(catalog, id).toBeDefined();
      expect(alarmThresholds(dev, id), id).not.toEqual(alarmThresholds(prod, id));
    }
  });

  describe('alarms that mean the same at any traffic', () => {
    type Query = { id: string; expression?: string; metric?: { metric_name: string; dimensions?: Record<string, string> } };
    const alarmsOf = (m: StackModel, id: string) => entries(m.plan, 'aws_cloudwatch_metric_alarm').filter(([, a]) => a.tags?.alarm === id).map(([, a]) => a);
    const ratioIds = (ALARMS as readonly AlarmDefinition[]).filter((a) => a.rule.kind === 'ratio').map((a) => a.id);

    it("gives every rate alarm the stage's traffic floor, so a few requests cannot page", () => {
      expect(ratioIds).toEqual(expect.arrayContaining(['api-integration-errors', 'api-execution-errors', 'lambda-errors', 'delivery-failures']));
      for (const m of [dev, prod]) {
        const floor = (STAGES[m.stage] as StageConfig).observability.rateAlarmMinRequests;
        for (const id of ratioIds) {
          for (const alarm of alarmsOf(m, id)) {
            const returned = (alarm.metric_query as Query[]).find((q) => q.expression);
            expect(returned?.expression, `${m.stage} ${id}`).toMatch(new RegExp(`^IF\\(\\(.+\\) >= ${floor}, 100 \\* FILL\\(m1, 0\\) / \\(.+\\), 0\\)$`));
          }
        }
      }
      // Different floors per stage, so the check above shows each stage renders its own.
      expect(STAGES.dev.observability.rateAlarmMinRequests).not.toBe(STAGES.prod.observability.rateAlarmMinRequests);
    });

    it('divides API errors by client requests (IntegrationLatency samples), never by MessageCount, which counts backend posts', () => {
      for (const m of [dev, prod]) {
        for (const id of ['api-integration-errors', 'api-execution-errors', 'api-client-errors']) {
          const [alarm] = alarmsOf(m, id);
          const metrics = (alarm!.metric_query as Query[]).filter((q) => q.metric).map((q) => `${q.metric!.metric_name}`);
          expect(metrics, `${m.stage} ${id}`).toContain('IntegrationLatency');
          expect(metrics, `${m.stage} ${id}`).not.toContain('MessageCount');
        }
        const lambdaErrors = alarmsOf(m, 'lambda-errors');
        expect(lambdaErrors.length).toBe(FUNCTION_NAMES.length - 1);
        for (const a of lambdaErrors) expect((a.metric_query as Query[]).map((q) => q.metric?.metric_name).filter(Boolean)).toEqual(['Errors', 'Invocations']);
      }
    });

    it("alarms on claimed concurrency at 90% of the stage's quota setting", () => {
      for (const m of [dev, prod]) {
        const [alarm] = alarmsOf(m, 'lambda-concurrency');
        expect(alarm).toMatchObject({ metric_name: 'ClaimedAccountConcurrency', statistic: 'Maximum' });
        expect(alarm!.threshold).toBe(Math.round(0.9 * (STAGES[m.stage] as StageConfig).observability.lambdaConcurrencyQuota));
      }
    });

    it('watches destination delivery failures on the fan-out function only, and the dead-letter queue for arrivals and age', () => {
      for (const m of [dev, prod]) {
        expect(alarmsOf(m, 'lambda-destination-failures').map((a) => (a.dimensions as Record<string, string>).FunctionName)).toEqual([ref('aws_lambda_function', m.functionIds.fanout, 'function_name')]);
        expect(alarmsOf(m, 'fanout-dead-letters').map((a) => a.metric_name)).toEqual(['NumberOfMessagesSent']);
        expect(alarmsOf(m, 'fanout-dead-letter-age').map((a) => [a.metric_name, a.threshold])).toEqual([['ApproximateAgeOfOldestMessage', 3600]]);
      }
    });

    it("takes the slowest of a table's operations for DynamoDB latency", () => {
      for (const m of [dev, prod]) {
        const alarms = alarmsOf(m, 'dynamodb-latency');
        expect(alarms).toHaveLength(TABLE_KEYS.length);
        for (const alarm of alarms) {
          const queries = alarm.metric_query as Query[];
          const series = queries.filter((q) => q.metric);
          expect(series.length).toBeGreaterThan(0);
          for (const q of series) expect(q.metric).toMatchObject({ metric_name: 'SuccessfulRequestLatency', dimensions: { Operation: expect.any(String) } });
          expect(queries.find((q) => q.expression)?.expression).toBe(`MAX([${series.map((q) => q.id).join(', ')}])`);
        }
      }
    });

    it("watches the custom domain certificate's expiry where there is one (prod)", () => {
      expect(alarmsOf(dev, 'certificate-expiry')).toEqual([]);
      const [alarm] = alarmsOf(prod, 'certificate-expiry');
      expect(alarm).toMatchObject({
        namespace: 'AWS/CertificateManager',
        metric_name: 'DaysToExpiry',
        comparison_operator: 'LessThanThreshold',
        threshold: 30,
        period: 86_400,
        dimensions: { CertificateArn: '${var.custom_domain_certificate_arn}' },
      });
    });
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
