/**
 * The alarm catalog: every alarm the stack deploys, what it watches, how it decides, how urgent it is, and
 * how to prove locally that it fires. Infra renders `aws_cloudwatch_metric_alarm` from it, the runbooks in
 * dashboards/runbooks/ are named by its ids, the dashboards place its alarms, and the drills inject its faults.
 */
import { CANARY_FUNCTION, FANOUT_FUNCTION } from '../functions/catalog/functions.ts';
import { METRICS_NAMESPACE, type MetricName } from './metrics.ts';

export type Severity = 'page' | 'ticket';
/**
 * What an alarm is instantiated for: once per API, per function, per table, per dead-letter queue, per account,
 * for the service, for the custom domain's certificate (stages with a custom domain only), or per function alias
 * the stage provisions concurrency on (its metrics' dimensions: FunctionName and Resource `name:alias`).
 */
export type AlarmScope = 'api' | 'function' | 'table' | 'queue' | 'account' | 'service' | 'certificate' | 'provisioned-alias';
/** `PR(:n)`: the percentage of datapoints at most n (percentile rank), as the SLOs count events within a bound. */
export type Statistic = 'Sum' | 'Average' | 'Maximum' | 'Minimum' | 'SampleCount' | 'p50' | 'p90' | 'p99' | `PR(:${number})`;
export type Comparison = 'GreaterThanThreshold' | 'GreaterThanOrEqualToThreshold' | 'LessThanThreshold';

export interface MetricRef {
  readonly namespace: string;
  readonly name: string;
  readonly stat: Statistic;
  /**
   * For table metrics DynamoDB publishes under more dimensions than TableName: one series per operation the
   * stack performs on the table (`SystemErrors` exists only per TableName and Operation), or the table's own
   * series plus one per global secondary index (throttling on an index is not in the table's series). API
   * metrics with detailed metrics on have one series per route (the Route dimension); the dashboard reads them.
   */
  readonly across?: 'operations' | 'indexes' | 'routes';
}

export type AlarmRule =
  /**
   * metric <comparison> threshold. `timeoutShare` sets the threshold to that share of the function's timeout (ms),
   * `quotaShare` to that share of the stage's Lambda concurrency quota (observability.lambdaConcurrencyQuota).
   */
  | {
      readonly kind: 'threshold';
      readonly metric: MetricRef;
      readonly comparison: Comparison;
      readonly threshold: number | { readonly timeoutShare: number } | { readonly quotaShare: number };
    }
  /** The sum of several metrics (each expanded `across` its series) <comparison> threshold, e.g. read + write throttle events. */
  | { readonly kind: 'sum'; readonly metrics: readonly MetricRef[]; readonly comparison: Comparison; readonly threshold: number }
  /** The largest of a metric's series (expanded `across` them) <comparison> threshold, e.g. the slowest operation's latency. */
  | { readonly kind: 'max'; readonly metric: MetricRef; readonly comparison: Comparison; readonly threshold: number }
  /**
   * 100 × numerator / (sum of denominators) > thresholdPercent, i.e. an error rate, and 0 while the denominators
   * add up to fewer than the stage's traffic floor (observability.rateAlarmMinRequests) in a period: one failure in
   * three requests at night is not an outage, and the same rule holds at 10 connections and at 100,000.
   */
  | { readonly kind: 'ratio'; readonly numerator: MetricRef; readonly denominators: readonly MetricRef[]; readonly thresholdPercent: number }
  /** Outside an anomaly detection band of `bandWidth` standard deviations, either direction. */
  | { readonly kind: 'anomaly'; readonly metric: MetricRef; readonly bandWidth: number };

/** Faults the local runtime can inject to prove an alarm fires (see local/faults.ts). */
export type DrillFault =
  | 'function-crash'
  | 'function-throttle'
  | 'dynamodb-slow'
  | 'dynamodb-moderately-slow'
  | 'dynamodb-throttle'
  | 'dynamodb-system-error'
  | 'slow-fanout'
  | 'connections-api-error'
  | 'stale-connections'
  | 'forged-tokens'
  | 'connection-flood'
  | 'fanout-crash'
  | 'dead-letters-aging'
  | 'dead-letter-queue-unreachable'
  /** Every $connect fails (its function crashes) while no user is connected: only the canary can tell. */
  | 'connect-outage';

/** How an alarm decides over time; the catalog states only what differs from ALARM_DEFAULTS. */
export interface AlarmEvaluation {
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  /** Breaching periods among the evaluated ones that raise the alarm. */
  readonly datapointsToAlarm: number;
  readonly treatMissingData: 'notBreaching' | 'breaching' | 'missing' | 'ignore';
}

/**
 * Three breaching one-minute periods in a row, and a quiet metric is healthy: most of our metrics only have
 * datapoints while something happens, so "missing" means "nothing went wrong".
 */
export const ALARM_DEFAULTS = {
  periodSeconds: 60,
  evaluationPeriods: 3,
  treatMissingData: 'notBreaching',
} as const satisfies Omit<AlarmEvaluation, 'datapointsToAlarm'>;

export interface AlarmDefinition extends AlarmEvaluation {
  readonly id: string;
  /** Starts the alarm description: what broke, in the words of the person paged. */
  readonly whatBroke: string;
  readonly scope: AlarmScope;
  readonly severity: Severity;
  readonly rule: AlarmRule;
  /** Per-function alarms skip these functions, for the reason given. */
  readonly exceptFunctions?: { readonly functions: readonly string[]; readonly reason: string };
  /** Per-function alarms that only mean something for some functions watch only these, for the reason given. */
  readonly onlyFunctions?: { readonly functions: readonly string[]; readonly reason: string };
  /** How the local drill produces it, or why it cannot be produced on one machine. */
  readonly drill: { readonly fault: DrillFault } | { readonly notDrillable: string };
  /**
   * Its metric is published only by this scheduled function (the canary): tagged so on the alarm, so a local stack
   * that runs without schedules leaves it unevaluated instead of reading the silence as an outage.
   */
  readonly scheduledFunction?: string;
}

/** A catalog entry: ALARM_DEFAULTS fill what it leaves out, and datapointsToAlarm defaults to every evaluated period. */
type AlarmEntry = Omit<AlarmDefinition, keyof AlarmEvaluation> & Partial<AlarmEvaluation>;

const API = 'AWS/ApiGateway';
const LAMBDA = 'AWS/Lambda';
const DYNAMODB = 'AWS/DynamoDB';
const SQS = 'AWS/SQS';
const custom = (name: MetricName, stat: Statistic): MetricRef => ({ namespace: METRICS_NAMESPACE, name, stat });

/*
 * The denominator of the API error ratios: requests clients sent, never the frames the backend posts to them.
 * Decided from AWS's WebSocket metric documentation
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-logging.html, read 2026-12-03):
 * - MessageCount counts messages "either from or to the client": every @connections post (acks, fan-out, presence)
 *   is in it, so a send route that fails completely into a 1,000-member room reads about 0.1%. Not usable.
 * - Per-route metrics (the Route dimension) exist only with detailed metrics (prod alone), and summing twelve
 *   routes' Lambda Invocations would break CloudWatch's limit of 10 metrics per alarm.
 * - IntegrationLatency is recorded for each request API Gateway sends to an integration and "suppressed for
 *   callbacks" (the @connections posts): its SampleCount is exactly the client requests that reached a route
 *   ($connect and $disconnect included), in every stage, as one metric. An integration error is such a request
 *   (a 4XX/5XX the integration returned), so it is the denominator of IntegrationError as it stands.
 * - ClientError happens "before the integration is invoked" and ExecutionError when calling it fails: those
 *   requests may never be a latency sample, so their ratios add the errors themselves to the denominator
 *   (errors / (errors + integrated requests)), which stays within 0–100% and at worst halves a full outage's 100%,
 *   still far above any threshold here.
 */
const integratedRequests: MetricRef = { namespace: API, name: 'IntegrationLatency', stat: 'SampleCount' };

const ENTRIES = [
  {
    id: 'canary-failing',
    whatBroke: 'The synthetic chat user cannot chat: its runs fail (token, connect, join, send, delivery or history) or stopped reporting',
    scope: 'service',
    severity: 'page',
    // Maximum < 1: a minute in which no run succeeded. The canary runs whether or not users do, so this is the
    // alarm that pages when the API dies at night with nobody connected.
    rule: { kind: 'threshold', metric: custom('CanarySuccess', 'Maximum'), comparison: 'LessThanThreshold', threshold: 1 },
    evaluationPeriods: 3,
    // Two bad minutes of three: one lost run (a deployment, a cold start past the step timeout) is not an outage.
    datapointsToAlarm: 2,
    // No result is an outage: the schedule, the function, its metrics or everything behind them stopped.
    treatMissingData: 'breaching',
    scheduledFunction: CANARY_FUNCTION,
    drill: { fault: 'connect-outage' },
  },
  {
    id: 'api-integration-errors',
    whatBroke: 'WebSocket requests are failing in their Lambda integration (crashes or timeouts)',
    scope: 'api',
    severity: 'page',
    rule: { kind: 'ratio', numerator: { namespace: API, name: 'IntegrationError', stat: 'Sum' }, denominators: [integratedRequests], thresholdPercent: 5 },
    drill: { fault: 'function-crash' },
  },
  {
    id: 'api-execution-errors',
    whatBroke: 'API Gateway itself failed to handle WebSocket requests (authorizer failures, missing routes)',
    scope: 'api',
    severity: 'page',
    rule: {
      kind: 'ratio',
      numerator: { namespace: API, name: 'ExecutionError', stat: 'Sum' },
      denominators: [{ namespace: API, name: 'ExecutionError', stat: 'Sum' }, integratedRequests],
      thresholdPercent: 5,
    },
    drill: { fault: 'function-throttle' },
  },
  {
    id: 'api-client-errors',
    whatBroke: 'Many WebSocket requests are rejected as client errors (401/403/429)',
    scope: 'api',
    severity: 'ticket',
    rule: {
      kind: 'ratio',
      numerator: { namespace: API, name: 'ClientError', stat: 'Sum' },
      denominators: [{ namespace: API, name: 'ClientError', stat: 'Sum' }, integratedRequests],
      thresholdPercent: 5,
    },
    evaluationPeriods: 5,
    drill: { fault: 'forged-tokens' },
  },
  {
    id: 'api-integration-latency',
    whatBroke: 'WebSocket requests are slow: integration latency p99 is high',
    scope: 'api',
    severity: 'ticket',
    rule: { kind: 'threshold', metric: { namespace: API, name: 'IntegrationLatency', stat: 'p99' }, comparison: 'GreaterThanThreshold', threshold: 5000 },
    evaluationPeriods: 5,
    datapointsToAlarm: 3,
    drill: { fault: 'slow-fanout' },
  },
  {
    id: 'api-connect-anomaly',
    whatBroke: 'New WebSocket connections deviate from their usual pattern (outage or surge)',
    scope: 'api',
    severity: 'ticket',
    rule: { kind: 'anomaly', metric: { namespace: API, name: 'ConnectCount', stat: 'Sum' }, bandWidth: 3 },
    periodSeconds: 300,
    treatMissingData: 'ignore',
    drill: { notDrillable: 'an anomaly band needs days of training data that CloudWatch computes; the local store has minutes' },
  },
  {
    id: 'lambda-errors',
    whatBroke: 'A Lambda function is failing invocations (unhandled errors, crashes or timeouts)',
    scope: 'function',
    severity: 'page',
    exceptFunctions: {
      functions: ['authorizer'],
      reason:
        'the authorizer answers every bad token by throwing "Unauthorized" (the only way to get a 401), which Lambda counts as an error; its real failures surface as api-execution-errors and its rejections as auth-failures',
    },
    rule: { kind: 'ratio', numerator: { namespace: LAMBDA, name: 'Errors', stat: 'Sum' }, denominators: [{ namespace: LAMBDA, name: 'Invocations', stat: 'Sum' }], thresholdPercent: 5 },
    drill: { fault: 'function-crash' },
  },
  {
    id: 'lambda-throttles',
    whatBroke: 'A Lambda function is being throttled: requests are turned away for lack of concurrency',
    scope: 'function',
    severity: 'ticket',
    rule: { kind: 'threshold', metric: { namespace: LAMBDA, name: 'Throttles', stat: 'Sum' }, comparison: 'GreaterThanThreshold', threshold: 0 },
    evaluationPeriods: 5,
    drill: { fault: 'function-throttle' },
  },
  {
    id: 'lambda-duration',
    whatBroke: 'A Lambda function runs close to its timeout (p99 duration above 80% of it)',
    scope: 'function',
    severity: 'ticket',
    rule: { kind: 'threshold', metric: { namespace: LAMBDA, name: 'Duration', stat: 'p99' }, comparison: 'GreaterThanThreshold', threshold: { timeoutShare: 0.8 } },
    evaluationPeriods: 15,
    drill: { fault: 'dynamodb-slow' },
  },
  {
    id: 'lambda-concurrency',
    whatBroke: 'The account is close to its Lambda concurrency quota (claimed concurrency above 90% of it)',
    scope: 'account',
    severity: 'ticket',
    // ClaimedAccountConcurrency counts reserved concurrency as used, as the quota does; ConcurrentExecutions does not.
    rule: { kind: 'threshold', metric: { namespace: LAMBDA, name: 'ClaimedAccountConcurrency', stat: 'Maximum' }, comparison: 'GreaterThanThreshold', threshold: { quotaShare: 0.9 } },
    evaluationPeriods: 10,
    drill: { notDrillable: "90% of the account quota (900 of AWS's default 1,000) needs that many workers at once; one 2-core machine cannot hold them" },
  },
  {
    id: 'provisioned-concurrency-spillover',
    whatBroke: "A provisioned alias's invocations run on demand with cold starts: its provisioned concurrency is used up and scaling has not caught up",
    scope: 'provisioned-alias',
    // Spillover still serves, a cold start later; target tracking scales out within minutes. Five minutes of it means
    // the scalable target is at its max or scaling is failing: raise the max (within the reservation) in hours, not now.
    severity: 'ticket',
    rule: { kind: 'threshold', metric: { namespace: LAMBDA, name: 'ProvisionedConcurrencySpilloverInvocations', stat: 'Sum' }, comparison: 'GreaterThanThreshold', threshold: 0 },
    evaluationPeriods: 5,
    drill: {
      notDrillable:
        'the drills run the dev plan, which provisions nothing; test/fidelity/lambda.test.ts shows the local stack counting a spillover on a provisioned alias',
    },
  },
  {
    id: 'provisioned-concurrency-utilization',
    whatBroke: "A provisioned alias has run above 90% of its provisioned concurrency for 15 minutes: target tracking (70%) cannot scale it further",
    scope: 'provisioned-alias',
    severity: 'ticket',
    rule: { kind: 'threshold', metric: { namespace: LAMBDA, name: 'ProvisionedConcurrencyUtilization', stat: 'Maximum' }, comparison: 'GreaterThanThreshold', threshold: 0.9 },
    evaluationPeriods: 15,
    drill: {
      notDrillable: 'the drills run the dev plan, which provisions nothing; 15 minutes of saturated provisioned environments is a capacity review, not an incident to rehearse',
    },
  },
  {
    id: 'lambda-destination-failures',
    whatBroke: "A failed fan-out shard could not be sent to its dead-letter queue: it is lost, and cannot be redriven",
    scope: 'function',
    // Members catch up from history when they reconnect; the loss is of live delivery, and nothing retries it.
    severity: 'ticket',
    onlyFunctions: { functions: [FANOUT_FUNCTION], reason: 'only the fan-out function is invoked asynchronously with an on-failure destination' },
    rule: { kind: 'threshold', metric: { namespace: LAMBDA, name: 'DestinationDeliveryFailures', stat: 'Sum' }, comparison: 'GreaterThanThreshold', threshold: 0 },
    evaluationPeriods: 1,
    drill: { fault: 'dead-letter-queue-unreachable' },
  },
  {
    id: 'dynamodb-throttles',
    whatBroke: 'A DynamoDB table is throttling reads or writes',
    scope: 'table',
    severity: 'ticket',
    rule: {
      kind: 'sum',
      metrics: [
        { namespace: DYNAMODB, name: 'ReadThrottleEvents', stat: 'Sum', across: 'indexes' },
        { namespace: DYNAMODB, name: 'WriteThrottleEvents', stat: 'Sum', across: 'indexes' },
      ],
      comparison: 'GreaterThanThreshold',
      threshold: 0,
    },
    evaluationPeriods: 5,
    drill: { fault: 'dynamodb-throttle' },
  },
  {
    id: 'dynamodb-system-errors',
    whatBroke: 'DynamoDB is answering with internal server errors',
    scope: 'table',
    severity: 'ticket',
    rule: {
      kind: 'sum',
      metrics: [{ namespace: DYNAMODB, name: 'SystemErrors', stat: 'Sum', across: 'operations' }],
      comparison: 'GreaterThanThreshold',
      threshold: 0,
    },
    evaluationPeriods: 15,
    drill: { fault: 'dynamodb-system-error' },
  },
  {
    id: 'dynamodb-latency',
    whatBroke: 'A DynamoDB table answers slowly: the average latency of an operation the stack performs on it is high',
    scope: 'table',
    severity: 'ticket',
    // SuccessfulRequestLatency exists only per TableName and Operation; the slowest operation decides.
    rule: { kind: 'max', metric: { namespace: DYNAMODB, name: 'SuccessfulRequestLatency', stat: 'Average', across: 'operations' }, comparison: 'GreaterThanThreshold', threshold: 250 },
    evaluationPeriods: 5,
    datapointsToAlarm: 3,
    drill: { fault: 'dynamodb-moderately-slow' },
  },
  {
    id: 'delivery-failures',
    whatBroke: 'Messages are not reaching room members: @connections posts are failing',
    scope: 'service',
    severity: 'page',
    rule: {
      kind: 'ratio',
      numerator: custom('DeliveryFailed', 'Sum'),
      denominators: [custom('MessagesDelivered', 'Sum'), custom('DeliveryFailed', 'Sum')],
      thresholdPercent: 5,
    },
    drill: { fault: 'connections-api-error' },
  },
  {
    id: 'stale-connections',
    whatBroke: 'Many connections vanished without a $disconnect (a network or client fleet problem)',
    scope: 'service',
    severity: 'ticket',
    rule: { kind: 'threshold', metric: custom('StaleConnectionsPruned', 'Sum'), comparison: 'GreaterThanThreshold', threshold: 50 },
    periodSeconds: 300,
    evaluationPeriods: 1,
    drill: { fault: 'stale-connections' },
  },
  {
    id: 'auth-failures',
    whatBroke: 'Many connection attempts carry bad tokens (a broken client release or an attack)',
    scope: 'service',
    severity: 'ticket',
    rule: { kind: 'threshold', metric: custom('ConnectAuthFailed', 'Sum'), comparison: 'GreaterThanThreshold', threshold: 100 },
    periodSeconds: 300,
    evaluationPeriods: 1,
    drill: { fault: 'forged-tokens' },
  },
  {
    id: 'connections-refused',
    whatBroke: "Many handshakes are refused because their users already hold the stage's connections per user (a client leaking connections, or a script)",
    scope: 'service',
    // The refusals are the limit doing its job: the users refused still hold their other connections. Someone has
    // to find the client or user behind them, but nobody is down.
    severity: 'ticket',
    rule: { kind: 'threshold', metric: custom('ConnectionsRefused', 'Sum'), comparison: 'GreaterThanThreshold', threshold: 50 },
    periodSeconds: 300,
    evaluationPeriods: 1,
    drill: { fault: 'connection-flood' },
  },
  {
    id: 'jwks-refresh-failing',
    whatBroke: "The identity provider's key set (JWKS) cannot be refreshed; new connections verify with keys at most 1 h old, then fail",
    scope: 'service',
    severity: 'page',
    rule: { kind: 'threshold', metric: custom('JwksRefreshFailed', 'Sum'), comparison: 'GreaterThanThreshold', threshold: 0 },
    periodSeconds: 60,
    evaluationPeriods: 3,
    datapointsToAlarm: 3,
    treatMissingData: 'notBreaching',
    drill: {
      notDrillable:
        'an authorizer environment refreshes its key set every 10 minutes, so a drill would wait 10 + 3 minutes; test/auth/authorizer.test.ts fails the real JWKS endpoint and checks the metric',
    },
  },
  {
    id: 'fanout-duration',
    whatBroke: 'Fan-out is slow: p99 time to deliver a message to its room is high',
    scope: 'service',
    severity: 'ticket',
    rule: { kind: 'threshold', metric: custom('FanoutDuration', 'p99'), comparison: 'GreaterThanThreshold', threshold: 2000 },
    evaluationPeriods: 5,
    datapointsToAlarm: 3,
    drill: { fault: 'slow-fanout' },
  },
  {
    id: 'fanout-dead-letters',
    whatBroke: 'Large-room fan-out shards failed for good and arrive in the dead-letter queue: members missed live messages',
    scope: 'queue',
    // Members catch up from history when they reconnect, and one bad shard is not an outage: a ticket.
    severity: 'ticket',
    // New arrivals, not the queue's depth: a depth alarm stays in ALARM while the queue holds anything and never
    // notifies again; this one returns to OK after a quiet minute and notifies anew when more shards fail.
    // NumberOfMessagesSent counts messages sent to the queue by SendMessage, which is how Lambda's on-failure
    // destination delivers (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html, read 2026-12-03).
    rule: { kind: 'threshold', metric: { namespace: SQS, name: 'NumberOfMessagesSent', stat: 'Sum' }, comparison: 'GreaterThanThreshold', threshold: 0 },
    evaluationPeriods: 1,
    drill: { fault: 'fanout-crash' },
  },
  {
    id: 'fanout-dead-letter-age',
    whatBroke: 'Dead-lettered fan-out shards have waited over an hour without a redrive',
    scope: 'queue',
    severity: 'ticket',
    rule: { kind: 'threshold', metric: { namespace: SQS, name: 'ApproximateAgeOfOldestMessage', stat: 'Maximum' }, comparison: 'GreaterThanThreshold', threshold: 3600 },
    evaluationPeriods: 1,
    drill: { fault: 'dead-letters-aging' },
  },
  {
    id: 'certificate-expiry',
    whatBroke: "The custom domain's certificate expires within 30 days: ACM did not renew it",
    scope: 'certificate',
    // ACM renews 60 days ahead; at 30 days renewal has failed, with a month left to fix validation or re-import.
    severity: 'ticket',
    rule: { kind: 'threshold', metric: { namespace: 'AWS/CertificateManager', name: 'DaysToExpiry', stat: 'Minimum' }, comparison: 'LessThanThreshold', threshold: 30 },
    // ACM publishes DaysToExpiry once a day.
    periodSeconds: 86_400,
    evaluationPeriods: 1,
    drill: { notDrillable: 'the local stack has no ACM and the dev stage no custom domain; the metric is published once a day per certificate' },
  },
] as const satisfies readonly AlarmEntry[];

export type AlarmId = (typeof ENTRIES)[number]['id'];

export const ALARMS: readonly AlarmDefinition[] = (ENTRIES as readonly AlarmEntry[]).map((entry) => {
  const evaluationPeriods = entry.evaluationPeriods ?? ALARM_DEFAULTS.evaluationPeriods;
  return { ...ALARM_DEFAULTS, datapointsToAlarm: evaluationPeriods, ...entry, evaluationPeriods };
});

export function alarmById(id: string): AlarmDefinition {
  const alarm = ALARMS.find((a) => a.id === id);
  if (!alarm) throw new Error(`no alarm "${id}"; alarms: ${ALARMS.map((a) => a.id).join(', ')}`);
  return alarm;
}

/** The tag that names the scheduled function an alarm's metric comes from (AlarmDefinition.scheduledFunction). */
export const SCHEDULED_FUNCTION_TAG = 'scheduled-function';

/** Repository path of an alarm's runbook; infra turns it into a link with the stage's runbook base URL. */
export function runbookPath(id: string): string {
  return `dashboards/runbooks/${id}.md`;
}
