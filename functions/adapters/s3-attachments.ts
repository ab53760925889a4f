/** S3 implementation of the AttachmentStorage port: presigned POSTs and GETs, HEAD and tagging of the bucket's objects. */
import { GetObjectCommand, HeadObjectCommand, PutObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { AttachmentStorage, PresignedUpload } from '../app/ports.ts';
import {
  ATTACHMENT_STATE_TAG,
  decodeFileName,
  encodeFileName,
  FILE_NAME_METADATA,
  type AttachmentState,
  type StoredUpload,
} from '../domain/attachments.ts';

/** The `tagging` form field of a POST upload: S3's Tagging XML. */
export function taggingXml(state: AttachmentState): string {
  return `<Tagging><TagSet><Tag><Key>${ATTACHMENT_STATE_TAG}</Key><Value>${state}</Value></Tag></TagSet></Tagging>`;
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

export class S3AttachmentStorage implements AttachmentStorage {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async presignUpload(key: string, upload: StoredUpload, expiresSeconds: number): Promise<PresignedUpload> {
    const { url, fields } = await createPresignedPost(this.s3, {
      Bucket: this.bucket,
      Key: key,
      // Each field is also a condition of the policy (exact match), so the client can change none of them.
      Fields: {
        'Content-Type': upload.contentType,
        [`x-amz-meta-${FILE_NAME_METADATA}`]: encodeFileName(upload.fileName),
        tagging: taggingXml('pending'),
      },
      Conditions: [['content-length-range', upload.size, upload.size]],
      Expires: expiresSeconds,
    });
    return { url, fields };
  }

  async describe(key: string): Promise<StoredUpload | undefined> {
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      const encodedName = head.Metadata?.[FILE_NAME_METADATA];
      if (head.ContentLength === undefined || !head.ContentType || !encodedName) return undefined;
      return { size: head.ContentLength, contentType: head.ContentType, fileName: decodeFileName(encodedName) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async markAttached(key: string): Promise<void> {
    await this.s3.send(
      new PutObjectTaggingCommand({
        Bucket: this.bucket,
        Key: key,
        Tagging: { TagSet: [{ Key: ATTACHMENT_STATE_TAG, Value: 'attached' satisfies AttachmentState }] },
      }),
    );
  }

  presignDownload(key: string, contentDisposition: string, expiresSeconds: number): Promise<string> {
    return getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: key, ResponseContentDisposition: contentDisposition }), {
      expiresIn: expiresSeconds,
    });
  }
}
