import { ATTACHMENT_MAX_BYTES_BOUNDS, type AttachmentPolicy } from '../domain/attachments.ts';
import { CONNECTIONS_PER_USER_BOUNDS, CONNECTIONS_PER_USER_DEFAULT } from '../domain/connection-quota.ts';
import { MESSAGE_RETENTION_SECONDS_BOUNDS, MESSAGE_RETENTION_SECONDS_DEFAULT } from '../domain/retention.ts';
import { ROOM_LIMIT_BOUNDS, ROOM_LIMITS_DEFAULT, type RoomLimits } from '../domain/room-limits.ts';
import { FANOUT_SHARD_SIZE_BOUNDS, FANOUT_THRESHOLD_BOUNDS, type LargeRoomPolicy } from '../domain/fanout.ts';
import { SEND_RATE_BOUNDS, type SendRateLimit } from '../domain/rate-limit.ts';
import { ROUTE_RATE_BOUNDS, type RouteRate } from '../domain/token-bucket.ts';

/** Names of the environment variables infra sets on the functions and the handlers read. */
export const ENV = {
  connectionsEndpoint: 'CONNECTIONS_ENDPOINT',
  jwtIssuer: 'JWT_ISSUER',
  jwtAudience: 'JWT_AUDIENCE',
  jwksUrl: 'JWKS_URL',
  stage: 'STAGE',
  /** On the send function: seconds a message is kept (its TTL); the stage's retention (default below). */
  messageRetentionSeconds: 'MESSAGE_RETENTION_SECONDS',
  /** Optional on the send function: sends one connection may make per window (default below). */
  sendRateLimit: 'SEND_RATE_LIMIT',
  /** Optional on the send function: the rate limit window in milliseconds (default below). */
  sendRateWindowMs: 'SEND_RATE_WINDOW_MS',
  /** With ROUTE_RATE_BURST, on functions whose route has a per-connection token bucket: tokens per second. */
  routeRatePerSecond: 'ROUTE_RATE_PER_SECOND',
  /** With ROUTE_RATE_PER_SECOND: the bucket's size. */
  routeRateBurst: 'ROUTE_RATE_BURST',
  /** On the $connect function: the open connections one user may hold (default below). */
  connectionsPerUser: 'CONNECTIONS_PER_USER',
  /** On the join function: rooms one connection may be in (default below). */
  roomsPerConnection: 'ROOMS_PER_CONNECTION',
  /** On the join function: users one room may hold (default below). */
  membersPerRoom: 'MEMBERS_PER_ROOM',
  /** On the typing function: the largest room typing events are relayed in (default below). */
  typingMaxMembers: 'TYPING_MAX_MEMBERS',
  /** Optional on functions that fan out: `@connections` posts kept in flight at once (default below). */
  fanoutConcurrency: 'FANOUT_CONCURRENCY',
  /** On functions that broadcast: the fan-out function large rooms are handed to (absent: no async fan-out). */
  fanoutFunction: 'FANOUT_FUNCTION',
  /** With FANOUT_FUNCTION: rooms with more recipients than this go to it. */
  fanoutAsyncThreshold: 'FANOUT_ASYNC_THRESHOLD',
  /** With FANOUT_FUNCTION: recipients per fan-out invocation. */
  fanoutShardSize: 'FANOUT_SHARD_SIZE',
  /** On functions granted the attachment bucket: its name. */
  attachmentsBucket: 'ATTACHMENTS_BUCKET',
  /** With ATTACHMENTS_BUCKET: the largest file in bytes. */
  attachmentMaxBytes: 'ATTACHMENT_MAX_BYTES',
  /** With ATTACHMENTS_BUCKET: the content types that may be uploaded, comma-separated. */
  attachmentContentTypes: 'ATTACHMENT_CONTENT_TYPES',
  /** With ATTACHMENTS_BUCKET: the types downloads show inline (images), comma-separated; may be empty. */
  attachmentInlineTypes: 'ATTACHMENT_INLINE_TYPES',
} as const;

/**
 * The canary's variables, apart from ENV: every bundle carries ENV, and only the canary and the authorizer read
 * these (a separate object is left out of the other bundles).
 */
export const CANARY_ENV = {
  /** On the canary: the stage's wss:// URL, as clients connect to it. */
  url: 'CANARY_URL',
  /** On the canary and the authorizer: the one room the canary's identity may enter. */
  room: 'CANARY_ROOM',
  /** On the canary: the issuer's OAuth 2.0 token endpoint (client-credentials grant). */
  tokenEndpoint: 'CANARY_TOKEN_ENDPOINT',
  /** On the canary and the authorizer: the scope the canary's token is asked for and must carry. */
  scope: 'CANARY_SCOPE',
  /** On the canary and the authorizer: the machine client's id (the canary's tokens carry it as client_id). */
  clientId: 'CANARY_CLIENT_ID',
  /** On the canary: the Secrets Manager secret holding the machine client's secret (the only secret it may read). */
  secretArn: 'CANARY_SECRET_ARN',
} as const;

/** Posts in flight at once: enough to hide latency, few enough to stay under the account's callback throttle. */
export const FANOUT_CONCURRENCY_DEFAULT = 32;
export const FANOUT_CONCURRENCY_BOUNDS = { min: 1, max: 100 } as const;

/** What a connection may send when the stage configures nothing else: 20 sends per 10 seconds. */
export const SEND_RATE_DEFAULT: SendRateLimit = { maxSends: 20, windowMs: 10_000 };

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Missing environment variable ${name}`);
  return value;
}

/** An unset (or empty) variable means the default; anything else must be an integer within the bounds. */
function integerEnv(env: NodeJS.ProcessEnv, name: string, fallback: number, bounds: { min: number; max: number }): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= bounds.min && value <= bounds.max)) {
    throw new Error(`Environment variable ${name} must be an integer from ${bounds.min} to ${bounds.max}, got "${raw}"`);
  }
  return value;
}

export function messageRetentionSecondsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return integerEnv(env, ENV.messageRetentionSeconds, MESSAGE_RETENTION_SECONDS_DEFAULT, MESSAGE_RETENTION_SECONDS_BOUNDS);
}

export function connectionsPerUserFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return integerEnv(env, ENV.connectionsPerUser, CONNECTIONS_PER_USER_DEFAULT, CONNECTIONS_PER_USER_BOUNDS);
}

/** Each room limit the function's environment sets, the default for the others (each function gets its own). */
export function roomLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): RoomLimits {
  const limit = (name: string, key: keyof RoomLimits) => integerEnv(env, name, ROOM_LIMITS_DEFAULT[key], ROOM_LIMIT_BOUNDS[key]);
  return {
    roomsPerConnection: limit(ENV.roomsPerConnection, 'roomsPerConnection'),
    membersPerRoom: limit(ENV.membersPerRoom, 'membersPerRoom'),
    typingMaxMembers: limit(ENV.typingMaxMembers, 'typingMaxMembers'),
  };
}

export function fanoutConcurrencyFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return integerEnv(env, ENV.fanoutConcurrency, FANOUT_CONCURRENCY_DEFAULT, FANOUT_CONCURRENCY_BOUNDS);
}

/** The large-room policy, or undefined when the function has no fan-out function to hand rooms to. */
export function largeRoomPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): (LargeRoomPolicy & { functionName: string }) | undefined {
  const functionName = env[ENV.fanoutFunction];
  if (!functionName) return undefined;
  const required = (name: string) => {
    if (!env[name]) throw new Error(`Environment variable ${name} is required with ${ENV.fanoutFunction}`);
    return name;
  };
  return {
    functionName,
    threshold: integerEnv(env, required(ENV.fanoutAsyncThreshold), 0, FANOUT_THRESHOLD_BOUNDS),
    shardSize: integerEnv(env, required(ENV.fanoutShardSize), 0, FANOUT_SHARD_SIZE_BOUNDS),
  };
}

/** The send rate limit from the environment; a misconfigured value fails the cold start loudly. */
export function sendRateLimitFromEnv(env: NodeJS.ProcessEnv = process.env): SendRateLimit {
  return {
    maxSends: integerEnv(env, ENV.sendRateLimit, SEND_RATE_DEFAULT.maxSends, SEND_RATE_BOUNDS.maxSends),
    windowMs: integerEnv(env, ENV.sendRateWindowMs, SEND_RATE_DEFAULT.windowMs, SEND_RATE_BOUNDS.windowMs),
  };
}

/** The route's token bucket, or undefined when the function has none; half a setting fails the cold start. */
export function routeRateFromEnv(env: NodeJS.ProcessEnv = process.env): RouteRate | undefined {
  const rate = env[ENV.routeRatePerSecond];
  const burst = env[ENV.routeRateBurst];
  if (!rate && !burst) return undefined;
  const ratePerSecond = Number(rate);
  const bounds = ROUTE_RATE_BOUNDS.ratePerSecond;
  if (!rate || !/^\d+(\.\d+)?$/.test(rate) || !(ratePerSecond >= bounds.min && ratePerSecond <= bounds.max)) {
    throw new Error(`Environment variable ${ENV.routeRatePerSecond} must be a number from ${bounds.min} to ${bounds.max}, got "${rate ?? ''}"`);
  }
  if (!burst) throw new Error(`Environment variable ${ENV.routeRateBurst} is required with ${ENV.routeRatePerSecond}`);
  return { ratePerSecond, burst: integerEnv(env, ENV.routeRateBurst, 0, ROUTE_RATE_BOUNDS.burst) };
}

/** A comma-separated list; empty entries are dropped. */
function listEnv(env: NodeJS.ProcessEnv, name: string): string[] {
  return (env[name] ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0);
}

/** The bucket and what it admits, or undefined when the function is not granted the bucket. */
export function attachmentSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): { bucket: string; policy: AttachmentPolicy } | undefined {
  const bucket = env[ENV.attachmentsBucket];
  if (!bucket) return undefined;
  if (!env[ENV.attachmentMaxBytes]) throw new Error(`Environment variable ${ENV.attachmentMaxBytes} is required with ${ENV.attachmentsBucket}`);
  const contentTypes = listEnv(env, ENV.attachmentContentTypes);
  if (contentTypes.length === 0) throw new Error(`Environment variable ${ENV.attachmentContentTypes} must list at least one content type`);
  const inlineTypes = listEnv(env, ENV.attachmentInlineTypes);
  const stray = inlineTypes.filter((type) => !contentTypes.includes(type));
  if (stray.length) throw new Error(`Environment variable ${ENV.attachmentInlineTypes} names types that may not be uploaded: ${stray.join(', ')}`);
  return {
    bucket,
    policy: { maxBytes: integerEnv(env, ENV.attachmentMaxBytes, 0, ATTACHMENT_MAX_BYTES_BOUNDS), contentTypes, inlineTypes },
  };
}

/** The canary's machine client as the authorizer accepts it: tokens of this client with this scope, confined to this room. */
export interface CanaryIdentity {
  readonly clientId: string;
  readonly scope: string;
  readonly room: string;
}

/** On the authorizer: the canary's identity, or undefined on a stage without one; half a setting fails the cold start. */
export function canaryIdentityFromEnv(env: NodeJS.ProcessEnv = process.env): CanaryIdentity | undefined {
  const names = [CANARY_ENV.clientId, CANARY_ENV.scope, CANARY_ENV.room];
  const set = names.filter((name) => env[name]);
  if (set.length === 0) return undefined;
  if (set.length < names.length) throw new Error(`Environment variables ${names.join(', ')} go together; only ${set.join(', ')} set`);
  return { clientId: env[CANARY_ENV.clientId] as string, scope: env[CANARY_ENV.scope] as string, room: env[CANARY_ENV.room] as string };
}
