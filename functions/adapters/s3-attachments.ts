/**
 * S3 implementation of the AttachmentStorage port: presigned POSTs and GETs, HEAD and tagging of the bucket's
 * objects, as SigV4-signed requests of its own. Not the SDK's S3 client and presigners: they are about 230 KB of
 * minified bundle and put send, upload and download over their 600 KB bundle budget (test/infra/bundles.test.ts),
 * for four requests. Errors keep the SDK's shape (`$metadata.httpStatusCode`), so a 5xx is retryable as anywhere.
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { createScope, getSigningKey, SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { createHash, createHmac } from 'node:crypto';
import type { AttachmentStorage, PresignedUpload } from '../app/ports.ts';
import {
  ATTACHMENT_STATE_TAG,
  decodeFileName,
  encodeFileName,
  FILE_NAME_METADATA,
  type AttachmentState,
  type StoredUpload,
} from '../domain/attachments.ts';
import { ServiceError } from './service-error.ts';
import { Sha256 } from './sha256.ts';

/** The `tagging` form field of a POST upload, and the body of PutObjectTagging: S3's Tagging XML. */
export function taggingXml(state: AttachmentState): string {
  return `<Tagging><TagSet><Tag><Key>${ATTACHMENT_STATE_TAG}</Key><Value>${state}</Value></Tag></TagSet></Tagging>`;
}

/** RFC 3986 percent-encoding, as SigV4 and S3 keys use it. */
function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** 20261203T120000Z */
function amzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

export interface S3StorageOptions {
  readonly bucket: string;
  readonly region: string;
  /**
   * An endpoint of its own (AWS_ENDPOINT_URL_S3: the local stack, or any S3-compatible one), addressed by path;
   * without one, the bucket's virtual-hosted AWS endpoint.
   */
  readonly endpoint?: string;
  readonly credentials?: AwsCredentialIdentityProvider;
  readonly now?: () => Date;
}

export class S3AttachmentStorage implements AttachmentStorage {
  private readonly base: URL;
  private readonly pathPrefix: string;
  private readonly signer: SignatureV4;
  private readonly credentials: AwsCredentialIdentityProvider;
  private readonly now: () => Date;

  constructor(private readonly options: S3StorageOptions) {
    this.base = new URL(options.endpoint ?? `https://${options.bucket}.s3.${options.region}.amazonaws.com`);
    this.pathPrefix = options.endpoint ? `/${options.bucket}` : '';
    this.credentials = options.credentials ?? defaultProvider();
    this.now = options.now ?? (() => new Date());
    // S3 takes the path as sent (encoded once), not encoded again as other services expect.
    this.signer = new SignatureV4({ service: 's3', region: options.region, credentials: this.credentials, sha256: Sha256, uriEscapePath: false });
  }

  async presignUpload(key: string, upload: StoredUpload, expiresSeconds: number): Promise<PresignedUpload> {
    const credentials = await this.credentials();
    const now = this.now();
    const date = amzDate(now);
    const shortDate = date.slice(0, 8);
    // Every field is also an exact-match condition of the policy, so the client can change none of them.
    const fields: Record<string, string> = {
      'Content-Type': upload.contentType,
      [`x-amz-meta-${FILE_NAME_METADATA}`]: encodeFileName(upload.fileName),
      tagging: taggingXml('pending'),
      bucket: this.options.bucket,
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': `${credentials.accessKeyId}/${createScope(shortDate, this.options.region, 's3')}`,
      'X-Amz-Date': date,
      ...(credentials.sessionToken ? { 'X-Amz-Security-Token': credentials.sessionToken } : {}),
      key,
    };
    const policy = {
      expiration: new Date(now.getTime() + expiresSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      conditions: [['content-length-range', upload.size, upload.size], ...Object.entries(fields).map(([name, value]) => ({ [name]: value }))],
    };
    const encodedPolicy = Buffer.from(JSON.stringify(policy), 'utf8').toString('base64');
    const signingKey = await getSigningKey(Sha256, credentials, shortDate, this.options.region, 's3');
    const signature = createHmac('sha256', signingKey).update(encodedPolicy).digest('hex');
    // The form posts to the bucket itself: its path on an endpoint of its own, the root of its virtual host on AWS.
    const url = `${this.base.origin}${this.pathPrefix || '/'}`;
    return { url, fields: { ...fields, Policy: encodedPolicy, 'X-Amz-Signature': signature } };
  }

  async describe(key: string): Promise<StoredUpload | undefined> {
    const response = await this.send('HEAD', key, {});
    if (response.status === 404) return undefined;
    if (!response.ok) throw failure(response.status, 'HEAD', key);
    const size = Number(response.headers.get('content-length'));
    const contentType = response.headers.get('content-type');
    const encodedName = response.headers.get(`x-amz-meta-${FILE_NAME_METADATA}`);
    if (!Number.isInteger(size) || !contentType || !encodedName) return undefined;
    return { size, contentType, fileName: decodeFileName(encodedName) };
  }

  async markAttached(key: string): Promise<void> {
    const body = Buffer.from(taggingXml('attached'));
    const response = await this.send('PUT', key, { tagging: '' }, body, {
      'content-type': 'application/xml',
      // PutObjectTagging requires an integrity check of its body.
      'content-md5': createHash('md5').update(body).digest('base64'),
    });
    await response.arrayBuffer();
    if (!response.ok) throw failure(response.status, 'PutObjectTagging', key);
  }

  async presignDownload(key: string, contentDisposition: string, expiresSeconds: number): Promise<string> {
    // A presigned URL signs no payload: S3 reads UNSIGNED-PAYLOAD from the query it hoists this header into.
    const request = this.request('GET', key, { 'response-content-disposition': contentDisposition }, undefined, {
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
    });
    const signed = await this.signer.presign(request, { expiresIn: expiresSeconds, signingDate: this.now() });
    return this.urlOf(signed.path, signed.query as Record<string, string>);
  }

  private request(method: string, key: string, query: Record<string, string>, body?: Buffer, headers: Record<string, string> = {}) {
    return {
      method,
      protocol: this.base.protocol,
      hostname: this.base.hostname,
      port: this.base.port ? Number(this.base.port) : undefined,
      path: `${this.pathPrefix}/${key.split('/').map(rfc3986).join('/')}`,
      query,
      headers: { host: this.base.host, ...headers },
      ...(body ? { body } : {}),
    };
  }

  private urlOf(path: string, query: Record<string, string>): string {
    const search = Object.entries(query)
      .map(([name, value]) => (value === '' ? rfc3986(name) : `${rfc3986(name)}=${rfc3986(value)}`))
      .join('&');
    return `${this.base.origin}${path}${search ? `?${search}` : ''}`;
  }

  private async send(method: string, key: string, query: Record<string, string>, body?: Buffer, headers: Record<string, string> = {}): Promise<Response> {
    const payloadHash = body ? createHash('sha256').update(body).digest('hex') : 'UNSIGNED-PAYLOAD';
    const request = this.request(method, key, query, body, { ...headers, 'x-amz-content-sha256': payloadHash });
    const signed = await this.signer.sign(request, { signingDate: this.now() });
    const { host: _host, ...sendHeaders } = signed.headers as Record<string, string>;
    return fetch(this.urlOf(signed.path, signed.query as Record<string, string>), { method, headers: sendHeaders, ...(body ? { body } : {}) });
  }
}

function failure(status: number, operation: string, key: string): ServiceError {
  return new ServiceError(status === 403 ? 'AccessDenied' : `Http${status}`, status, `S3 answered ${status} to ${operation} ${key}`);
}
