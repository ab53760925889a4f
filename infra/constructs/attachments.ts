import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket/index.js';
import { S3BucketCorsConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-cors-configuration/index.js';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration/index.js';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls/index.js';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy/index.js';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block/index.js';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration/index.js';
import { TerraformOutput, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { ATTACHMENT_KEY_PREFIX, ATTACHMENT_STATE_TAG, type AttachmentState } from '../../functions/domain/attachments.ts';
import { resourceName, type StageConfig } from '../config/stages.ts';
import { ATTACHMENT_CORS_VARIABLE } from '../config/variables.ts';

export interface AttachmentBucketProps {
  readonly stage: StageConfig;
  /** The stage's customer-managed key: with one, objects are SSE-KMS with it; without, SSE-S3. */
  readonly kmsKeyArn?: string;
}

/**
 * The bucket attachments live in: private (public access blocked, ACLs off), encrypted, TLS only, reachable from
 * the configured browser origins for presigned POSTs and GETs, and emptied of uploads no message took.
 */
export class AttachmentBucket extends Construct {
  readonly bucket: S3Bucket;
  /** The ARN pattern of the objects the functions may touch: the key prefix, never the whole bucket. */
  readonly objectsArn: string;

  constructor(scope: Construct, id: string, { stage, kmsKeyArn }: AttachmentBucketProps) {
    super(scope, id);
    // Bucket names are global: the prefix keeps the naming convention, Terraform adds a unique suffix.
    this.bucket = new S3Bucket(this, 'bucket', {
      bucketPrefix: `${resourceName(stage, 'attachments')}-`,
      forceDestroy: !stage.deletionProtection,
      tags: { bucket: 'attachments' },
    });
    const bucketRef = this.bucket.id;
    this.objectsArn = `${this.bucket.arn}/${ATTACHMENT_KEY_PREFIX}*`;

    new S3BucketPublicAccessBlock(this, 'public-access-block', {
      bucket: bucketRef,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, 'ownership', { bucket: bucketRef, rule: { objectOwnership: 'BucketOwnerEnforced' } });
    new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
      bucket: bucketRef,
      rule: [
        kmsKeyArn
          ? // The bucket key cuts the KMS requests (and their cost) of every upload and download to one per bucket key.
            { applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: kmsKeyArn }, bucketKeyEnabled: true }
          : { applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } },
      ],
    });
    new S3BucketPolicy(this, 'policy', {
      bucket: bucketRef,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'DenyInsecureTransport',
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:*',
            Resource: [this.bucket.arn, `${this.bucket.arn}/*`],
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      }),
    });

    const origins = new TerraformVariable(this, ATTACHMENT_CORS_VARIABLE, {
      type: 'list(string)',
      description: 'Browser origins (scheme://host[:port]) of the chat pages that upload and download attachments directly to the bucket',
      validation: [
        {
          condition: `\${length(var.${ATTACHMENT_CORS_VARIABLE}) > 0 && alltrue([for origin in var.${ATTACHMENT_CORS_VARIABLE} : can(regex("^https?://[^/*]+$", origin))])}`,
          errorMessage: `${ATTACHMENT_CORS_VARIABLE} must list at least one origin, each scheme://host[:port] without a path or wildcard.`,
        },
      ],
    });
    origins.overrideLogicalId(ATTACHMENT_CORS_VARIABLE);
    new S3BucketCorsConfiguration(this, 'cors', {
      bucket: bucketRef,
      corsRule: [
        // POST: the presigned form upload; GET/HEAD: the presigned download and the page's thumbnails.
        { allowedMethods: ['POST', 'GET', 'HEAD'], allowedOrigins: origins.listValue, exposeHeaders: ['ETag'], maxAgeSeconds: 3000 },
      ],
    });

    const tagged = (state: AttachmentState) => [{ tag: [{ key: ATTACHMENT_STATE_TAG, value: state }] }];
    new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      bucket: bucketRef,
      rule: [
        {
          id: 'abort-incomplete-multipart-uploads',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
        },
        {
          // An upload no message took within its 5-minute window is abandoned; a day is ample for a slow send.
          id: 'expire-unattached-uploads',
          status: 'Enabled',
          filter: tagged('pending'),
          expiration: [{ days: 1 }],
        },
        // Attached objects (tagged `attached`) follow message retention: messages are kept for good, so are they.
      ],
    });

    new TerraformOutput(this, 'attachments_bucket', {
      value: this.bucket.bucket,
      description: 'The S3 bucket attachments are uploaded to (presigned POST) and downloaded from (presigned GET)',
    }).overrideLogicalId('attachments_bucket');
  }
}
