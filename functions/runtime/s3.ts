/** The attachment storage (S3), for the functions granted the bucket; imported only by their handlers. */
import { S3Client } from '@aws-sdk/client-s3';
import { S3AttachmentStorage } from '../adapters/s3-attachments.ts';
import type { AttachmentStorage } from '../app/ports.ts';
import { tracer } from './observability.ts';

export function s3Storage(bucket: string): AttachmentStorage {
  // An S3 endpoint of its own (AWS_ENDPOINT_URL_S3: the local stack, or any S3-compatible one) is addressed by
  // path: virtual-hosted bucket names need DNS that such endpoints do not have.
  const s3 = new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3) });
  return new S3AttachmentStorage(tracer.captureAWSv3Client(s3), bucket);
}
