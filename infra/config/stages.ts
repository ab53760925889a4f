/**
 * Typed configuration of every stage, in one place, checked by `validateStages` before anything is synthesized.
 * What differs between deployments of a stage (the token issuer, key and certificate ARNs, alarm e-mails) is not
 * here: those are Terraform variables (infra/config/variables.ts) an SRE sets in tfvars (docs/operations.md).
 */
import { z } from 'zod';
import { ALARMS, type AlarmDefinition } from '../../dashboards/alarms.ts';
import { SLOS, type SloId } from '../../dashboards/slos.ts';
import { FANOUT_CONCURRENCY_BOUNDS } from '../../functions/catalog/env.ts';
import { ATTACHMENT_MAX_BYTES_BOUNDS, type AttachmentPolicy } from '../../functions/domain/attachments.ts';
import { CONNECTIONS_PER_USER_BOUNDS } from '../../functions/domain/connection-quota.ts';
import { FANOUT_SHARD_SIZE_BOUNDS, FANOUT_THRESHOLD_BOUNDS } from '../../functions/domain/fanout.ts';
import { MESSAGE_RETENTION_DAYS_BOUNDS } from '../../functions/domain/retention.ts';
import { ROOM_LIMIT_BOUNDS } from '../../functions/domain/room-limits.ts';
import { FUNCTION_NAMES, FUNCTIONS, ROUTES, type FunctionName } from '../../functions/catalog/functions.ts';
import { SEND_RATE_BOUNDS, type SendRateLimit } from '../../functions/domain/rate-limit.ts';
import { ROUTE_RATE_BOUNDS, type RouteRate } from '../../functions/domain/token-bucket.ts';

export interface ThrottleSettings {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Requests API Gateway accepts at once above the steady rate; at least `rateLimit`. */
  readonly burstLimit: number;
}

export interface StageThrottle extends ThrottleSettings {
  /** Limits for single routes of the route table (functions/catalog/functions.ts), replacing the stage default. */
  readonly routes?: Readonly<Partial<Record<string, ThrottleSettings>>>;
}

export interface ObservabilitySettings {
  /** Default of the `runbook_base_url` variable: alarm descriptions link `<base>/dashboards/runbooks/<alarm>.md`. */
  readonly runbookBaseUrl: string;
  /** Per-stage thresholds replacing the catalog's defaults (dashboards/alarms.ts), by alarm id. */
  readonly alarmThresholds?: Readonly<Partial<Record<string, number>>>;
  /** `terraform plan` fails until a page email or HTTPS endpoint is set: a stage users depend on must page someone. */
  readonly requirePageTarget: boolean;
  /**
   * Requests per alarm period below which a rate alarm reads 0 (the traffic floor): at 3 requests a period one
   * failure is 33%, which says nothing about the service.
   */
  readonly rateAlarmMinRequests: number;
  /** The account's Lambda concurrency quota in the stage's Region (Service Quotas; 1,000 unless raised). */
  readonly lambdaConcurrencyQuota: number;
  /** Target of each SLO of dashboards/slos.ts, in percent of good events over 30 days (99.9: a 0.1% error budget). */
  readonly sloTargets: Readonly<Record<SloId, number>>;
}

/**
 * Who issues the JWTs that open a connection.
 * - `external`: any OIDC issuer, named by the `jwt_issuer`, `jwt_audience` and `jwks_url` variables.
 * - `cognito`: the stack creates a Cognito user pool and app client and trusts their ID tokens.
 */
export type IdentityProvider = 'external' | 'cognito';

export interface FanoutSettings {
  /** `@connections` posts one fan-out keeps in flight at once (env FANOUT_CONCURRENCY). */
  readonly concurrency: number;
  /**
   * Rooms with more recipients than this are cut into shards handed to the fan-out function by asynchronous
   * invoke, so no sender waits on (or times out over) a huge room (env FANOUT_ASYNC_THRESHOLD).
   */
  readonly asyncThreshold: number;
  /** Recipients per fan-out invocation (env FANOUT_SHARD_SIZE). */
  readonly shardSize: number;
}

/**
 * Provisioned concurrency on a function's `live` alias, scaled by Application Auto Scaling between `min` and `max`
 * to keep LambdaProvisionedConcurrencyUtilization at `targetUtilization`.
 */
export interface ProvisionedConcurrency {
  readonly min: number;
  readonly max: number;
  /** The share of provisioned environments busy that target tracking aims at (0.7: 30% headroom for a burst). */
  readonly targetUtilization: number;
  /** Known peaks: from each `schedule` (an Application Auto Scaling at()/cron() expression, UTC) the bounds are these. */
  readonly schedules?: readonly ScheduledCapacity[];
}

export interface ScheduledCapacity {
  /** Part of the scheduled action's name: `<service>-<stage>-<function>-<name>`. */
  readonly name: string;
  readonly schedule: string;
  readonly min: number;
  readonly max: number;
}

export interface ConcurrencySettings {
  /**
   * reserved_concurrent_executions of every function: the most it may run at once, and guaranteed to it, so a
   * burst of asynchronous fan-out cannot take the connect path's concurrency. Their sum must leave AWS's
   * unreserved minimum of the account quota (observability.lambdaConcurrencyQuota); validateStages checks it.
   */
  readonly reserved: Readonly<Record<FunctionName, number>>;
  /** Pre-initialized environments on the alias of the functions named (none for the others). */
  readonly provisioned: Readonly<Partial<Record<FunctionName, ProvisionedConcurrency>>>;
}

/** The routes with a token bucket per connection: those the function catalog marks `routeRateLimited`. */
export type RateLimitedRoute = {
  [K in FunctionName]: (typeof FUNCTIONS)[K] extends { readonly routeRateLimited: true } ? K : never;
}[FunctionName];

export const RATE_LIMITED_ROUTES = (Object.keys(FUNCTIONS) as FunctionName[]).filter(
  (name) => (FUNCTIONS[name] as { routeRateLimited?: true }).routeRateLimited,
) as RateLimitedRoute[];

export interface ConnectionLimits {
  /** Open connections one user may hold; the next handshake is refused with 429 (env CONNECTIONS_PER_USER on $connect). */
  readonly connectionsPerUser: number;
  /** Rooms one connection may be in; the next join is TOO_MANY_ROOMS (env ROOMS_PER_CONNECTION on join). */
  readonly roomsPerConnection: number;
  /** Users one room may hold; a join of one more is ROOM_FULL (env MEMBERS_PER_ROOM on join). */
  readonly membersPerRoom: number;
  /** Typing events are relayed only in rooms of at most this many users (env TYPING_MAX_MEMBERS on typing). */
  readonly typingMaxMembers: number;
  /** Per-connection token bucket of each route but send (env ROUTE_RATE_* on its function). */
  readonly routeRates: Readonly<Record<RateLimitedRoute, RouteRate>>;
}

export interface CostControls {
  /**
   * Default of the `monthly_budget_usd` variable: the stage's AWS Budgets amount in USD per month. A deployment
   * sets its own in tfvars; this is what the stage costs at its expected traffic (docs/capacity.md) plus headroom.
   */
  readonly monthlyBudgetUsd: number;
}

export interface AuditSettings {
  /**
   * Declare the stage's own CloudTrail trail (management events plus data events on its tables and functions).
   * A deployment whose organization trail already records them turns it off with `organization_trail_exists`.
   */
  readonly trail: boolean;
  /** Days the trail's log files are kept in its bucket before S3 expires them. */
  readonly retentionDays: number;
}

export interface StageTags {
  readonly owner: string;
  readonly 'cost-center': string;
}

export interface StageConfig {
  /** The stage's key in STAGES; part of every resource name and of the WebSocket URL. */
  readonly name: string;
  readonly region: string;
  /** Retention of every log group of the stage (functions and API access logs). */
  readonly logRetentionDays: number;
  /**
   * Days a message is kept after it is sent (env MESSAGE_RETENTION_SECONDS on send, the messages table's TTL);
   * history then starts after the expired ones (docs/protocol.md#retention).
   */
  readonly messageRetentionDays: number;
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  readonly throttle: StageThrottle;
  /** Per-route API Gateway metrics (a RouteKey dimension); CloudWatch bills each one. */
  readonly detailedMetrics: boolean;
  /** Deletion protection on the tables and on the Cognito user pool. */
  readonly deletionProtection: boolean;
  /** Point-in-time recovery on the tables the table catalog marks as not rebuildable (rooms, roles, messages). */
  readonly pointInTimeRecovery: boolean;
  readonly identityProvider: IdentityProvider;
  /** Encrypt tables and log groups with the customer-managed KMS key given as the `kms_key_arn` variable. */
  readonly customerManagedKey: boolean;
  /** Serve the API on the `custom_domain_name` variable with the ACM certificate `custom_domain_certificate_arn`. */
  readonly customDomain: boolean;
  /**
   * Manage the account's API Gateway CloudWatch Logs role (`aws_api_gateway_account`, one per account and
   * Region). Exactly one stack per account and Region may turn this on; see docs/operations.md.
   */
  readonly manageApiGatewayAccount: boolean;
  readonly fanout: FanoutSettings;
  readonly concurrency: ConcurrencySettings;
  /** Sends one connection may make per window; more get RATE_LIMITED (env SEND_RATE_* on send). */
  readonly sendRate: SendRateLimit;
  readonly limits: ConnectionLimits;
  /** What the attachment bucket admits (env ATTACHMENT_* on the functions granted it). */
  readonly attachments: AttachmentPolicy;
  /** Added to the provider's default tags (with `service`, `stage` and `managed-by`). */
  readonly tags: StageTags;
  readonly observability: ObservabilitySettings;
  readonly cost: CostControls;
  readonly audit: AuditSettings;
}

const RUNBOOKS = 'https://github.com/wschat/wschat/blob/main';

export const SERVICE = 'wschat';

/**
 * Per-connection token buckets, the same in every stage: well above what a person or the client library does (it
 * pings once a minute, pages history one request at a time), well below what a script can: a join/leave loop gets
 * 20 at once, then 2 per second. An owner setting up a room invites a handful at once; a script cannot sweep a
 * user list.
 */
const ROUTE_RATES = {
  join: { ratePerSecond: 2, burst: 20 },
  leave: { ratePerSecond: 2, burst: 20 },
  history: { ratePerSecond: 5, burst: 20 },
  who: { ratePerSecond: 1, burst: 10 },
  typing: { ratePerSecond: 2, burst: 10 },
  ping: { ratePerSecond: 1, burst: 10 },
  invite: { ratePerSecond: 1, burst: 20 },
  remove: { ratePerSecond: 1, burst: 20 },
  upload: { ratePerSecond: 1, burst: 10 },
  // A page opening a room fetches a link per image it shows; a backlog of pictures is a burst.
  download: { ratePerSecond: 10, burst: 50 },
};

/**
 * Files people share in a chat: pictures (shown inline: formats browsers render without scripts; never SVG), PDFs
 * and plain text. Anything else is refused, so the bucket never serves an HTML page or a program.
 */
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
const ATTACHMENT_TYPES = [...IMAGE_TYPES, 'application/pdf', 'text/plain'];
const MB = 1024 * 1024;

/**
 * Rooms per connection and the typing cut-off, the same in every stage: a client joins the rooms its user has
 * open (50 is a busy workspace, not a crawler), and typing is worth relaying to a conversation, not an auditorium.
 */
const ROOM_LIMITS = { roomsPerConnection: 50, typingMaxMembers: 100 };

/**
 * Per-function reservations, 701 of an account quota of 1,000 (the canary's 1 on top of 700): Lambda keeps 100 unreserved, and 200 more stay free
 * for the account's other functions, so the lambda-concurrency ticket (90% claimed) still means something. The
 * connect path and send get the most (each at least its provisioned max): a reconnect storm arrives there first,
 * throttled at $connect's route limit (200/s, burst 400); fan-out bursts are capped so they cannot starve it.
 */
const PROD_RESERVED_CONCURRENCY = {
  authorizer: 150,
  connect: 150,
  disconnect: 40,
  default: 5,
  join: 30,
  leave: 10,
  invite: 5,
  remove: 5,
  send: 200,
  upload: 10,
  download: 15,
  history: 20,
  who: 5,
  typing: 20,
  fanout: 25,
  ping: 10,
  // One run at a time: its 45 s timeout keeps minute runs apart, and a second environment would be idle cost.
  canary: 1,
} as const satisfies Record<FunctionName, number>;

/**
 * Dev's reservations, 881 of the default quota (the canary's 1 included). Local test runs queue invocations on a 2-core machine far
 * longer than Lambda would run them, so they count as concurrent longer: the frame routes keep room for a flood.
 */
const DEV_RESERVED_CONCURRENCY = {
  authorizer: 100,
  connect: 100,
  disconnect: 100,
  default: 40,
  join: 60,
  leave: 40,
  invite: 30,
  remove: 30,
  send: 100,
  upload: 30,
  download: 40,
  history: 40,
  who: 40,
  typing: 40,
  fanout: 50,
  ping: 40,
  canary: 1,
} as const satisfies Record<FunctionName, number>;

export const STAGES = {
  dev: {
    name: 'dev',
    region: 'us-east-1',
    logRetentionDays: 14,
    // Test conversations, kept as long as a sprint's worth of debugging needs and no longer.
    messageRetentionDays: 7,
    logLevel: 'DEBUG',
    throttle: { rateLimit: 100, burstLimit: 200, routes: { send: { rateLimit: 50, burstLimit: 100 } } },
    detailedMetrics: false,
    deletionProtection: false,
    pointInTimeRecovery: false,
    // The local runtime (npm start) runs the dev plan as its own issuer through the jwt_* variables.
    identityProvider: 'external',
    customerManagedKey: false,
    customDomain: false,
    manageApiGatewayAccount: true,
    // Low enough that the local load test's 500-member room, and the e2e suites, go through the async path.
    fanout: { concurrency: 32, asyncThreshold: 200, shardSize: 100 },
    // Nothing provisioned: dev traffic is developers and test runs, which a cold start does not hurt. Reservations
    // as in prod, sized to the dev account's quota: the local stack throttles beyond them as Lambda would.
    concurrency: { reserved: DEV_RESERVED_CONCURRENCY, provisioned: {} },
    sendRate: { maxSends: 20, windowMs: 10_000 },
    attachments: { maxBytes: 10 * MB, contentTypes: ATTACHMENT_TYPES, inlineTypes: IMAGE_TYPES },
    limits: {
      // A person's devices and tabs; a script opening more is refused at the handshake.
      connectionsPerUser: 10,
      ...ROOM_LIMITS,
      // Above the local load test's 500-member room.
      membersPerRoom: 1000,
      routeRates: ROUTE_RATES,
    },
    tags: { owner: 'chat-team', 'cost-center': 'chat-dev' },
    // Dev pages nobody unless its operator asks. Its traffic is a handful of developers, and the local drills
    // compress a minute into a second (four requests a period), so its traffic floor is 2 requests a minute.
    observability: {
      runbookBaseUrl: RUNBOOKS,
      alarmThresholds: { 'auth-failures': 20, 'connections-refused': 20 },
      requirePageTarget: false,
      rateAlarmMinRequests: 2,
      lambdaConcurrencyQuota: 1000,
      // Looser than prod: dev shares its machines with experiments, and its budget should not burn on them.
      sloTargets: { 'send-availability': 99, 'delivery-latency': 95 },
    },
    cost: { monthlyBudgetUsd: 100 },
    audit: { trail: true, retentionDays: 90 },
  },
  prod: {
    name: 'prod',
    region: 'us-east-1',
    logRetentionDays: 90,
    // A year of searchable chat history is what teams expect of a work chat; longer is data kept only to be
    // erased later (and backups, PITR's 35 days, outlive it by at most that).
    messageRetentionDays: 365,
    logLevel: 'INFO',
    throttle: {
      rateLimit: 1000,
      burstLimit: 2000,
      routes: {
        // Each connect runs the authorizer and fetches keys: a reconnect storm is held at the door.
        $connect: { rateLimit: 200, burstLimit: 400 },
        send: { rateLimit: 500, burstLimit: 1000 },
      },
    },
    detailedMetrics: true,
    deletionProtection: true,
    pointInTimeRecovery: true,
    identityProvider: 'cognito',
    customerManagedKey: true,
    customDomain: true,
    // Production accounts usually have this set by their platform team; a stack that owns it opts in.
    manageApiGatewayAccount: false,
    // 1,000 posts at 32 in flight take about a second in the sender; beyond that, shards run side by side.
    fanout: { concurrency: 32, asyncThreshold: 1000, shardSize: 500 },
    concurrency: {
      reserved: PROD_RESERVED_CONCURRENCY,
      // The connect path and send are what a reconnect storm and a busy room hit first; a cold start there is a
      // handshake or an ack late by the Init time (docs/operations.md#spikes). Max stays within the reservation.
      provisioned: {
        authorizer: { min: 10, max: 150, targetUtilization: 0.7 },
        connect: { min: 10, max: 150, targetUtilization: 0.7 },
        send: { min: 10, max: 200, targetUtilization: 0.7 },
      },
    },
    sendRate: { maxSends: 20, windowMs: 10_000 },
    attachments: { maxBytes: 25 * MB, contentTypes: ATTACHMENT_TYPES, inlineTypes: IMAGE_TYPES },
    limits: { connectionsPerUser: 10, ...ROOM_LIMITS, membersPerRoom: 10_000, routeRates: ROUTE_RATES },
    tags: { owner: 'chat-team', 'cost-center': 'chat-prod' },
    observability: {
      runbookBaseUrl: RUNBOOKS,
      requirePageTarget: true,
      rateAlarmMinRequests: 50,
      lambdaConcurrencyQuota: 1000,
      // 99.9%: 43 minutes of failing sends a month; 99% of fan-outs within 2 s (a 1,000-member room takes ~1 s).
      sloTargets: { 'send-availability': 99.9, 'delivery-latency': 99 },
    },
    cost: { monthlyBudgetUsd: 2000 },
    // A year and a month: an audit looking back over the last year still finds the events it starts from.
    audit: { trail: true, retentionDays: 400 },
  },
} as const satisfies Record<string, StageConfig>;

export type StageName = keyof typeof STAGES;

export const STAGE_NAMES = Object.keys(STAGES) as StageName[];

/** `wschat-dev`, the stack directory under cdktf.out/stacks/ and the prefix of every resource name. */
export function stackName(stage: string): string {
  return `${SERVICE}-${stage}`;
}

/** The one naming convention: `<service>-<stage>-<part>`. */
export function resourceName(stage: StageConfig, part: string): string {
  return `${SERVICE}-${stage.name}-${part}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Validation: every field is checked when synthesis starts, and every problem names its field.
// ---------------------------------------------------------------------------------------------------------------

/** The retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** An AWS Region code such as us-east-1. */
export const REGION_CODE = /^[a-z]{2}(-[a-z]+)+-\d+$/;


const throttleFields = {
  rateLimit: z.number().positive('must be a positive number of requests per second'),
  burstLimit: z.int('must be a whole number of requests').positive('must be a positive number of requests'),
};
const burstCoversRate = (t: ThrottleSettings) => t.burstLimit >= t.rateLimit;
const burstBelowRate = { message: 'must be at least rateLimit', path: ['burstLimit'] };

/**
 * Lambda refuses a reservation that leaves fewer than 100 of the account's concurrent executions unreserved:
 * "You can reserve up to the Unreserved account concurrency value that is shown, minus 100 for functions that
 * don't have reserved concurrency" (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html,
 * read 2026-12-03). `terraform apply` would fail on the function that crosses it; synthesis fails first.
 */
export const UNRESERVED_CONCURRENCY_MINIMUM = 100;

const routeKeys = ROUTES.map((r) => r.routeKey);
const executions = (min: number) => z.int('must be a whole number of executions').min(min, `must be at least ${min}`);
const capacityBounds = { min: executions(0), max: executions(1) };
const minWithinMax = { message: 'must be at most max', path: ['min'] };
// Alarms decided by an anomaly band have no threshold to replace.
const thresholdAlarmIds = (ALARMS as readonly AlarmDefinition[]).filter((a) => a.rule.kind !== 'anomaly').map((a) => a.id);
const tagValue = z
  .string()
  .min(1, 'must not be empty')
  .max(256, 'must be at most 256 characters')
  .regex(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u, 'may only hold letters, digits, spaces and _ . : / = + - @');

/** A whole number of `what` within a domain module's bounds. */
const boundedInt = (bounds: { readonly min: number; readonly max: number }, what: string) =>
  z
    .int(`must be a whole number of ${what}`)
    .min(bounds.min, `must be at least ${bounds.min}`)
    .max(bounds.max, `must be at most ${bounds.max}`);

const stageSchema: z.ZodType<StageConfig> = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9]{0,9}$/, 'must be 1-10 lowercase letters or digits, starting with a letter'),
  region: z.string().regex(REGION_CODE, 'must be an AWS Region code such as us-east-1'),
  logRetentionDays: z
    .number()
    .refine((days) => LOG_RETENTION_DAYS.includes(days), `must be one of CloudWatch's retention periods: ${LOG_RETENTION_DAYS.join(', ')}`),
  messageRetentionDays: boundedInt(MESSAGE_RETENTION_DAYS_BOUNDS, 'days'),
  logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']),
  throttle: z
    .strictObject({
      ...throttleFields,
      routes: z
        .record(
          z.string().refine((key) => routeKeys.includes(key), `must be a route of the route table: ${routeKeys.join(', ')}`),
          z.strictObject(throttleFields).refine(burstCoversRate, burstBelowRate),
        )
        .optional(),
    })
    .refine(burstCoversRate, burstBelowRate),
  detailedMetrics: z.boolean(),
  deletionProtection: z.boolean(),
  pointInTimeRecovery: z.boolean(),
  identityProvider: z.enum(['external', 'cognito']),
  customerManagedKey: z.boolean(),
  customDomain: z.boolean(),
  manageApiGatewayAccount: z.boolean(),
  fanout: z.strictObject({
    concurrency: z
      .int('must be a whole number')
      .min(FANOUT_CONCURRENCY_BOUNDS.min, `must be at least ${FANOUT_CONCURRENCY_BOUNDS.min}`)
      .max(FANOUT_CONCURRENCY_BOUNDS.max, `must be at most ${FANOUT_CONCURRENCY_BOUNDS.max}`),
    asyncThreshold: z
      .int('must be a whole number')
      .min(FANOUT_THRESHOLD_BOUNDS.min, `must be at least ${FANOUT_THRESHOLD_BOUNDS.min}`)
      .max(FANOUT_THRESHOLD_BOUNDS.max, `must be at most ${FANOUT_THRESHOLD_BOUNDS.max}`),
    shardSize: z
      .int('must be a whole number')
      .min(FANOUT_SHARD_SIZE_BOUNDS.min, `must be at least ${FANOUT_SHARD_SIZE_BOUNDS.min}`)
      .max(FANOUT_SHARD_SIZE_BOUNDS.max, `must be at most ${FANOUT_SHARD_SIZE_BOUNDS.max}`),
  }),
  concurrency: z.strictObject({
    reserved: z.strictObject(
      Object.fromEntries(
        FUNCTION_NAMES.map((name) => [name, z.int('must be a whole number of executions').min(1, 'must be at least 1 (0 throttles every invocation)')]),
      ) as Record<FunctionName, z.ZodInt>,
    ),
    provisioned: z.partialRecord(
      z.enum(FUNCTION_NAMES as [FunctionName, ...FunctionName[]], { error: `must be a function of the catalog: ${FUNCTION_NAMES.join(', ')}` }),
      z.strictObject({
        ...capacityBounds,
        targetUtilization: z.number().min(0.1, 'must be at least 0.1').max(0.9, 'must be at most 0.9 (no headroom left for a burst)'),
        schedules: z
          .array(
            z
              .strictObject({
                name: z.string().regex(/^[a-z0-9-]{1,40}$/, 'must be 1-40 lowercase letters, digits or -'),
                schedule: z.string().regex(/^(at|cron|rate)\(.+\)$/, 'must be an at(...), cron(...) or rate(...) expression'),
                ...capacityBounds,
              })
              .refine((c) => c.min <= c.max, minWithinMax),
          )
          .optional(),
      }).refine((c) => c.min <= c.max, minWithinMax),
    ),
  }),
  sendRate: z.strictObject({
    maxSends: z
      .int('must be a whole number')
      .min(SEND_RATE_BOUNDS.maxSends.min, `must be at least ${SEND_RATE_BOUNDS.maxSends.min}`)
      .max(SEND_RATE_BOUNDS.maxSends.max, `must be at most ${SEND_RATE_BOUNDS.maxSends.max}`),
    windowMs: z
      .int('must be a whole number of milliseconds')
      .min(SEND_RATE_BOUNDS.windowMs.min, `must be at least ${SEND_RATE_BOUNDS.windowMs.min}`)
      .max(SEND_RATE_BOUNDS.windowMs.max, `must be at most ${SEND_RATE_BOUNDS.windowMs.max}`),
  }),
  limits: z.strictObject({
    connectionsPerUser: z
      .int('must be a whole number of connections')
      .min(CONNECTIONS_PER_USER_BOUNDS.min, `must be at least ${CONNECTIONS_PER_USER_BOUNDS.min}`)
      .max(CONNECTIONS_PER_USER_BOUNDS.max, `must be at most ${CONNECTIONS_PER_USER_BOUNDS.max}`),
    roomsPerConnection: boundedInt(ROOM_LIMIT_BOUNDS.roomsPerConnection, 'rooms'),
    membersPerRoom: boundedInt(ROOM_LIMIT_BOUNDS.membersPerRoom, 'users'),
    typingMaxMembers: boundedInt(ROOM_LIMIT_BOUNDS.typingMaxMembers, 'users'),
    routeRates: z.strictObject(
      Object.fromEntries(
        RATE_LIMITED_ROUTES.map((route) => [
          route,
          z.strictObject({
            ratePerSecond: z
              .number()
              .min(ROUTE_RATE_BOUNDS.ratePerSecond.min, `must be at least ${ROUTE_RATE_BOUNDS.ratePerSecond.min} per second`)
              .max(ROUTE_RATE_BOUNDS.ratePerSecond.max, `must be at most ${ROUTE_RATE_BOUNDS.ratePerSecond.max} per second`),
            burst: z
              .int('must be a whole number of requests')
              .min(ROUTE_RATE_BOUNDS.burst.min, `must be at least ${ROUTE_RATE_BOUNDS.burst.min}`)
              .max(ROUTE_RATE_BOUNDS.burst.max, `must be at most ${ROUTE_RATE_BOUNDS.burst.max}`),
          }),
        ]),
      ) as unknown as Record<RateLimitedRoute, z.ZodType<RouteRate>>,
    ),
  }),
  attachments: z
    .strictObject({
      maxBytes: z
        .int('must be a whole number of bytes')
        .min(ATTACHMENT_MAX_BYTES_BOUNDS.min, `must be at least ${ATTACHMENT_MAX_BYTES_BOUNDS.min}`)
        // A presigned POST uploads one object of at most 5 GB.
        .max(ATTACHMENT_MAX_BYTES_BOUNDS.max, `must be at most ${ATTACHMENT_MAX_BYTES_BOUNDS.max} (S3's limit for a POST upload)`),
      contentTypes: z.array(z.string().regex(/^[a-z]+\/[a-z0-9.+-]+$/, 'must be a lowercase type/subtype')).min(1, 'must list at least one type'),
      inlineTypes: z.array(z.string()),
    })
    .refine((a) => a.inlineTypes.every((t) => a.contentTypes.includes(t)), { message: 'must only name types of contentTypes', path: ['inlineTypes'] }),
  tags: z.strictObject({ owner: tagValue, 'cost-center': tagValue }),
  observability: z.strictObject({
    runbookBaseUrl: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }),
    alarmThresholds: z
      .record(
        z.string().refine((id) => thresholdAlarmIds.includes(id), `must be the id of a threshold alarm in dashboards/alarms.ts: ${thresholdAlarmIds.join(', ')}`),
        z.number().nonnegative('must be a number of at least 0'),
      )
      .optional(),
    requirePageTarget: z.boolean(),
    rateAlarmMinRequests: z.int('must be a whole number of requests').positive('must be at least 1 request per period'),
    lambdaConcurrencyQuota: z.int('must be a whole number of executions').min(10, 'must be at least 10 (the smallest Lambda account quota)'),
    // Under 100: a 100% target has no error budget, and every burn-rate alarm would divide by zero.
    sloTargets: z.strictObject(
      Object.fromEntries(SLOS.map((slo) => [slo.id, z.number().min(50, 'must be at least 50 (percent)').lt(100, 'must be under 100 (percent): 100 leaves no error budget')])) as Record<
        SloId,
        z.ZodNumber
      >,
    ),
  }),
  cost: z.strictObject({
    monthlyBudgetUsd: z.number().positive('must be a positive amount of USD per month'),
  }),
  audit: z.strictObject({
    trail: z.boolean(),
    retentionDays: z.int('must be a whole number of days').min(1, 'must be at least 1 day'),
  }),
});

/**
 * What Lambda would refuse at apply time: reservations that leave less than its unreserved minimum of the
 * account quota, and provisioned concurrency above the function's reservation ("you can't allocate more
 * provisioned concurrency than reserved concurrency for a function",
 * https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html, read 2026-12-03).
 */
export function concurrencyProblems(key: string, stage: StageConfig): string[] {
  const problems: string[] = [];
  const { reserved, provisioned } = stage.concurrency;
  const quota = stage.observability.lambdaConcurrencyQuota;
  const total = Object.values(reserved).reduce((sum, n) => sum + n, 0);
  const reservable = quota - UNRESERVED_CONCURRENCY_MINIMUM;
  if (total > reservable) {
    problems.push(
      `${key}.concurrency.reserved: reserves ${total} concurrent executions, but the account quota ` +
        `(${key}.observability.lambdaConcurrencyQuota: ${quota}) allows at most ${reservable}: Lambda keeps ${UNRESERVED_CONCURRENCY_MINIMUM} unreserved`,
    );
  }
  for (const [name, settings] of Object.entries(provisioned) as [FunctionName, ProvisionedConcurrency][]) {
    const limit = reserved[name];
    const ceilings = [
      { field: `${name}.max`, max: settings.max },
      ...(settings.schedules ?? []).map((schedule, i) => ({ field: `${name}.schedules.${i}.max`, max: schedule.max })),
    ];
    for (const { field, max } of ceilings) {
      if (max > limit) problems.push(`${key}.concurrency.provisioned.${field}: ${max} is more than ${name}'s reserved concurrency (${limit})`);
    }
  }
  return problems;
}

export class StageConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid stage configuration (infra/config/stages.ts):\n  - ${problems.join('\n  - ')}`);
    this.name = 'StageConfigError';
  }
}

/** `prod.throttle.routes.send.burstLimit` */
function fieldPath(stage: string, path: readonly PropertyKey[]): string {
  return [stage, ...path.map(String)].join('.');
}

/** Checks every stage; throws one StageConfigError listing every problem, each prefixed by its field's path. */
export function validateStages<T extends Record<string, unknown>>(stages: T): { readonly [K in keyof T]: StageConfig } {
  const problems: string[] = [];
  if (Object.keys(stages).length === 0) problems.push('STAGES: must define at least one stage');
  const valid: Record<string, StageConfig> = {};
  for (const [key, config] of Object.entries(stages)) {
    const result = stageSchema.safeParse(config);
    if (!result.success) {
      for (const issue of result.error.issues) {
        // An unknown key is reported on its parent; name the key itself, which is what needs fixing.
        if (issue.code === 'unrecognized_keys') {
          for (const unknown of issue.keys) problems.push(`${fieldPath(key, [...issue.path, unknown])}: is not a stage setting`);
          continue;
        }
        // A bad record key (a route or alarm id) carries the reason in its own issue.
        const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
        problems.push(`${fieldPath(key, issue.path)}: ${message}`);
      }
      continue;
    }
    if (result.data.name !== key) problems.push(`${key}.name: must equal the stage's key "${key}", got "${result.data.name}"`);
    problems.push(...concurrencyProblems(key, result.data));
    valid[key] = result.data;
  }
  if (problems.length > 0) throw new StageConfigError(problems);
  return valid as { readonly [K in keyof T]: StageConfig };
}
