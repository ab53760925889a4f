/** The attachment storage (S3), for the functions granted the bucket; imported only by their handlers. */
import { S3AttachmentStorage } from '../adapters/s3-attachments.ts';
import type { AttachmentStorage } from '../app/ports.ts';
import { requireEnv } from '../catalog/env.ts';

export function s3Storage(bucket: string): AttachmentStorage {
  return new S3AttachmentStorage({ bucket, region: requireEnv('AWS_REGION'), endpoint: process.env.AWS_ENDPOINT_URL_S3 || undefined });
}
