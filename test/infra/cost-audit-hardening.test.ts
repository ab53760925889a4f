/**
 * Issue #18 §3 on the synthesized plan of every stage: the stage's budget and who it notifies, the optional audit
 * trail and its locked-down bucket and key, point-in-time recovery, and the prod hardening (KMS on Lambda
 * environments and alarm topics, no execute-api endpoint beside the custom domain, the optional alias record).
 * Values are spelled out here, not read from infra's constants, so a change to them is a visible test change.
 */
import { describe, expect, it } from 'vitest';
import { FUNCTION_NAMES } from '../../functions/catalog/functions.ts';
import { TABLE_KEYS, TABLES, type TableSchema } from '../../functions/catalog/tables.ts';
import { STAGE_NAMES, STAGES, stackName, type StageConfig } from '../../infra/config/stages.ts';
import { readPlan } from '../support/plan.ts';

type Res = Record<string, any>;

/** The stack's resources of a type, leaving out the attachment bucket and its controls (test/infra/attachments.test.ts). */
function entries(plan: Res, type: string): [string, Res][] {
  return Object.entries((plan.resource[type] ?? {}) as Record<string, Res>).filter(([id]) => !id.startsWith('attachments_'));
}

function only(plan: Res, type: string): [string, Res] {
  const all = entries(plan, type);
  expect(all.map(([id]) => id), `exactly one ${type}`).toHaveLength(1);
  return all[0]!;
}

/** The account id: a local read from an ARN the stack creates (no data source, no literal). */
const ACCOUNT = '${local.account_id}';

const ref = (type: string, id: string, attr: string) => `\${${type}.${id}.${attr}}`;
/** A reference to the one instance of a resource that has `count`. */
const first = (type: string, id: string, attr: string) => `\${${type}.${id}[0].${attr}}`;

describe.each(STAGE_NAMES)('stack %s', (stage) => {
  const plan = readPlan(stackName(stage)) as Res;
  const config: StageConfig = STAGES[stage];
  const kms = config.customerManagedKey ? '${var.kms_key_arn}' : undefined;
  const topics = Object.fromEntries(entries(plan, 'aws_sns_topic').map(([id, t]) => [String(t.name).replace(`wschat-${stage}-alarms-`, ''), id]));
  const topicPolicy = (severity: string) => {
    const [id, policy] = entries(plan, 'aws_sns_topic_policy').find(([, p]) => p.arn === ref('aws_sns_topic', topics[severity]!, 'arn'))!;
    return { id, document: JSON.parse(policy.policy as string) as { Statement: Res[] } };
  };

  it('reads the account id from the ARN of a resource it creates', () => {
    expect(plan.locals.account_id).toMatch(/^\$\{element\(split\(":", aws_[a-z_]+\.[^.]+\.arn\), 4\)\}$/);
  });

  describe('budget', () => {
    const [, budget] = only(plan, 'aws_budgets_budget');

    it('is a monthly USD cost budget of the monthly_budget_usd variable, scoped to the stage cost-center tag', () => {
      expect(budget).toMatchObject({
        name: `wschat-${stage}-monthly-cost`,
        budget_type: 'COST',
        time_unit: 'MONTHLY',
        limit_unit: 'USD',
        limit_amount: '${format("%.2f", var.monthly_budget_usd)}',
        cost_filter: [{ name: 'TagKeyValue', values: [`user:cost-center$${config.tags['cost-center']}`] }],
      });
      const variable = plan.variable.monthly_budget_usd as Res;
      expect(variable.type).toBe('number');
      expect(variable.default).toBe(config.cost.monthlyBudgetUsd);
      expect(variable.validation[0].condition).toBe('${var.monthly_budget_usd > 0}');
    });

    it('notifies the ticket topic at 80% of actual and 100% of forecast spend, once the topic lets Budgets publish', () => {
      const ticket = ref('aws_sns_topic', topics.ticket!, 'arn');
      expect(budget.notification).toEqual([
        { comparison_operator: 'GREATER_THAN', notification_type: 'ACTUAL', threshold: 80, threshold_type: 'PERCENTAGE', subscriber_sns_topic_arns: [ticket] },
        { comparison_operator: 'GREATER_THAN', notification_type: 'FORECASTED', threshold: 100, threshold_type: 'PERCENTAGE', subscriber_sns_topic_arns: [ticket] },
      ]);
      expect(budget.depends_on).toEqual([`aws_sns_topic_policy.${topicPolicy('ticket').id}`]);
    });
  });

  describe('alarm topics', () => {
    it.each(['page', 'ticket'])('the %s topic takes publishes from this account\'s services only', (severity) => {
      const publishers = topicPolicy(severity).document.Statement.filter((s) => s.Principal?.Service);
      expect(publishers).toHaveLength(1);
      expect(publishers[0]!.Principal.Service).toEqual(severity === 'ticket' ? ['cloudwatch.amazonaws.com', 'budgets.amazonaws.com'] : ['cloudwatch.amazonaws.com']);
      expect(publishers[0]!.Action).toBe('SNS:Publish');
      expect(publishers[0]!.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': ACCOUNT } });
      const others = topicPolicy(severity).document.Statement.filter((s) => !s.Principal?.Service);
      expect(others.map((s) => s.Principal)).toEqual([{ AWS: `arn:aws:iam::${ACCOUNT}:root` }]);
    });

    it(config.customerManagedKey ? 'are encrypted with the kms_key_arn key' : 'keep SNS default encryption', () => {
      expect(Object.keys(topics).sort()).toEqual(['page', 'ticket']);
      for (const id of Object.values(topics)) expect(plan.resource.aws_sns_topic[id].kms_master_key_id, id).toBe(kms);
    });
  });

  it(config.customerManagedKey ? 'encrypts every function environment with the kms_key_arn key' : 'leaves function environments on the Lambda key', () => {
    const functions = entries(plan, 'aws_lambda_function');
    expect(functions).toHaveLength(FUNCTION_NAMES.length);
    for (const [id, fn] of functions) expect(fn.kms_key_arn, id).toBe(kms);
  });

  it('keeps point-in-time recovery on exactly the tables that cannot be rebuilt, where the stage asks for it', () => {
    const recovered = entries(plan, 'aws_dynamodb_table')
      .filter(([, t]) => t.point_in_time_recovery?.enabled)
      .map(([, t]) => String(t.name).replace(`wschat-${stage}-`, ''))
      .sort();
    // attachments: which message carries an upload (and so who may download it) restores with the messages.
    expect(recovered).toEqual(config.pointInTimeRecovery ? ['attachments', 'messages', 'roles', 'rooms'] : []);
    expect(TABLE_KEYS.filter((key) => (TABLES[key] as TableSchema).pointInTimeRecovery).sort()).toEqual(['attachments', 'messages', 'roles', 'rooms']);
  });

  describe('execute-api endpoint and DNS', () => {
    const [apiId, api] = only(plan, 'aws_apigatewayv2_api');
    const records = entries(plan, 'aws_route53_record');

    it(config.customDomain ? 'is disabled, so the custom domain is the only way in, and a change redeploys' : 'stays enabled (no custom domain)', () => {
      expect(api.disable_execute_api_endpoint).toBe(config.customDomain);
      const [, deployment] = only(plan, 'aws_apigatewayv2_deployment');
      expect(String(deployment.triggers.redeployment)).toContain(`aws_apigatewayv2_api.${apiId}.disable_execute_api_endpoint`);
    });

    if (config.customDomain) {
      it('aliases the host name in the route53_zone_id zone when one is given, and only then', () => {
        const [domainId] = only(plan, 'aws_apigatewayv2_domain_name');
        expect(records).toHaveLength(1);
        const [, record] = records[0]!;
        expect(record).toMatchObject({
          count: '${var.route53_zone_id == "" ? 0 : 1}',
          zone_id: '${var.route53_zone_id}',
          name: ref('aws_apigatewayv2_domain_name', domainId, 'domain_name'),
          type: 'A',
          alias: {
            name: `\${aws_apigatewayv2_domain_name.${domainId}.domain_name_configuration[0].target_domain_name}`,
            zone_id: `\${aws_apigatewayv2_domain_name.${domainId}.domain_name_configuration[0].hosted_zone_id}`,
            evaluate_target_health: false,
          },
        });
        expect(plan.variable.route53_zone_id).toMatchObject({ type: 'string', default: '' });
      });
    } else {
      it('creates no DNS record and declares no zone variable', () => {
        expect(records).toEqual([]);
        expect(plan.variable).not.toHaveProperty('route53_zone_id');
      });
    }
  });

  describe('audit trail', () => {
    const types = ['aws_cloudtrail', 'aws_kms_key', 'aws_kms_key_policy', 'aws_s3_bucket', 'aws_s3_bucket_policy', 'aws_s3_bucket_public_access_block', 'aws_s3_bucket_ownership_controls', 'aws_s3_bucket_versioning', 'aws_s3_bucket_server_side_encryption_configuration', 'aws_s3_bucket_lifecycle_configuration'];

    if (!config.audit.trail) {
      it('is not declared', () => {
        for (const type of types) expect(entries(plan, type), type).toEqual([]);
        expect(plan.variable).not.toHaveProperty('organization_trail_exists');
      });
      return;
    }

    it('is one of each resource, all absent when organization_trail_exists says an organization trail records the account', () => {
      expect(plan.variable.organization_trail_exists).toMatchObject({ type: 'bool', default: false });
      for (const type of types) {
        const [id, resource] = only(plan, type);
        expect(resource.count, `${type}.${id}`).toBe('${var.organization_trail_exists ? 0 : 1}');
      }
    });

    const [trailId, trail] = entries(plan, 'aws_cloudtrail')[0] ?? [];
    const [keyId, key] = entries(plan, 'aws_kms_key')[0] ?? [];
    const [bucketId, bucket] = entries(plan, 'aws_s3_bucket')[0] ?? [];
    const bucketName = first('aws_s3_bucket', bucketId!, 'id');
    const keyArn = first('aws_kms_key', keyId!, 'arn');

    it("records management events and others' data events on exactly the stage tables and functions, with validated, encrypted log files", () => {
      expect(trail).toMatchObject({
        name: `wschat-${stage}-audit`,
        s3_bucket_name: bucketName,
        kms_key_id: keyArn,
        enable_log_file_validation: true,
        include_global_service_events: true,
        is_multi_region_trail: false,
      });
      const selectors = trail!.advanced_event_selector as { field_selector: { field: string; equals?: string[]; not_starts_with?: string[] }[] }[];
      const fields = (i: number) => Object.fromEntries(selectors[i]!.field_selector.map((f) => [f.field, f.equals ?? { notStartsWith: f.not_starts_with }]));
      // The stage's functions' own calls (their roles are wschat-<stage>-<function>-fn) are not audit events.
      const notFunctions = { notStartsWith: [`arn:aws:sts::${ACCOUNT}:assumed-role/wschat-${stage}-`] };
      expect(selectors).toHaveLength(3);
      expect(fields(0)).toEqual({ eventCategory: ['Management'] });
      const tableArns = entries(plan, 'aws_dynamodb_table').map(([id]) => ref('aws_dynamodb_table', id, 'arn'));
      const functionArns = entries(plan, 'aws_lambda_function').map(([id]) => ref('aws_lambda_function', id, 'arn'));
      expect(tableArns).toHaveLength(TABLE_KEYS.length);
      expect(fields(1)).toEqual({ eventCategory: ['Data'], 'resources.type': ['AWS::DynamoDB::Table'], 'resources.ARN': expect.arrayContaining(tableArns), 'userIdentity.arn': notFunctions });
      expect(fields(1)['resources.ARN']).toHaveLength(tableArns.length);
      expect(fields(2)).toEqual({ eventCategory: ['Data'], 'resources.type': ['AWS::Lambda::Function'], 'resources.ARN': expect.arrayContaining(functionArns), 'userIdentity.arn': notFunctions });
      const roles = entries(plan, 'aws_iam_role').map(([, r]) => String(r.name)).filter((name) => name.endsWith('-fn'));
      expect(roles).toHaveLength(FUNCTION_NAMES.length);
      for (const role of roles) expect(role.startsWith(`wschat-${stage}-`), role).toBe(true);
      expect(fields(2)['resources.ARN']).toHaveLength(functionArns.length);
      const [policyId] = only(plan, 'aws_s3_bucket_policy');
      const [keyPolicyId] = only(plan, 'aws_kms_key_policy');
      expect([...trail!.depends_on].sort()).toEqual([`aws_kms_key_policy.${keyPolicyId}`, `aws_s3_bucket_policy.${policyId}`].sort());
    });

    it('encrypts with a rotated key of its own, which only this trail may encrypt with', () => {
      expect(key).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30 });
      const [, keyPolicy] = only(plan, 'aws_kms_key_policy');
      expect(keyPolicy.key_id).toBe(first('aws_kms_key', keyId!, 'key_id'));
      const statements = (JSON.parse(keyPolicy.policy) as { Statement: Res[] }).Statement;
      const trailArn = `arn:aws:cloudtrail:${config.region}:${ACCOUNT}:trail/wschat-${stage}-audit`;
      expect(statements.find((s) => s.Action === 'kms:*')!.Principal).toEqual({ AWS: `arn:aws:iam::${ACCOUNT}:root` });
      for (const statement of statements.filter((s) => s.Principal?.Service === 'cloudtrail.amazonaws.com')) {
        expect(statement.Condition.StringEquals, statement.Sid).toEqual({ 'aws:SourceArn': trailArn });
      }
      expect(statements.filter((s) => s.Principal?.Service === 'cloudtrail.amazonaws.com').map((s) => s.Action).sort()).toEqual(['kms:DescribeKey', 'kms:GenerateDataKey*']);
      const readers = statements.find((s) => s.Principal?.AWS === '*')!;
      expect(readers.Action).toEqual(['kms:Decrypt', 'kms:ReEncryptFrom']);
      expect(Object.keys(readers.Condition.StringEquals)).toEqual(['kms:CallerAccount']);
    });

    it('delivers to a private, owner-enforced, versioned, KMS-encrypted bucket that expires logs after the stage retention', () => {
      expect(bucket).toMatchObject({ bucket_prefix: `wschat-${stage}-audit-` });
      expect(bucket).not.toHaveProperty('force_destroy');
      expect(only(plan, 'aws_s3_bucket_public_access_block')[1]).toMatchObject({
        bucket: bucketName,
        block_public_acls: true,
        block_public_policy: true,
        ignore_public_acls: true,
        restrict_public_buckets: true,
      });
      expect(only(plan, 'aws_s3_bucket_ownership_controls')[1]).toMatchObject({ bucket: bucketName, rule: { object_ownership: 'BucketOwnerEnforced' } });
      expect(only(plan, 'aws_s3_bucket_versioning')[1]).toMatchObject({ bucket: bucketName, versioning_configuration: { status: 'Enabled' } });
      expect(only(plan, 'aws_s3_bucket_server_side_encryption_configuration')[1].rule).toEqual([
        { apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms', kms_master_key_id: keyArn }, bucket_key_enabled: true },
      ]);
      const [rule] = only(plan, 'aws_s3_bucket_lifecycle_configuration')[1].rule as Res[];
      expect(rule).toMatchObject({ status: 'Enabled', expiration: [{ days: config.audit.retentionDays }] });
    });

    it('lets only this trail write, under AWSLogs/<account>/, and refuses any request without TLS', () => {
      const [, policy] = only(plan, 'aws_s3_bucket_policy');
      const statements = (JSON.parse(policy.policy) as { Statement: Res[] }).Statement;
      const allows = statements.filter((s) => s.Effect === 'Allow');
      expect(allows.map((s) => s.Principal)).toEqual([{ Service: 'cloudtrail.amazonaws.com' }, { Service: 'cloudtrail.amazonaws.com' }]);
      const write = allows.find((s) => s.Action === 's3:PutObject')!;
      expect(write.Resource).toBe(`${first('aws_s3_bucket', bucketId!, 'arn')}/AWSLogs/${ACCOUNT}/*`);
      expect(write.Condition.StringEquals).toEqual({ 'aws:SourceArn': expect.stringContaining(`:trail/wschat-${stage}-audit`), 's3:x-amz-acl': 'bucket-owner-full-control' });
      expect(allows.find((s) => s.Action === 's3:GetBucketAcl')!.Condition.StringEquals).toEqual({ 'aws:SourceArn': expect.stringContaining(`:trail/wschat-${stage}-audit`) });
      expect(statements.filter((s) => s.Effect === 'Deny')).toEqual([
        expect.objectContaining({ Principal: '*', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      ]);
      expect(trailId).toBeDefined();
    });
  });
});
