import { Cloudtrail } from '@cdktf/provider-aws/lib/cloudtrail/index.js';
import type { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table/index.js';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key/index.js';
import { KmsKeyPolicy } from '@cdktf/provider-aws/lib/kms-key-policy/index.js';
import type { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function/index.js';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket/index.js';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration/index.js';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls/index.js';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy/index.js';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block/index.js';
import { S3BucketServerSideEncryptionConfigurationA as S3BucketServerSideEncryptionConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration/index.js';
import { S3BucketVersioningA as S3BucketVersioning } from '@cdktf/provider-aws/lib/s3-bucket-versioning/index.js';
import { TerraformOutput, TerraformVariable, type TerraformResource } from 'cdktf';
import { Construct } from 'constructs';
import type { FunctionName } from '../../functions/catalog/functions.ts';
import type { TableKey } from '../../functions/catalog/tables.ts';
import { resourceName, type StageConfig } from '../config/stages.ts';
import { ORGANIZATION_TRAIL_VARIABLE } from '../config/variables.ts';

/** Deleted or overwritten log files stay recoverable this long (the bucket is versioned). */
const NONCURRENT_LOG_DAYS = 30;

export interface AuditTrailProps {
  readonly stage: StageConfig;
  readonly tables: Record<TableKey, DynamodbTable>;
  readonly functions: Record<FunctionName, LambdaFunction>;
  /** The account id (infra/constructs/account.ts): the key and bucket policies name it. */
  readonly accountId: string;
}

/** `${type.id[0].attribute}`: every resource here has `count`, so references name its one instance. */
function first(resource: TerraformResource, attribute: string): string {
  return `\${${resource.terraformResourceType}.${resource.friendlyUniqueId}[0].${attribute}}`;
}

/**
 * The stage's own CloudTrail trail: the account's management events plus data events (item-level calls on the
 * stage's tables and invokes of its functions by anyone but the stage's functions), log file validation, encrypted with a key this construct
 * creates (its policy must name the trail, which an operator's shared key would not), delivered to a private,
 * versioned bucket that only CloudTrail writes to, over TLS only.
 *
 * Every resource has `count = var.organization_trail_exists ? 0 : 1`: where an organization trail already records
 * the account, a second copy of the same events would be paid for twice (docs/operations.md#audit-trail).
 */
export class AuditTrail extends Construct {
  constructor(scope: Construct, id: string, { stage, tables, functions, accountId: account }: AuditTrailProps) {
    super(scope, id);
    const organizationTrail = new TerraformVariable(this, ORGANIZATION_TRAIL_VARIABLE, {
      type: 'bool',
      default: false,
      description: `true when an organization trail already records this account's management events and the ${stage.name} stage's data events; the stage then creates no trail of its own`,
    });
    organizationTrail.overrideLogicalId(ORGANIZATION_TRAIL_VARIABLE);
    const count = `\${var.${ORGANIZATION_TRAIL_VARIABLE} ? 0 : 1}` as unknown as number;
    const trailName = resourceName(stage, 'audit');

    const key = new KmsKey(this, 'key', {
      count,
      description: `Encrypts the ${trailName} CloudTrail log files`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
    });
    const trailArn = `arn:aws:cloudtrail:${stage.region}:${account}:trail/${trailName}`;
    const fromThisTrail = { 'aws:SourceArn': trailArn };
    const trailContext = { 'kms:EncryptionContext:aws:cloudtrail:arn': `arn:aws:cloudtrail:*:${account}:trail/*` };
    const keyPolicy = new KmsKeyPolicy(this, 'key-policy', {
      count,
      keyId: first(key, 'key_id'),
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          // Without it the key would lock out the account itself: IAM policies decide who else may use it.
          { Sid: 'AccountAdministersKey', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'kms:*', Resource: '*' },
          {
            Sid: 'TrailEncryptsLogs',
            Effect: 'Allow',
            Principal: { Service: 'cloudtrail.amazonaws.com' },
            Action: 'kms:GenerateDataKey*',
            Resource: '*',
            Condition: { StringEquals: fromThisTrail, StringLike: trailContext },
          },
          {
            Sid: 'TrailDescribesKey',
            Effect: 'Allow',
            Principal: { Service: 'cloudtrail.amazonaws.com' },
            Action: 'kms:DescribeKey',
            Resource: '*',
            Condition: { StringEquals: fromThisTrail },
          },
          {
            // Readers still need s3:GetObject and kms:Decrypt in their own IAM policy.
            Sid: 'AccountReadsLogs',
            Effect: 'Allow',
            Principal: { AWS: '*' },
            Action: ['kms:Decrypt', 'kms:ReEncryptFrom'],
            Resource: '*',
            Condition: { StringEquals: { 'kms:CallerAccount': account }, StringLike: trailContext },
          },
        ],
      }),
    });

    const bucket = new S3Bucket(this, 'bucket', {
      count,
      // A prefix: bucket names are global, so S3 appends a unique suffix.
      bucketPrefix: `${trailName}-`,
    });
    const bucketName = first(bucket, 'id');
    const bucketArn = first(bucket, 'arn');
    const publicAccess = new S3BucketPublicAccessBlock(this, 'public-access', {
      count,
      bucket: bucketName,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, 'ownership', { count, bucket: bucketName, rule: { objectOwnership: 'BucketOwnerEnforced' } });
    new S3BucketVersioning(this, 'versioning', { count, bucket: bucketName, versioningConfiguration: { status: 'Enabled' } });
    new S3BucketServerSideEncryptionConfiguration(this, 'encryption', {
      count,
      bucket: bucketName,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: first(key, 'arn') }, bucketKeyEnabled: true }],
    });
    new S3BucketLifecycleConfiguration(this, 'retention', {
      count,
      bucket: bucketName,
      rule: [
        {
          id: 'expire-audit-logs',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          expiration: [{ days: stage.audit.retentionDays }],
          noncurrentVersionExpiration: [{ noncurrentDays: NONCURRENT_LOG_DAYS }],
        },
      ],
    });
    const bucketPolicy = new S3BucketPolicy(this, 'bucket-policy', {
      count,
      bucket: bucketName,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'TrailChecksAcl',
            Effect: 'Allow',
            Principal: { Service: 'cloudtrail.amazonaws.com' },
            Action: 's3:GetBucketAcl',
            Resource: bucketArn,
            Condition: { StringEquals: fromThisTrail },
          },
          {
            Sid: 'TrailWritesLogs',
            Effect: 'Allow',
            Principal: { Service: 'cloudtrail.amazonaws.com' },
            Action: 's3:PutObject',
            Resource: `${bucketArn}/AWSLogs/${account}/*`,
            Condition: { StringEquals: { ...fromThisTrail, 's3:x-amz-acl': 'bucket-owner-full-control' } },
          },
          {
            Sid: 'TlsOnly',
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:*',
            Resource: [bucketArn, `${bucketArn}/*`],
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      }),
      // S3 refuses a policy while the public access block is being written.
      dependsOn: [publicAccess],
    });

    // Not the stage's own functions' calls: every chat action is several of them, and at $0.10 per 100,000 events
    // they would be the largest line of the bill (docs/capacity.md) while saying nothing an incident needs. What is
    // left is everyone else: people, pipelines, other services.
    const notTheStageFunctions = { field: 'userIdentity.arn', notStartsWith: [`arn:aws:sts::${account}:assumed-role/${resourceName(stage, '')}`] };
    const dataEvents = (resourceType: string, arns: string[]) => ({
      name: `${resourceType} data events of the ${stage.name} stage`,
      fieldSelector: [
        { field: 'eventCategory', equalTo: ['Data'] },
        { field: 'resources.type', equalTo: [resourceType] },
        { field: 'resources.ARN', equalTo: arns },
        notTheStageFunctions,
      ],
    });
    const trail = new Cloudtrail(this, 'trail', {
      count,
      name: trailName,
      s3BucketName: bucketName,
      kmsKeyId: first(key, 'arn'),
      enableLogFileValidation: true,
      // The stage lives in one Region; IAM changes to its roles are global events, delivered with it.
      isMultiRegionTrail: false,
      includeGlobalServiceEvents: true,
      advancedEventSelector: [
        { name: 'Management events', fieldSelector: [{ field: 'eventCategory', equalTo: ['Management'] }] },
        dataEvents('AWS::DynamoDB::Table', Object.values(tables).map((table) => table.arn)),
        dataEvents('AWS::Lambda::Function', Object.values(functions).map((fn) => fn.arn)),
      ],
      // CloudTrail checks at creation that it may write to the bucket and use the key.
      dependsOn: [bucketPolicy, keyPolicy],
    });
    const single = (resource: TerraformResource, attribute: string) =>
      `one(${resource.terraformResourceType}.${resource.friendlyUniqueId}[*].${attribute})`;
    new TerraformOutput(this, 'audit_trail', {
      value: `\${ { name = ${single(trail, 'name')}, bucket = ${single(bucket, 'id')} } }`,
      description: "The stage's CloudTrail trail and its log bucket (null values when an organization trail records the account)",
    }).overrideLogicalId('audit_trail');
  }
}
