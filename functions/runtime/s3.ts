/**
 * The attachment storage (S3), for the functions granted the bucket; imported only by their handlers. The S3
 * client and presigners load on first use: a send without attachments (nearly all of them) never pays for them
 * at cold start.
 */
import type { AttachmentStorage } from '../app/ports.ts';
import { tracer } from './tracing.ts';

export function s3Storage(bucket: string): AttachmentStorage {
  let storage: Promise<AttachmentStorage> | undefined;
  const load = () =>
    (storage ??= Promise.all([import('@aws-sdk/client-s3'), import('../adapters/s3-attachments.ts')]).then(([{ S3Client }, { S3AttachmentStorage }]) => {
      // An S3 endpoint of its own (AWS_ENDPOINT_URL_S3: the local stack, or any S3-compatible one) is addressed by
      // path: virtual-hosted bucket names need DNS that such endpoints do not have.
      const s3 = new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3) });
      return new S3AttachmentStorage(tracer.captureAWSv3Client(s3), bucket);
    }));
  return {
    presignUpload: async (...args) => (await load()).presignUpload(...args),
    describe: async (...args) => (await load()).describe(...args),
    markAttached: async (...args) => (await load()).markAttached(...args),
    presignDownload: async (...args) => (await load()).presignDownload(...args),
  };
}
