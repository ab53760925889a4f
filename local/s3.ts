/**
 * The plan's attachment bucket on this machine: an S3-API server (s3rver) holding the bucket with the plan's CORS
 * rules, behind a front that does what s3rver does not and S3 does:
 * - public access is blocked (the plan's aws_s3_bucket_public_access_block): unsigned requests are AccessDenied;
 * - every signed request is checked against the signer's IAM policies (presigned URLs act as their signer);
 * - a POST upload's policy is enforced: its signature, expiration and every condition (exact fields, starts-with,
 *   content-length-range), and no field outside the conditions, with S3's error codes and wording
 *   (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html, read 2026-12-03).
 * - SigV4 signatures (headers and presigned queries) are verified here: s3rver's own check encodes query values
 *   with encodeURIComponent, not RFC 3986, and so refuses valid presigned GETs whose response-content-disposition
 *   holds a quote. s3rver still refuses presigned URLs past their X-Amz-Expires.
 */
import { createHash, createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { LOCAL_SECRET_ACCESS_KEY } from './lambda/service-environment.ts';
import type { StackPlan } from './plan.ts';

const require = createRequire(import.meta.url);

/** Bodies of POST uploads are read whole to check their policy; nothing larger is accepted locally. */
const MAX_POST_BYTES = 64 * 1024 * 1024;

export interface LocalBucket {
  readonly name: string;
  readonly arn: string;
  readonly corsRules: readonly CorsRule[];
  readonly publicAccessBlocked: boolean;
}

interface CorsRule {
  readonly allowedMethods: readonly string[];
  readonly allowedOrigins: readonly string[];
  readonly allowedHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly maxAgeSeconds?: number;
}

/** A list the plan gives literally, or as a reference to a list variable (whose local value is JSON). */
function stringList(plan: StackPlan, value: unknown): string[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value.map((v) => plan.resolve(String(v)));
  const resolved = plan.resolve(String(value));
  const parsed = JSON.parse(resolved) as unknown;
  if (!Array.isArray(parsed)) throw new Error(`expected a list, got ${resolved}`);
  return parsed.map(String);
}

/** The plan's buckets with their CORS rules and public access blocks. */
export function readBuckets(plan: StackPlan): LocalBucket[] {
  return plan.resources('aws_s3_bucket').map((bucket) => {
    const name = plan.resolve(`\${${bucket.address}.bucket}`);
    const refersToBucket = (config: Record<string, unknown>) => String(config.bucket).includes(`${bucket.address}.`);
    const cors = plan.resources('aws_s3_bucket_cors_configuration').filter((c) => refersToBucket(c.config));
    const block = plan.resources('aws_s3_bucket_public_access_block').find((b) => refersToBucket(b.config));
    const corsRules = cors.flatMap((c) =>
      (c.config.cors_rule as Record<string, unknown>[]).map((rule) => ({
        allowedMethods: stringList(plan, rule.allowed_methods),
        allowedOrigins: stringList(plan, rule.allowed_origins),
        allowedHeaders: stringList(plan, rule.allowed_headers),
        exposeHeaders: stringList(plan, rule.expose_headers),
        ...(rule.max_age_seconds === undefined ? {} : { maxAgeSeconds: Number(rule.max_age_seconds) }),
      })),
    );
    return {
      name,
      arn: `arn:aws:s3:::${name}`,
      corsRules,
      publicAccessBlocked: block?.config.restrict_public_buckets === true && block.config.block_public_policy === true,
    };
  });
}

function corsXml(rules: readonly CorsRule[]): string {
  const rule = (r: CorsRule) =>
    '<CORSRule>' +
    r.allowedOrigins.map((o) => `<AllowedOrigin>${o}</AllowedOrigin>`).join('') +
    r.allowedMethods.map((m) => `<AllowedMethod>${m}</AllowedMethod>`).join('') +
    r.allowedHeaders.map((h) => `<AllowedHeader>${h}</AllowedHeader>`).join('') +
    r.exposeHeaders.map((h) => `<ExposeHeader>${h}</ExposeHeader>`).join('') +
    (r.maxAgeSeconds === undefined ? '' : `<MaxAgeSeconds>${r.maxAgeSeconds}</MaxAgeSeconds>`) +
    '</CORSRule>';
  return `<CORSConfiguration>${rules.map(rule).join('')}</CORSConfiguration>`;
}

/** Undefined when the signer may do this; otherwise AWS's AccessDenied message. */
export type S3Authorizer = (accessKeyId: string, action: string, resource: string) => string | undefined;

export interface LocalS3Options {
  readonly plan: StackPlan;
  /** Where objects are kept. */
  readonly directory: string;
  /** Access keys that sign requests (the functions'); all carry LOCAL_SECRET_ACCESS_KEY. */
  readonly accessKeyIds: readonly string[];
  readonly authorize: S3Authorizer;
  /** Told of each refused request: its S3 error code. */
  readonly onRefused?: (code: string, message: string) => void;
}

class S3Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function errorXml(code: string, message: string): string {
  const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escape(message)}</Message></Error>`;
}

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}

export class LocalS3 {
  private server?: Server;
  private s3rver?: S3rverInstance;
  private upstreamPort = 0;
  private port = 0;
  private readonly agent = new Agent({ keepAlive: true });
  readonly buckets: readonly LocalBucket[];

  constructor(private readonly options: LocalS3Options) {
    this.buckets = readBuckets(options.plan);
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<string> {
    const { directory, accessKeyIds } = this.options;
    mkdirSync(directory, { recursive: true });
    const S3rver = require('@20minutes/s3rver') as new (options: Record<string, unknown>) => S3rverInstance;
    // s3rver keeps its access keys in a registry: the functions' keys sign with the local secret.
    const AWSAccount = require('@20minutes/s3rver/lib/models/account') as {
      DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secret: string): void };
    };
    for (const accessKeyId of accessKeyIds) AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKeyId, LOCAL_SECRET_ACCESS_KEY);
    this.s3rver = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      // Signatures are verified by this front (verifySignature), correctly for every query value.
      allowMismatchedSignatures: true,
      directory: path.resolve(directory),
      vhostBuckets: false,
      configureBuckets: this.buckets.map((b) => ({ name: b.name, configs: b.corsRules.length ? [corsXml(b.corsRules)] : [] })),
    });
    this.upstreamPort = (await this.s3rver.run()).port;
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this.endpoint;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
    this.agent.destroy();
    await this.s3rver?.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://local');
      const [, bucketName = '', ...keyParts] = url.pathname.split('/');
      const key = decodeURIComponent(keyParts.join('/'));
      const bucket = this.buckets.find((b) => b.name === bucketName);
      // CORS preflights carry no credentials: s3rver answers them from the bucket's CORS rules.
      if (req.method === 'OPTIONS' || !bucket) return this.forward(req, res, undefined);
      if (req.method === 'POST' && url.search === '' && keyParts.length === 0) {
        const body = await readBody(req);
        const form = await parseForm(req, body);
        this.checkPostPolicy(bucket, form);
        return this.forward(req, res, body);
      }
      const accessKeyId = accessKeyOf(req, url);
      if (!accessKeyId) {
        if (bucket.publicAccessBlocked) throw new S3Refusal(403, 'AccessDenied', 'Access Denied');
        return this.forward(req, res, undefined);
      }
      verifySignature(req, url, accessKeyId);
      const action = objectAction(req.method ?? 'GET', url);
      const denial = this.options.authorize(accessKeyId, action, `${bucket.arn}/${key}`);
      if (denial) throw new S3Refusal(403, 'AccessDenied', denial);
      return this.forward(req, res, undefined);
    } catch (error) {
      const refusal = error instanceof S3Refusal ? error : new S3Refusal(500, 'InternalError', String(error));
      this.options.onRefused?.(refusal.code, refusal.message);
      if (!res.headersSent) {
        // The browser must be able to read the refusal of a cross-origin upload.
        const origin = req.headers.origin;
        res.writeHead(refusal.status, {
          'content-type': 'application/xml',
          ...(origin ? { 'access-control-allow-origin': origin } : {}),
          connection: 'close',
        });
      }
      res.end(errorXml(refusal.code, refusal.message));
      // The rest of a refused upload is not read: the client gets its answer without sending it all.
      req.resume();
    }
  }

  /** A POST upload: the policy must be signed by a known key, unexpired, and every field must satisfy it. */
  private checkPostPolicy(bucket: LocalBucket, form: PostForm): void {
    const field = (name: string) => form.fields.get(name.toLowerCase());
    const policyBase64 = field('policy');
    const credential = field('x-amz-credential');
    const signature = field('x-amz-signature');
    if (!policyBase64 || !credential || !signature) {
      if (bucket.publicAccessBlocked) throw new S3Refusal(403, 'AccessDenied', 'Access Denied');
      return;
    }
    const [accessKeyId = '', date = '', region = '', service = ''] = credential.split('/');
    if (!this.options.accessKeyIds.includes(accessKeyId)) {
      throw new S3Refusal(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
    }
    if (createHmac('sha256', signingKey(date, region, service)).update(policyBase64).digest('hex') !== signature) throw signatureMismatch();
    let policy: { expiration?: string; conditions?: unknown[] };
    try {
      policy = JSON.parse(Buffer.from(policyBase64, 'base64').toString('utf8')) as typeof policy;
    } catch {
      throw new S3Refusal(400, 'InvalidPolicyDocument', 'Invalid Policy: Invalid JSON.');
    }
    if (!policy.expiration || !(Date.parse(policy.expiration) > Date.now())) {
      throw new S3Refusal(403, 'AccessDenied', 'Invalid according to Policy: Policy expired.');
    }
    const covered = new Set(['policy', 'x-amz-signature', 'file']);
    const fieldValue = (name: string) => (name.toLowerCase() === 'bucket' ? bucket.name : field(name));
    for (const condition of policy.conditions ?? []) {
      const failed = () => new S3Refusal(403, 'AccessDenied', `Invalid according to Policy: Policy Condition failed: ${JSON.stringify(condition)}`);
      if (Array.isArray(condition)) {
        const [operator, subject, expected] = condition as [string, unknown, unknown];
        if (operator === 'content-length-range') {
          const [min, max] = [Number(subject), Number(expected)];
          if (form.fileSize > max) throw new S3Refusal(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
          if (form.fileSize < min) throw new S3Refusal(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size');
          continue;
        }
        const name = String(subject).replace(/^\$/, '').toLowerCase();
        covered.add(name);
        const actual = fieldValue(name) ?? '';
        if (operator === 'eq' && actual !== expected) throw failed();
        if (operator === 'starts-with' && !actual.startsWith(String(expected))) throw failed();
        if (operator !== 'eq' && operator !== 'starts-with') throw new S3Refusal(400, 'InvalidPolicyDocument', `Invalid Policy: Invalid Condition: ${JSON.stringify(condition)}`);
      } else if (condition && typeof condition === 'object') {
        for (const [name, expected] of Object.entries(condition)) {
          covered.add(name.toLowerCase());
          if (fieldValue(name) !== expected) throw failed();
        }
      }
    }
    const extra = [...form.fields.keys()].filter((name) => !covered.has(name) && !name.startsWith('x-ignore-'));
    if (extra.length) throw new S3Refusal(403, 'AccessDenied', `Invalid according to Policy: Extra input fields: ${extra.join(', ')}`);
    const key = field('key') ?? '';
    const actions = ['s3:PutObject', ...(field('tagging') ? ['s3:PutObjectTagging'] : [])];
    for (const action of actions) {
      const denial = this.options.authorize(accessKeyId, action, `${bucket.arn}/${key}`);
      if (denial) throw new S3Refusal(403, 'AccessDenied', denial);
    }
  }

  private forward(req: IncomingMessage, res: ServerResponse, body: Buffer | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const upstream = request(
        { host: '127.0.0.1', port: this.upstreamPort, method: req.method, path: req.url, headers: req.headers, agent: this.agent },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('end', resolve);
        },
      );
      upstream.on('error', (error) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/xml' });
        res.end(errorXml('InternalError', String(error)));
        resolve();
      });
      if (body) upstream.end(body);
      else req.pipe(upstream);
    });
  }
}

function signingKey(date: string, region: string, service: string): Buffer {
  return [date, region, service, 'aws4_request'].reduce<Buffer | string>(
    (key, part) => createHmac('sha256', key).update(part).digest(),
    `AWS4${LOCAL_SECRET_ACCESS_KEY}`,
  ) as Buffer;
}

function signatureMismatch(): S3Refusal {
  return new S3Refusal(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
}

/** RFC 3986 percent-encoding, as SigV4 canonical requests use it. */
function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Recomputes a SigV4 signature (Authorization header, or presigned query) and refuses a mismatch: S3's canonical
 * request with the path as sent (S3 does not encode it twice) and the payload hash the client declared.
 */
function verifySignature(req: IncomingMessage, url: URL, accessKeyId: string): void {
  const presigned = url.searchParams.has('X-Amz-Signature');
  const auth = presigned
    ? {
        credential: url.searchParams.get('X-Amz-Credential') ?? '',
        signedHeaders: url.searchParams.get('X-Amz-SignedHeaders') ?? '',
        signature: url.searchParams.get('X-Amz-Signature') ?? '',
        date: url.searchParams.get('X-Amz-Date') ?? '',
      }
    : {
        credential: /Credential=([^,\s]+)/.exec(req.headers.authorization ?? '')?.[1] ?? '',
        signedHeaders: /SignedHeaders=([^,\s]+)/.exec(req.headers.authorization ?? '')?.[1] ?? '',
        signature: /Signature=([0-9a-f]+)/.exec(req.headers.authorization ?? '')?.[1] ?? '',
        date: String(req.headers['x-amz-date'] ?? ''),
      };
  const [, day = '', region = '', service = ''] = auth.credential.split('/');
  if (!auth.credential.startsWith(`${accessKeyId}/`) || !auth.signature) throw signatureMismatch();
  const query = [...url.searchParams]
    .filter(([name]) => name !== 'X-Amz-Signature')
    .map(([name, value]) => `${rfc3986(name)}=${rfc3986(value)}`)
    .sort()
    .join('&');
  const headerNames = auth.signedHeaders.split(';');
  const canonicalHeaders = headerNames.map((name) => `${name}:${String(req.headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const payloadHash = presigned ? 'UNSIGNED-PAYLOAD' : String(req.headers['x-amz-content-sha256'] ?? 'UNSIGNED-PAYLOAD');
  const canonicalRequest = [req.method, url.pathname, query, canonicalHeaders, auth.signedHeaders, payloadHash].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', auth.date, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  if (createHmac('sha256', signingKey(day, region, service)).update(stringToSign).digest('hex') !== auth.signature) throw signatureMismatch();
}

interface PostForm {
  /** Form fields by lowercased name (S3 matches POST field names case-insensitively). */
  readonly fields: Map<string, string>;
  readonly fileSize: number;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_POST_BYTES) throw new S3Refusal(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_POST_BYTES) throw new S3Refusal(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The multipart form: fields before the file count (S3 ignores those after it); the file's size. */
async function parseForm(req: IncomingMessage, body: Buffer): Promise<PostForm> {
  let data: FormData;
  try {
    data = await new Response(body, { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
  } catch {
    throw new S3Refusal(412, 'PreconditionFailed', 'Bucket POST must be of the enclosure-type multipart/form-data');
  }
  const fields = new Map<string, string>();
  let fileSize: number | undefined;
  for (const [name, value] of data.entries()) {
    if (name === 'file') {
      fileSize = typeof value === 'string' ? Buffer.byteLength(value) : value.size;
      break;
    }
    if (typeof value === 'string') fields.set(name.toLowerCase(), value);
  }
  if (fileSize === undefined) throw new S3Refusal(400, 'InvalidArgument', 'POST requires exactly one file upload per request.');
  return { fields, fileSize };
}

function accessKeyOf(req: IncomingMessage, url: URL): string | undefined {
  const fromHeader = /Credential=([^/,\s]+)\//.exec(req.headers.authorization ?? '')?.[1];
  return fromHeader ?? url.searchParams.get('X-Amz-Credential')?.split('/')[0];
}

/** The IAM action of an object request (the few the functions make or presign). */
function objectAction(method: string, url: URL): string {
  if (url.searchParams.has('tagging')) return method === 'GET' ? 's3:GetObjectTagging' : 's3:PutObjectTagging';
  switch (method) {
    case 'GET':
    case 'HEAD':
      return 's3:GetObject';
    case 'PUT':
    case 'POST':
      return 's3:PutObject';
    case 'DELETE':
      return 's3:DeleteObject';
    default:
      return `s3:${method}`;
  }
}
