/**
 * The attachment bucket in every stage's synthesized plan: private, owner-enforced, encrypted (with the stage's
 * key where it has one), TLS only, CORS from the deployment's origins, lifecycle rules, and IAM on its key prefix
 * for exactly the functions the catalog grants it.
 */
import { describe, expect, it } from 'vitest';
import { FUNCTION_NAMES, FUNCTIONS, type FunctionSpec } from '../../functions/catalog/functions.ts';
import { STAGE_NAMES, STAGES, stackName } from '../../infra/config/stages.ts';
import { statementsOf } from '../support/iam.ts';
import { readPlan, type Plan } from '../support/plan.ts';

type Res = Record<string, any>;

/** The one resource of `type` that `matches`: the stage has other buckets (the audit trail's). */
function only(plan: Plan, type: string, matches: (r: Res) => boolean): [string, Res] {
  const all = Object.entries(plan.resource[type] ?? {}).filter(([, r]) => matches(r as Res));
  expect(all, type).toHaveLength(1);
  return all[0] as [string, Res];
}

describe.each(STAGE_NAMES)('the %s attachment bucket', (stage) => {
  const config = STAGES[stage];
  const plan = readPlan(stackName(stage));
  const [bucketId, bucket] = only(plan, 'aws_s3_bucket', (r) => r.tags?.bucket === 'attachments');
  const bucketRef = `\${aws_s3_bucket.${bucketId}.id}`;
  const control = (type: string) => only(plan, type, (r) => r.bucket === bucketRef);
  const bucketArn = `\${aws_s3_bucket.${bucketId}.arn}`;

  it('is one per stage, named by the convention, with every control on it', () => {
    expect(bucket.bucket_prefix).toBe(`wschat-${stage}-attachments-`);
    for (const type of [
      'aws_s3_bucket_public_access_block',
      'aws_s3_bucket_ownership_controls',
      'aws_s3_bucket_server_side_encryption_configuration',
      'aws_s3_bucket_policy',
      'aws_s3_bucket_cors_configuration',
      'aws_s3_bucket_lifecycle_configuration',
    ]) {
      expect(control(type)[1].bucket, type).toBe(bucketRef);
    }
  });

  it('blocks all public access and turns ACLs off (bucket owner enforced)', () => {
    expect(control('aws_s3_bucket_public_access_block')[1]).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(control('aws_s3_bucket_ownership_controls')[1].rule).toEqual({ object_ownership: 'BucketOwnerEnforced' });
  });

  it(config.customerManagedKey ? "encrypts with the stage's KMS key (SSE-KMS, bucket key)" : 'encrypts with S3-managed keys', () => {
    const [rule] = control('aws_s3_bucket_server_side_encryption_configuration')[1].rule;
    if (config.customerManagedKey) {
      expect(rule).toEqual({ apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms', kms_master_key_id: '${var.kms_key_arn}' }, bucket_key_enabled: true });
    } else {
      expect(rule).toEqual({ apply_server_side_encryption_by_default: { sse_algorithm: 'AES256' } });
    }
  });

  it('denies every request that does not use TLS', () => {
    expect(JSON.parse(control('aws_s3_bucket_policy')[1].policy).Statement).toEqual([
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ]);
  });

  it("admits the deployment's browser origins (a required, validated variable) to POST and GET", () => {
    expect(control('aws_s3_bucket_cors_configuration')[1].cors_rule).toEqual([
      { allowed_methods: ['POST', 'GET', 'HEAD'], allowed_origins: '${var.attachment_cors_origins}', expose_headers: ['ETag'], max_age_seconds: 3000 },
    ]);
    const variable = (plan.variable as Record<string, Res>).attachment_cors_origins;
    expect(variable).toMatchObject({ type: 'list(string)' });
    expect(variable).not.toHaveProperty('default');
  });

  it('aborts incomplete multipart uploads and expires unattached uploads after a day', () => {
    expect(control('aws_s3_bucket_lifecycle_configuration')[1].rule).toEqual([
      { id: 'abort-incomplete-multipart-uploads', status: 'Enabled', filter: [{ prefix: '' }], abort_incomplete_multipart_upload: [{ days_after_initiation: 1 }] },
      { id: 'expire-unattached-uploads', status: 'Enabled', filter: [{ tag: [{ key: 'attachment-state', value: 'pending' }] }], expiration: [{ days: 1 }] },
    ]);
  });

  it('grants the catalog\'s object actions on the key prefix only, to exactly the functions granted the bucket', () => {
    const policies = Object.values(plan.resource.aws_iam_role_policy ?? {}) as Res[];
    for (const name of FUNCTION_NAMES) {
      const policy = policies.find((p) => String(p.role).includes(`functions_${name}_role`));
      expect(policy, name).toBeDefined();
      const s3 = statementsOf(JSON.parse(String(policy?.policy))).filter((s) => [s.Action].flat().some((a) => String(a).startsWith('s3:')));
      const granted = (FUNCTIONS[name] as FunctionSpec).attachments;
      expect(s3, name).toEqual(granted ? [{ Effect: 'Allow', Action: [...granted], Resource: `${bucketArn}/rooms/*` }] : []);
      const kms = statementsOf(JSON.parse(String(policy?.policy))).filter((s) => [s.Action].flat().some((a) => String(a).startsWith('kms:')));
      if (granted && config.customerManagedKey) {
        expect(kms, name).toEqual([
          { Effect: 'Allow', Action: granted.includes('s3:PutObject') ? ['kms:GenerateDataKey', 'kms:Decrypt'] : ['kms:Decrypt'], Resource: '${var.kms_key_arn}' },
        ]);
      }
    }
    expect(FUNCTION_NAMES.filter((n) => (FUNCTIONS[n] as FunctionSpec).attachments)).toEqual(['send', 'upload', 'download']);
  });

  it("tells the functions granted the bucket its name and the stage's limits", () => {
    const functions = Object.values(plan.resource.aws_lambda_function ?? {}) as Res[];
    const upload = functions.find((f) => f.function_name === `wschat-${stage}-upload`);
    expect(upload?.environment.variables).toMatchObject({
      ATTACHMENTS_BUCKET: `\${aws_s3_bucket.${bucketId}.bucket}`,
      ATTACHMENT_MAX_BYTES: String(config.attachments.maxBytes),
      ATTACHMENT_CONTENT_TYPES: config.attachments.contentTypes.join(','),
      ATTACHMENT_INLINE_TYPES: config.attachments.inlineTypes.join(','),
    });
    const who = functions.find((f) => f.function_name === `wschat-${stage}-who`);
    expect(who?.environment.variables).not.toHaveProperty('ATTACHMENTS_BUCKET');
  });
});

it('limits dev uploads to 10 MB', () => {
  expect(STAGES.dev.attachments.maxBytes).toBe(10 * 1024 * 1024);
});
