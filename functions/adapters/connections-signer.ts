/**
 * SigV4 for `@connections` requests, specialised for what the notifier sends: no query, the same few headers on
 * every request, and the same body for every post of one fan-out. It produces the headers `@smithy/signature-v4`
 * produces for such a request (test/app/connections-signer.test.ts compares them), at a fraction of the CPU: the
 * general signer clones the request, sorts and filters its headers and hashes the body again for every post, and
 * a fan-out signs one post per member.
 */
import { createHash, createHmac } from 'node:crypto';
import type { AwsCredentialIdentity } from '@smithy/types';

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** SHA-256 of an empty payload, as SigV4 hashes a request without a body. */
export const EMPTY_PAYLOAD_HASH = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface SignableRequest {
  readonly method: string;
  /** `host[:port]`, as sent in the Host header. */
  readonly host: string;
  /** The path as sent (each segment already URI-encoded once). */
  readonly path: string;
  /** A JSON body, with its SHA-256 in hex (payloadHash), or none. */
  readonly body?: { readonly length: number; readonly payloadHash: string };
}

/** The hex SHA-256 of a payload. */
export function payloadHash(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

export class ConnectionsSigner {
  private signingKey: { readonly day: string; readonly accessKeyId: string; readonly secret: string; readonly key: Buffer } | undefined;
  private dates: { readonly second: number; readonly long: string; readonly short: string } | undefined;

  constructor(
    private readonly region: string,
    private readonly service = 'execute-api',
  ) {}

  /** The request's headers with its SigV4 signature: Host, the body's type and length, X-Amz-*, Authorization. */
  sign(request: SignableRequest, credentials: AwsCredentialIdentity, date = new Date()): Record<string, string> {
    const { long, short } = this.datesOf(date);
    const scope = `${short}/${this.region}/${this.service}/aws4_request`;
    const hash = request.body?.payloadHash ?? EMPTY_PAYLOAD_HASH;
    // Canonical headers, in the order SigV4 sorts their lower-case names.
    let canonical = '';
    let signedHeaders = '';
    if (request.body) {
      canonical += `content-length:${request.body.length}\ncontent-type:application/json\n`;
      signedHeaders += 'content-length;content-type;';
    }
    canonical += `host:${request.host}\nx-amz-content-sha256:${hash}\nx-amz-date:${long}\n`;
    signedHeaders += 'host;x-amz-content-sha256;x-amz-date';
    if (credentials.sessionToken) {
      canonical += `x-amz-security-token:${credentials.sessionToken.trim().replace(/\s+/g, ' ')}\n`;
      signedHeaders += ';x-amz-security-token';
    }
    const canonicalRequest = `${request.method}\n${canonicalPath(request.path)}\n\n${canonical}\n${signedHeaders}\n${hash}`;
    const stringToSign = `${ALGORITHM}\n${long}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
    const signature = createHmac('sha256', this.keyFor(credentials, short)).update(stringToSign).digest('hex');
    const headers: Record<string, string> = { host: request.host };
    if (request.body) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(request.body.length);
    }
    headers['x-amz-date'] = long;
    if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
    headers['x-amz-content-sha256'] = hash;
    headers.authorization = `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return headers;
  }

  /** `YYYYMMDDTHHMMSSZ` and `YYYYMMDD`, built once per second. */
  private datesOf(date: Date) {
    const second = Math.floor(date.getTime() / 1000);
    if (this.dates?.second !== second) {
      const long = date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
      this.dates = { second, long, short: long.slice(0, 8) };
    }
    return this.dates;
  }

  /** The day's signing key, derived again only when the day or the credentials change (as AWS's signers cache it). */
  private keyFor(credentials: AwsCredentialIdentity, day: string): Buffer {
    const cached = this.signingKey;
    if (cached?.day === day && cached.accessKeyId === credentials.accessKeyId && cached.secret === credentials.secretAccessKey) return cached.key;
    let key = hmac(`AWS4${credentials.secretAccessKey}`, day);
    for (const part of [this.region, this.service, 'aws4_request']) key = hmac(key, part);
    this.signingKey = { day, accessKeyId: credentials.accessKeyId, secret: credentials.secretAccessKey, key };
    return key;
  }
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/**
 * SigV4's canonical path for services other than S3: dot segments and empty segments resolved, then every segment
 * URI-encoded once more (so an id sent as `a%3D` is signed as `a%253D`).
 */
function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return escapeUri(normalized).replace(/%2F/g, '/');
}

function escapeUri(uri: string): string {
  return encodeURIComponent(uri).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
