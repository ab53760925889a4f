/**
 * The alarm catalog: every alarm the stack deploys, what it watches, how it decides, how urgent it is, and
 * how to prove locally that it fires. Infra renders `aws_cloudwatch_metric_alarm` from it, the runbooks in
 * dashboards/runbooks/ are named by its ids, the dashboards place its alarms, and the drills inject its faults.
 */
import { METRICS_NAMESPACE, type CustomMetricName } from './metrics.ts';

export type Severity = 'page' | 'ticket';
/**
 * What an alarm is instantiated for: once per API, per function, per table, per dead-letter queue, per account or
 * for the service.
 */
export type AlarmScope = 'api' | 'function' | 'table' | 'queue' | 'account' | 'service';
export type Statistic = 'Sum' | 'Average' | 'Maximum' | 'Minimum' | 'SampleCount' | 'p50' | 'p90' | 'p99';
export type Comparison = 'GreaterThanThreshold' | 'GreaterThanOrEqualToThreshold' | 'LessThanThreshold';

export interface MetricRef {
  readonly namespace: string;
  readonly name: string;
  readonly stat: Statistic;
  /**
   * For table metrics DynamoDB publishes under more dimensions than TableName: one series per operation the
   * stack performs on the table (`SystemErrors` exists only per TableName and Operation), or the table's own
   * series plus one per global secondary index (throttling on an index is not in the table's series).
   */
  readonly across?: 'operations' | 'indexes';
}

export type AlarmRule =
  /** metric <comparison> threshold. `timeoutShare` sets the threshold to that share of the function's timeout (ms). */
  | { readonly kind: 'threshold'; readonly metric: MetricRef; readonly comparison: Comparison; readonly threshold: number | { readonly timeoutShare: number } }
  /** The sum of several metrics (each expanded `across` its series) <comparison> threshold, e.g. read + write throttle events. */
  | { readonly kind: 'sum'; readonly metrics: readonly MetricRef[]; readonly comparison: Comparison; readonly threshold: number }
  /** 100 × numerator / (sum of denominators) > thresholdPercent, i.e. an error rate. */
  | { readonly kind: 'ratio'; readonly numerator: MetricRef; readonly denominators: readonly MetricRef[]; readonly thresholdPercent: number }
  /** Outside an anomaly detection band of `bandWidth` standard deviations, either direction. */
  | { readonly kind: 'anomaly'; readonly metric: MetricRef; readonly bandWidth: number };

/** Faults the local runtime can inject to prove an alarm fires (see local/faults.ts). */
export type DrillFault =
  | 'function-crash'
  | 'function-throttle'
  | 'dynamodb-slow'
  | 'dynamodb-throttle'
  | 'dynamodb-system-error'
  | 'slow-fanout'
  | 'connections-api-error'
  | 'stale-connections'
  | 'forged-tokens'
  | 'fanout-crash';

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
  /** How the local drill produces it, or why it cannot be produced on one machine. */
  readonly drill: { readonly fault: DrillFault } | { readonly notDrillable: string };
}

/** A catalog entry: ALARM_DEFAULTS fill what it leaves out, and datapointsToAlarm defaults to every evaluated period. */
type AlarmEntry = Omit<AlarmDefinition, keyof AlarmEvaluation> & Partial<AlarmEvaluation>;

const API = 'AWS/ApiGateway';
const LAMBDA = 'AWS/Lambda';
const DYNAMODB = 'AWS/DynamoDB';
const SQS = 'AWS/SQS';
const custom = (name: CustomMetricName, stat: Statistic): MetricRef => ({ namespace: METRICS_NAMESPACE, name, stat });
const apiRequests: MetricRef[] = [
  { namespace: API, name: 'ConnectCount', stat: 'Sum' },
  { namespace: API, name: 'MessageCount', stat: 'Sum' },
];

const ENTRIES = [
  {
    id: 'api-integration-errors',
    whatBroke: 'WebSocket requests are failing in their Lambda integration (crashes or timeouts)',
    scope: 'api',
    severity: 'page',
    rule: { kind: 'ratio', numerator: { namespace: API, name: 'IntegrationError', stat: 'Sum' }, denominators: apiRequests, thresholdPercent: 5 },
    drill: { fault: 'function-crash' },
  },
  {
    id: 'api-execution-errors',
    whatBroke: 'API Gateway itself failed to handle WebSocket requests (authorizer failures, missing routes)',
    scope: 'api',
    severity: 'page',
    rule: { kind: 'threshold', metric: { namespace: API, name: 'ExecutionError', stat: 'Sum' }, comparison: 'GreaterThanThreshold', threshold: 0 },
    drill: { fault: 'function-throttle' },
  },
  {
    id: 'api-client-errors',
    whatBroke: 'Many WebSocket requests are rejected as client errors (401/403/429)',
    scope: 'api',
    severity: 'ticket',
    rule: { kind: 'ratio', numerator: { namespace: API, name: 'ClientError', stat: 'Sum' }, denominators: apiRequests, thresholdPercent: 5 },
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
    rule: { kind: 'threshold', metric: { namespace: LAMBDA, name: 'Errors', stat: 'Sum' }, comparison: 'GreaterThanThreshold', threshold: 0 },
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
    whatBroke: 'The account is close to its Lambda concurrency quota',
    scope: 'account',
    severity: 'ticket',
    rule: { kind: 'threshold', metric: { namespace: LAMBDA, name: 'ConcurrentExecutions', stat: 'Maximum' }, comparison: 'GreaterThanThreshold', threshold: 900 },
    evaluationPeriods: 10,
    drill: { notDrillable: 'reaching 900 concurrent executions needs 900 workers; one 2-core machine cannot hold them' },
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
    whatBroke: 'Large-room fan-out shards failed for good and wait in the dead-letter queue: members missed live messages',
    scope: 'queue',
    // Members catch up from history when they reconnect, and one bad shard is not an outage: a ticket.
    severity: 'ticket',
    rule: {
      kind: 'threshold',
      metric: { namespace: SQS, name: 'ApproximateNumberOfMessagesVisible', stat: 'Maximum' },
      comparison: 'GreaterThanThreshold',
      threshold: 0,
    },
    evaluationPeriods: 1,
    drill: { fault: 'fanout-crash' },
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

/** Repository path of an alarm's runbook; infra turns it into a link with the stage's runbook base URL. */
export function runbookPath(id: string): string {
  return `dashboards/runbooks/${id}.md`;
}
